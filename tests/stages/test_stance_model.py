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
