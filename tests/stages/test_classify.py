"""The classify stage: stance for the experts' claims and answers, none for the asker's own, and the summary."""

import pandas as pd
import pytest

import pipeline
from pipeline.schemas import STANCES
from pipeline.stages.classify import by_experts, classify_threads, summarise, takes_stance

from asker_thread import ASKER_ATROPHY, ASKER_DURATION, THREAD, RecordingModel, asker_tables


@pytest.fixture(scope="module")
def tables():
    return asker_tables()


def test_the_thread_has_the_asker_s_own_claims_and_the_experts(tables):
    claims = tables["claims"]
    askers = claims[claims["role"] == "question"]
    assert set(askers["text"]) == {ASKER_DURATION, ASKER_ATROPHY}
    assert askers.loc[askers["text"] == ASKER_DURATION, ["duration_min_months", "duration_max_months"]].values.tolist() \
        == [[9.0, 9.0]]
    assert list(by_experts(claims)) == list(claims["role"] == "answer")
    assert list(takes_stance(claims, tables["answers"])) == list(claims["role"] == "answer")  # a yes/no thread


def test_the_asker_s_claims_take_no_stance_and_are_never_read_by_the_model(tables):
    model = RecordingModel()
    answers, claims, summary = classify_threads(model, tables["answers"], tables["claims"])
    askers, experts = claims[claims["role"] == "question"], claims[claims["role"] == "answer"]
    assert len(askers) == 2 and askers["stance"].isna().all() and askers["stance_score"].isna().all()
    assert experts["stance"].isin(STANCES).all() and experts["stance_score"].notna().all()
    assert not {ASKER_DURATION, ASKER_ATROPHY} & set(model.seen)
    assert sorted(set(model.seen)) == sorted(set(experts["text"]))
    replies = answers[answers["role"] == "answer"]
    assert replies["stance"].isin(STANCES).all() and answers.loc[answers["role"] == "question", "stance"].isna().all()


def test_the_asker_s_claims_never_count_in_an_answer_s_stance(tables):
    """Claims of the asker said to belong to an answer (a misread page) still take no part in its stance."""
    answers, claims = tables["answers"], tables["claims"]
    first_answer = answers.loc[answers["role"] == "answer", "answer_id"].iloc[0]
    alone = claims[(claims["answer_id"] == first_answer)]
    with_asker = pd.concat([alone, claims[claims["role"] == "question"].assign(answer_id=first_answer)],
                           ignore_index=True)
    before, _, _ = classify_threads(RecordingModel(), answers, alone)
    after, scored, _ = classify_threads(RecordingModel(), answers, with_asker)
    columns = ["answer_id", "stance", "stance_score"]
    pd.testing.assert_frame_equal(before[columns], after[columns])
    assert scored.loc[scored["role"] == "question", "stance"].isna().all()


def test_the_summary_s_duration_range_is_the_experts_and_its_counts_every_claim(tables):
    answers, claims, summary = classify_threads(RecordingModel(), tables["answers"], tables["claims"])
    row = summary.iloc[0]
    # the experts say 3-4 and about 4 months; the asker's own 9 months is not in the range
    assert (row["duration_min_months"], row["duration_max_months"]) == (3.0, 4.0)
    assert row["durations_stated"] == 2 and not row["duration_open_ended"]
    assert row["claims"] == len(claims) and row["claims_atrophy"] == (claims["claim_type"] == "atrophy").sum()
    # an asker whose own figure is open-ended does not make the experts' range open-ended either
    open_ended = claims.assign(duration_max_months=claims["duration_max_months"].where(claims["role"] != "question"))
    assert not summarise(answers, open_ended).iloc[0]["duration_open_ended"]
    # a thread where only the asker states a figure states none
    experts_silent = claims[(claims["role"] == "question") | (claims["claim_type"] != "duration")]
    silent = summarise(answers, experts_silent).iloc[0]
    assert silent["durations_stated"] == 0 and pd.isna(silent["duration_min_months"])
    assert pd.isna(silent["duration_max_months"]) and silent["claims_duration"] == 1


def test_without_a_model_nothing_takes_a_stance_and_the_range_is_still_the_experts(tables):
    _, claims, summary = classify_threads(None, tables["answers"], tables["claims"])
    assert claims["stance"].isna().all()
    assert (summary.iloc[0]["duration_min_months"], summary.iloc[0]["duration_max_months"]) == (3.0, 4.0)


def test_a_run_with_a_trained_model_gives_the_asker_no_stance(small_models):
    tables = pipeline.process(THREAD, model_dir=small_models[0])
    claims, summary = tables["claims"], tables["summary"]
    assert claims.loc[claims["role"] == "question", "stance"].isna().all()
    assert claims.loc[claims["role"] == "question", "stance_score"].isna().all()
    assert claims.loc[claims["role"] == "answer", "stance"].notna().all()
    assert summary.loc[0, ["duration_min_months", "duration_max_months"]].tolist() == [3.0, 4.0]
