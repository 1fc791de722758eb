import json

import pytest

from pipeline.io.files import InputError
from pipeline.stages.segment import answers_table, content_blocks, segment_text

from conftest import FIXTURES

SEED_TITLES = [
    "Are Botox Results Permanent After Long-term Use?",
    "BOTOX results are usually not permanent",
    "Not permanent",
    "Permanent results after Botox?",
    "Botox results are not permanent",
    "Botox results are not permanent",
    "Botox and long term effect",
    "Botox results not usually permanent with long term use.",
    "Botox results are never permanent",
    "Permanant Botox Effect",
    "Repeated use of Botox may weaken but not eliminate muscles",
]


def test_bundled_thread_every_title_exactly(seed_text):
    segments = segment_text(seed_text)
    assert [s.title for s in segments] == SEED_TITLES
    assert [s.role for s in segments] == ["question"] + ["answer"] * 10


def test_bundled_thread_bodies_keep_short_paragraphs_and_list_items(seed_text):
    segments = segment_text(seed_text)
    bodies = [seed_text[s.char_start:s.char_end] for s in segments]
    # the asker's closing "Thank you!" is a sign-off, not part of the question (data/raw/labels/GUIDELINE.md)
    assert bodies[0].startswith("I read somewhere") and bodies[0].endswith("for down-turned corners.")
    assert "1. As muscles become paralyzed" in bodies[6] and "2. Muscle memory" in bodies[6]
    assert bodies[6].endswith("Wikipedia describes how botox works.")
    assert bodies[8].endswith("will always be temporary.")
    assert bodies[10].endswith("after cessation of use.")


def test_offsets_point_at_titles_and_bodies(seed_text):
    frame = answers_table("botox_permanence", seed_text, segment_text(seed_text))
    for row in frame.itertuples():
        assert seed_text[row.char_start:row.char_end] == row.text
        assert seed_text[row.title_start:row.title_end] == row.title
    assert list(frame["answer_id"]) == [f"botox_permanence:{i}" for i in range(11)]


def test_second_thread_in_the_same_layout():
    text = (FIXTURES / "masseter_training.txt").read_text(encoding="utf-8")
    expected = json.loads((FIXTURES / "masseter_training.expected.json").read_text(encoding="utf-8"))
    segments = segment_text(text)
    assert segments[0].title == expected["question_title"]
    assert text[segments[0].char_start:].startswith(expected["question_body_starts"])
    assert [s.title for s in segments[1:]] == [a["title"] for a in expected["answers"]]
    for segment, answer in zip(segments[1:], expected["answers"]):
        body = text[segment.char_start:segment.char_end]
        assert body.startswith(answer["body_starts"]) and body.endswith(answer["body_ends"])
        assert len(content_blocks(body)[0]) == answer["paragraphs"]


LAYOUT_CASES = {
    "title ends with a full stop, short closing paragraph": (
        "Does filler last forever?\n\nMy friend says so.\n\n"
        "Filler is not permanent.\n\nMost fillers are absorbed by the body within a year or two, depending on the product.\n\n"
        "Ask your injector.\n\n"
        "It depends on the filler\n\nHyaluronic acid fillers break down over 6 to 18 months in most patients we see.\n",
        ["Does filler last forever?", "Filler is not permanent.", "It depends on the filler"],
    ),
    "numbered list after a colon, paragraph without a full stop": (
        "Is laser hair removal permanent?\n\nI had six sessions on my legs and wonder about the results.\n\n"
        "Long-term hair reduction\n\nThere are two things to know:\n\n1. Most follicles stop growing\n\n"
        "2. Some hairs come back after hormonal changes\n\nSo plan for a touch-up now and then\n\n"
        "Laser results vary\n\nDark coarse hair responds best, and results can be permanent for many patients over years.\n",
        ["Is laser hair removal permanent?", "Long-term hair reduction", "Laser results vary"],
    ),
    "windows newlines and a byte-order mark already removed": (
        "Is Botox permanent?\r\n\r\nI wonder whether repeated shots last longer.\r\n\r\nNo, it wears off\r\n\r\n"
        "The effect wears off after three to four months in most people.\r\n",
        ["Is Botox permanent?", "No, it wears off"],
    ),
}


@pytest.mark.parametrize("text, titles", LAYOUT_CASES.values(), ids=LAYOUT_CASES.keys())
def test_layouts(text, titles):
    segments = segment_text(text)
    assert [s.title for s in segments] == titles
    for s in segments:
        body = text[s.char_start:s.char_end]
        assert body == body.strip() and body
        assert "\n\n" not in s.title


def test_untitled_answers_fall_back_to_one_answer_per_paragraph():
    text = ("How long does Botox last?\n\nI am new to this and would like to know how long it lasts for most people.\n\n"
            "In my practice it usually lasts around three months for most people, sometimes a bit longer than that.\n\n"
            "I would tell you three to four months, and the first treatment may wear off a little sooner than later ones.\n")
    segments = segment_text(text)
    assert [s.title for s in segments] == ["How long does Botox last?", "", ""]
    assert text[segments[2].char_start:segments[2].char_end].startswith("I would tell you")


