import json

import numpy as np
import pandas as pd

from pipeline.evaluation import changed_predictions, freeze_eval_set, readable_table, write_report
from pipeline.stance import LABEL_COLUMNS, read_labels, reliability, score_predictions


def labels_for(answers):
    return pd.DataFrame([{"thread_id": "t", "level": "sentence", "answer_id": a, "text": f"s{a}", "label": "favor",
                          "annotator": "x", "labelled_at": "2026", "source": "hand"} for a in answers])[LABEL_COLUMNS]


def test_frozen_set_is_a_deterministic_strict_subset_of_answers(tmp_path):
    labels = labels_for([f"t:{i}" for i in range(1, 21)])
    first = freeze_eval_set(labels, tmp_path / "a.csv")
    second = freeze_eval_set(labels.sample(frac=1, random_state=3), tmp_path / "b.csv")
    assert set(first["answer_id"]) == set(second["answer_id"])
    assert 0 < first["answer_id"].nunique() < 20
    assert read_labels(tmp_path / "a.csv")["answer_id"].tolist() == first["answer_id"].tolist()


def test_reliability_of_perfect_and_overconfident_predictions():
    truth = ["favor", "against"]
    perfect = reliability(truth, np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    assert perfect["ece"] == 0 and perfect["brier"] == 0
    wrong = reliability(truth, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    assert wrong["ece"] == 1 and wrong["brier"] == 2


def test_report_files_and_changed_predictions(tmp_path):
    rows = pd.DataFrame({"claim_id": ["c1", "c2"], "text": ["a", "b"], "answer_id": ["t:1", "t:2"],
                         "char_start": [0, 0]})
    gold = pd.Series(["favor", "against"])
    proba = np.array([[0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
    spans = pd.DataFrame({"answer_id": ["t:1", "t:2"], "title_start": 0, "title_end": 0})
    metrics = score_predictions(rows, gold, proba, pd.Series({"t:1": "favor"}), spans)
    assert metrics["claims"]["accuracy"] == 1.0 and metrics["answers"]["n"] == 1
    paths = write_report(metrics, tmp_path, "test")
    assert json.loads(paths[0].read_text())["claims"]["macro_f1"] == 1.0
    assert "macro-F1 1.000" in paths[1].read_text() and "macro-F1 1.000" in readable_table(metrics, "t")
    for png in paths[2:]:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    changed = changed_predictions(rows, gold, proba, proba[:, [1, 0, 2]])
    assert changed[["claim_id", "before", "after"]].values.tolist() == [["c1", "favor", "against"],
                                                                        ["c2", "against", "favor"]]
