import pandas as pd
import pytest

from pipeline.stages.extract import CLAIM_COLUMNS, extract_claims
from pipeline.stages.segment import answers_table, segment_text

from conftest import FIXTURES, SEED


def claims_for(nlp, path):
    text = path.read_text(encoding="utf-8")
    answers = answers_table(path.stem, text, segment_text(text))
    return text, answers, extract_claims(nlp, answers)


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


def test_a_thread_that_fails_is_named_and_the_others_keep_their_claims(nlp, monkeypatch):
    from pipeline.stages import extract

    texts = {path.stem: path.read_text(encoding="utf-8") for path in (SEED, FIXTURES / "masseter_training.txt")}
    answers = pd.concat([answers_table(stem, text, segment_text(text)) for stem, text in texts.items()],
                        ignore_index=True)
    real = extract.extract_claims

    def failing(nlp, rows, *args, **kwargs):
        if SEED.stem in set(rows["thread_id"]):
            raise RuntimeError("a rule no test foresaw")
        return real(nlp, rows, *args, **kwargs)

    monkeypatch.setattr(extract, "extract_claims", failing)
    kept, claims, errors = extract.extract_threads(nlp, answers)
    assert set(claims["thread_id"]) == {"masseter_training"}
    assert kept[["thread_id", "answer_id", "text"]].equals(answers[["thread_id", "answer_id", "text"]])  # re-runnable
    assert len(errors) == 1 and f"{SEED.stem!r}: claim extraction failed (RuntimeError" in errors[0].problem
    assert errors[0].problem.endswith("its answers are kept, without claims")


def test_an_answer_title_repeating_the_question_is_not_a_claim(nlp):
    text = ("Is Botox permanent\n\nI keep wondering about this after many years.\n\n"
            "Is Botox permanent\n\nNo. Botox wears off after three to four months.\n")
    answers = answers_table("t", text, segment_text(text))
    assert answers["title"].tolist() == ["Is Botox permanent", "Is Botox permanent"]
    claims = extract_claims(nlp, answers)
    assert set(claims["text"]) == {"Botox wears off after three to four months."}
