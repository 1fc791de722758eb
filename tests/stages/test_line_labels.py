"""Segmentation as line labelling: lines keep exact offsets, labels decode into question and answers."""

import json

import pytest

from pipeline.io.files import InputError
from pipeline.measuring.gold import parse_gold
from pipeline.stages import line_labels
from pipeline.stages.line_labels import (ANSWER_BODY, ANSWER_START, ANSWER_TITLE, LABELS, OUTSIDE, QUESTION_BODY,
                                         QUESTION_TITLE, decode, line_features, page_lines)

from conftest import FIXTURES


def mini():
    text = (FIXTURES / "gold" / "mini-forum.txt").read_text(encoding="utf-8")
    return parse_gold(json.loads((FIXTURES / "gold" / "mini-forum.json").read_text(encoding="utf-8")), text, "dev", "m")


def test_lines_are_stripped_with_exact_offsets_and_blank_neighbours():
    text = "  Title?\r\n\nBody one.\n   Body two.  \n"
    lines = page_lines(text)
    assert [text[line.start:line.end] for line in lines] == ["Title?", "Body one.", "Body two."]
    assert [(line.blank_before, line.blank_after) for line in lines] == [(True, True), (True, False), (False, True)]


def test_every_line_has_features_of_its_own_its_rule_label_and_its_neighbours():
    thread = mini()
    lines = page_lines(thread.text)
    features = line_features(thread.text, lines)
    assert len(features) == len(lines)
    votes = next(f for line, f in zip(lines, features) if line.text.startswith("4.9 out of 5"))
    assert votes["boilerplate=footer"] == 1.0 and "rule=outside" in votes
    title = next(f for line, f in zip(lines, features) if line.text == "Dysport keeps working")
    assert title["rule=answer_title"] == 1.0 and title["prev:boilerplate=count"] == 1.0
    assert all(isinstance(v, float) for f in features for v in f.values())


def test_decoding_the_gold_labels_gives_the_gold_segments():
    from pipeline.learning.line_segmenter import gold_labels

    thread = mini()
    lines = page_lines(thread.text)
    labels = gold_labels(thread, lines)
    assert set(labels) <= set(LABELS)
    assert labels[:3] == [OUTSIDE, QUESTION_TITLE, QUESTION_BODY]
    assert labels.count(ANSWER_TITLE) == 1 and labels.count(ANSWER_START) == 1
    segments = decode(thread.text, lines, labels)
    assert [(s.title or None) for s in segments] == [seg.title for seg in thread.segments]
    assert [(s.char_start, s.char_end) for s in segments] == [seg.body_span for seg in thread.segments]


def test_a_greeting_and_a_sign_off_at_a_bodys_edges_are_cut():
    text = "Is it permanent?\n\nNo\n\nHi Sam, it wears off in 3 months. Good luck!\n"
    lines = page_lines(text)
    segments = decode(text, lines, [QUESTION_TITLE, ANSWER_TITLE, ANSWER_BODY])
    assert text[segments[1].char_start:segments[1].char_end] == "it wears off in 3 months."


def test_labels_without_an_answer_read_the_whole_text_as_one_answer():
    text = "Botox wears off.\nIt is temporary.\n"
    lines = page_lines(text)
    segments = decode(text, lines, [OUTSIDE, OUTSIDE])
    assert len(segments) == 2 and text[segments[1].char_start:segments[1].char_end] == text.strip()


def test_the_shipped_learned_segmenter_reads_a_page_and_a_missing_one_is_named(tmp_path):
    thread = mini()
    segments = line_labels.learned_segments(thread.text)
    # the question and the titled answer as the gold reads them (the untitled one signed in brackets it merges away)
    assert [(s.title or None, (s.char_start, s.char_end)) for s in segments[:2]] == [
        (seg.title, seg.body_span) for seg in thread.segments[:2]]
    with pytest.raises(InputError, match="no learned segmenter here"):
        line_labels.learned_segments(thread.text, "page.txt", tmp_path / "missing.crfsuite")
