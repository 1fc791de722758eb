"""The learned claim detector's model: per-type decisions over shared text features, thresholds, a guarded load."""

import json

import numpy as np
import pytest
import sklearn

from pipeline.components import claim_model
from pipeline.components.claim_model import ClaimClassifier, ClaimModelError, lemmas, type_features
from pipeline.schemas import CLAIM_TYPES


def record(text, cues=(), rule_types=(), figure=False):
    words = text.split()
    return {"text": text, "lemmas": lemmas(words), "cues": list(cues), "rule_types": list(rule_types),
            "figure": figure, "words": len(words)}


RECORDS = [record("It reverses after stopping.", [("reversibility", "reverse")], ["reversibility"]),
           record("The muscle works normally again.", [("reversibility", "again")]),
           record("The effect lasts 3-4 months.", [("duration", "lasts")], ["duration"], True),
           record("Results last about four months.", [("duration", "lasts")], ["duration"], True),
           record("Thanks for the question again.", [("reversibility", "again")]),
           record("The muscle shrinks with repeated use.", [("atrophy", "shrink")], ["atrophy"]),
           record("I lowered my dose last year.", [("dose_reduction", "lower")], ["dose_reduction"]),
           record("Feel free to book a visit.", [("duration", "lasts")])] * 3
Y = np.array([[0, 0, 0, 1], [0, 0, 0, 1], [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0],
              [0, 0, 0, 0]] * 3)


def test_lemmas_are_lower_cased_lookups_so_inflections_meet():
    assert lemmas(["Reverses", "lowered", "muscles", "stretched"]) == "reverse lower muscle stretch"


def test_type_features_say_what_the_rules_claim_and_which_cues_of_which_types_the_sentence_holds():
    features = type_features(RECORDS[1], "reversibility")
    assert features["rules_claim"] == 0.0 and features["cue_of_type=True"] == 1.0
    assert features["cue=reversibility|again"] == 1.0
    assert type_features(RECORDS[2], "duration")["rules_claim"] == 1.0
    assert "cue_of_type=True" not in type_features(RECORDS[2], "atrophy")


def test_the_classifier_learns_each_type_and_applies_its_threshold():
    model = ClaimClassifier(C=10.0).fit(RECORDS, Y)
    probabilities = model.predict_proba(RECORDS)
    assert probabilities.shape == (len(RECORDS), len(CLAIM_TYPES))
    assert (model.predict(RECORDS) == Y).all()
    strict = ClaimClassifier(C=10.0, thresholds=dict.fromkeys(CLAIM_TYPES, 1.01)).fit(RECORDS, Y)
    assert strict.predict(RECORDS).sum() == 0
    assert model.predict_proba([]).shape == (0, len(CLAIM_TYPES))


def test_a_type_without_positives_answers_no():
    without = Y.copy()
    without[:, CLAIM_TYPES.index("atrophy")] = 0
    model = ClaimClassifier().fit(RECORDS, without)
    assert model.predict(RECORDS)[:, CLAIM_TYPES.index("atrophy")].sum() == 0


def test_the_package_model_loads_and_a_damaged_or_foreign_one_is_refused(tmp_path):
    assert isinstance(claim_model.load(), ClaimClassifier)
    path = tmp_path / "claim_classifier.joblib"
    path.write_bytes(b"not the model")
    card = json.loads(claim_model.card_file(claim_model.config.CLAIM_CLASSIFIER_FILE).read_text())
    claim_model.card_file(path).write_text(json.dumps(card))
    with pytest.raises(ClaimModelError, match="sha256 does not match"):
        claim_model.load(path)
    path.write_bytes(claim_model.config.CLAIM_CLASSIFIER_FILE.read_bytes())
    claim_model.card_file(path).write_text(json.dumps({**card, "versions": {"scikit-learn": "0.1"}}))
    with pytest.raises(ClaimModelError, match=f"scikit-learn 0.1, installed {sklearn.__version__}"):
        claim_model.load(path)
    with pytest.raises(ClaimModelError, match="cannot be read"):
        claim_model.load(tmp_path / "missing.joblib")


def test_scores_for_all_types_at_once_are_each_models_own_over_its_stacked_matrix():
    """decision_function's shortcut (one product per text matrix, the rule features split into shared and per-type
    columns) gives what each logistic regression gives over [text | its DictVectorizer's rule features]."""
    import scipy.sparse as sp

    unseen = [record("A sentence with an unseen cue.", [("atrophy", "never seen")]), record("Short.")]
    for model in (claim_model.load(), ClaimClassifier(C=10.0).fit(RECORDS, Y)):
        rows = RECORDS + unseen
        text = sp.hstack([model.words_.transform([r["lemmas"] for r in rows]),
                          model.chars_.transform([r["text"] for r in rows])]).tocsr()
        expected = np.column_stack([
            model.models_[t].decision_function(sp.hstack([text, model.rules_[t].transform(
                [type_features(r, t) for r in rows])]).tocsr()) for t in CLAIM_TYPES])
        np.testing.assert_allclose(model.decision_function(rows), expected, rtol=1e-12, atol=1e-12)
