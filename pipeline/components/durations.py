"""Normalise stated durations to months: "3-4 months" -> (3, 4), "9 months or more" -> (9, None).

Only durations of the effect (or of the interval between treatments) count:
frequencies ("twice a day"), onset times ("3 to 7 days to become effective")
and ages or dates ("45 years old", "2 years ago") are skipped. The word lists
and context patterns are data, in resources/duration_lexicon.json.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from pipeline.components.caseless import Caseless
from pipeline.config import DURATION_LEXICON_FILE
from pipeline.io.files import reread_when_changed

_CONTEXT_CHARS = 40
# a denied minimum ("haven't seen it last more than 8 months"): the negation and the bound in one clause (no , ; . :)
_DENIED = re.compile(r"(?:\b(?:not|never|no|hardly|nothing)\b|n't)\b(?:\s+[^\s,;.:]+){0,5}?\s+(?:more|longer|less|shorter|over|under|beyond)\s+than\s+\S*\s*$|(?:\b(?:not|never|no)\b|n't)(?:\s+[^\s,;.:]+){0,5}?\s+(?:over|beyond|past|under)\s+\S*\s*$", re.IGNORECASE)
_DIGIT = re.compile(r"\d")  # unit_word's first branch, searched alone: far faster than the whole alternation
_WINDOW = 80  # characters a duration can reach around its unit word ("between three and a half ... months")
_DETERMINER = r"(?:(?:the|those|these|like|about|around|roughly|approximately|only|just)\s+)?"  # "within like 4 months"


@dataclass(frozen=True)
class Duration:
    """A stated duration in months; None is an open end. `start`/`end` index the text."""

    min_months: float | None
    max_months: float | None
    start: int
    end: int
    bound: bool = False  # a maximum stated by a denied minimum ("doesn't last longer than 4 months"): not a negation
    frequency: bool = False  # stated as a frequency ("twice a year"): a treatment interval


def _alternation(words) -> str:
    return "|".join(sorted((w if w.startswith("\\") else re.escape(w) for w in words), key=len, reverse=True))


@dataclass(frozen=True)
class DurationLexicon:
    pattern: re.Pattern
    number_words: dict
    fraction: re.Pattern  # a number's fraction part, at its end
    fractions: dict
    units: dict
    months_per_unit: dict
    open_upper: re.Pattern
    lower_before: re.Pattern
    upper_before: re.Pattern
    skip_before: re.Pattern  # one alternation each: a span is skipped if any context pattern matches
    skip_after: re.Pattern
    frequency: re.Pattern  # "twice a year": a treatment frequency, read as its interval
    unit_word: re.Pattern  # no duration without a number, a number word or "a <unit>": one search rules most text out
    unit_only: re.Pattern  # a unit word: where durations are looked for
    unit_stems: tuple  # the shortest starts of the unit words: a text holding none of them holds no duration
    times: dict
    per_unit: dict
    vague_low: re.Pattern  # "a few weeks to" before the figure: its lower end is not stated
    kinds: tuple  # (kind, pattern) in the order they are tried: what a duration measures
    kind_window: int
    bare_upper: re.Pattern  # ", sometimes up to 5" after the span: its upper end, in the span's unit
    caseless: dict = field(default_factory=dict)  # the patterns searched in every sentence, as caseless.Caseless


@reread_when_changed
def load_lexicon(path: Path = DURATION_LEXICON_FILE) -> DurationLexicon:
    with open(path, encoding="utf-8") as handle:
        lex = json.load(handle)
    days = lex["days_per_month"]
    months_per_unit = {unit: n / days for unit, n in lex["unit_days"].items() if n} | lex["unit_months"]
    glyphs = [f for f in lex["fractions"] if len(f) == 1 and not f.isascii()]
    spaced = [f for f in lex["fractions"] if f not in glyphs]
    words = [f for f in spaced if f[0].isalpha()]
    fraction = rf"(?:\s*(?:{_alternation(glyphs)})|(?:\s+|\s*-\s*)(?:{_alternation(spaced)})(?!\w))"
    number = rf"(?:(?:\d+(?:\.\d+)?|{_alternation(lex['number_words'])}){fraction}?)"
    separator = rf"\s*(?:{_alternation(lex['range_separators'])})\s*"
    unit = rf"(?:{_alternation(lex['units'])})"
    pattern = re.compile(
        rf"\b(?:between\s+)?(?P<low>{number})(?:{separator}(?P<high>{number}))?(?P<plus>\+)?[\s-]*(?P<unit>{unit})\b"
        rf"(?P<unit_fraction>\s+(?:{_alternation(words)})(?!\w))?"  # "a year and a half"
        # a range whose ends have their own units: "6 months to a year", "2 weeks to 3 months"
        rf"(?:\s*(?:-|\u2013|\u2014|to|and)\s*(?P<tail>{number})(?:{separator}(?P<tail_high>{number}))?[\s-]*(?P<tail_unit>{unit})\b"
        # the second end after the unit: "a week or two", "a month or so" is not one
        rf"|\s+or\s+(?P<or_high>{number})(?![\s-]*(?:{unit}|more|so|longer|less)\b))?",
        re.IGNORECASE,
    )
    lexicon = DurationLexicon(
        pattern=pattern,
        number_words={k.lower(): v for k, v in lex["number_words"].items()},
        fraction=re.compile(rf"{fraction}$", re.IGNORECASE),
        fractions={k.lower(): v for k, v in lex["fractions"].items()},
        units={k.lower(): v for k, v in lex["units"].items()},
        months_per_unit=months_per_unit,
        open_upper=re.compile(rf"^\s*(?:{_alternation(lex['open_upper_after'])})(?!\w)", re.IGNORECASE),
        lower_before=re.compile(rf"\b(?:{_alternation(lex['lower_bound_before'])})\s+{_DETERMINER}$", re.IGNORECASE),
        upper_before=re.compile(rf"\b(?:{_alternation(lex['upper_bound_before'])})\s+{_DETERMINER}$", re.IGNORECASE),
        skip_before=re.compile("|".join(f"(?:{p})" for p in lex["not_effect_duration_before"]), re.IGNORECASE),
        skip_after=re.compile("|".join(f"(?:{p})" for p in lex["not_effect_duration_after"]), re.IGNORECASE),
        frequency=re.compile(rf"\b(?P<times>{_alternation(_entries(lex['frequency_per']['times']))})"
                             rf"(?:\s+(?:or|to|-)\s+(?P<times2>{_alternation(_entries(lex['frequency_per']['times']))}))?"
                             rf"\s+(?:a|an|per|each|every)\s+"
                             rf"(?P<unit>{_alternation(_entries(lex['frequency_per']['per_unit']))})\b", re.IGNORECASE),
        unit_word=re.compile(
            rf"\d|\b(?:{_alternation(w for w in lex['number_words'] if w.lower() not in ('a', 'an'))}"
            rf"|{_alternation(_entries(lex['frequency_per']['times']))})\b|\ban?\s+(?:{unit})\b", re.IGNORECASE),
        unit_only=re.compile(rf"(?<![a-z]){unit}\b", re.IGNORECASE),  # (case-insensitive: no letter before)
        unit_stems=_stems(list(lex["units"]) + list(_entries(lex["frequency_per"]["per_unit"]))),
        times={k.lower(): v for k, v in _entries(lex["frequency_per"]["times"]).items()},
        per_unit={k.lower(): v for k, v in _entries(lex["frequency_per"]["per_unit"]).items()},
        vague_low=re.compile("|".join(f"(?:{p})" for p in lex["vague_low_before"]), re.IGNORECASE),
        bare_upper=re.compile(lex["bare_upper_after"], re.IGNORECASE),
        kinds=tuple((kind, re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE))
                    for kind, patterns in lex["kinds"].items()),
        kind_window=lex["kind_window"],
    )
    lexicon.caseless.update({name: Caseless(getattr(lexicon, name)) for name in CASELESS})
    lexicon.caseless.update({f"kind:{kind}": Caseless(kind_pattern) for kind, kind_pattern in lexicon.kinds})
    return lexicon


# the lexicon's patterns searched in every sentence that may state a duration (and each kind's): caseless.Caseless
CASELESS = ("pattern", "unit_only", "unit_word", "skip_before", "skip_after", "vague_low", "upper_before",
            "lower_before")


def _stems(words: list[str]) -> tuple[str, ...]:
    """The words that no other word of the list starts with, lower-cased ("mo" covers "months" and "mos")."""
    lowered = sorted({w.lower() for w in words}, key=len)
    stems: list[str] = []
    for word in lowered:
        if not any(word.startswith(stem) for stem in stems):
            stems.append(word)
    return tuple(stems)


def _entries(table: dict) -> dict:
    return {k: v for k, v in table.items() if not k.startswith("_")}


def _number(token: str, lexicon: DurationLexicon) -> float:
    token = token.lower()
    fraction = lexicon.fraction.search(token)
    if fraction:
        part = fraction.group(0).strip().lstrip("-").strip()
        return _number(token[:fraction.start()], lexicon) + lexicon.fractions[" ".join(part.split())]
    return float(lexicon.number_words[token]) if token in lexicon.number_words else float(token)


def find_durations(text: str) -> list[Duration]:
    """Every duration of the effect stated in `text`, in order."""
    return list(_durations(text))


def _durations(text: str, lexicon: DurationLexicon | None = None) -> Iterator[Duration]:
    """Spans and frequencies in text order (a frequency is rare: it is looked for once, up front)."""
    lexicon = lexicon or load_lexicon()
    fast = lexicon.caseless
    if not holds_unit(text.lower(), lexicon) or not fast["unit_only"].finds(text) or not (
            _DIGIT.search(text) or fast["unit_word"].finds(text)):
        return  # no unit word (substring tests, then one search), or no number (a digit, else the slower words): none
    frequencies = [_frequency(m, lexicon) for m in lexicon.frequency.finditer(text)]
    for duration in _spans(text, lexicon):
        while frequencies and frequencies[0].start < duration.start:
            yield frequencies.pop(0)
        if not any(f.start <= duration.start < f.end for f in frequencies):
            yield duration
    yield from frequencies


def holds_unit(lowered: str, lexicon: DurationLexicon) -> bool:
    """Whether lower-cased text holds the start of a unit word: without one it states no duration (a few substring
    tests, far cheaper than parsing)."""
    return any(stem in lowered for stem in lexicon.unit_stems)


def unit_stem_occurrences(lowered: str, lexicon: DurationLexicon) -> list[tuple[int, int]]:
    """(start, length) of every occurrence of a unit stem in lower-cased text: a stretch of it holds_unit exactly
    when one lies wholly inside (found for a whole doc at once, not tested sentence by sentence)."""
    found = []
    for stem in lexicon.unit_stems:
        at = lowered.find(stem)
        while at >= 0:
            found.append((at, len(stem)))
            at = lowered.find(stem, at + 1)
    return found


def _frequency(match: re.Match, lexicon: DurationLexicon) -> Duration:
    """"twice a year": every 6 months; "once or twice a year": every 6 to 12 months."""
    per = lexicon.per_unit[match.group("unit").lower()]
    counts = [lexicon.times[" ".join(match.group(g).lower().split())] for g in ("times", "times2") if match.group(g)]
    return Duration(round(per / max(counts), 2), round(per / min(counts), 2), match.start(), match.end(), frequency=True)


def _matches(text: str, lexicon: DurationLexicon) -> Iterator[re.Match]:
    """The duration pattern's matches, as finditer gives them, looked for only around unit words: the pattern's
    large alternation is slow to try at every position of a long sentence, and most positions hold no unit."""
    position, units, pattern = 0, lexicon.caseless["unit_only"], lexicon.caseless["pattern"]
    while True:
        unit = units.search(text, position)
        if unit is None:
            return
        match = pattern.search(text, max(position, unit.start() - _WINDOW), unit.end() + _WINDOW)
        if match is None or match.start() > unit.start():
            position = unit.end()
            continue
        yield match
        position = match.end()


def _spans(text: str, lexicon: DurationLexicon) -> Iterator[Duration]:
    for match in _matches(text, lexicon):
        before = text[max(0, match.start() - _CONTEXT_CHARS): match.start()]
        after = text[match.end(): match.end() + _CONTEXT_CHARS]
        fast = lexicon.caseless
        if fast["skip_before"].finds(before) or fast["skip_after"].finds(after):
            continue
        factor = lexicon.months_per_unit[lexicon.units[match.group("unit").lower()]]
        low = _number(match.group("low"), lexicon) * factor
        high = _number(match.group("high"), lexicon) * factor if match.group("high") else low
        if match.group("unit_fraction") and not match.group("high"):
            low = high = low + lexicon.fractions[" ".join(match.group("unit_fraction").lower().split())] * factor
        if match.group("tail") and not match.group("high"):
            tail_factor = lexicon.months_per_unit[lexicon.units[match.group("tail_unit").lower()]]
            high = _number(match.group("tail_high") or match.group("tail"), lexicon) * tail_factor
        if match.group("or_high") and not match.group("high"):
            high = _number(match.group("or_high"), lexicon) * factor
        bare = lexicon.bare_upper.match(after) if low == high else None
        if bare and float(bare.group("upper")) * factor > high:  # "around 3 months, sometimes up to 5"
            high = float(bare.group("upper")) * factor
        low, high = round(min(low, high), 2), round(max(low, high), 2)
        stated_range = low != high  # a range keeps both ends: "within 4-6 weeks" is 4 to 6 weeks
        if not stated_range and fast["vague_low"].finds(before):  # "a few weeks to 2 months": at most 2 months
            yield Duration(None, high, match.start(), match.end())
            continue
        if match.group("plus") or lexicon.open_upper.match(after):
            high = None
        elif stated_range:
            pass
        elif fast["upper_before"].finds(before):  # before lower bounds: "no more than" ends in "more than"
            low = None
        elif fast["lower_before"].finds(before):  # "haven't seen it last more than 8 months": at most 8
            wider = text[max(0, match.start() - 2 * _CONTEXT_CHARS): match.start()]
            if _DENIED.search(wider):
                yield Duration(None, high, match.start(), match.end(), bound=True)
                continue
            low, high = low, None
        yield Duration(low, high, match.start(), match.end())


def first_duration(text: str, lexicon: DurationLexicon | None = None) -> Duration | None:
    """The first duration stated in `text` (the rest are not looked for). A caller reading many sentences passes
    the lexicon it loaded once (load_lexicon stats its file on every call)."""
    return next(_durations(text, lexicon), None)


def duration_kind(sentence: str, figure: Duration | None, cue: tuple[int, int] | None = None,
                  lexicon: DurationLexicon | None = None) -> str:
    """What a duration claim's length measures (schemas.DURATION_KINDS but "other"): a frequency is an interval;
    else the kind whose words stand nearest the figure (without one, nearest the claim's cue, `cue` as offsets in
    the sentence), within kind_window characters; else the effect's length."""
    if figure is not None and figure.frequency:
        return "interval"
    lexicon = lexicon or load_lexicon()
    anchor = (figure.start, figure.end) if figure is not None else cue
    best = None
    for order, (kind, _) in enumerate(lexicon.kinds):
        for start, end in lexicon.caseless[f"kind:{kind}"].spans(sentence):  # the whole sentence: a window's edge would cut
            gap = 0 if anchor is None else max(anchor[0] - end, start - anchor[1], 0)  # words in half
            if gap <= lexicon.kind_window and (best is None or (gap, order) < best[:2]):
                best = (gap, order, kind)
    return best[2] if best else "effect"
