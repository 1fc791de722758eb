"""Threads we wrote in other page layouts: each segments as intended and its claims carry no boilerplate."""

import json

import pytest

from pipeline.stages.extract import extract_claims
from pipeline.stages.segment import answers_table, segment_text

from conftest import FIXTURES

LAYOUTS = sorted((FIXTURES / "layouts").glob("*.txt"))


def load(path):
    return path.read_text(encoding="utf-8"), json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", LAYOUTS, ids=[p.stem for p in LAYOUTS])
def test_layout_segments_as_intended(path):
    text, expected = load(path)
    segments = segment_text(text)
    assert segments[0].title == expected["question_title"]
    answers = segments[1:]
    assert [s.title for s in answers] == [a["title"] for a in expected["answers"]]
    for segment, answer in zip(answers, expected["answers"]):
        body = text[segment.char_start:segment.char_end]
        assert body.startswith(answer["body_starts"]), body[:60]
        assert body.endswith(answer["body_ends"]), body[-60:]


def expected_bodies(text, expected):
    """The answer bodies a reader marked, as stretches of the page from their first to their last words."""
    bodies, cursor = [], 0
    for answer in expected["answers"]:
        if not answer["body_starts"]:
            continue
        start = text.index(answer["body_starts"], cursor)
        end = text.index(answer["body_ends"], start) + len(answer["body_ends"])
        bodies.append(text[start:end])
        cursor = end
    return bodies


@pytest.mark.parametrize("path", LAYOUTS, ids=[p.stem for p in LAYOUTS])
def test_no_boilerplate_reaches_answers_or_claims(nlp, path):
    text, expected = load(path)
    answers = answers_table(path.stem, text, segment_text(text))
    claims = extract_claims(nlp, answers)
    assert len(claims) > 0
    for boilerplate in expected["boilerplate"]:
        for row in answers.itertuples():
            # an answer's text is one stretch of the page: debris between two of its paragraphs stays inside it
            if not any(boilerplate in body for body in expected_bodies(text, expected)):
                assert boilerplate not in row.text, (boilerplate, row.answer_id)
            if row.role == "answer":
                assert boilerplate not in row.title
        assert not claims["text"].str.contains(boilerplate, regex=False).any(), boilerplate
    assert not claims["text"].str.endswith("?").any()
