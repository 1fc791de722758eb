import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

from pipeline.io.files import sha256_file
from pipeline.learning.labeling import STANCES
from pipeline.learning.labels import read_labels
from pipeline.learning.registry import ModelTrustError, load_model, save_model
from pipeline.learning.train import cross_validate
from pipeline.stages.stance_model import answer_stance, build_model


def toy_claims(n_answers=6):
    texts = {
        "against": ["Results are not permanent and wear off", "The effect is temporary", "Function returns after stopping"],
        "favor": ["Muscles atrophy with repeated use", "You need less product over time", "Results last longer each time"],
    }
    rows, labels = [], []
    for a in range(n_answers):
        stance = "against" if a % 2 else "favor"
        for k, text in enumerate(texts[stance]):
            rows.append({"answer_id": f"t:{a}", "text": text, "claim_type": "duration", "negated": stance == "against",
                         "hedged": False, "duration_min_months": np.nan, "duration_max_months": np.nan,
                         "char_start": 100 * a + 10 * k})
            labels.append(stance)
    return pd.DataFrame(rows), pd.Series(labels)


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


def test_answer_stance_weights_title_claims():
    claims = pd.DataFrame({"answer_id": ["a", "a", "a"], "char_start": [0, 20, 40]})
    proba = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.3, 0.7, 0.0]])
    spans = pd.DataFrame({"answer_id": ["a"], "title_start": [0], "title_end": [10]})
    [result] = answer_stance(claims, proba, STANCES, spans).to_dict("records")
    # title weight 2: against (0.9*2 + 0.2 + 0.3) / 4 = 0.575
    assert result["stance"] == "against" and result["stance_score"] == pytest.approx(0.575)


def test_saved_model_loads_and_tampered_model_is_refused(tmp_path):
    claims, y = toy_claims()
    model = build_model().fit(claims, y)
    path = tmp_path / "stance.joblib"
    card = save_model(model, path, {"metrics": {}})
    loaded, loaded_card = load_model(path)
    assert loaded_card["model_sha256"] == card["model_sha256"]
    assert set(card["versions"]) >= {"scikit-learn", "spacy", "python"}
    assert list(loaded.predict(claims)) == list(model.predict(claims))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ModelTrustError, match="does not match"):
        load_model(path)


class Payload:
    """What a crafted joblib file does on load: here, leave a file behind."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "ran"))


def test_crafted_model_with_a_matching_card_is_not_loaded_until_trusted(tmp_path):
    import joblib

    from pipeline.io import trust
    from pipeline.faces.cli import main

    marker = tmp_path / "payload-ran"
    path = tmp_path / "stance-0001.joblib"
    joblib.dump(Payload(marker), path)  # whoever can write the models folder can write a card to match
    path.with_suffix(".card.json").write_text(json.dumps({"model_sha256": sha256_file(path)}))
    with pytest.raises(ModelTrustError, match="not trusted here.*claims models trust"):
        load_model(path)
    assert not marker.exists()
    assert main(["models", "trust", str(path)]) == 0  # said by someone who knows where the file comes from
    assert trust.trusted()[sha256_file(path)]["how"] == trust.TRUSTED_BY_HAND
    load_model(path)
    assert marker.read_text() == "ran"


def test_trust_store_lives_outside_the_models_folder_and_records_each_training(tmp_path):
    from pipeline.io import trust

    claims, y = toy_claims()
    path = tmp_path / "models" / "stance.joblib"
    path.parent.mkdir()
    card = save_model(build_model().fit(claims, y), path, {})
    assert trust.trusted()[card["model_sha256"]]["how"] == trust.TRAINED_HERE
    assert tmp_path not in trust.store_path().parents


def test_model_without_card_is_refused(tmp_path):
    claims, y = toy_claims()
    path = tmp_path / "stance.joblib"
    save_model(build_model().fit(claims, y), path, {})
    path.with_suffix(".card.json").unlink()
    with pytest.raises(ModelTrustError, match="no model card"):
        load_model(path)


@pytest.mark.parametrize("content, problem", [
    ("thread_id,level,answer_id,text,label,annotator,labelled_at,source\nt,sentence,t:1,x,maybe,me,2026,hand\n",
     "unknown label"),
    ("thread_id,level,answer_id,text,label,annotator,labelled_at,source\nt,sentence,t:1,x,favor,me,2026,hand\n"
     "t,sentence,t:1,x,against,me,2026,hand\n", "conflicting"),
    ("thread_id,answer_id,text,label\n", "missing columns"),
])
def test_bad_labels_files_are_refused(tmp_path, content, problem):
    path = tmp_path / "labels.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=problem):
        read_labels(path)


def test_bundled_labels_file_is_valid():
    from pipeline.config import LABELS_FILE

    labels = read_labels(LABELS_FILE)
    assert set(labels["label"]) == set(STANCES)
    assert (labels["level"] == "answer").sum() == 10
    assert labels["text"].str.strip().ne("").all()


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


def test_paired_design_turns_a_claim_with_its_question():
    """The same sentence is against 'are results permanent?' and for 'will the muscles recover?'."""
    rows, labels = [], []
    for k in range(12):
        for polarity, proposition in (("lasting", "results become permanent"), ("passing", "muscles recover")):
            for text, direction in (("the muscles recover fully after stopping", -1),
                                    ("the muscles atrophy and stay weaker", 1)):
                rows.append({"thread_id": f"{polarity}{k}", "answer_id": f"{polarity}{k}:1", "text": text,
                             "claim_type": "reversibility", "negated": False, "hedged": False,
                             "duration_min_months": np.nan, "duration_max_months": np.nan,
                             "proposition": proposition, "proposition_polarity": polarity})
                agrees = direction == (1 if polarity == "lasting" else -1)
                labels.append("favor" if agrees else "against")
    frame, y = pd.DataFrame(rows), pd.Series(labels)
    paired = build_model(design="paired").fit(frame, y)
    blind = build_model(design="blind").fit(frame, y)
    assert (paired.predict(frame) == y).all()
    assert (blind.predict(frame) == y).mean() <= 0.75  # the text alone cannot tell
