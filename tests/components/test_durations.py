import pytest

from pipeline.components.durations import find_durations, first_duration

WEEK, DAY = 7 / 30.436875, 1 / 30.436875


@pytest.mark.parametrize("text, low, high", [
    ("Botox typically lasts 3-4 months", 3, 4),
    ("it lasts three to four months", 3, 4),
    ("longer might be 9 months or more", 9, None),
    ("lasts for about 4 months", 4, 4),
    ("results last 12 to 16 weeks", 12 * WEEK, 16 * WEEK),
    ("results last 90 to 120 days", 90 * DAY, 120 * DAY),
    ("lasts 3\u20134 months for most people", 3, 4),
    ("three or four months", 3, 4),
    ("between 3 and 6 months", 3, 6),
    ("up to 6 months", None, 6),
    ("at least 6 months", 6, None),
    ("6+ months", 6, None),
    ("a 6-month effect", 6, 6),
    ("it can last a year", 12, 12),
    ("repeat every 3 months", 3, 3),
    ("Botox usually works for 3 to 4 months.", 3, 4),
    ("it lasts no more than 4 months", None, 4),
    ("it lasts 6 months to a year", 6, 12),
    ("anywhere from 2 weeks to 3 months", 2 * WEEK, 3),
    # fractions: spaced, hyphenated, as glyphs, in words, after the unit
    ("It lasts 3 1/2 months.", 3.5, 3.5),
    ("It lasts 3-1/2 months.", 3.5, 3.5),
    ("It lasts 3\u00bd months.", 3.5, 3.5),
    ("about three and a half months", 3.5, 3.5),
    ("lasts 4 1/2 to 6 months", 4.5, 6),
    ("lasts 2 1/2-3 months", 2.5, 3),
    ("lasts 1\u00bd to 2 years", 18, 24),
    ("the effect fades after half a year", 6, 6),
    ("a month and a half at most", 1.5, 1.5),
    ("it lasts a year and a half", 18, 18),
    # a treatment frequency is read as its interval (GUIDELINE.md: "twice a year" is every 6 months)
    ("touch-ups twice a year", 6, 6),
    ("once a year", 12, 12),
    # a range keeps both ends after "within" and across units; bounds read past "those"/"the"
    ("within 4-6 weeks", 0.92, 1.38),
    ("between 2 weeks and 3-4 months", 0.46, 4),
    ("it will stop within a week or two", 0.23, 0.46),
    ("beyond those 3 months", 3, None),
    ("clears far faster than the 3 months", None, 3),
    ("space treatments to once or twice a year", 6, 12),
    ("back to square within like 4 months", None, 4),
    # a denied lower bound is an upper bound
    ("I haven't seen any treatment last more than 8 months", None, 8),
    ("it won't go beyond 6 months", None, 6),
    ("no more than 6 weeks", None, 1.38),
    # a vague lower end keeps the figure as the upper end; a bare larger figure after the span is its upper end
    ("the droop lasts a few weeks to 2 months", None, 2),
    ("the swelling lasts several days to 2 weeks", None, 0.46),
    ("Botox lasts around 3 months, sometimes up to 5", 3, 5),
    ("it lasts 4 months, and up to 20 units are used", 4, 4),
    ("it lasts 3 months, up to 5% of people notice", 3, 3),
])
def test_durations_normalise_to_months(text, low, high):
    duration = first_duration(text)
    assert duration is not None
    assert duration.min_months == (pytest.approx(low, abs=0.01) if low is not None else None)
    assert duration.max_months == (pytest.approx(high, abs=0.01) if high is not None else None)
    assert text[duration.start:duration.end].strip()


@pytest.mark.parametrize("text", [
    "in the gym twice a day",
    "it takes 3 to 7 days to become effective",
    "give it 3 to 7 days to take effect",
    "after perhaps 8-12 treatments",
    "I am 45 years old",
    "I started 2 years ago",
    "I have been getting Botox for 5 years",
    "and last just a few months longer",
    "wait a couple of months",  # vague (GUIDELINE.md): no figure
    "most people need 2 treatments a year",
    "in my 20 years of practice",
])
def test_not_a_duration_of_the_effect(text):
    assert find_durations(text) == []


def test_several_durations_in_order():
    found = find_durations("It lasts 3 months at first and up to 6 months with regular use.")
    assert [(d.min_months, d.max_months) for d in found] == [(3, 3), (None, 6)]


