import json

import numpy as np
import pandas as pd

from pipeline.measuring.evaluation import (_figures, _thread_confusions, changed_predictions, paired_difference, readable_table,
                                 stance_scores, thread_bootstrap, with_intervals, report_files)
from pipeline.measuring.evaluation import reliability, score_predictions


LABELS = ["against", "favor", "neutral"]


def noisy_predictions(n=240, threads=24, right=0.7, seed=1):
    rng = np.random.default_rng(seed)
    truth = rng.choice(LABELS, n)
    predicted = np.where(rng.random(n) < right, truth, rng.choice(LABELS + [""], n))
    return truth, predicted, rng.integers(0, threads, n).astype(str)


def test_stance_scores_macro_f1_f_avg_and_a_missing_stance():
    scores = stance_scores(["favor", "against", "neutral", "favor"], ["favor", "against", "", "against"])
    assert scores["per_class"]["favor"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert scores["per_class"]["neutral"]["f1"] == 0  # no stance given is wrong, not skipped
    assert scores["f_avg"] == round((0.6667 + 0.6667) / 2, 4) and scores["accuracy"] == 0.5


def test_thread_bootstrap_agrees_with_direct_scores_and_brackets_them():
    truth, predicted, threads = noisy_predictions()
    scores = with_intervals(truth, predicted, threads)
    for name in ("macro_f1", "f_avg", "accuracy"):
        low, high = scores[f"{name}_interval"]
        assert low <= scores[name] <= high and high - low > 0.02
    ids, confusions = _thread_confusions(truth, predicted, threads)
    assert np.allclose(_figures(confusions.sum(axis=0, keepdims=True))[0],
                       [scores["macro_f1"], scores["f_avg"], scores["accuracy"]], atol=1e-4)
    assert np.array_equal(thread_bootstrap(truth, predicted, threads, seed=3),
                          thread_bootstrap(truth, predicted, threads, seed=3))  # deterministic


def test_resampling_is_by_thread_so_one_big_thread_widens_the_interval():
    truth, predicted, threads = noisy_predictions()
    spread = with_intervals(truth, predicted, threads)["accuracy_interval"]
    clumped = np.where(np.arange(len(threads)) < 120, "big", threads)  # half the rows in one thread
    wide = with_intervals(truth, predicted, clumped)["accuracy_interval"]
    assert wide[1] - wide[0] > spread[1] - spread[0]


def test_paired_difference_is_zero_for_the_same_predictions_and_clear_for_a_better_model():
    truth, predicted, threads = noisy_predictions()
    same = paired_difference(truth, predicted, predicted, threads)
    assert same == {"difference": 0.0, "interval": [0.0, 0.0]}
    better = paired_difference(truth, truth, predicted, threads)
    assert better["difference"] > 0 and better["interval"][0] > 0
    one_flip = predicted.copy()
    wrong = np.flatnonzero(predicted != truth)[0]
    one_flip[wrong] = truth[wrong]  # one claim put right
    noise = paired_difference(truth, one_flip, predicted, threads)
    assert noise["difference"] > 0 and noise["interval"][0] <= 0  # one flipped claim: not clearly better


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
    files = report_files(metrics, "test")
    assert list(files) == ["metrics.json", "metrics.txt", "confusion_matrix.png", "reliability.png"]
    # macro-F1 is over all three stances everywhere: neutral, never labelled nor predicted here, counts as 0
    assert json.loads(files["metrics.json"])["claims"]["macro_f1"] == round(2 / 3, 4)
    assert json.loads(files["metrics.json"])["claims"]["f_avg"] == 1.0
    assert "macro-F1 0.667" in files["metrics.txt"].decode() and "F_avg 1.000" in readable_table(metrics, "t")
    for name in ("confusion_matrix.png", "reliability.png"):
        assert files[name][:8] == b"\x89PNG\r\n\x1a\n"
    changed = changed_predictions(rows, gold, proba, proba[:, [1, 0, 2]])
    assert changed[["claim_id", "before", "after"]].values.tolist() == [["c1", "favor", "against"],
                                                                        ["c2", "against", "favor"]]
