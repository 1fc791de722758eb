"""The `classify` stage: the stance model applied to claims and answers, and the summary of each thread.

claims.csv and answers.csv get their stance columns; summary.csv has one row
per thread: answers by stance, claims by type, and the range of stated durations.
The asker's own sentences (claims with role "question") are kept in
claims.csv but take no stance and state no duration for the summary: the
stance and the ranges are what the experts say.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import DEFAULT_SETTINGS, ClassifySettings
from pipeline.schemas import ASKER, CLAIM_COLUMNS, CLAIM_TYPES, QUESTION_COLUMNS, STANCES, SUMMARY_COLUMNS, YES_NO
from pipeline.stages.stance_model import answer_features, answer_stance, decide_answers, predict, with_direct_answers

def with_question(claims: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """`claims` with their thread's question reading (QUESTION_COLUMNS), which the stance model pairs them with."""
    reading = question_rows(answers, QUESTION_COLUMNS)
    joined = reading.reindex(claims["thread_id"]).fillna("")
    return claims.drop(columns=[c for c in QUESTION_COLUMNS if c in claims]).assign(
        **{c: joined[c].astype(str).to_numpy() for c in QUESTION_COLUMNS})


def asks_yes_no(frame: pd.DataFrame, answers: pd.DataFrame) -> pd.Series:
    """Per row of `frame` (by thread_id), whether its thread asks a yes/no question: only those take a stance."""
    kinds = question_rows(answers, ["question_kind"])["question_kind"]
    return frame["thread_id"].map(kinds).eq(YES_NO)


def question_rows(answers: pd.DataFrame, columns) -> pd.DataFrame:
    """Each thread's question row (indexed by thread_id), with only `columns`: the columns are picked before the
    rows, so the answers' texts are not copied for a filter that does not read them."""
    return (answers.loc[answers["role"].eq("question").to_numpy(), ["thread_id", *columns]]
            .drop_duplicates("thread_id").set_index("thread_id"))




def by_experts(claims: pd.DataFrame) -> pd.Series:
    """Per claim row, whether an expert made it (role "answer"), not the asker (role "question").

    Rows without a role column (tables written before claims had one) count as the experts'.
    """
    if "role" not in claims:
        return pd.Series(True, index=claims.index)
    return claims["role"].ne(ASKER)


def takes_stance(claims: pd.DataFrame, answers: pd.DataFrame) -> pd.Series:
    """Per claim row, whether it takes a stance: an expert's claim in a thread that asks a yes/no question."""
    return asks_yes_no(claims, answers) & by_experts(claims)


