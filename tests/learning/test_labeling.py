import pandas as pd
import pytest

from pipeline.learning.labeling import (ABSTAIN, AGAINST, FAVOR, NEUTRAL, analyse, apply_labeling_functions, lf_atrophy,
                               lf_negated_permanence, lf_returns_to_normal, lf_short_duration, lf_temporary,
                               lf_weights, weighted_vote)


def row(text, claim_type="duration", negated=False, hedged=False, cue="", low=None, high=None):
    return {"text": text, "claim_type": claim_type, "negated": negated, "hedged": hedged, "cue": cue,
            "duration_min_months": low, "duration_max_months": high}


@pytest.mark.parametrize("lf, claim, expected", [
    (lf_negated_permanence, row("Results are not permanent", negated=True, cue="permanent"), AGAINST),
    (lf_negated_permanence, row("Results are permanent", cue="permanent"), ABSTAIN),
    (lf_temporary, row("The results are only temporary."), AGAINST),
    (lf_temporary, row("The results last."), ABSTAIN),
    (lf_returns_to_normal, row("Muscles return to normal after stopping", "reversibility"), AGAINST),
    (lf_returns_to_normal, row("Muscles do not return", "reversibility", negated=True), ABSTAIN),
    (lf_atrophy, row("Muscles atrophy", "atrophy"), FAVOR),
    (lf_atrophy, row("Muscles do not atrophy", "atrophy", negated=True), ABSTAIN),
    (lf_short_duration, row("lasts 3-4 months", low=3, high=4), AGAINST),
    (lf_short_duration, row("lasts 9 months or more", low=9), ABSTAIN),
])
def test_labeling_functions(lf, claim, expected):
    assert lf(claim) == expected


def test_weighted_vote_follows_accuracy_and_abstains_on_ties():
    matrix = pd.DataFrame({"good": [FAVOR, FAVOR, ABSTAIN, AGAINST, FAVOR], "bad": [AGAINST, AGAINST, ABSTAIN, AGAINST, FAVOR]})
    gold = pd.Series([FAVOR, FAVOR, "", "", ""])
    weights = lf_weights(matrix, gold)
    assert weights["good"] > 0 and weights["bad"] == 0  # wrong on both hand labels: no better than chance
    labels, confidence = weighted_vote(matrix, weights)
    assert list(labels) == [FAVOR, FAVOR, ABSTAIN, AGAINST, FAVOR]
    tied, _ = weighted_vote(pd.DataFrame({"a": [FAVOR], "b": [AGAINST]}), {"a": 1.0, "b": 1.0})
    assert list(tied) == [ABSTAIN]
    assert 0 < confidence[0] <= 1 and confidence[2] == 0


def test_analysis_counts_coverage_overlap_conflict_and_wrong_examples():
    matrix = pd.DataFrame({"a": [FAVOR, FAVOR, ABSTAIN, AGAINST], "b": [FAVOR, AGAINST, ABSTAIN, ABSTAIN]})
    gold = pd.Series([FAVOR, AGAINST, NEUTRAL, ""])
    report = analyse(matrix, gold, pd.Series(["r0", "r1", "r2", "r3"])).set_index("labeling_function")
    assert report.loc["a", "coverage"] == 0.75
    assert report.loc["a", "overlaps"] == 0.5
    assert report.loc["a", "conflicts"] == 0.25
    assert report.loc["a", "n_labelled"] == 2 and report.loc["a", "correct"] == 1
    assert report.loc["a", "wrong_examples"] == "r1"
    assert report.loc["b", "accuracy"] == 1.0


def test_labeling_functions_run_on_extracted_claims():
    claims = pd.DataFrame([row("Results are not permanent", negated=True, cue="permanent"),
                           row("Muscles atrophy with repeated use", "atrophy")])
    matrix = apply_labeling_functions(claims)
    labels, _ = weighted_vote(matrix, {name: 1.0 for name in matrix.columns})
    assert list(labels) == [AGAINST, FAVOR]


def test_votes_turn_toward_the_proposition():
    from pipeline.learning.labeling import ABSTAIN, AGAINST, FAVOR, NEUTRAL, toward_proposition

    matrix = pd.DataFrame({"lf": [FAVOR, AGAINST, NEUTRAL, FAVOR, ABSTAIN, NEUTRAL]})
    polarity = pd.Series(["lasting", "passing", "passing", "other", "passing", "other"])
    assert toward_proposition(matrix, polarity)["lf"].tolist() == [FAVOR, FAVOR, NEUTRAL, ABSTAIN, ABSTAIN, NEUTRAL]
