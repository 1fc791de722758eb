"""The frozen evaluation set, and evaluating, comparing and reporting models on it.

The frozen set is a snapshot of hand labels for whole answers, taken once
(``data/raw/labels/frozen_eval.csv``) and never changed by ``label import``.
Its answers are held out of training, so every model version is scored on
the same unseen claims and versions can be compared.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.files import InputError, atomic_write_bytes, write_csv
from pipeline.labeling import STANCES
from pipeline.stance import LABEL_COLUMNS, aligned_proba, attach_labels, read_labels, score_predictions

FROZEN_SHARE = 4  # about one labelled answer in four is frozen


def freeze_eval_set(labels: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Snapshot the labels of about a quarter of the labelled answers, chosen by a hash of their id."""
    answers = sorted(set(labels["answer_id"]))
    if len(answers) < 2:
        raise InputError(path, "need labels for at least two answers to hold one out for evaluation")
    digest = {a: int(hashlib.sha1(a.encode()).hexdigest(), 16) for a in answers}
    chosen = {a for a in answers if digest[a] % FROZEN_SHARE == 0} or {min(answers, key=digest.get)}
    if chosen == set(answers):
        chosen.discard(max(answers, key=digest.get))
    frozen = labels[labels["answer_id"].isin(chosen)]
    write_csv(frozen, path, LABEL_COLUMNS)
    return frozen.reset_index(drop=True)


def load_or_freeze(labels: pd.DataFrame, path: Path) -> pd.DataFrame:
    return read_labels(path) if Path(path).exists() else freeze_eval_set(labels, path)


def frozen_answers(frozen: pd.DataFrame) -> set[str]:
    return set(frozen["answer_id"])


def evaluation_rows(claims: pd.DataFrame, labels: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Claims that carry a hand label in `labels`, their labels, and the answer-level labels."""
    gold = attach_labels(claims, labels)
    keep = gold.ne("").to_numpy()
    answer_labels = labels[labels["level"] == "answer"].set_index("answer_id")["label"]
    return claims[keep].reset_index(drop=True), gold[keep].reset_index(drop=True), answer_labels


def evaluate(model, rows: pd.DataFrame, gold: pd.Series, answer_labels: pd.Series, title_spans: pd.DataFrame,
             settings: Settings = DEFAULT_SETTINGS) -> tuple[dict, np.ndarray]:
    """Scores of `model` on labelled claims, and its probabilities (columns in STANCES order)."""
    if rows.empty:
        raise InputError("evaluation set", "no labelled claims to evaluate on")
    probabilities = aligned_proba(model, rows)
    return score_predictions(rows, gold, probabilities, answer_labels, title_spans, settings), probabilities


def headline(metrics: dict) -> float:
    """The figure versions are compared on: claim-level macro-F1."""
    return metrics["claims"]["macro_f1"]


def readable_table(metrics: dict, title: str) -> str:
    lines = [title, ""]
    for level in ("claims", "answers"):
        if level not in metrics:
            continue
        m, base = metrics[level], metrics[f"{level}_majority_baseline"]
        lines.append(f"{level} (n={m['n']}): macro-F1 {m['macro_f1']:.3f}  F_avg {m['f_avg']:.3f}  "
                     f"accuracy {m['accuracy']:.3f}   majority baseline: macro-F1 {base['macro_f1']:.3f}  "
                     f"F_avg {base['f_avg']:.3f}  accuracy {base['accuracy']:.3f}")
        lines.append(f"  {'class':<8} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
        for label, row in m["per_class"].items():
            lines.append(f"  {label:<8} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>6.3f} {row['support']:>8d}")
        matrix = m["confusion_matrix"]
        lines.append("  confusion (rows true, columns predicted): " + "  ".join(matrix["labels"]))
        for label, counts in zip(matrix["labels"], matrix["matrix"]):
            lines.append(f"    {label:<8} " + " ".join(f"{c:>7d}" for c in counts))
        if "calibration" in m:
            cal = m["calibration"]
            lines.append(f"  calibration: expected calibration error {cal['ece']:.3f}, Brier score {cal['brier']:.3f}")
        lines.append("")
    return "\n".join(lines)


def write_report(metrics: dict, out: Path, title: str) -> list[Path]:
    """metrics.json, metrics.txt, confusion_matrix.png and reliability.png in `out`."""
    out = Path(out)
    paths = [out / "metrics.json", out / "metrics.txt", out / "confusion_matrix.png", out / "reliability.png"]
    atomic_write_bytes(paths[0], (json.dumps(metrics, indent=2, sort_keys=True) + "\n").encode())
    atomic_write_bytes(paths[1], readable_table(metrics, title).encode())
    atomic_write_bytes(paths[2], _confusion_png(metrics["claims"]["confusion_matrix"], title))
    atomic_write_bytes(paths[3], _reliability_png(metrics["claims"]["calibration"], title))
    return paths


def _figure_bytes(figure) -> bytes:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(figure)
    return buffer.getvalue()


def _confusion_png(confusion: dict, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(confusion["matrix"])
    figure, axes = plt.subplots(figsize=(4.2, 3.6))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(STANCES)), confusion["labels"])
    axes.set_yticks(range(len(STANCES)), confusion["labels"])
    axes.set_xlabel("predicted")
    axes.set_ylabel("hand label")
    for (i, j), count in np.ndenumerate(matrix):
        axes.text(j, i, str(count), ha="center", va="center", color="white" if count > matrix.max() / 2 else "black")
    axes.set_title(f"Claim stance: {title}", fontsize=9)
    return _figure_bytes(figure)


def _reliability_png(calibration: dict, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(4.2, 3.6))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    bins = calibration["bins"]
    axes.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", label="model")
    for b in bins:
        axes.annotate(str(b["n"]), (b["confidence"], b["accuracy"]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    axes.set_xlim(0, 1.05)
    axes.set_ylim(0, 1.1)
    axes.set_xlabel("predicted probability of the top class")
    axes.set_ylabel("share correct")
    axes.set_title(f"Reliability (ECE {calibration['ece']:.3f}): {title}", fontsize=9)
    axes.legend(fontsize=7, loc="upper left")
    return _figure_bytes(figure)


def changed_predictions(rows: pd.DataFrame, gold: pd.Series, proba_a: np.ndarray, proba_b: np.ndarray) -> pd.DataFrame:
    """Claims whose predicted stance differs between two models."""
    a = np.asarray(STANCES, dtype=object)[proba_a.argmax(axis=1)]
    b = np.asarray(STANCES, dtype=object)[proba_b.argmax(axis=1)]
    changed = a != b
    return pd.DataFrame({"claim_id": rows["claim_id"][changed].to_numpy(), "text": rows["text"][changed].to_numpy(),
                         "hand_label": gold[changed].to_numpy(), "before": a[changed], "after": b[changed]})
