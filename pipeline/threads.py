"""What a thread is, as every floor of the package sees it: its text as read, and its question and answers.

Offsets always index ``ThreadSource.text``: the page text as read (a .txt
file, an HTML page's text), or for structured formats (JSONL, CSV) the
fields joined by blank lines. This module imports nothing of the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class Segment:
    """The question (position 0) or one answer of a thread; offsets index the thread text."""

    position: int
    title: str
    title_start: int
    title_end: int
    char_start: int
    char_end: int

    @property
    def role(self) -> str:
        return "question" if self.position == 0 else "answer"


@dataclass(frozen=True)
class ThreadSource:
    """One thread: its text (what offsets index) and, for structured formats, its segments."""

    thread_id: str
    source: str
    line: int | None
    text: str
    segments: tuple[Segment, ...] | None = None
    title_hints: Mapping[int, int] = field(default_factory=dict)  # offset of a heading line -> level (1-6)
    proposition: str = ""  # given by hand (input column or --propositions table): replaces the one read
    question_kind: str = ""
