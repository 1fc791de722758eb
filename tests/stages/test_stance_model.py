"""The stance model: answers from their claims, claims read against their question."""

import numpy as np
import pandas as pd
import pytest

from pipeline.schemas import STANCES
from pipeline.stages.stance_model import answer_stance, build_model


def test_answer_stance_weights_title_claims():
    claims = pd.DataFrame({"answer_id": ["a", "a", "a"], "char_start": [0, 20, 40]})
    proba = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.3, 0.7, 0.0]])
    spans = pd.DataFrame({"answer_id": ["a"], "title_start": [0], "title_end": [10]})
    [result] = answer_stance(claims, proba, STANCES, spans).to_dict("records")
    # title weight 2: against (0.9*2 + 0.2 + 0.3) / 4 = 0.575
    assert result["stance"] == "against" and result["stance_score"] == pytest.approx(0.575)


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


def _answers():
    return pd.DataFrame({"answer_id": ["t:1", "t:2", "t:3"], "title": ["No, it wears off", None, "Depends"],
                         "text": ["It fades in months.", "Yes. The muscle stays smaller.", "Hard to say."],
                         "title_start": [0, 50, 90], "title_end": [16, 50, 97]})


def test_answer_features_read_the_claims_their_count_and_the_opening_yes_or_no():
    from pipeline.stages.stance_model import ANSWER_FEATURES, answer_features

    claims = pd.DataFrame({"answer_id": ["t:1", "t:1", "t:2"], "char_start": [0, 20, 60]})
    probabilities = np.array([[0.8, 0.1, 0.1], [0.6, 0.2, 0.2], [0.1, 0.7, 0.2]])  # STANCES order
    features = answer_features(_answers(), claims, probabilities, STANCES)
    assert list(features.columns) == ANSWER_FEATURES and len(features) == 3
    first, second, third = (features.iloc[k] for k in range(3))
    assert first["max_against"] == 0.8 and first["log_claims"] == pytest.approx(np.log(3))
    assert first["mean_against"] == pytest.approx((0.8 * 2 + 0.6) / 3)  # the title's claim weighs twice
    assert first["direct_against"] == 1.0 and second["direct_favor"] == 1.0
    assert third["no_claims"] == 1.0 and third["mean_favor"] == 0.0 and third["direct_favor"] == 0.0


def test_the_answer_model_decides_every_answer_claims_or_not():
    from pipeline.stages.stance_model import answer_features, build_answer_model, decide_answers

    features = answer_features(_answers(), pd.DataFrame({"answer_id": [], "char_start": []}), np.zeros((0, 3)),
                               STANCES)
    model = build_answer_model().fit(np.vstack([features.to_numpy()] * 4), ["against", "favor", "neutral"] * 4)
    stances, scores = decide_answers(model, features)
    assert list(stances) == ["against", "favor", "neutral"]  # the opening yes or no, and no claims at all
    assert ((scores > 1 / 3) & (scores <= 1)).all()
