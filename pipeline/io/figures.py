"""Figures as PNG bytes: matplotlib without a screen, the same bytes for the same figure (no software stamp)."""

from __future__ import annotations

import io


def pyplot():
    """matplotlib.pyplot on the Agg backend, with "$" read as a dollar sign ("$300" in a question is money)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    return plt


def png_bytes(figure) -> bytes:
    """The figure as PNG, then closed (pyplot keeps every open figure alive)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    pyplot().close(figure)
    return buffer.getvalue()