def classify(model, answers: pd.DataFrame, claims: pd.DataFrame,
             settings: ClassifySettings = DEFAULT_SETTINGS.classify) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Copies of `answers` and `claims` with stance and stance_score filled in.

    Claims take the most probable class, read against their thread's
    proposition. Answers take the answer model's decision where the model has
    one (stance_model.answer_features: its claims' probabilities, their count,
    its opening yes or no; an answer without claims too); a model without one
    combines their title and claims (stance_model.answer_stance), an answer
    with no claim then being neutral with no score,
    and the question row (position 0) takes no stance, nor do the asker's own
    claims (role "question"), which so never count in an answer's stance. In
    a thread whose question is open ("How long does it last?") or missing,
    nothing takes a stance: there is no proposition to be for or against.
    """
    answers = answers.copy()
    claims = with_question(claims, answers)
    stanced = takes_stance(claims, answers).to_numpy()
    probabilities, classes = predict(model, claims[stanced])
    claims["stance"], claims["stance_score"] = None, np.nan
    if stanced.any():
        claims.loc[stanced, "stance"] = np.asarray(classes, dtype=object)[probabilities.argmax(axis=1)]
        claims.loc[stanced, "stance_score"] = probabilities.max(axis=1).round(settings.score_decimals)
    is_answer = answers["role"].eq("answer") & asks_yes_no(answers, answers)
    answer_model = getattr(model, "answer_model_", None)
    if answer_model is not None:  # the answer's own decision, its claims among its features
        features = answer_features(answers[is_answer], claims[stanced].reset_index(drop=True), probabilities,
                                   classes, settings)
        stances, scores = decide_answers(answer_model, features)
        answers["stance"], answers["stance_score"] = None, np.nan
        answers.loc[is_answer, "stance"] = stances
        answers.loc[is_answer, "stance_score"] = np.round(scores, settings.score_decimals)
        answers["stance_score"] = answers["stance_score"].astype("float64")
        return answers, claims[CLAIM_COLUMNS]
    by_answer = answer_stance(claims[stanced].reset_index(drop=True), probabilities, classes,
                              answers[["answer_id", "title_start", "title_end"]], settings).set_index("answer_id")
    answers["stance"] = answers["answer_id"].map(by_answer["stance"]).astype(object).where(is_answer)
    answers.loc[is_answer & answers["stance"].isna(), "stance"] = "neutral"
    answers["stance_score"] = answers["answer_id"].map(by_answer["stance_score"]).where(is_answer).astype("float64")
    # an answer that opens with a plain yes or no says its stance itself (no probability: the score is emptied)
    direct = with_direct_answers(answers, answers["stance"])
    answers.loc[direct.ne(answers["stance"]) & is_answer, "stance_score"] = np.nan
    answers["stance"] = direct
    return answers, claims[CLAIM_COLUMNS]


def summarise(answers: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """One row per thread, in thread order (grouped aggregations: no per-thread loop).

    The claim counts are of every claim, the asker's included; the duration
    columns are of the experts' claims only (what the asker says of their own
    treatment is not a duration the experts state).
    """
    order = pd.Index(answers["thread_id"].drop_duplicates(), name="thread_id")
    replies = answers.loc[answers["role"].eq("answer").to_numpy(), ["thread_id", "stance"]]
    asked = question_rows(answers, ["title", "text", *QUESTION_COLUMNS])
    questions = asked["title"]
    # a page whose copy has no question is read as answers only (the segmenter warns): its question row is empty
    found = asked["title"].fillna("").ne("") | asked["text"].fillna("").ne("")

    def counts(frame: pd.DataFrame, column: str, values) -> pd.DataFrame:
        # groupby-size, not crosstab: crosstab aggregates group by group in Python
        table = frame.groupby(["thread_id", column]).size().unstack(fill_value=0) if len(frame) else pd.DataFrame()
        return table.reindex(index=order, columns=list(values), fill_value=0).fillna(0).astype(int)

    answer_counts = counts(replies, "stance", STANCES)
    claim_counts = counts(claims, "claim_type", CLAIM_TYPES)
    durations = [c for c in ("thread_id", "duration_min_months", "duration_max_months", "duration_kind") if c in claims]
    experts = claims.loc[by_experts(claims).to_numpy(), durations]
    stated = experts[experts[["duration_min_months", "duration_max_months"]].notna().any(axis=1)]
    if "duration_kind" in stated:  # the ranges are of how long the effect lasts, not intervals, recovery or onset
        stated = stated[stated["duration_kind"].fillna("effect") == "effect"]
    by_thread = stated.groupby("thread_id")
    open_ended = (stated["duration_min_months"].notna() & stated["duration_max_months"].isna()).groupby(
        stated["thread_id"]).any()
    summary = pd.DataFrame({
        "thread_id": order,
        "question": questions.reindex(order).fillna("").to_numpy(),
        "question_found": found.reindex(order, fill_value=False).astype(bool).to_numpy(),
        **{c: asked[c].reindex(order).fillna("").to_numpy() for c in QUESTION_COLUMNS},
        "answers": replies.groupby("thread_id").size().reindex(order, fill_value=0).to_numpy(),
        **{f"answers_{s}": answer_counts[s].to_numpy() for s in STANCES},
        "claims": claims.groupby("thread_id").size().reindex(order, fill_value=0).to_numpy(),
        **{f"claims_{t}": claim_counts[t].to_numpy() for t in CLAIM_TYPES},
        "durations_stated": by_thread.size().reindex(order, fill_value=0).to_numpy(),
        "duration_min_months": by_thread["duration_min_months"].min().reindex(order).to_numpy(dtype=float),
        "duration_max_months": by_thread["duration_max_months"].max().reindex(order).to_numpy(dtype=float),
        "duration_open_ended": open_ended.reindex(order, fill_value=False).astype(bool).to_numpy(),
    })
    return summary[SUMMARY_COLUMNS]


def classify_threads(model, answers: pd.DataFrame, claims: pd.DataFrame,
                     settings: ClassifySettings = DEFAULT_SETTINGS.classify
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The `classify` stage: stance for answers and claims (none without a model), and the summary."""
    if model is not None:
        answers, claims = classify(model, answers, claims, settings)
    else:
        answers = answers.assign(stance=None, stance_score=float("nan"))
        claims = claims.assign(stance=None, stance_score=float("nan"))
    return answers, claims, summarise(answers, claims)
