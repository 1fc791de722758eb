"""Weak stance labels from rules, and how good each rule is.

Each labelling function is a pure function of one claim row (a mapping with
the columns of claims.csv) that returns FAVOR, AGAINST, NEUTRAL or ABSTAIN, as
in Snorkel. Keyword lists are data (resources/labeling_lexicon.json).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from pipeline.config import LABELING_LEXICON_FILE
from pipeline.io.files import reread_when_changed
from pipeline.schemas import ABSTAIN, AGAINST, FAVOR, NEUTRAL, STANCES  # noqa: F401 (the label set, used here and re-exported)



@reread_when_changed
def lexicon(path: Path = LABELING_LEXICON_FILE) -> dict:
    with open(path, encoding="utf-8") as handle:
        raw = json.load(handle)
    return {k: ([re.compile(p, re.IGNORECASE) for p in v] if isinstance(v, list) else v)
            for k, v in raw.items() if not k.startswith("_")}


def _any(key: str, text: str) -> bool:
    return any(p.search(text) for p in lexicon()[key])


def _true(value) -> bool:
    return str(value).strip().lower() in {"true", "1", "yes"}


def _is_permanence_cue(row: Mapping) -> bool:
    return row["claim_type"] == "duration" and _any("permanence_cues", str(row["cue"]).lower())


def lf_negated_permanence(row: Mapping) -> str:
    """'not permanent', 'never permanent', 'cannot say it is permanent'."""
    return AGAINST if _is_permanence_cue(row) and _true(row["negated"]) else ABSTAIN


def lf_affirmed_permanence(row: Mapping) -> str:
    return FAVOR if _is_permanence_cue(row) and not _true(row["negated"]) and not _true(row["hedged"]) else ABSTAIN


def lf_temporary(row: Mapping) -> str:
    return AGAINST if _any("temporary", row["text"]) else ABSTAIN


def lf_returns_to_normal(row: Mapping) -> str:
    """Function or muscles come back after stopping."""
    if row["claim_type"] == "reversibility" and not _true(row["negated"]) and _any("returns_to_normal", row["text"]):
        return AGAINST
    return ABSTAIN


def lf_atrophy(row: Mapping) -> str:
    """Muscles weaken with repeated use: a lasting, cumulative effect."""
    return FAVOR if row["claim_type"] == "atrophy" and not _true(row["negated"]) else ABSTAIN


def lf_dose_reduction(row: Mapping) -> str:
    return FAVOR if row["claim_type"] == "dose_reduction" and not _true(row["negated"]) else ABSTAIN


def lf_prolonged(row: Mapping) -> str:
    return FAVOR if row["claim_type"] == "duration" and not _true(row["negated"]) and _any("prolonged", row["text"]) else ABSTAIN


def lf_short_duration(row: Mapping) -> str:
    """A stated duration of a few months, with no open end."""
    high = pd.to_numeric(row.get("duration_max_months"), errors="coerce")
    return AGAINST if pd.notna(high) and high <= lexicon()["short_duration_max_months"] else ABSTAIN


def lf_no_evidence(row: Mapping) -> str:
    return AGAINST if _any("no_evidence", row["text"]) else ABSTAIN


def lf_attributed(row: Mapping) -> str:
    """Hearsay ('some will say') states a view without taking it."""
    return NEUTRAL if _any("attributed", row["text"]) else ABSTAIN


LABELING_FUNCTIONS: tuple[Callable[[Mapping], str], ...] = (
    lf_negated_permanence, lf_affirmed_permanence, lf_temporary, lf_returns_to_normal, lf_atrophy,
    lf_dose_reduction, lf_prolonged, lf_short_duration, lf_no_evidence, lf_attributed,
)


def apply_labeling_functions(claims: pd.DataFrame, lfs=LABELING_FUNCTIONS) -> pd.DataFrame:
    """The label matrix: one column per function, ABSTAIN where it has no opinion."""
    records = claims.to_dict("records")
    return pd.DataFrame({lf.__name__: [lf(r) for r in records] for lf in lfs}, index=claims.index)


def toward_proposition(matrix: pd.DataFrame, polarity: pd.Series) -> pd.DataFrame:
    """The votes turned toward each row's thread proposition.

    The functions vote on one axis: FAVOR means the effect lasts or builds up,
    AGAINST that it wears off. That is the stance toward a proposition whose
    yes means lasting (polarity "lasting"); toward one whose yes means passing
    ("Will my muscles recover?") the two swap; toward any other proposition
    the functions have no opinion, except that a neutral vote stays neutral.
    """
    swap = {FAVOR: AGAINST, AGAINST: FAVOR}
    passing = polarity.eq("passing").to_numpy()
    lasting = polarity.eq("lasting").to_numpy()
    turned = matrix.copy()
    for column in turned.columns:
        votes = turned[column]
        elsewhere = votes.where(votes.eq(NEUTRAL), ABSTAIN)  # "no evidence", "attributed": neutral whatever is asked
        turned[column] = np.where(passing, votes.map(lambda v: swap.get(v, v)), np.where(lasting, votes, elsewhere))
    return turned


def analyse(matrix: pd.DataFrame, gold: pd.Series, ids: pd.Series) -> pd.DataFrame:
    """Per function: coverage, overlaps, conflicts, and accuracy against `gold` with the wrong ids.

    `gold` holds hand labels ("" where a row has none); the figures follow Snorkel's LFAnalysis.
    """
    votes = matrix.to_numpy()
    voted = votes != ABSTAIN
    rows = []
    for j, name in enumerate(matrix.columns):
        mine = voted[:, j]
        others = np.delete(voted, j, axis=1)
        other_votes = np.delete(votes, j, axis=1)
        overlap = mine & others.any(axis=1)
        conflict = mine & ((other_votes != votes[:, [j]]) & others).any(axis=1)
        judged = mine & (gold.to_numpy() != "")
        correct = judged & (votes[:, j] == gold.to_numpy())
        wrong_ids = ids.to_numpy()[judged & ~correct]
        rows.append({
            "labeling_function": name,
            "polarity": ";".join(sorted(set(votes[mine, j]))),
            "coverage": round(float(mine.mean()) if len(mine) else 0.0, 4),
            "overlaps": round(float(overlap.mean()) if len(mine) else 0.0, 4),
            "conflicts": round(float(conflict.mean()) if len(mine) else 0.0, 4),
            "n_labelled": int(judged.sum()),
            "correct": int(correct.sum()),
            "accuracy": round(float(correct.sum() / judged.sum()), 4) if judged.sum() else None,
            "wrong_examples": ";".join(wrong_ids),
        })
    return pd.DataFrame(rows)


def lf_weights(matrix: pd.DataFrame, gold: pd.Series) -> dict[str, float]:
    """Each function's vote weight: the log-odds of its accuracy on hand labels against chance.

    Accuracy is smoothed ((correct + 1) / (judged + 2)), so a function never
    checked against a hand label gets a small positive weight, and one that is
    wrong more often than chance gets none.
    """
    weights = {}
    labelled = gold.to_numpy() != ABSTAIN
    chance = 1 / len(STANCES)
    for name in matrix.columns:
        votes = matrix[name].to_numpy()
        judged = labelled & (votes != ABSTAIN)
        accuracy = (float((votes[judged] == gold.to_numpy()[judged]).sum()) + 1) / (float(judged.sum()) + 2)
        odds = (accuracy / (1 - accuracy)) / (chance / (1 - chance))
        weights[name] = max(0.0, float(np.log(odds)))
    return weights


def weighted_vote(matrix: pd.DataFrame, weights: dict[str, float]) -> tuple[pd.Series, pd.Series]:
    """Weak label and its confidence per row: votes summed with their functions' weights.

    Confidence is the softmax share of the winning class; rows with no weighted
    vote, or a tie, get ABSTAIN and confidence 0.
    """
    scores = np.zeros((len(matrix), len(STANCES)))
    for name in matrix.columns:
        votes = matrix[name].to_numpy()
        for k, stance in enumerate(STANCES):
            scores[:, k] += np.where(votes == stance, weights.get(name, 0.0), 0.0)
    best = scores.max(axis=1)
    tied = (scores == best[:, None]).sum(axis=1) > 1
    voted = (best > 0) & ~tied
    shares = np.exp(scores - best[:, None])
    confidence = np.where(voted, 1 / shares.sum(axis=1), 0.0)
    labels = np.where(voted, np.asarray(STANCES, dtype=object)[scores.argmax(axis=1)], ABSTAIN)
    return pd.Series(labels, index=matrix.index), pd.Series(confidence, index=matrix.index)
