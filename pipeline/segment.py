"""Stage 1: split a thread into its question and its answers (title and body).

The page text is read line by line. Page boilerplate (answer counts,
signatures, ratings, votes and buttons, template code, banners, bylines,
greetings and sign-offs; patterns in resources/segment_lexicon.json) is
dropped and separates the text around it; what is left forms *blocks*, runs of
lines between blank or boilerplate lines. The first block's first line is the
question title.

An answer starts at a *title block*: a short single line that reads like a
headline (no closing full stop, shares words with the question title or the
paragraph it heads, is not a list item, does not open like prose). Titles are
chosen jointly rather than one by one: two titles are never adjacent and every
title needs a body, so when two short lines compete the more title-like one
wins (dynamic programming over the blocks). An answer also starts after a
footer (a signature, a rating, vote counts) and at a greeting. A thread with no
titles at all has one answer per paragraph, or, when footers close its answers,
one answer per run of paragraphs between footers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import pandas as pd

from pipeline.config import SEGMENT_LEXICON_FILE, DEFAULT_SETTINGS, Settings
from pipeline.files import InputError

ANSWER_COLUMNS = [
    "thread_id", "answer_id", "position", "role", "title", "text",
    "char_start", "char_end", "title_start", "title_end", "source", "source_line",
]

_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_NO_TITLE = -1.0e9


@dataclass(frozen=True)
class Block:
    """A run of text between blank lines, with offsets into the thread text."""

    start: int
    end: int
    text: str

    @property
    def is_single_line(self) -> bool:
        return "\n" not in self.text and "\r" not in self.text


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


@lru_cache(maxsize=None)
def load_lexicon(path: Path = SEGMENT_LEXICON_FILE) -> dict:
    with open(path, encoding="utf-8") as handle:
        lexicon = json.load(handle)
    lines = lexicon["boilerplate_lines"]
    return {
        "stopwords": frozenset(lexicon["stopwords"]),
        "body_openers": frozenset(lexicon["body_openers"]),
        "list_marker": re.compile(lexicon["list_marker_regex"]),
        "boilerplate": [(kind, re.compile(pattern))
                        for kind in (FOOTER, START, OTHER) for pattern in lines[kind]],
        "greeting": re.compile(lexicon["greeting_inline"], re.IGNORECASE),
        "signoff": re.compile(lexicon["signoff_inline"], re.IGNORECASE),
    }


FOOTER, START, OTHER = "footer", "start", "other"  # kinds of boilerplate line
HEADING_BONUS = 3.0  # added to the title score of a line the source marks as a heading
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r|$)")  # any newline convention, old Mac "\r" too


def boilerplate_kind(line: str, lexicon: dict) -> str | None:
    """The kind of boilerplate a stripped line is, or None for content."""
    for kind, pattern in lexicon["boilerplate"]:
        if pattern.search(line):
            return kind
    return None


def content_blocks(text: str, lexicon: dict | None = None) -> tuple[list[Block], dict[int, str]]:
    """Blocks of content lines with exact offsets, and the breaks before them.

    The dict maps a block's index to the strongest boilerplate met just before
    it (FOOTER over START over OTHER), or START when a greeting opened the
    block itself or a sign-off closed the block before; the key -1 - i marks a
    block i closed by a sign-off (it belongs to an answer). A short line caught
    between two footers (an unrecognised signature line) is dropped too.
    """
    lexicon = lexicon or load_lexicon()
    blocks: list[Block] = []
    breaks: dict[int, str] = {}
    pending: str | None = None
    start = end = None

    def close() -> None:
        nonlocal start, end
        if start is not None:
            blocks.append(Block(start, end, text[start:end]))
        start = end = None

    footer_after: set[int] = set()
    for match in _LINE.finditer(text):
        line = match.group(0)
        if not line:
            break
        stripped = line.strip()
        if not stripped:
            close()
            continue
        kind = boilerplate_kind(stripped, lexicon)
        if kind:
            close()
            pending = _stronger(pending, kind)
            if kind == FOOTER and blocks:
                footer_after.add(len(blocks) - 1)
            continue
        line_start = match.start() + (len(line) - len(line.lstrip()))
        if start is None:
            start = line_start
            if pending:
                breaks[len(blocks)] = pending
                pending = None
        end = line_start + len(stripped)
    close()
    blocks, breaks = _drop_sandwiched(blocks, breaks, footer_after)
    return _trim_greetings(text, blocks, breaks, lexicon)


def _drop_sandwiched(blocks: list[Block], breaks: dict[int, str], footer_after: set[int]):
    """Remove blocks with a footer on both sides that look like signature lines no pattern knew.

    Such a block has at most three short lines, none ending like a sentence.
    """
    def signature_like(block: Block) -> bool:
        lines = [line.strip() for line in re.split(r"\r\n|\r|\n", block.text)]
        return len(lines) <= 3 and all(len(line.split()) <= 8 and not line.endswith((".", "!", "?")) for line in lines)

    keep = [i for i, b in enumerate(blocks)
            if not (breaks.get(i) == FOOTER and i in footer_after and signature_like(b))]
    if len(keep) == len(blocks):
        return blocks, breaks
    new_breaks: dict[int, str] = {}
    previous_kept = -1
    for new_index, old_index in enumerate(keep):
        kind = breaks.get(old_index)
        if old_index - previous_kept > 1:  # something was dropped in between: a footer stood there
            kind = FOOTER
        if kind:
            new_breaks[new_index] = kind
        previous_kept = old_index
    return [blocks[i] for i in keep], new_breaks


def _stronger(current: str | None, new: str) -> str:
    order = (OTHER, START, FOOTER)
    return new if current is None or order.index(new) > order.index(current) else current


def _trim_greetings(text: str, blocks: list[Block], breaks: dict[int, str], lexicon: dict):
    """Cut a greeting off the start of a block and a sign-off off its end; both mark answer starts."""
    trimmed = []
    for i, block in enumerate(blocks):
        start, end = block.start, block.end
        greeting = lexicon["greeting"].match(block.text)
        if greeting and greeting.end() < len(block.text):
            start += greeting.end()
            breaks[i] = _stronger(breaks.get(i), START)
        signoff = lexicon["signoff"].search(text[start:end])
        if signoff and signoff.start() > 0:
            end = start + signoff.start()
            breaks[-1 - i] = START
            if i + 1 < len(blocks):
                breaks[i + 1] = _stronger(breaks.get(i + 1), START)
        trimmed.append(Block(start, end, text[start:end]))
    return trimmed, breaks


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
    n_words = len(text.split())
    several_sentences = re.search(r"[.!?]\s+\S", text) is not None
    if (not block.is_single_line or not words or n_words > settings.max_title_words
            or lexicon["list_marker"].match(text) or text[-1] in ":;,"
            or (several_sentences and n_words > settings.max_multi_sentence_title_words)):
        return _NO_TITLE
    if previous is not None and previous.text.rstrip().endswith(":"):
        return _NO_TITLE  # the line after "... the following:" is a list item
    own_words = content_words(text, lexicon["stopwords"])
    shared_question = len(own_words & question_words)
    shared_body = len(own_words & content_words(following.text, lexicon["stopwords"])) if following else 0
    score = 1.0 + min(shared_question, 3) + 0.75 * min(shared_body, 2)
    if shared_question + shared_body == 0:
        score -= 0.5
    if several_sentences:  # "Weaker, yes. Permanently, no." can be a title; most such lines are prose
        score -= 0.5
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


def choose_titles(scores: list[float], forced: set[int]) -> list[int]:
    """Indices of title blocks maximising the total score.

    No two titles are adjacent, the last block is no title, and a title is never
    followed by a forced answer start (its body would be empty).
    """
    n = len(scores)
    best = [0.0] * (n + 2)  # best[i]: best total over blocks i..
    take = [False] * (n + 2)
    for i in range(n - 1, -1, -1):
        skip_total = best[i + 1]
        allowed = scores[i] > 0 and i < n - 1 and (i + 1) not in forced
        take_total = scores[i] + best[i + 2] if allowed else _NO_TITLE
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


def segment_text(text: str, source: str = "<text>", settings: Settings = DEFAULT_SETTINGS,
                 title_hints: Mapping[int, int] | frozenset[int] = frozenset()) -> list[Segment]:
    """The question and answers of one thread's text, in order.

    `title_hints` are offsets where the source marks a heading (HTML h1-h6);
    such a line is far more likely a title.
    """
    lexicon = load_lexicon()
    blocks, breaks = content_blocks(text, lexicon)
    if not blocks:
        raise InputError(source, "the file is empty" if not text.strip() else "the file holds only page boilerplate")
    first = blocks[0]
    title_line = re.split(r"[\r\n]", first.text, maxsplit=1)[0].rstrip()
    question_title = (title_line, first.start, first.start + len(title_line))
    rest_of_first = first.text[len(title_line):].lstrip()
    if rest_of_first:  # title and body in one block
        start = first.end - len(rest_of_first)
        blocks[0] = Block(start, first.end, rest_of_first)
    else:
        blocks = blocks[1:]
        breaks = {(i - 1 if i >= 0 else i + 1): kind for i, kind in breaks.items() if i >= 1 or i < -1}
    if not blocks:
        raise InputError(source, "the thread has a title but no question body and no answers")

    # blocks[0] is the question body, unless it is a heading at the level of a later heading: then the
    # question has no body and blocks[0] titles the first answer (a lone "Question details" heading
    # over the question body is not a title); breaks before it only end the title
    forced = {i for i in breaks if i >= 1}
    footers = {i for i, kind in breaks.items() if i >= 1 and kind == FOOTER}
    closed = {-1 - i for i in breaks if i < 0}  # blocks ending in a sign-off are answers, never the question
    first_answer = min({i for i in closed if i >= 1} | forced, default=1)
    question_words = content_words(title_line, lexicon["stopwords"])
    scores = [
        title_score(blocks[i], question_words, blocks[i - 1] if i else None,
                    blocks[i + 1] if i + 1 < len(blocks) else None, lexicon, settings)
        + (HEADING_BONUS if blocks[i].start in title_hints else 0.0)
        if i or _heads_an_answer(blocks, title_hints) else _NO_TITLE
        for i in range(len(blocks))]
    titles = set(choose_titles(scores, forced))
    if titles:
        starts = sorted(titles | forced)
    elif len(footers) >= 2:  # footers close the answers: one answer per run between them
        starts = sorted(forced)
    else:  # untitled: one answer per paragraph after the question
        starts = list(range(first_answer, len(blocks)))

    segments = [_make_segment(0, question_title, blocks[: starts[0]] if starts else blocks)]
    for k, index in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else len(blocks)
        head = blocks[index]
        titled = index in titles
        title = (head.text, head.start, head.end) if titled else ("", head.start, head.start)
        segments.append(_make_segment(k + 1, title, blocks[index + 1 if titled else index: stop]))
    if len(segments) < 2:
        raise InputError(source, "the thread has no answers")
    return segments


def _heads_an_answer(blocks: list[Block], title_hints: Mapping[int, int] | frozenset[int]) -> bool:
    """Whether the block after the question title is a heading of the same level as some later heading."""
    if blocks[0].start not in title_hints or not isinstance(title_hints, Mapping):
        return False
    level = title_hints[blocks[0].start]
    return any(title_hints.get(block.start) == level for block in blocks[2:])


def _make_segment(position: int, title: tuple[str, int, int], body: list[Block]) -> Segment:
    text_start = body[0].start if body else title[2]
    text_end = body[-1].end if body else title[2]
    return Segment(position, title[0], title[1], title[2], text_start, text_end)


def answers_table(thread_id: str, text: str, segments, source: str = "", source_line: int | None = None) -> pd.DataFrame:
    """Rows of answers.csv for one thread; `text` is what the offsets index."""
    return answers_frame(answer_rows(thread_id, text, segments, source, source_line))


def answers_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS).astype({"source_line": "Int64"})


def answer_rows(thread_id: str, text: str, segments, source: str = "", source_line: int | None = None) -> list[dict]:
    """answers.csv rows as dicts: building one frame per chunk, not per thread, keeps big runs fast."""
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
    return rows
