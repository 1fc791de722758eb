"""The naive keyword baseline: paragraphs as answers, keywords as claim types, words as flags."""

from pipeline.measuring import baseline


TEXT = """Does Botox ever become permanent?

I have had it for five years.

Not permanent

It wears off in 3-4 months. It may last longer in some people.

Botox results do not become permanent.
"""


def test_paragraphs_become_answers_and_short_lines_their_titles():
    answers, _ = baseline.run("t", TEXT)
    assert list(answers["role"]) == ["question", "answer", "answer"]
    assert answers.loc[0, "title"] == "Does Botox ever become permanent?"
    assert answers.loc[1, "title"] == "Not permanent" and answers.loc[2, "title"] == ""
    for row in answers.itertuples():
        assert TEXT[row.char_start:row.char_end] == row.text


def test_keywords_give_types_flags_and_the_first_figure():
    _, claims = baseline.run("t", TEXT)
    wears_off = claims[claims["text"] == "It wears off in 3-4 months."]
    assert set(wears_off["claim_type"]) == {"duration", "reversibility"}
    duration = wears_off[wears_off["claim_type"] == "duration"].iloc[0]
    assert (duration["duration_min_months"], duration["duration_max_months"]) == (3.0, 4.0)
    assert claims[claims["text"].str.startswith("It may")]["hedged"].all()
    assert claims[claims["text"].str.startswith("Botox results do not")]["negated"].all()
    for row in claims.itertuples():
        assert TEXT[row.char_start:row.char_end] == row.text
