"""Do weak labels help, and does calibration help? Grouped cross-validation on the bundled labels.

Prints claim-level macro-F1, F_avg, expected calibration error and Brier score
(5 folds grouped by answer, scored on hand-labelled claims only) for:
hand labels alone; hand plus weak labels at several weights; and the same
model wrapped in sigmoid calibration. Run: python bench/stance_experiments.py
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold

from pipeline import config, evaluation, stance, stages
from pipeline.config import DEFAULT_SETTINGS


def main() -> None:
    labels = stance.read_labels(config.LABELS_FILE)
    frozen = evaluation.load_or_freeze(labels, config.FROZEN_EVAL_FILE)
    answers, claims = stages.labelled_corpus(config.RAW_DIR)
    held_out = evaluation.frozen_answers(frozen)
    spans = answers[["answer_id", "title_start", "title_end"]]
    print(f"{'setting':<42} {'macro-F1':>8} {'F_avg':>6} {'ECE':>6} {'Brier':>6}  rows (hand + weak)")
    for weight in (0.0, 0.1, 0.25, 0.5, 1.0):
        settings = replace(DEFAULT_SETTINGS, weak_label_weight=weight)
        table = stages.training_table(claims[~claims["answer_id"].isin(held_out)], answers,
                                      labels[~labels["answer_id"].isin(held_out)], config.LABELS_FILE, settings)
        rows, y, weights, gold = table["rows"], table["y"], table["weights"], table["is_gold"]
        if weight == 0.0:
            rows, y, weights, gold = rows[gold], y[gold], weights[gold], gold[gold]
        for name, model in (("logistic regression", stance.build_model(settings)),
                            ("+ sigmoid calibration", _calibrated(settings))):
            try:
                m = stance.cross_validate(model, rows, y, weights, gold, table["answer_labels"], spans, settings)
            except ValueError as err:  # calibration needs every class in every inner fold
                print(f"{name:<42} not possible here: {err}")
                continue
            c = m["claims"]
            label = f"{'hand only' if weight == 0 else f'hand + weak x{weight}'}, {name}"
            print(f"{label:<42} {c['macro_f1']:>8.3f} {c['f_avg']:>6.3f} {c['calibration']['ece']:>6.3f} "
                  f"{c['calibration']['brier']:>6.3f}  {int(gold.sum())} + {int((~gold).sum())}")


def _calibrated(settings):
    model = stance.build_model(settings)
    model.steps[-1] = ("classify", CalibratedClassifierCV(model.steps[-1][1], method="sigmoid",
                                                          cv=StratifiedKFold(2, shuffle=True, random_state=0)))
    return model


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
