"""Training: cross-validation grouped by thread, never scoring a thread the model saw."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

from pipeline.learning.train import cross_validate
from pipeline.schemas import STANCES
from pipeline.stages.stance_model import build_model

from toy_claims import toy_claims


def test_cross_validation_is_grouped_and_reports_semeval_figures():
    claims, y = toy_claims()
    spans = pd.DataFrame({"answer_id": [f"t:{a}" for a in range(6)], "title_start": 0, "title_end": 0})
    metrics = cross_validate(build_model(), claims, y, np.ones(len(y)), np.ones(len(y), bool),
                             pd.Series({f"t:{a}": ("against" if a % 2 else "favor") for a in range(6)}), spans)
    claim_metrics = metrics["claims"]
    assert set(claim_metrics["per_class"]) == set(STANCES)
    assert claim_metrics["f_avg"] == pytest.approx(
        (claim_metrics["per_class"]["favor"]["f1"] + claim_metrics["per_class"]["against"]["f1"]) / 2, abs=1e-4)
    assert claim_metrics["n"] == len(y)
    assert metrics["claims_majority_baseline"]["accuracy"] <= 0.5
    assert claim_metrics["accuracy"] > metrics["claims_majority_baseline"]["accuracy"]
    assert "answers" in metrics


class ThreadRecorder(ClassifierMixin, BaseEstimator):
    """Predicts the majority label, and fails if asked about a thread it was trained on."""

    def fit(self, X, y, sample_weight=None):
        self.threads_ = set(X["thread_id"])
        self.classes_ = np.array(sorted(set(y)))
        return self

    def predict_proba(self, X):
        seen = self.threads_ & set(X["thread_id"])
        assert not seen, f"scored threads it trained on: {seen}"
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))


def test_cross_validation_by_thread_never_scores_a_thread_the_model_saw():
    claims, y = toy_claims(n_answers=12)
    claims["thread_id"] = [f"thread{int(a.split(':')[1]) // 2}" for a in claims["answer_id"]]  # two answers each
    spans = pd.DataFrame({"answer_id": claims["answer_id"].unique(), "title_start": 0, "title_end": 0})
    model = Pipeline([("classify", ThreadRecorder())])
    is_gold = np.ones(len(y), bool)
    is_gold[:3] = False  # weak rows train but are never scored
    metrics = cross_validate(model, claims, y, np.ones(len(y)), is_gold, pd.Series(dtype=str), spans,
                             group_by="thread_id")
    assert metrics["grouped_by"] == "thread_id" and metrics["claims"]["n"] == int(is_gold.sum())


def test_a_trained_model_carries_its_answer_model_and_its_card_the_answer_figures(small_models):
    from pipeline.learning import registry
    from pipeline.stages.stance_model import ANSWER_FEATURES

    model_dir, _, _ = small_models
    model, card = registry.load_model(registry.resolve(model_dir))
    assert model.answer_model_.n_features_in_ == len(ANSWER_FEATURES)
    assert card["answer_model"]["features"] == ANSWER_FEATURES and card["answer_model"]["answers"] > 0