def test_time_on_treatment_is_not_a_duration_of_the_effect():
    found = find_durations("After a year of regular injections, results may last about 6 months.")
    assert [(d.min_months, d.max_months) for d in found] == [(6, 6)]


from hypothesis import given, settings as hypothesis_settings, strategies as st

from pipeline.components.durations import _matches, load_lexicon

PIECES = ["3", "3-4", "4", "twelve", "three and a half", "a", "an", "half", "couple of", "between", "to", "or", "and",
          "months", "month", "mos", "weeks", "wk", "year", "years", "days", "hours", "or more", "up to", "within",
          "lasts", "Botox", "the", "-", " ", ".", ",", "\n", "½", "1/2", "every", "twice a year", "5+", "9months"]


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_looking_only_around_unit_words_finds_what_a_full_scan_finds(pieces):
    """The speed shortcut in _matches: the same matches as the pattern's finditer over the whole text."""
    text = " ".join(pieces)
    lexicon = load_lexicon()
    assert [m.span() for m in _matches(text, lexicon)] == [m.span() for m in lexicon.pattern.finditer(text)]


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES + ["mo", "more", "Moment", "today", "yr", "hourly", "MONTHS"]), max_size=30),
       st.integers(0, 200), st.integers(0, 200))
def test_unit_stems_found_in_a_whole_text_answer_holds_unit_for_any_stretch_of_it(pieces, a, b):
    """The claim detector tests sentences for unit words from one search of the doc: the same answer as
    holds_unit on each sentence's text."""
    from pipeline.components.durations import holds_unit, unit_stem_occurrences

    lowered, lexicon = " ".join(pieces).lower(), load_lexicon()
    start, end = sorted((min(a, len(lowered)), min(b, len(lowered))))
    found = unit_stem_occurrences(lowered, lexicon)
    assert any(start <= at and at + n <= end for at, n in found) == holds_unit(lowered[start:end], lexicon)


def test_a_denied_minimum_is_a_bound_not_a_negation():
    import pipeline

    rows = pipeline.extract_claims("It doesn't last longer than 4 months.")
    duration = rows[rows["claim_type"] == "duration"].iloc[0]
    assert not duration["negated"] and duration["duration_max_months"] == 4
    assert first_duration("It doesn't last longer than 4 months.").bound
    assert not first_duration("It won't last 3 months.").bound
    denied = pipeline.extract_claims("It won't last 3 months.")
    assert denied[denied["claim_type"] == "duration"]["negated"].all()  # a denied span is still a negation


@pytest.mark.parametrize("text, kind", [
    ("Botox lasts 3-4 months.", "effect"),
    ("The droop resolves in 4-6 weeks.", "effect"),
    ("Patients come back every 5 or 6 months.", "interval"),
    ("Touch-ups twice a year keep it smooth.", "interval"),
    ("You can go longer between treatments.", "interval"),
    ("The muscle regains its strength within a year of stopping.", "recovery"),
    ("Once you stop, the lines return over 3-6 months.", "recovery"),
    ("It kicks in after two weeks and lasts 3 months.", "effect"),  # the figure is the effect's: nearest words win
    ("Your smile will come back in 6 weeks.", "effect"),  # a symptom coming back is not a visit
    ("It lasts about 3 months for every patient, sometimes longer.", "effect"),  # "every" needs a length after it
    ("For me it was about 3 months, and I would happily recommend it to xxxxxxxxxxxx everyone I know.", "effect"),
])
def test_what_a_duration_measures(text, kind):
    from pipeline.components.durations import duration_kind

    assert duration_kind(text, first_duration(text)) == kind


def test_without_a_figure_the_kind_is_read_near_the_claims_cue():
    from pipeline.components.durations import duration_kind

    sentence = "It wears off in a while, and every 4 months or so people come in for more."
    assert duration_kind(sentence, None, (3, 12)) == "effect"  # "wears off" is the cue; the interval is far from it
    assert duration_kind(sentence, None, None) == "interval"  # no anchor: the first kind found


def test_a_negation_in_another_clause_makes_no_bound():
    duration = first_duration("Not permanent, it lasts more than 6 months")
    assert (duration.min_months, duration.max_months, duration.bound) == (6, None, False)
