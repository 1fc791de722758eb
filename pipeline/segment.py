"""Stage 1: split a thread into its question and its answers (title and body).

The page text is read as blocks separated by blank lines. The first block's
first line is the question title. An answer starts at a *title block*: a short
single line that reads like a headline (no closing full stop, shares words
with the question title, is not a list item, does not open like a sentence of
prose). Titles are chosen jointly rather than one by one: two titles can never
be adjacent, and every title needs a body after it, so when two short lines
compete the more title-like one wins (dynamic programming over the blocks).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from pipeline.config import SEGMENT_LEXICON_FILE, DEFAULT_SETTINGS, Settings
from pipeline.files import InputError

ANSWER_COLUMNS = [
    "thread_id", "answer_id", "position", "role", "title", "text",
    "char_start", "char_end", "title_start", "title_end", "source", "source_line",
]

_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")  # a blank line: only whitespace ("\r", no-break space) between newlines
_NO_TITLE = -1.0e9


@dataclass(frozen=True)
class Block:
    """A run of text between blank lines, with offsets into the thread text."""

    start: int
    end: int
    text: str

    @property
    def is_single_line(self) -> bool:
        return "\n" not in self.text


@dataclass(frozen=True)
class Segment:
    """The question (position 0) or one answer of a thread."""

    position: int
    title: str
    title_start: int
    title_end: int
    text: str
    char_start: int
    char_end: int

    @property
    def role(self) -> str:
        return "question" if self.position == 0 else "answer"


@lru_cache(maxsize=None)
def load_lexicon(path: Path = SEGMENT_LEXICON_FILE) -> dict:
    with open(path, encoding="utf-8") as handle:
        lexicon = json.load(handle)
    return {
        "stopwords": frozenset(lexicon["stopwords"]),
        "body_openers": frozenset(lexicon["body_openers"]),
        "list_marker": re.compile(lexicon["list_marker_regex"]),
    }


def split_blocks(text: str) -> list[Block]:
    """Blocks of non-blank lines, stripped, with their exact offsets."""
    blocks, cursor = [], 0
    for match in [*_BLANK_LINE.finditer(text), None]:
        stop = match.start() if match else len(text)
        raw = text[cursor:stop]
        stripped = raw.strip()
        if stripped:
            start = cursor + (len(raw) - len(raw.lstrip()))
            blocks.append(Block(start, start + len(stripped), stripped))
        if match:
            cursor = match.end() - 1  # keep the final "\n" out of the next block
    return blocks


def content_words(text: str, stopwords: frozenset) -> set[str]:
    words = (w.lower().rstrip("'") for w in _WORD.findall(text))
    return {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words if w not in stopwords}


def title_score(block: Block, question_words: set[str], previous: Block | None, following: Block | None,
                lexicon: dict, settings: Settings) -> float:
    """How much `block` reads like an answer title; _NO_TITLE when it cannot be one.

    A title shares words with the question title or with the body it heads, is
    a line without a closing full stop, and does not open like running prose.
    A very short sentence ending in a full stop ("Results vary.") reads like a
    body line, and so does a long one.
    """
    text = block.text
    words = _WORD.findall(text)
    if (not block.is_single_line or not words or len(text.split()) > settings.max_title_words
            or lexicon["list_marker"].match(text) or text[-1] in ":;,"
            or re.search(r"[.!?]\s+\S", text)):
        return _NO_TITLE
    if previous is not None and previous.text.rstrip().endswith(":"):
        return _NO_TITLE  # the line after "... the following:" is a list item
    own_words = content_words(text, lexicon["stopwords"])
    shared_question = len(own_words & question_words)
    shared_body = len(own_words & content_words(following.text, lexicon["stopwords"])) if following else 0
    score = 1.0 + min(shared_question, 3) + 0.75 * min(shared_body, 2)
    if shared_question + shared_body == 0:
        score -= 0.5
    n_words = len(text.split())
    score += {"?": 0.5, ".": -0.75, "!": -1.0}.get(text[-1], 1.0)
    if text[-1] == "." and n_words <= 5:
        score -= 0.5
    score -= 0.15 * max(0, n_words - 10)
    if words[0].lower() in lexicon["body_openers"]:
        score -= 1.5
    capitalised = [w for w in words if w.lower() not in lexicon["stopwords"]]
    if capitalised and sum(w[0].isupper() for w in capitalised) / len(capitalised) >= 0.6:
        score += 0.5
    return score


def choose_titles(scores: list[float]) -> list[int]:
    """Indices of title blocks maximising the total score, no two adjacent, none last.

    `scores[0]` belongs to the first block after the question body's first block,
    so the question body is never empty.
    """
    n = len(scores)
    best = [0.0] * (n + 2)  # best[i]: best total using blocks i.. (i may start an answer)
    take = [False] * (n + 2)
    for i in range(n - 1, -1, -1):
        skip_total = best[i + 1]
        take_total = scores[i] + best[i + 2] if (scores[i] > 0 and i < n - 1) else _NO_TITLE
        take[i] = take_total > skip_total
        best[i] = max(skip_total, take_total)
    chosen, i = [], 0
    while i < n:
        if take[i]:
            chosen.append(i)
            i += 2
        else:
            i += 1
    return chosen


def segment_text(text: str, source: str = "<text>", settings: Settings = DEFAULT_SETTINGS) -> list[Segment]:
    """The question and answers of one thread's text, in order."""
    lexicon = load_lexicon()
    blocks = split_blocks(text)
    if not blocks:
        raise InputError(source, "the file is empty")
    first = blocks[0]
    title_line = first.text.split("\n", 1)[0].rstrip()
    question_title = (title_line, first.start, first.start + len(title_line))
    rest_of_first = first.text[len(title_line):].lstrip()
    if rest_of_first:  # title and body in one block
        start = first.end - len(rest_of_first)
        blocks[0] = Block(start, first.end, rest_of_first)
    else:
        blocks = blocks[1:]
    if not blocks:
        raise InputError(source, "the thread has a title but no question body and no answers")

    question_words = content_words(title_line, lexicon["stopwords"])
    candidates = blocks[1:]
    scores = [title_score(b, question_words, blocks[i], blocks[i + 2] if i + 2 < len(blocks) else None, lexicon, settings)
              for i, b in enumerate(candidates)]
    title_indices = [i + 1 for i in choose_titles(scores)]
    if title_indices:
        starts = [(i, True) for i in title_indices]
    else:  # no titles at all: one answer per block after the question's first block
        starts = [(i, False) for i in range(1, len(blocks))]

    segments = [_make_segment(0, question_title, blocks[: starts[0][0]] if starts else blocks)]
    for k, (index, titled) in enumerate(starts):
        stop = starts[k + 1][0] if k + 1 < len(starts) else len(blocks)
        body = blocks[index + 1 if titled else index: stop]
        head = blocks[index]
        title = (head.text, head.start, head.end) if titled else ("", head.start, head.start)
        segments.append(_make_segment(k + 1, title, body))
    if len(segments) < 2:
        raise InputError(source, "the thread has no answers")
    return segments


def _make_segment(position: int, title: tuple[str, int, int], body: list[Block]) -> Segment:
    text_start = body[0].start if body else title[2]
    text_end = body[-1].end if body else title[2]
    return Segment(position, title[0], title[1], title[2], "", text_start, text_end)


def answers_table(thread_id: str, text: str, segments, source: str = "", source_line: int | None = None) -> pd.DataFrame:
    """Rows of answers.csv for one thread; `text` is what the offsets index."""
    rows = []
    for seg in segments:
        rows.append({
            "thread_id": thread_id,
            "answer_id": f"{thread_id}:{seg.position}",
            "position": seg.position,
            "role": seg.role,
            "title": seg.title,
            "text": text[seg.char_start:seg.char_end],
            "char_start": seg.char_start,
            "char_end": seg.char_end,
            "title_start": seg.title_start,
            "title_end": seg.title_end,
            "source": source,
            "source_line": source_line,
        })
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS).astype({"source_line": "Int64"})
