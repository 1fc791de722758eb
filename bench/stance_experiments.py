"""Which stance design, how much regularisation, weak labels or not, calibration or not: decided on dev only.

Every figure is cross-validated over 5 folds grouped by thread on the
training rows (the annotated corpus's dev part plus the labels file's
threads); the test part is not read here. Prints claim macro-F1 and F_avg,
answer macro-F1 and accuracy, and the claims' expected calibration error and
Brier score. Run: python bench/stance_experiments.py
"""

from __future__ import annotations

import numpy as np

from pipeline import config
from pipeline.config import DEFAULT_SETTINGS
from pipeline.learning import labels as hand_labels
from pipeline.learning import train
from pipeline.learning.train import cross_validate
from pipeline.measuring.gold_sets import GoldCorpus
from pipeline.runner.execute import training_tables
from pipeline.runner.sinks import Source
from pipeline.stages import stance_model


def cross_validated(training: dict, settings, hand_only: bool = False) -> dict:
    rows, y, weights, gold = training["rows"], training["y"], training["weights"], training["is_gold"]
    if hand_only:
        rows, y, weights, gold = rows[gold], y[gold], weights[gold], gold[gold]
    model = stance_model.build_model(settings.train, y[gold].value_counts(), design=settings.train.stance_design)
    return cross_validate(model, rows, y, weights, gold, training["answer_labels"], training["spans"],
                                 settings, group_by="thread_id")


def line(label: str, metrics: dict) -> str:
    c, a = metrics["claims"], metrics["answers"]
    return (f"{label:<44} {c['macro_f1']:>8.3f} {c['f_avg']:>6.3f} {a['macro_f1']:>9.3f} {a['accuracy']:>8.3f} "
            f"{c['calibration']['ece']:>6.3f} {c['calibration']['brier']:>6.3f}")


def main() -> None:
    labels = hand_labels.read_labels(config.LABELS_FILE)
    sets = GoldCorpus().sets()
    threads = training_tables(Source(training_threads=config.RAW_DIR), DEFAULT_SETTINGS)  # segmented, extracted
    training = train.training_rows(threads, labels, config.LABELS_FILE, sets)
    print(f"training rows: {int(training['is_gold'].sum())} hand-labelled, {int((~training['is_gold']).sum())} weak, "
          f"{training['rows']['thread_id'].nunique()} threads; 5 folds grouped by thread\n")
    print(f"{'setting':<44} {'claim F1':>8} {'F_avg':>6} {'answer F1':>9} {'ans acc':>8} {'ECE':>6} {'Brier':>6}")
    for design in stance_model.DESIGNS:
        for c in (0.3, 1.0, 5.0):
            settings = DEFAULT_SETTINGS.replace(stance_design=design, stance_c=c)
            print(line(f"{design}, C={c}", cross_validated(training, settings)))
    print()
    chosen = DEFAULT_SETTINGS.replace(weak_label_weight=0.0)
    print(line(f"{chosen.train.stance_design}, C={chosen.train.stance_c}, hand labels only", cross_validated(training, chosen, True)))
    for weight in (0.1, 0.5, 1.0):  # the weak rows' weights are set when the table is built
        settings = chosen.replace(weak_label_weight=weight)
        weighted = train.training_rows(threads, labels, config.LABELS_FILE, sets, settings)
        print(line(f"{chosen.train.stance_design}, C={chosen.train.stance_c}, + weak x{weight}", cross_validated(weighted, settings)))
    hand = train.training_rows(threads, labels, config.LABELS_FILE, sets, chosen)
    for method, ensemble in (("temperature", True), ("sigmoid", True), ("sigmoid", False), ("isotonic", True),
                             ("isotonic", False), ("none", True)):
        settings = chosen.replace(calibration=method, calibration_ensemble=ensemble)
        name = method + ("" if method in ("temperature", "none") else f", ensemble={ensemble}")
        print(line(f"{chosen.train.stance_design}, C={chosen.train.stance_c}, calibration {name}", cross_validated(hand, settings)))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
