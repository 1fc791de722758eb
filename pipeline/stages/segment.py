"""The `segment` stage: each thread split into its question and its answers (title and body).

The page text is read line by line. Page boilerplate (answer counts,
signatures, ratings, votes and buttons, template code, banners, bylines,
breadcrumbs, link lines, greetings and sign-offs; patterns in
resources/segment_lexicon.json) is dropped and separates the text around it.
Every other line is a *block*; a block written right under the previous one,
with no blank or boilerplate line between them, is *tight* (answers on some
pages are separated by single line breaks only).

The question comes first: its title is the first line unless that line is a
long paragraph (then the question has no title) or the page starts with an
answer (a greeting, or prose with no question in it: then the question is
empty and the caller is warned). Banner lines above a question title are
dropped.

An answer starts at a *title*: a short line that reads like a headline (no
closing full stop, shares words with the question title or the paragraph it
heads, is not a list item, does not open like prose). Titles are chosen
jointly rather than one by one: two titles are never adjacent and every title
needs a body, except that the last line of a page cut off after an answer's
title may be a title alone. An answer also starts after a footer (a
signature, a rating), after an answer count ("Doctor Answers 3": everything
after it is answers), and at a greeting. A vote counter marks an answer start
too: the line above it is the answer's title when it reads like one. A thread
with no titles has one answer per paragraph, except paragraphs that open like
a continuation ("That said", "However") and stay with the answer before them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import pandas as pd

from pipeline.config import DEFAULT_SETTINGS, SEGMENT_LEXICON_FILE, SegmentSettings
from pipeline.io.files import ErrorRecord, InputError, log, reread_when_changed, thread_failure
from pipeline.stages.question import thread_question
from pipeline.schemas import ANSWER_COLUMNS, QUESTION_COLUMNS
from pipeline.threads import Segment



_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_NO_TITLE = -1.0e9
FOOTER, START, OTHER, COUNT, WIDGET, END, HEADER = "footer", "start", "other", "count", "widget", "end", "header"
BREAK_KINDS = (FOOTER, START, OTHER, COUNT, WIDGET, END, HEADER)  # kinds of boilerplate line
MATCH_ORDER = (FOOTER, COUNT, WIDGET, HEADER, START, END, OTHER)  # a line matching two kinds is the first
HEADING_BONUS = 3.0  # added to the title score of a line the source marks as a heading, or that a vote counter follows
MAX_INNER_BOILERPLATE_CHARS = 240  # a longer line inside an answer is a paragraph, not a pull quote or a link line
LEAD_LINE_BONUS = 1.0  # a short line right after an answer's header or the previous answer's footer, over a paragraph
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r|$)")  # any newline convention, old Mac "\r" too
_QUOTED_LINE = re.compile(r"^[\"\u201c][^\"\u201c\u201d]+[\"\u201d]$")
_BLANK_LINE = re.compile(r"(?:\r\n|\n|\r)[ \t]*(?:\r\n|\n|\r)")
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|my|me|mine)\b|\bi\b")


@dataclass(frozen=True)
class Block:
    """One line of content with exact offsets into the thread text; `tight` if no break separates it from the line above."""

    start: int
    end: int
    text: str
    tight: bool = False


@dataclass
class Breaks:
    """What separates the blocks: kinds of boilerplate met before block i, and where greetings and sign-offs were cut."""

    before: dict[int, set[str]] = field(default_factory=dict)
    opened: set[int] = field(default_factory=set)  # blocks that began with a greeting (cut off)
    closed: set[int] = field(default_factory=set)  # blocks that ended with a sign-off or an inline signature (cut off)
    asked: set[int] = field(default_factory=set)  # blocks marked as a question ("Q:", "Q."), marker cut off
    answered: set[int] = field(default_factory=set)  # blocks marked as an answer ("A:", "A."), marker cut off

    def kinds(self, index: int) -> set[str]:
        return self.before.get(index, set())


@reread_when_changed
def load_lexicon(path: Path = SEGMENT_LEXICON_FILE) -> dict:
    with open(path, encoding="utf-8") as handle:
        lexicon = json.load(handle)
    lines = lexicon["boilerplate_lines"]
    return {
        "stopwords": frozenset(lexicon["stopwords"]),
        "body_openers": frozenset(lexicon["body_openers"]),
        "continuation": re.compile(lexicon["continuation_opener_regex"], re.IGNORECASE),
        "list_marker": re.compile(lexicon["list_marker_regex"]),
        "boilerplate": [(kind, LinePatterns.of(lines[kind])) for kind in MATCH_ORDER if lines.get(kind)],
        "any_boilerplate": LinePatterns.of([p for kind in MATCH_ORDER for p in lines.get(kind, [])]),
        "greeting": re.compile(lexicon["greeting_inline"], re.IGNORECASE),
        "signoff": re.compile(lexicon["signoff_inline"], re.IGNORECASE),
        "signature": re.compile(lexicon["signature_inline"]),
        "motto": re.compile(lexicon["motto_line"]),
        "title_label": re.compile(lexicon["title_label_regex"]),
        "reply_title": re.compile(lexicon["reply_title_regex"], re.IGNORECASE),
        "qa_question": re.compile(lexicon["qa_markers"]["question"]),
        "qa_answer": re.compile(lexicon["qa_markers"]["answer"]),
        "qa_inline_answer": re.compile(lexicon["qa_markers"]["inline_answer"]),
        "qa_answer_label": re.compile(lexicon["qa_markers"]["answer_label"], re.IGNORECASE),
    }


@dataclass(frozen=True)
class LinePatterns:
    """A kind's line patterns as two alternations: those anchored at the line's start, tried there only (a search
    would try every alternative at every position), and the others, searched."""

    anchored: re.Pattern | None
    floating: re.Pattern | None

    @classmethod
    def of(cls, patterns: list[str]) -> "LinePatterns":
        groups: dict[bool, list[str]] = {True: [], False: []}
        for pattern in patterns:
            flags, body = ("(?i)", pattern[4:]) if pattern.startswith("(?i)") else ("", pattern)
            anchored = body.startswith("^")
            groups[anchored].append(f"(?i:{body[anchored:]})" if flags else f"(?:{body[anchored:]})")
        return cls(*(re.compile("|".join(groups[k])) if groups[k] else None for k in (True, False)))

    def matches(self, line: str) -> bool:
        return bool((self.anchored and self.anchored.match(line)) or (self.floating and self.floating.search(line)))


def boilerplate_kind(line: str, lexicon: dict) -> str | None:
    """The kind of boilerplate a stripped line is, or None for content."""
    for kind, patterns in lexicon["boilerplate"]:
        if patterns.matches(line):
            return kind
    return None


def mask_boilerplate(text: str, lexicon: dict | None = None) -> str:
    """`text` with every boilerplate line inside it blanked out (same length, newlines kept).

    An answer's text is one stretch of the page, so a pull quote or a "Related:"
    line between two of its paragraphs stays in it; extraction reads the masked
    text, so no claim comes from such a line and offsets still index the page.
    """
    if "\n" not in text and "\r" not in text:
        return text
    lexicon = lexicon or load_lexicon()
    pieces = []
    for match in _LINE.finditer(text):
        line = match.group(0)
        stripped = line.strip()
        if stripped and len(stripped) <= MAX_INNER_BOILERPLATE_CHARS and lexicon["any_boilerplate"].matches(stripped):
            body = line.rstrip("\r\n")
            line = " " * len(body) + line[len(body):]
        pieces.append(line)
    return "".join(pieces)


def content_blocks(text: str, lexicon: dict | None = None) -> tuple[list[Block], Breaks]:
    """Content lines as blocks with exact offsets, and what separates them.

    Greetings opening a paragraph, and sign-offs or signatures closing a line,
    are cut off and recorded. A line caught between two footers that looks like
    a signature no pattern knew, and a quoted motto under a signature, are dropped.
    """
    lexicon = lexicon or load_lexicon()
    blocks: list[Block] = []
    breaks = Breaks()
    footer_after: set[int] = set()  # blocks followed by a footer line
    previous_was_content = False
    previous_footer = False
    label_pending = False
    for match in _LINE.finditer(text):
        line = match.group(0)
        if not line:
            break
        stripped = line.strip()
        if not stripped:
            previous_was_content = False
            continue
        if lexicon["qa_answer_label"].match(stripped):  # "Answer:" alone on its line: the next block answers
            label_pending = True
            breaks.before.setdefault(len(blocks), set()).add(OTHER)
            previous_was_content = False
            continue
        kind = boilerplate_kind(stripped, lexicon)
        if kind == END and blocks:  # "Related articles": the rest of the page is not the thread
            break
        if kind is None and previous_footer and lexicon["motto"].match(stripped):
            kind = OTHER  # a doctor's quoted motto under the name
        if kind == HEADER:  # "replied 2 years ago": short name lines right above it belong to it
            while (blocks and not breaks.kinds(len(blocks)) and previous_was_content and len(blocks[-1].text.split()) <= 4
                   and not blocks[-1].text.endswith((".", "!", "?"))):
                previous_was_content = blocks.pop().tight
        if kind:
            breaks.before.setdefault(len(blocks), set()).add(kind)
            if kind == FOOTER and blocks:
                footer_after.add(len(blocks) - 1)
            previous_was_content = False
            previous_footer = kind == FOOTER
            continue
        start = match.start() + (len(line) - len(line.lstrip()))
        for piece_start, piece_end, marker in _qa_pieces(stripped, lexicon):
            tight = previous_was_content and not breaks.kinds(len(blocks)) and marker != "a"  # an answer opens a paragraph
            if marker == "q":
                breaks.asked.add(len(blocks))
            elif marker == "a" or label_pending:
                breaks.answered.add(len(blocks))
            label_pending = False
            blocks.append(Block(start + piece_start, start + piece_end, stripped[piece_start:piece_end], tight))
            previous_was_content = True
        previous_footer = False
    blocks, breaks = _drop_sandwiched(blocks, breaks, footer_after)
    return _trim_edges(text, blocks, breaks, lexicon)


def _qa_pieces(line: str, lexicon: dict) -> list[tuple[int, int, str | None]]:
    """(start, end, marker) of a line's parts: a "Q:" question and an "A:" answer, also both in one line
    ("Q. Does it last? A. No, ..."); the markers themselves are left out."""
    question = lexicon["qa_question"].match(line)
    answer = lexicon["qa_answer"].match(line)
    if answer:
        return [(answer.end(), len(line), "a")]
    if not question:
        return [(0, len(line), None)]
    inline = lexicon["qa_inline_answer"].search(line, question.end())
    if inline:
        return [(question.end(), inline.start() + 1, "q"), (inline.end(), len(line), "a")]
    return [(question.end(), len(line), "q")]


def _drop_sandwiched(blocks: list[Block], breaks: Breaks, footer_after: set[int]) -> tuple[list[Block], Breaks]:
    """Remove runs of lines with a footer on both sides that look like signature lines no pattern knew.

    Such a run has at most three lines written one under the other, each short
    (at most eight words) and not ending like a sentence.
    """
    def signature_like(block: Block) -> bool:
        return len(block.text.split()) <= 8 and not block.text.endswith((".", "!", "?"))

    drop: set[int] = set()
    i = 0
    while i < len(blocks):
        if FOOTER in breaks.kinds(i):
            j = i
            while j + 1 < len(blocks) and blocks[j + 1].tight and not breaks.kinds(j + 1):
                j += 1
            run = range(i, j + 1)
            if j in footer_after and len(run) <= 3 and all(signature_like(blocks[k]) for k in run):
                drop.update(run)
            i = j + 1
        else:
            i += 1
    keep = [i for i in range(len(blocks)) if i not in drop]
    if len(keep) == len(blocks):
        return blocks, breaks
    renumbered = Breaks()
    new_of = {old: new for new, old in enumerate(keep)}
    renumbered.asked = {new_of[i] for i in breaks.asked if i in new_of}
    renumbered.answered = {new_of[i] for i in breaks.answered if i in new_of}
    previous_kept = -1
    for new_index, old_index in enumerate(keep + [len(blocks)]):
        kinds = set().union(*(breaks.kinds(i) for i in range(previous_kept + 1, old_index + 1)))
        if old_index - previous_kept > 1:  # something was dropped in between: a footer stood there
            kinds.add(FOOTER)
        if kinds:
            renumbered.before[new_index] = kinds
        previous_kept = old_index
    return [blocks[i] for i in keep], renumbered


def _trim_edges(text: str, blocks: list[Block], breaks: Breaks, lexicon: dict) -> tuple[list[Block], Breaks]:
    """Cut a greeting off the start of a paragraph and a sign-off or signature off the end of a line."""
    trimmed = []
    for i, block in enumerate(blocks):
        start, end = block.start, block.end
        greeting = lexicon["greeting"].match(block.text)
        if greeting and block.tight and not greeting.group(0).rstrip().endswith((".", "!")):
            greeting = None  # under another line, only a whole greeting sentence opens an answer ("Hi Sam," does not)
        if greeting and greeting.end() < len(block.text):
            start += greeting.end()
            breaks.opened.add(i)
        for pattern in (lexicon["signature"], lexicon["signoff"]):
            cut = pattern.search(text[start:end])
            if cut and cut.start() > 0:
                end = start + len(text[start:start + cut.start()].rstrip())
                breaks.closed.add(i)
        trimmed.append(Block(start, end, text[start:end], block.tight))
    return trimmed, breaks


def content_words(text: str, stopwords: frozenset) -> set[str]:
    words = (w.lower().rstrip("'") for w in _WORD.findall(text))
    return {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words if w not in stopwords}


def title_score(block: Block, question_words: set[str], previous: Block | None, following: Block | None,
                lexicon: dict, settings: SegmentSettings) -> float:
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
    if (not words or n_words > settings.max_title_words
            or lexicon["list_marker"].match(text) or text[-1] in ":;,"
            or (several_sentences and n_words > settings.max_multi_sentence_title_words)):
        return _NO_TITLE
    if previous is not None and previous.text.rstrip().endswith(":"):
        return _NO_TITLE  # the line after "... the following:" is a list item
    if _QUOTED_LINE.match(text):
        return _NO_TITLE  # a pull quote
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


def choose_titles(scores: list[float], forced: set[int], last_may_be_title: bool = False) -> list[int]:
    """Indices of title blocks maximising the total score.

    No two titles are adjacent, and a title is never followed by a forced
    answer start (its body would be empty). The last block is no title, unless
    `last_may_be_title` (a page cut off after an answer's title).
    """
    n = len(scores)
    best = [0.0] * (n + 2)  # best[i]: best total over blocks i..
    take = [False] * (n + 2)
    for i in range(n - 1, -1, -1):
        skip_total = best[i + 1]
        has_body = i < n - 1 and (i + 1) not in forced
        allowed = scores[i] > 0 and (has_body or (i == n - 1 and last_may_be_title))
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


@dataclass(frozen=True)
class QuestionStart:
    """Where the question's title is, and where the blocks after it begin."""

    title: tuple[str, int, int] | None  # None: the page has no question title
    first_block: int  # index of the first block after the title
    answer_first: bool  # the page starts with an answer: the question is empty


def read_question(blocks: list[Block], breaks: Breaks, lexicon: dict, settings: SegmentSettings) -> QuestionStart:
    """The question title, after any banner lines above it; no title when the first line is a paragraph."""
    first = _skip_banners(blocks, settings.max_question_title_words)
    head = blocks[first]
    if (START in breaks.kinds(first) or first in breaks.opened or lexicon["reply_title"].match(head.text)
            or ("?" not in head.text and not _FIRST_PERSON.search(head.text)
                and len(head.text.split()) > settings.max_question_title_words)):
        return QuestionStart(None, first, True)
    if len(head.text.split()) > settings.max_question_title_words:
        return QuestionStart(None, first, False)
    return QuestionStart((head.text, head.start, head.end), first + 1, False)


def _skip_banners(blocks: list[Block], max_words: int, reach: int = 4) -> int:
    """Index of the question title's line: a short line without "?" above a question line is a banner, and a line
    that repeats a later line with more words (a page title with the site's name) is one too."""
    first = 0
    for i in range(1, min(reach, len(blocks))):
        line = blocks[i].text
        if line.endswith("?") and len(line.split()) <= max_words and all(
                _banner_like(blocks[j].text) or line in blocks[j].text for j in range(first, i)):
            return i
    return first


def _banner_like(line: str) -> bool:
    return len(line.split()) <= 8 and not line.endswith(("?", ".", "!"))


def segment_text(text: str, source: str = "<text>", settings: SegmentSettings = DEFAULT_SETTINGS.segment,
                 title_hints: Mapping[int, int] | frozenset[int] = frozenset(),
                 warnings: list[str] | None = None) -> list[Segment]:
    """The question and answers of one thread's text, in order.

    `title_hints` are offsets where the source marks a heading (HTML h1-h6);
    such a line is far more likely a title. A page whose copy starts with an
    answer, or has no recognisable answers, is still read (its question empty,
    its text answers) and a sentence saying so is appended to `warnings`.
    """
    lexicon = load_lexicon()
    blocks, breaks = content_blocks(text, lexicon)
    if not blocks:
        raise InputError(source, "the file is empty" if not text.strip() else "the file holds only page boilerplate")
    question = read_question(blocks, breaks, lexicon, settings)
    starts, titles = _answer_starts(text, blocks, breaks, question, lexicon, settings, title_hints)
    if _question_reads_as_answer(blocks, breaks, question, starts):
        question = QuestionStart(None, question.first_block - 1, True)
        starts, titles = _answer_starts(text, blocks, breaks, question, lexicon, settings, title_hints)
    rest = blocks[question.first_block:]
    if not starts:  # nothing but a question: the whole text is read as one answer
        _warn(warnings, f"{source}: no answers recognised; the whole text is read as one answer")
        at = blocks[0].start
        return [Segment(0, "", at, at, at, at), Segment(1, "", at, at, at, blocks[-1].end)]
    if question.answer_first:
        _warn(warnings, f"{source}: the page's copy has no question; its text is read as answers")
        at = rest[0].start
        segments = [Segment(0, "", at, at, at, at)]
    else:
        title = question.title or ("", rest[0].start, rest[0].start)
        # a byline or dateline between an article's standfirst and the asker's letter: the letter is the body
        body_from = max([0] + [j for j in range(1, starts[0]) if breaks.kinds(question.first_block + j)])
        segments = [_make_segment(0, title, rest[body_from: starts[0]])]
    for k, index in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else len(rest)
        head = rest[index]
        titled = index in titles
        label = lexicon["title_label"].match(head.text) if titled else None
        title_start = head.start + (label.end() if label else 0)
        title = (head.text[title_start - head.start:], title_start, head.end) if titled else ("", head.start, head.start)
        segments.append(_make_segment(k + 1, title, rest[index + 1 if titled else index: stop]))
    return segments


def _question_reads_as_answer(blocks: list[Block], breaks: Breaks, question: QuestionStart, starts: list[int]) -> bool:
    """A titled "question" that asks nothing and that a signature or vote counter closes, as they close the answers
    after it, is the first answer of a page whose copy has no question."""
    if question.answer_first or question.title is None or not starts:
        return False
    body = blocks[question.first_block: question.first_block + starts[0]]
    closers = breaks.kinds(question.first_block + starts[0])
    return ("?" not in question.title[0] and not any("?" in block.text for block in body)
            and bool(closers & {FOOTER, WIDGET}) and not closers & {COUNT})


def _answer_starts(text: str, blocks: list[Block], breaks: Breaks, question: QuestionStart, lexicon: dict,
                   settings: SegmentSettings, title_hints: Mapping[int, int] | frozenset[int]) -> tuple[list[int], set[int]]:
    """(indices of the blocks after the question title where answers start, those that are titles)."""
    offset = question.first_block
    rest = blocks[offset:]
    question_words = content_words(question.title[0], lexicon["stopwords"]) if question.title else set()
    forced, greeted = _forced_starts(rest, breaks, offset)
    if question.answer_first:
        forced.add(0)
    widget_titles, widget_starts = _widget_marks(rest, breaks, offset, settings)
    asked_titles = _asked_titles(rest, breaks, offset)
    forced -= {i + 1 for i in asked_titles}  # "Q: ..." / "- Dana, 41" / "A: ...": the answer starts at its question
    forced |= widget_titles | widget_starts | asked_titles
    widget_titles |= asked_titles
    headings = {i for i, block in enumerate(rest) if block.start in title_hints}
    scores = []
    for i in range(len(rest)):
        score = _NO_TITLE
        if _may_be_title(i, rest, breaks, offset, forced, title_hints):
            score = title_score(rest[i], question_words, rest[i - 1] if i else None,
                                rest[i + 1] if i + 1 < len(rest) else None, lexicon, settings)
        if i in widget_titles:  # a vote counter under the line says it is a title
            score = max(score, 0.0) + HEADING_BONUS
        elif i in forced and _lead_line(i, rest, breaks, offset, settings):  # a short line opening an answer
            score = max(score, 0.0) + LEAD_LINE_BONUS
        elif i in headings and score > _NO_TITLE:
            score += HEADING_BONUS
        scores.append(score)
    cut_after_title = len(rest) >= 2 and (bool(breaks.kinds(offset + len(rest) - 1) & {FOOTER, WIDGET, OTHER, HEADER})
                                          or len(rest) - 1 in widget_titles)
    titles = set(choose_titles(scores, forced, last_may_be_title=cut_after_title))
    hard = set(forced)
    forced |= {i for i in greeted if i - 1 not in titles}  # a greeting under a title belongs to its answer
    if titles:
        starts = sorted(titles | forced)
    else:  # untitled: footers close answers (runs between them); after the last footer, one per paragraph
        first = min(forced) if forced else _question_body_end(rest)
        if len(rest) > 1 and not _BLANK_LINE.search(text.strip()):  # no blank line on the page: a line each
            first = min(first, 1)
        boundary = max([first] + sorted(hard))  # footers, headers, counters: each closes an answer
        starts = sorted({first} | {i for i in forced if i < boundary}
                        | set(_paragraph_starts(rest, forced, boundary, lexicon))) if first < len(rest) else []
    return starts, titles


def _warn(warnings: list[str] | None, message: str) -> None:
    if warnings is not None:
        warnings.append(message)


def _forced_starts(rest: list[Block], breaks: Breaks, offset: int) -> tuple[set[int], set[int]]:
    """Blocks that must start an answer (after a footer, a count or a sign-off), and blocks that start one unless
    the line above is its title (at a greeting: "Title" / "Hi Sam," / body)."""
    forced, greeted = set(), set()
    for i in range(len(rest)):
        kinds = breaks.kinds(offset + i)
        if kinds & {FOOTER, COUNT} or (i and offset + i - 1 in breaks.closed) or (HEADER in kinds and i > 0):
            forced.add(i)  # a post's byline right under the question title is the asker's own
        elif START in kinds or (offset + i) in breaks.opened or (offset + i) in breaks.answered:
            greeted.add(i)
    return forced, greeted


def _asked_titles(rest: list[Block], breaks: Breaks, offset: int) -> set[int]:
    """Questions marked "Q:" right above an answer marked "A:" are that answer's title, except the question's own
    body (the first block after its title)."""
    return {i - 1 for i in range(2, len(rest)) if offset + i in breaks.answered and offset + i - 1 in breaks.asked}


def _widget_marks(rest: list[Block], breaks: Breaks, offset: int, settings: SegmentSettings) -> tuple[set[int], set[int]]:
    """Answer starts marked by a vote counter: the short line right above it is the answer's title (whatever it
    reads like: the counter says so); after running text, the counter opens an untitled answer."""
    marks = []
    for i in range(1, len(rest) + 1):  # len(rest): a counter after the last line (a page cut after a title)
        if WIDGET in breaks.kinds(offset + i):
            head = rest[i - 1]
            sentence_end = head.text.endswith(".") and not head.text.endswith("..")
            short = len(head.text.split()) <= settings.max_title_words and not head.text.endswith((":", ",")) and not sentence_end
            above_is_break = i - 1 == 0 or not head.tight or bool(breaks.kinds(offset + i - 1))
            marks.append((i, short and above_is_break))
    # on a page where counters mostly follow running text, they close answers (as on forums): no titles from them
    heads_titles = sum(title for _, title in marks) * 2 > len(marks)
    titles = {i - 1 for i, title in marks if title and heads_titles}
    starts = {i for i, title in marks if not (title and heads_titles) and i < len(rest)}
    return titles, starts


def _lead_line(i: int, rest: list[Block], breaks: Breaks, offset: int, settings: SegmentSettings) -> bool:
    """A line of at most max_lead_line_words words that only a blank line separates from a longer paragraph of the
    same answer (or that ends the page): in the first place of an answer, it heads it. What is left of a line after
    a greeting was cut off is body."""
    line = rest[i].text
    following = rest[i + 1] if i + 1 < len(rest) else None
    if len(line.split()) > settings.max_lead_line_words or line.endswith((":", ",")) or offset + i in breaks.opened:
        return False
    return following is None or (not following.tight and not breaks.kinds(offset + i + 1)
                                 and offset + i + 1 not in breaks.answered and len(following.text) > 2 * len(line))


def _may_be_title(i: int, rest: list[Block], breaks: Breaks, offset: int, forced: set[int],
                  title_hints: Mapping[int, int] | frozenset[int]) -> bool:
    """A title starts a paragraph (a tight line under running text is not one). The line right after the question
    title is the question's body, unless an answer must start there or it is a heading like later ones (HTML)."""
    if i == 0:
        return 0 in forced or _heads_an_answer(rest, title_hints)
    return not rest[i].tight or bool(breaks.kinds(offset + i)) or (offset + i - 1) in breaks.closed


def _question_body_end(rest: list[Block]) -> int:
    """With no title and no footer, the question body is its first paragraph."""
    i = 1
    while i < len(rest) and rest[i].tight:
        i += 1
    return i


def _paragraph_starts(rest: list[Block], forced: set[int], first: int, lexicon: dict) -> list[int]:
    """Untitled answers from `first` on: one per paragraph (per line where no blank line separates any), except
    paragraphs that open like a continuation; forced starts always start one."""
    region = range(first, len(rest))
    all_tight = all(rest[i].tight for i in region if i > first) and len(region) > 1
    starts = []
    for i in region:
        new_paragraph = i == first or all_tight or not rest[i].tight
        if i in forced or (new_paragraph and not lexicon["continuation"].match(rest[i].text)):
            starts.append(i)
    return starts


def _heads_an_answer(rest: list[Block], title_hints: Mapping[int, int] | frozenset[int]) -> bool:
    """Whether the block after the question title is a heading of the same level as some later heading."""
    if not rest or rest[0].start not in title_hints or not isinstance(title_hints, Mapping):
        return False
    level = title_hints[rest[0].start]
    return any(title_hints.get(block.start) == level for block in rest[2:])


def _make_segment(position: int, title: tuple[str, int, int], body: list[Block]) -> Segment:
    text_start = body[0].start if body else title[2]
    text_end = body[-1].end if body else title[2]
    return Segment(position, title[0], title[1], title[2], text_start, text_end)


def answers_table(thread_id: str, text: str, segments, source: str = "", source_line: int | None = None) -> pd.DataFrame:
    """Rows of answers.csv for one thread; `text` is what the offsets index."""
    return answers_frame(answer_rows(thread_id, text, segments, source, source_line))


def answers_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS).astype({"source_line": "Int64"})


