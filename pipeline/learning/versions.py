"""The model versions side by side: their figures from their cards, and two compared on the frozen set."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.io.files import write_csv
from pipeline.learning import registry
from pipeline.measuring import evaluation
from pipeline.measuring.gold_sets import GoldCorpus


def models_table(model_dir: Path) -> pd.DataFrame:
    current = registry.current_version(model_dir)
    rows = []
    for version, card in registry.cards(model_dir):
        cv = card.get("cross_validation", {}).get("by_thread", {})
        frozen = card.get("frozen_evaluation", {})
        rows.append({
            "version": version, "current": "*" if version == current else "",
            "trained_at": card.get("trained_at", ""), "design": card.get("design", "blind"),
            "hand_rows": card.get("training_rows", {}).get("hand_labelled"),
            "weak_rows": card.get("training_rows", {}).get("weak_only"),
            "cv_macro_f1": cv.get("claims", {}).get("macro_f1"), "cv_f_avg": cv.get("claims", {}).get("f_avg"),
            "frozen_macro_f1": frozen.get("claims", {}).get("macro_f1"),
            "frozen_f_avg": frozen.get("claims", {}).get("f_avg"),
            "frozen_answer_accuracy": frozen.get("answers", {}).get("accuracy"),
        })
    return pd.DataFrame(rows)


def compare_models(model_dir: Path, first: str, second: str, settings: Settings = DEFAULT_SETTINGS,
                   corpus: GoldCorpus | None = None, out: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two versions side by side on the frozen set, the difference with its interval, and the claims that changed."""
    sets = (corpus or GoldCorpus()).sets()
    claims, answers = sets["frozen_claims"], sets["frozen_answers"]
    predicted = {}
    for name in (first, second):
        model, _ = registry.load_model(registry.resolve(model_dir, name))
        predicted[name] = evaluation.model_predictions(model, claims, answers, settings.classify)
    report = evaluation.frozen_report(predicted, claims, answers, settings.train.random_state)
    difference = evaluation.paired_difference(claims["label"], predicted[second]["claims"],
                                              predicted[first]["claims"], claims["thread_id"], settings.train.random_state)
    table = pd.DataFrame({name: _flat_scores(metrics) for name, metrics in report.items()}).map(
        lambda v: "" if v is None else f"{v:.3f}")
    table.loc[f"claims macro-F1, {second} minus {first}"] = ["", f"{difference['difference']:+.3f}"]
    table.loc["  95% interval (resampling threads)"] = ["", "[{:+.3f}, {:+.3f}]".format(*difference["interval"])]
    changed = evaluation.changed_predictions(claims, claims["label"], predicted[first]["probabilities"],
                                             predicted[second]["probabilities"])
    if out is not None:
        write_csv(changed, Path(out) / "changed_predictions.csv", list(changed.columns))
    return table, changed


def _flat_scores(metrics: dict) -> dict:
    flat = {}
    for level in ("claims", "answers"):
        m = metrics[level]
        flat.update({f"{level} macro-F1": m["macro_f1"], f"{level} F_avg": m["f_avg"],
                     f"{level} accuracy": m["accuracy"]})
        flat.update({f"{level} F1 {label}": row["f1"] for label, row in m["per_class"].items()})
    flat["claims ECE"] = metrics["claims"].get("calibration", {}).get("ece")
    return flat
