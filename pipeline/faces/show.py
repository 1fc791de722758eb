"""`claims show FILE`: one file's threads with their claims, in the terminal or as displaCy's span view.

The claims are marked on the thread's own text (what the offsets in the CSVs
index), labelled with their type, flags and stance, one colour per type.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.schemas import CLAIM_TYPES

TYPE_COLOURS = dict(zip(CLAIM_TYPES, ("#74c0fc", "#ffa8a8", "#b2f2bb", "#ffe066")))
SPANS_KEY = "claims"


def claim_label(row) -> str:
    """'duration · negated · hedged · against': what the span view shows over a claim."""
    parts = [row.claim_type]
    parts += [flag for flag in ("negated", "hedged") if getattr(row, flag) is True]
    if isinstance(row.stance, str) and row.stance:
        parts.append(row.stance)
    return " \u00b7 ".join(parts)


def thread_docs(path: Path, model_dir: Path | None, settings: Settings = DEFAULT_SETTINGS):
    """(thread id, spaCy Doc of the thread's text with its claims in doc.spans, the claims table) per thread."""
    import spacy

    from pipeline.faces import api
    from pipeline.io import readers
    from pipeline.threads import ThreadSource

    items = [item for item in readers.iter_threads(path, settings.read) if isinstance(item, ThreadSource)]
    tables = api.process(items, model_dir=model_dir, settings=settings)
    blank = spacy.blank("en")
    for thread in items:
        claims = tables["claims"][tables["claims"]["thread_id"] == thread.thread_id]
        doc = blank.make_doc(thread.text)
        spans = []
        for row in claims.itertuples():
            span = doc.char_span(int(row.char_start), int(row.char_end), label=html.escape(claim_label(row)),
                                 alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc.spans[SPANS_KEY] = spans
        doc.user_data["title"] = html.escape(thread.thread_id)  # displaCy puts the title in its page unescaped
        yield thread.thread_id, doc, claims


def render_html(docs: list) -> str:
    """displaCy's span view of the docs, one page, a colour per claim type whatever the flags."""
    from spacy import displacy

    labels = {span.label_ for doc in docs for span in doc.spans[SPANS_KEY]}
    colours = {label: TYPE_COLOURS.get(label.split(" \u00b7 ")[0], "#dee2e6") for label in labels}
    return displacy.render(docs, style="span", page=True, minify=True,
                           options={"spans_key": SPANS_KEY, "colors": colours})


def render_text(thread_id: str, claims: pd.DataFrame) -> str:
    """The claims of a thread, one line each, for the terminal."""
    lines = [f"{thread_id}: {len(claims)} claims"]
    for row in claims.itertuples():
        lines.append(f"  [{claim_label(row)}] {' '.join(str(row.text).split())}  ({row.char_start}-{row.char_end})")
    return "\n".join(lines)


def show(path: Path, html_path: Path | None = None, model_dir: Path | None = None,
         settings: Settings = DEFAULT_SETTINGS) -> str:
    """The text view of every thread of `path`; with `html_path`, also the span view written there."""
    from pipeline.io.files import InputError, atomic_write_bytes

    shown = list(thread_docs(Path(path), model_dir, settings))
    if not shown:
        raise InputError(path, "no thread could be read from it (see 'claims segment' for why)")
    if html_path is not None:
        atomic_write_bytes(html_path, render_html([doc for _, doc, _ in shown]).encode("utf-8"))
    return "\n\n".join(render_text(thread_id, claims) for thread_id, _, claims in shown)
