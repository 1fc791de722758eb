"""Learning claim detection: candidate sentences labelled from the gold, grouped CV, thresholds, a stable model."""

import pytest

from pipeline import config
from pipeline.learning import claim_classifier
from pipeline.schemas import CLAIM_TYPES

from conftest import mini_forum_threads as threads


def test_candidates_of_the_gold_answers_are_labelled_with_the_gold_types():
    data = claim_classifier.examples(threads()[:1])
    by_text = {r["text"]: dict(zip(CLAIM_TYPES, labels)) for r, labels in zip(data.records, data.labels)}
    lasts = next(v for k, v in by_text.items() if k.startswith("Each treatment lasts 3-4 months"))
    assert lasts == {"duration": 1, "atrophy": 1, "dose_reduction": 1, "reversibility": 0}
    assert not any(text.endswith("?") for text in by_text)  # questions ask: never candidates
    assert set(data.threads) == {"mini-forum"} and data.rule_Y.shape == data.Y.shape


def test_thresholds_are_chosen_per_type_on_out_of_fold_probabilities():
    data = claim_classifier.examples(threads())
    probabilities = claim_classifier.out_of_fold(data, folds=2)
    assert probabilities.shape == data.Y.shape and ((0 <= probabilities) & (probabilities <= 1)).all()
    thresholds = claim_classifier.choose_thresholds(data.Y, probabilities)
    assert set(thresholds) == set(CLAIM_TYPES)
    assert all(min(claim_classifier.THRESHOLD_GRID) <= t <= max(claim_classifier.THRESHOLD_GRID)
               for t in thresholds.values())
    figures = claim_classifier.cross_validated_figures(data, probabilities, thresholds)
    assert set(figures) >= {"learned all", "rules all"}


def test_the_same_threads_give_the_same_model_bytes():
    data = claim_classifier.examples(threads())
    first = claim_classifier.model_bytes(claim_classifier.ClaimClassifier().fit(data.records, data.Y))
    second = claim_classifier.model_bytes(claim_classifier.ClaimClassifier().fit(data.records, data.Y))
    assert first == second


@pytest.mark.slow
def test_the_shipped_claim_classifier_is_what_training_on_the_dev_part_makes(tmp_path):
    written, card = claim_classifier.write_model(tmp_path / "claim_classifier.joblib")
    assert written.read_bytes() == config.CLAIM_CLASSIFIER_FILE.read_bytes(), (
        "training no longer makes the shipped claim classifier: write it again "
        "(python -m pipeline.learning.claim_classifier)")
    assert card["cross_validated"]["learned all"][2] > card["cross_validated"]["rules all"][2]
