"""Caseless: a case-insensitive pattern searched without IGNORECASE over lower-cased ASCII text finds the same."""

import re

import pytest
from hypothesis import given, settings, strategies as st

from pipeline.components.caseless import Caseless, lower_case_equivalent
from pipeline.components.durations import load_lexicon


@pytest.mark.parametrize("source, same", [
    (r"\bevery\s+\S+\W", True),
    (r"(?P<low>\d+)\s*(?:to|\u2013|-)\s*(?P<high>\d+)", True),
    ("half\u00bd", True),  # a character without case
    (r"[A-Z]\w+", False),  # an upper-case letter: it would never meet lower-cased text
    (r"\x41", False),  # "A", by number
    (r"(?-i:abc)", False),  # an inline flag: case-sensitive inside
    ("\u212a", False),  # the Kelvin sign matches "k" when case is ignored
    (r"\N{LATIN SMALL LETTER A}", False),
    (r"(a)\1", False),  # a backreference, by number: not read, so not taken
])
def test_which_pattern_sources_search_the_same_over_lower_cased_text(source, same):
    assert lower_case_equivalent(source) is same


def lexicon_patterns():
    from pipeline.components.caseless import caseless
    from pipeline.stages import question

    words = question.load_lexicon()  # the stance model's claim directions are searched in every claim too
    return list(load_lexicon().caseless.items()) + [(key, caseless(words[key])) for key in ("claim_lasting",
                                                                                            "claim_passing")]


WORDS = ["3", "3-4", "twelve", "a", "A", "few", "Couple", "of", "months", "MONTHS", "Mos", "wk", "weeks", "year",
         "after", "After", "you", "stop", "Stopped", "every", "Every", "other", "to", "or", "and", "lasts", "Lasts",
         "kicks", "in", "takes", "effect", "between", "treatments", "Touch-ups", "twice", "ONCE", "per", "ago", "old",
         "more", "than", "up", "Up", "to", "at", "least", "no", "longer", "\u2013", "-", ".", ",", "'s", "\u00bd",
         "Permanent", "permanently", "wears", "Off", "temporary", "lasting", "goes", "away", "back", "returns"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=25), st.integers(0, 120), st.integers(0, 120))
def test_every_duration_pattern_finds_the_same_matches_either_way(words, pos, endpos):
    text = " ".join(words)
    for name, caseless in lexicon_patterns():
        assert caseless.fast is not None, f"{name}: the fast path is meant to be taken"
        pattern = caseless.pattern
        assert caseless.spans(text) == [m.span() for m in pattern.finditer(text)], name
        expected, got = pattern.search(text, pos, endpos), caseless.search(text, pos, endpos)
        assert (got and (got.span(), got.groups())) == (expected and (expected.span(), expected.groups())), name
        assert caseless.finds(text) == bool(pattern.search(text)), name


def test_text_that_is_not_ascii_and_a_pattern_with_case_take_the_ignorecase_search():
    kelvin = Caseless(re.compile("\u212a", re.IGNORECASE))
    assert kelvin.fast is None and kelvin.spans("k K") == [(0, 1), (2, 3)]
    months = Caseless(re.compile(r"months?", re.IGNORECASE))
    assert months.spans("İ MONTHS") == [(2, 8)]  # "İ".lower() is two characters: the lower-cased text is not used
    with pytest.raises(ValueError, match="not case-insensitive"):
        Caseless(re.compile("months"))
