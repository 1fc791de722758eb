import pandas as pd
import pytest

from pipeline.stages.extract import CLAIM_COLUMNS, extract_claims
from pipeline.io.files import InputError
from pipeline.stages.segment import answers_table, segment_text

from conftest import FIXTURES, SEED


def claims_for(nlp, path):
    text = path.read_text(encoding="utf-8")
    answers = answers_table(path.stem, text, segment_text(text))
    return text, answers, extract_claims(nlp, answers, {path.stem: text})


@pytest.mark.parametrize("path", [SEED, FIXTURES / "masseter_training.txt"], ids=["seed", "masseter"])
def test_every_claim_points_at_its_exact_text(nlp, path):
    text, answers, claims = claims_for(nlp, path)
    assert list(claims.columns) == CLAIM_COLUMNS
    assert len(claims) > 10
    for row in claims.itertuples():
        assert text[row.char_start:row.char_end] == row.text
        assert row.text == row.text.strip() and "\n" not in row.text
    assert claims["claim_id"].is_unique
    assert set(claims["claim_type"]) == {"duration", "atrophy", "dose_reduction", "reversibility"}


def test_ids_nest_thread_answer_sentence(nlp):
    _, _, claims = claims_for(nlp, SEED)
    for row in claims.itertuples():
        assert row.sentence_id.startswith(row.answer_id + ":")
        assert row.claim_id == f"{row.sentence_id}:{row.claim_type}"
        assert row.answer_id.startswith(row.thread_id + ":")


def test_titles_are_their_own_sentences_and_questions_are_not_claims(nlp):
    text, answers, claims = claims_for(nlp, SEED)
    titles = set(answers["title"])
    title_claims = claims[claims["text"].isin(titles)]
    assert "Botox results are never permanent" in set(title_claims["text"])
    assert not claims["text"].str.endswith("?").any()
    assert "Permanent results after Botox?" not in set(claims["text"])


def test_seed_durations(nlp):
    _, _, claims = claims_for(nlp, SEED)
    durations = claims.dropna(subset=["duration_min_months"])
    stated = {(r.duration_min_months, r.duration_max_months) for r in durations.itertuples()}
    assert (3.0, 4.0) in stated and any(low == 9.0 and pd.isna(high) for low, high in stated)
    gym = claims[claims["text"].str.contains("twice a day")]
    assert gym["duration_min_months"].isna().all()


def test_stale_answers_table_is_refused(nlp):
    text = SEED.read_text(encoding="utf-8")
    answers = answers_table(SEED.stem, text, segment_text(text))
    with pytest.raises(InputError, match="re-run the 'segment' stage"):
        extract_claims(nlp, answers, {SEED.stem: "x" + text})


def test_an_answer_title_repeating_the_question_is_not_a_claim(nlp):
    text = ("Is Botox permanent\n\nI keep wondering about this after many years.\n\n"
            "Is Botox permanent\n\nNo. Botox wears off after three to four months.\n")
    answers = answers_table("t", text, segment_text(text))
    assert answers["title"].tolist() == ["Is Botox permanent", "Is Botox permanent"]
    claims = extract_claims(nlp, answers, {"t": text})
    assert set(claims["text"]) == {"Botox wears off after three to four months."}
