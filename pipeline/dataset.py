"""Stage 4: apply the stance model and write the dataset's tables.

claims.csv and answers.csv get their stance columns; summary.csv has one row
per thread: answers by stance, claims by type, and the range of stated durations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.labeling import STANCES
from pipeline.nlp import CLAIM_TYPES
from pipeline.stance import answer_stance, predict

SUMMARY_COLUMNS = (
    ["thread_id", "question", "answers"] + [f"answers_{s}" for s in STANCES]
    + ["claims"] + [f"claims_{t}" for t in CLAIM_TYPES]
    + ["durations_stated", "duration_min_months", "duration_max_months", "duration_open_ended"]
)


def classify(model, answers: pd.DataFrame, claims: pd.DataFrame,
             settings: Settings = DEFAULT_SETTINGS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Copies of `answers` and `claims` with stance and stance_score filled in.

    Claims take the most probable class. Answers combine their title and claims
    (see stance.answer_stance); an answer with no claim is neutral with no score,
    and the question row (position 0) takes no stance.
    """
    claims, answers = claims.copy(), answers.copy()
    probabilities, classes = predict(model, claims)
    if len(claims):
        claims["stance"] = np.asarray(classes, dtype=object)[probabilities.argmax(axis=1)]
        claims["stance_score"] = probabilities.max(axis=1).round(settings.score_decimals)
    by_answer = answer_stance(claims, probabilities, classes,
                              answers[["answer_id", "title_start", "title_end"]], settings).set_index("answer_id")
    is_answer = answers["role"].eq("answer")
    answers["stance"] = answers["answer_id"].map(by_answer["stance"]).astype(object).where(is_answer)
    answers.loc[is_answer & answers["stance"].isna(), "stance"] = "neutral"
    answers["stance_score"] = answers["answer_id"].map(by_answer["stance_score"]).where(is_answer).astype("float64")
    return answers, claims


def summarise(answers: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """One row per thread, in thread order."""
    rows = []
    for thread_id, thread_answers in answers.groupby("thread_id", sort=False):
        thread_claims = claims[claims["thread_id"] == thread_id]
        replies = thread_answers[thread_answers["role"] == "answer"]
        question = thread_answers.loc[thread_answers["role"] == "question", "title"]
        durations = thread_claims[thread_claims[["duration_min_months", "duration_max_months"]].notna().any(axis=1)]
        lows = durations["duration_min_months"].dropna()
        highs = durations["duration_max_months"].dropna()
        row = {
            "thread_id": thread_id,
            "question": question.iloc[0] if len(question) else "",
            "answers": len(replies),
            **{f"answers_{s}": int((replies["stance"] == s).sum()) for s in STANCES},
            "claims": len(thread_claims),
            **{f"claims_{t}": int((thread_claims["claim_type"] == t).sum()) for t in CLAIM_TYPES},
            "durations_stated": len(durations),
            "duration_min_months": lows.min() if len(lows) else None,
            "duration_max_months": highs.max() if len(highs) else None,
            "duration_open_ended": bool((durations["duration_min_months"].notna()
                                         & durations["duration_max_months"].isna()).any()),
        }
        rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