def answer_rows(thread_id: str, text: str, segments, source: str = "", source_line: int | None = None,
                question: Mapping[str, str] | None = None) -> list[dict]:
    """answers.csv rows as dicts: building one frame per chunk, not per thread, keeps big runs fast.

    `question` (pipeline.stages.question.Question.as_row()) fills the question row's reading.
    """
    rows = []
    blank = dict.fromkeys(QUESTION_COLUMNS, "")
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
            **(dict(question or blank) if seg.position == 0 else blank),
        })
    return rows


COMBINED = "combined"  # settings.segment.segmenter: the learned segmenter, the rules' answers where they see more
MIN_RULE_ANSWERS = 3


def _combined(learned: list[Segment], thread, settings: SegmentSettings, warnings: list[str]) -> list[Segment]:
    """The learned segmenter's reading, or the rules' where they find at least MIN_RULE_ANSWERS answers and the
    learned one fewer: the CRF's one failure class the rules do not share is merging a thread's untitled answers
    into one (dev, 5-fold CV grouped by thread: segmented exactly 0.421 against the rules' 0.294 and the CRF's 0.523,
    answers with the right text 0.646 against 0.637 and 0.558; at least 2 or 4 answers, or fewer than half or three
    quarters as many, did no better). The rules' warnings are kept when their reading is, or when the learned one
    reads no question either."""
    noted: list[str] = []
    try:
        rules = segment_text(thread.text, thread.source, settings, thread.title_hints, noted)
    except InputError:
        return learned
    answers = len(rules) - 1
    if answers >= MIN_RULE_ANSWERS and len(learned) - 1 < answers:
        warnings.extend(noted)
        return rules
    question = learned[0] if learned else None
    if question is None or (question.title_end == question.title_start and question.char_end == question.char_start):
        warnings.extend(noted)  # neither reads a question here: what the rules note of the page holds for both
    return learned


