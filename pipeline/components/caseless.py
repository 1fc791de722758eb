"""Case-insensitive patterns searched as case-sensitive ones over lower-cased text, where that is the same search.

Python's ``re`` tries a pattern compiled with IGNORECASE at every position
with case folding, about twice as slowly as the same pattern without it; the
duration lexicon's patterns are all case-insensitive and searched in every
sentence that may state a duration. For ASCII text, lower-casing keeps every
character where it was, so a pattern whose letters are all lower case finds
exactly the same spans in ``text.lower()`` without IGNORECASE. ``Caseless``
takes that path only when it is provably the same search: the pattern's source
holds no upper-case letter but escapes such as ``\\S``, no inline flag, no
escape that names a character by number unless the character has no case, and
no non-ASCII character that has a case (the Kelvin sign matches "k"); and the
text is ASCII. Otherwise the IGNORECASE pattern is searched as before. Match
objects always come from the IGNORECASE pattern (its groups keep the text's
case), matched again at the position found.
"""

from __future__ import annotations

import re
from functools import lru_cache

_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U|N|[0-7]|.)", re.DOTALL)
_INLINE_FLAGS = re.compile(r"\(\?[aiLmsux-]+[:)]")
_GROUP_NAME = re.compile(r"\(\?P<\w+>")


def _caseless_char(char: str) -> bool:
    return char.lower() == char and char.upper() == char


def lower_case_equivalent(source: str) -> bool:
    """Whether a pattern source, compiled with IGNORECASE, finds in ASCII text the spans it finds compiled without
    it in the text lower-cased: no upper-case letter outside an escape, no inline flag, no character that has a
    case written by number or outside ASCII."""
    if _INLINE_FLAGS.search(source):
        return False
    source = _GROUP_NAME.sub("(", source)  # a group's name is not text to match
    for escape in _ESCAPE.finditer(source):
        named = escape.group(1) or escape.group(2)
        if named is not None and not _caseless_char(chr(int(named, 16))):
            return False
        if escape.group(0)[1] in "UN01234567":  # \U, \N{...} and octal escapes: not worth reading, never safe
            return False
    rest = _ESCAPE.sub("", source)
    return not any(("A" <= c <= "Z") or (not c.isascii() and not _caseless_char(c)) for c in rest)


class Caseless:
    """An IGNORECASE pattern, searched over lower-cased ASCII text without IGNORECASE where that is the same."""

    def __init__(self, pattern: re.Pattern):
        if not pattern.flags & re.IGNORECASE:
            raise ValueError(f"{pattern.pattern!r} is not case-insensitive")
        self.pattern = pattern
        self.fast = (re.compile(pattern.pattern, pattern.flags & ~re.IGNORECASE)
                     if lower_case_equivalent(pattern.pattern) else None)

    def _fast_text(self, text: str) -> str | None:
        return text.lower() if self.fast is not None and text.isascii() else None

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The (start, end) of every match finditer gives."""
        lowered = self._fast_text(text)
        if lowered is None:
            return [m.span() for m in self.pattern.finditer(text)]
        return [m.span() for m in self.fast.finditer(lowered)]

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match | None:
        """The pattern's own search: the same match object (from the IGNORECASE pattern, its groups in the text's
        case)."""
        endpos = len(text) if endpos is None else endpos
        lowered = self._fast_text(text)
        if lowered is None:
            return self.pattern.search(text, pos, endpos)
        found = self.fast.search(lowered, pos, endpos)
        return None if found is None else self.pattern.match(text, found.start(), endpos)

    def finds(self, text: str) -> bool:
        """Whether the pattern occurs in text (search, without making the match object)."""
        lowered = self._fast_text(text)
        return bool((self.pattern if lowered is None else self.fast).search(text if lowered is None else lowered))


@lru_cache(maxsize=64)
def caseless(pattern: re.Pattern) -> Caseless:
    """The Caseless of a compiled pattern, made once (a pattern is reread, and so a new object, when its file
    changes)."""
    return Caseless(pattern)