@pytest.mark.parametrize("text, problem", [
    ("   \n\n  ", "empty"),
    ("Doctor Answers 3\n\n{{ voteCount }}\n", "only page boilerplate"),
])
def test_threads_without_text_say_why(text, problem):
    with pytest.raises(InputError, match=problem):
        segment_text(text, source="thread.txt")


@pytest.mark.parametrize("text", [
    "Only a title line",
    "Title?\n\nA body that nobody answered, long enough to be a paragraph of its own here.",
])
def test_text_without_structure_is_one_answer_with_a_warning(text):
    warnings = []
    segments = segment_text(text, source="thread.txt", warnings=warnings)
    assert [s.role for s in segments] == ["question", "answer"]
    assert segments[0].char_start == segments[0].char_end and segments[0].title == ""
    assert text[segments[1].char_start:segments[1].char_end] == text.strip()
    assert warnings and "thread.txt" in warnings[0] and "one answer" in warnings[0]


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["windows", "old-mac"])
def test_any_newline_convention(seed_text, newline):
    converted = seed_text.replace("\n", newline)
    segments = segment_text(converted)
    assert [s.title for s in segments] == SEED_TITLES
    assert converted[segments[6].char_start:segments[6].char_end].endswith("Wikipedia describes how botox works.")


def test_blank_lines_holding_no_break_spaces_still_separate_blocks(seed_text):
    scraped = seed_text.replace("\n\n", "\n\u00a0\n")
    assert [s.title for s in segment_text(scraped)] == SEED_TITLES


@pytest.mark.parametrize("text, titles, answer_texts", [
    ("Is Botox permanent?\n\nI have had it for ten years.\n\nNot permanent\n\nIt wears off in 3 to 4 months.\n\n"
     "Dr. Jane Roe\nBoard Certified Plastic Surgeon\n\nWeaker muscles over time\n\nRepeated injections cause atrophy.\n\n"
     "John Smith, MD\nPlastic Surgeon in Denver, CO\n\nYes, over time\n\nYou may need fewer units.\n\nMary Major, MD\n",
     ["Not permanent", "Weaker muscles over time", "Yes, over time"],
     ["It wears off in 3 to 4 months.", "Repeated injections cause atrophy.", "You may need fewer units."]),
    ("Does Botox last longer over time?\n\nI have had it four times. Will it ever stay relaxed?\n\n"
     "Great question! It wears off in 3 to 4 months, never permanent. I hope this helps.\n\n"
     "Hi Ms. Jones, repeated injections can cause atrophy, so it may last longer. Good luck!\n",
     ["", ""],
     ["It wears off in 3 to 4 months, never permanent.", "repeated injections can cause atrophy, so it may last longer."]),
    ("Is Botox permanent?\n\nI have had it for years.\n\nNot permanent\n\nIt wears off in 3 months.\n\n"
     "Jane Roe, MD\nUnrecognised Clinic Line\nJane's Place, Denver\n4.9 out of 5 stars\n\n"
     "Muscles weaken\n\nWith repeated use they atrophy.\n\nJohn Doe, MD\n",
     ["Not permanent", "Muscles weaken"],
     ["It wears off in 3 months.", "With repeated use they atrophy."]),
], ids=["signature shapes", "greetings and sign-offs", "unknown lines between footers"])
def test_boilerplate_variants(text, titles, answer_texts):
    segments = segment_text(text)[1:]
    assert [s.title for s in segments] == titles
    assert [text[s.char_start:s.char_end] for s in segments] == answer_texts


COMBINED_PAGE = """Does Botox stop working after years?

I have had forehead injections for six years now and wonder about it.

It keeps working
Most patients keep the same response for many years of treatment.

Resistance is rare
Antibodies are uncommon and mostly follow very high doses.

Ask your injector
A change in response is worth raising at your next visit.
"""


def test_combined_takes_the_rules_reading_where_they_see_more_answers_than_the_learned_one():
    from dataclasses import replace

    from pipeline.config import DEFAULT_SETTINGS
    from pipeline.stages.segment import _combined
    from pipeline.threads import Segment, ThreadSource

    thread = ThreadSource("t", "t.txt", None, COMBINED_PAGE)
    settings = replace(DEFAULT_SETTINGS.segment, segmenter="combined")
    end = len(COMBINED_PAGE)
    merged = [Segment(0, "", 0, 0, 0, 0), Segment(1, "", 0, 0, 0, end)]  # one answer: the CRF's failure class
    chosen = _combined(merged, thread, settings, [])
    assert [s.title for s in chosen[1:]] == ["It keeps working", "Resistance is rare", "Ask your injector"]
    four = merged + [replace(merged[1], position=k) for k in (2, 3)]  # as many answers as the rules: kept
    assert _combined(four, thread, settings, []) is four
