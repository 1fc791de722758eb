"""What the claim cue ruler reads off a token pattern: the literal phrases it stands for, or its anchor word.

A token pattern that is only word lists is a set of phrases (one
PhraseMatcher); any other needs a Matcher, run only around an anchor word
every match holds, as far as the pattern can reach from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product
from math import prod

from spacy.matcher import Matcher

from pipeline.components.rules import RulesError

_COMMON_WORDS = frozenset(("for", "to", "and", "a", "an", "the", "it", "they", "that", "which", "will", "may", "can",
                           "not", "n't", "do", "does", "at", "as", "over", "up", "about", "only", "just"))


def literal_expansions(pattern: list, limit: int = 5000) -> list[tuple[str, ...]] | None:
    """The phrases a token pattern of plain lowercase word lists stands for, optional ("?") ones with and without
    (None for any other pattern, or for more than `limit` phrases)."""
    options = []
    for token in pattern:
        words = token.get("LOWER")
        optional = token.get("OP") == "?"
        if set(token) - {"OP"} != {"LOWER"} or token.get("OP") not in (None, "?") or (
                isinstance(words, dict) and set(words) != {"IN"}):
            return None
        words = list(words["IN"]) if isinstance(words, dict) else [words]
        if not all(isinstance(w, str) and w and w == w.lower() for w in words):
            return None
        options.append(words + [None] if optional else words)
    if not options or prod(len(words) for words in options) > limit:
        return None
    phrases = {tuple(w for w in combination if w is not None) for combination in product(*options)}
    return sorted(p for p in phrases if p)


@dataclass(frozen=True)
class Anchor:
    """Words one of which every match of a token pattern holds, and how far a match reaches around it."""

    words: tuple[str, ...]
    before: int | None  # most tokens a match can have before the anchor word; None: unbounded
    after: int | None


@dataclass
class AnchoredPatterns:
    """Token patterns sharing one anchor word list, in their own Matcher, and how far they reach around it."""

    index: int
    matcher: Matcher
    before: int | None = 0
    after: int | None = 0

    def reach_at_least(self, anchor: Anchor) -> None:
        self.before, self.after = _widest(self.before, anchor.before), _widest(self.after, anchor.after)


def pattern_anchor(pattern: list) -> Anchor | None:
    """The pattern's rarest required LOWER token, or None if no token is both required and a word list."""
    extents = [_token_extent(token.get("OP")) for token in pattern]
    candidates = []
    for k, token in enumerate(pattern):
        words = token.get("LOWER")
        if (extents[k][0] < 1 or token.get("OP") == "!" or not words or set(token) - {"LOWER", "OP"}
                or (isinstance(words, dict) and set(words) != {"IN"})):
            continue  # optional, negated, or not a plain word list (NOT_IN, REGEX, FUZZY...)
        words = tuple(words["IN"]) if isinstance(words, dict) else (words,)
        # rarest first, then fewest words, then one that does not repeat (its reach is bounded)
        candidates.append((sum(w in _COMMON_WORDS for w in words), len(words), extents[k][1] is None, k, words))
    if not candidates:
        return None
    *_, k, words = min(candidates)
    repeats = None if extents[k][1] is None else extents[k][1] - 1  # an anchor that may repeat reaches further
    return Anchor(words, _total(extents[:k], repeats), _total(extents[k + 1:], repeats))


def _token_extent(op: str | None) -> tuple[int, int | None]:
    """(fewest, most) tokens a pattern token with this operator consumes; most is None if unbounded."""
    fixed = {None: (1, 1), "?": (0, 1), "!": (1, 1), "*": (0, None), "+": (1, None)}  # "!": one token, not matching
    if op in fixed:
        return fixed[op]
    quantifier = re.fullmatch(r"\{(\d*)(,?)(\d*)\}", op)
    if quantifier is None:
        raise RulesError(f"unknown operator {op!r} in a claim cue pattern")
    fewest = int(quantifier.group(1) or 0)
    if not quantifier.group(2):
        return fewest, fewest
    return fewest, int(quantifier.group(3)) if quantifier.group(3) else None


def _total(extents: list[tuple[int, int | None]], extra: int | None) -> int | None:
    most = [high for _, high in extents] + [extra]
    return None if None in most else sum(most)


def _widest(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max(a, b)