def segment_rows(thread, settings: SegmentSettings = DEFAULT_SETTINGS.segment,
                 segmenter: Callable[[str, str], list[Segment]] | None = None) -> list[dict]:
    """answers.csv rows of one thread (a readers.ThreadSource); a thread read without a question is reported.

    `segmenter(text, source)` replaces the rules (the learned one, pipeline.stages.line_labels.learned_segments);
    with settings.segmenter "combined" the rules' reading is taken instead where they see more answers (`_combined`)."""
    warnings: list[str] = []
    if thread.segments:
        segments = thread.segments
    elif segmenter is not None:
        segments = segmenter(thread.text, thread.source)
        if settings.segmenter == COMBINED:
            segments = _combined(segments, thread, settings, warnings)
    else:
        segments = segment_text(thread.text, thread.source, settings, thread.title_hints, warnings)
    for warning in warnings:
        log(f"segment: warning: {warning}")
    head = next((s for s in segments if s.position == 0), None)
    asked = thread_question(
        thread.text[head.title_start:head.title_end] if head else "",
        thread.text[head.char_start:head.char_end] if head else "",
        thread.thread_id, thread.proposition, thread.question_kind)
    return answer_rows(thread.thread_id, thread.text, segments, Path(thread.source).name, thread.line,
                       asked.as_row())


def segment_threads(items: Iterable, settings: SegmentSettings = DEFAULT_SETTINGS.segment,
                    segmenter: Callable[[str, str], list[Segment]] | None = None
                    ) -> tuple[pd.DataFrame, list[ErrorRecord]]:
    """The `segment` stage: answers.csv rows of the items' threads, and an ErrorRecord for each item that is or
    raises an input error. A thread on which segmenting fails in a way no rule foresaw is named and skipped; the
    others go on."""
    rows, errors = [], []
    for item in items:
        if isinstance(item, (ErrorRecord, InputError)):
            errors.append(ErrorRecord.of(item))
            continue
        try:
            rows.extend(segment_rows(item, settings, segmenter))
        except InputError as err:
            errors.append(ErrorRecord.of(err))
        except Exception as err:  # noqa: BLE001 - a thread no rule foresaw: its row in errors.csv, the others go on
            errors.append(thread_failure(item.source, item.line, item.thread_id, "segmenting", err))
    return answers_frame(rows), errors
