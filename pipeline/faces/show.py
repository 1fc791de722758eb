"""`claims show FILE`: one file's threads with their claims, in the terminal or as displaCy's span view.

Both views go segment by segment: the question, then each answer, named "answer N" (N from 1) and by its
title when it has one. Each claim is shown with its type, its flags (negated, hedged: named when true), a
duration claim's figure in months and its kind, and its stance.

The span view marks the claims on the thread's own text (what the offsets in the CSVs index), one colour per
type. displaCy is given the text's own words and spaces (its default view puts a space after every token, and
minified none inside a marked claim), paragraph breaks are kept, and a claim's label is a badge at its start,
drawn by CSS from an attribute: it takes its own room in the line, so labels never overlap one another or the
text, and the page's text is the thread's text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.schemas import CLAIM_TYPES

TYPE_COLOURS = dict(zip(CLAIM_TYPES, ("#74c0fc", "#ffa8a8", "#b2f2bb", "#ffe066")))
OTHER_COLOUR = "#dee2e6"
SEP = " \u00b7 "
FLAGS = ("negated", "hedged")


# ---- what a claim and a segment are called ---------------------------------------------------------------

def segment_name(position: int) -> str:
    """'question' for position 0, else 'answer N'."""
    return "question" if int(position) == 0 else f"answer {int(position)}"


def answer_name(position: int, title) -> str:
    """How a segment is named to a reader: its title (whitespace runs made one space), else 'answer N'."""
    title = " ".join(title.split()) if isinstance(title, str) else ""
    return title or segment_name(position)


def _present(value) -> bool:
    return value is not None and not pd.isna(value)


def _months(value: float) -> str:
    return f"{value:g} month{'' if value == 1 else 's'}"


def duration_text(row) -> str:
    """A claim's stated duration, readably: '3 to 4 months', '6 months or more', 'up to 2 months' (the upper
    bound only), 'no figure'; then its kind ('3 months, effect'). Empty for a claim with neither."""
    low, high = row.duration_min_months, row.duration_max_months
    if _present(low) and _present(high):
        figure = _months(low) if low == high else f"{low:g} to {_months(high)}"
    elif _present(low):
        figure = f"{_months(low)} or more"
    elif _present(high):
        figure = f"up to {_months(high)}"
    else:
        figure = "no figure" if row.claim_type == "duration" else ""
    kind = row.duration_kind if isinstance(row.duration_kind, str) else ""
    return ", ".join(part for part in (figure, kind) if part)


def claim_label(row) -> str:
    """'duration · 3 to 4 months, recovery · negated · hedged · against': what both views show of a claim."""
    parts = [row.claim_type]
    parts += [text for text in (duration_text(row),) if text]
    parts += [flag for flag in FLAGS if _present(getattr(row, flag)) and bool(getattr(row, flag))]
    if isinstance(row.stance, str) and row.stance:
        parts.append(row.stance)
    return SEP.join(parts)


# ---- the thread cut into segments ------------------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    """A stretch of a thread shown as one: a segment (its title and body ranges) or text outside every segment."""

    name: str  # "question", "answer N"; "" for text outside the segments
    answer_id: str
    title: tuple[int, int]  # thread-text offsets, empty when untitled
    body: tuple[int, int]


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """(start, end) moved inwards past whitespace at both ends."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def thread_blocks(text: str, answers: pd.DataFrame) -> list[Block]:
    """The thread's segments in order (`answers`: its rows of answers.csv), with any text between or around them
    that no segment holds (an author's line, say) as blocks of its own; all the text when it has no segments."""
    blocks, cursor = [], 0

    def outside(start: int, end: int) -> None:
        start, end = _trimmed(text, start, end)
        if start < end:
            blocks.append(Block("", "", (start, start), (start, end)))

    for row in answers.sort_values("position", kind="mergesort").itertuples():
        titled = isinstance(row.title, str) and row.title.strip() and row.title_end > row.title_start
        title = _trimmed(text, int(row.title_start), int(row.title_end)) if titled else (row.char_start,) * 2
        body = _trimmed(text, int(row.char_start), int(row.char_end))
        start = min(title[0], body[0]) if titled else body[0]
        outside(cursor, start)
        blocks.append(Block(segment_name(row.position), str(row.answer_id), tuple(map(int, title)), body))
        cursor = max(cursor, body[1], int(title[1]))
    outside(cursor, len(text))
    return blocks


# ---- the terminal view -----------------------------------------------------------------------------------

def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def render_text(thread_id: str, claims: pd.DataFrame, answers: pd.DataFrame | None = None) -> str:
    """The claims of a thread for the terminal, under the question or answer each belongs to, one line each:
    '[type · duration, kind · flags · stance] sentence  (start-end)'."""
    lines = [f"{thread_id}: {_count(len(claims), 'claim')}"]
    answers = answers if answers is not None else pd.DataFrame(columns=["answer_id", "position", "title"])
    names = {str(r.answer_id): (int(r.position), r.title) for r in answers.itertuples()}
    order = sorted(names, key=lambda a: names[a][0])
    groups = {answer_id: claims[claims["answer_id"] == answer_id] for answer_id in order}
    unplaced = claims[~claims["answer_id"].isin(order)]
    for answer_id, rows in [*groups.items(), (None, unplaced)]:
        if not len(rows):
            continue
        if answer_id is None:
            heading = "outside the question and answers"
        else:
            position, title = names[answer_id]
            name = answer_name(position, title)
            heading = segment_name(position) + ("" if name == segment_name(position) else f" \u00b7 {name}")
        lines.append(f"  {heading}: {_count(len(rows), 'claim')}")
        for row in rows.sort_values("char_start", kind="mergesort").itertuples():
            lines.append(f"    [{claim_label(row)}] {' '.join(str(row.text).split())}  "
                         f"({row.char_start}-{row.char_end})")
    return "\n".join(lines)


# ---- the span view ---------------------------------------------------------------------------------------

# displaCy's span templates, on one line each (the text keeps its own line breaks, so the templates may hold
# none). A claim's bars are background layers of its words, and its label an empty badge whose CSS draws the
# text of its data-label: nothing but the thread's own text is in the page's text, so what is copied from the
# page, or read as its innerText, is the thread's text (displaCy's own bars, positioned boxes, put a line break
# between every two words of a claim there).
SPAN_TEMPLATES = {
    "span": '<span class="claim-token" style="height: {total_height}px; background: {span_slices}transparent;">'
            '{span_starts}{text}</span>',
    "slice": "linear-gradient({bg}, {bg}) 0 {top_offset}px / 100% 4px no-repeat, ",
    "start": '<span class="claim-label" style="background: {bg};" data-label="{label}"></span>',
}
# the text line is 40px high (line-height 2.5 at 16px): the bars go under it, 8px apart
SPAN_OPTIONS = {"top_offset": 40, "span_label_offset": 8, "top_offset_step": 8, "template": SPAN_TEMPLATES}

PAGE_STYLE = """body{font-size:16px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;
max-width:60em;margin:2em auto;padding:0 1.5em;color:#212529}
article.thread{margin:0 0 4em}
article.thread>h2{font-size:1.3em;border-bottom:1px solid #dee2e6;padding-bottom:.3em}
section{margin:1.5em 0;padding:.1em 0 .1em 1em;border-left:4px solid #e9ecef}
section.question{border-left-color:#adb5bd}
section.outside{color:#868e96;border-left-style:dotted}
section>h3{margin:0;font-size:.75em;font-weight:600;letter-spacing:.06em;text-transform:uppercase;color:#868e96}
.spans{white-space:pre-line}
.claim-token{display:inline-block;font-weight:bold}
.answer-title .spans{font-size:1.1em;font-weight:600}
.claim-label{display:inline-block;margin-right:.5em;padding:2px 4px;border-radius:3px;vertical-align:middle;
font-size:.6em;line-height:1;font-weight:bold;color:#000;white-space:nowrap}
.claim-label::before{content:attr(data-label)}"""


def span_view(text: str, spans: list[tuple[int, int, str]]) -> dict:
    """displaCy's manual input for the span view of `text`, with `spans` (start, end, label; offsets into `text`).

    The tokens are the text's own: a marked word, the spaces after it apart (displaCy draws them plainly),
    and the unmarked text between claims as one piece (displaCy adds a space after it, which only shows where
    the piece ends without one; those last characters go to the claim's first word instead).
    """
    doc = _blank().make_doc(text)
    marked = []
    for start, end, label in spans:
        start, end = _trimmed(text, max(start, 0), min(end, len(text)))  # displaCy labels no space
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is not None and len(span) and span.text.strip():
            marked.append((span.start, span.end, label))
    covered = {i for start, end, _ in marked for i in range(start, end)}
    tokens, first, after, unmarked, glued = [], {}, {}, "", ""
    for token in doc:
        if token.i not in covered:
            unmarked += token.text_with_ws
            continue
        if unmarked:
            head = re.sub(r"\S+$", "", unmarked)
            glued = unmarked[len(head):]
            if head:
                tokens.append(head)
            unmarked = ""
        first[token.i] = len(tokens)
        tokens.append(glued + token.text)
        glued = ""
        after[token.i] = len(tokens)
        if token.whitespace_:
            tokens.append(token.whitespace_)
    if unmarked:
        tokens.append(unmarked)
    assert "".join(tokens) == text  # the pieces are the text, nothing added, nothing lost
    return {"text": text, "tokens": tokens, "title": None, "settings": {"lang": "en", "direction": "ltr"},
            "spans": [{"start_token": first[start], "end_token": after[end - 1], "label": html.escape(label)}
                      for start, end, label in marked]}


@lru_cache(maxsize=1)
def _blank():
    """A blank English pipeline: only its tokenizer is used, to cut the text into words."""
    import spacy

    return spacy.blank("en")


def marked_text(text: str, start: int, end: int, claims: pd.DataFrame) -> str:
    """displaCy's span view of text[start:end] with the claims that fall in it."""
    from spacy import displacy

    spans = []
    for row in claims.itertuples():
        a, b = max(int(row.char_start), start), min(int(row.char_end), end)
        if a < b:
            spans.append((a - start, b - start, claim_label(row)))
    parsed = span_view(text[start:end], spans)
    colours = {span["label"]: TYPE_COLOURS.get(html.unescape(span["label"]).split(SEP)[0], OTHER_COLOUR)
               for span in parsed["spans"]}
    return displacy.render([parsed], style="span", manual=True, page=False, minify=False, jupyter=False,
                           options={**SPAN_OPTIONS, "colors": colours})


def render_block(text: str, block: Block, claims: pd.DataFrame) -> str:
    """One segment as a section: its name, its title and its body, claims marked."""
    esc = html.escape
    kind = "outside" if not block.name else block.name.split()[0]
    parts = [f'<section class="{kind}" data-answer-id="{esc(block.answer_id)}">']
    if block.name:
        parts.append(f"<h3>{esc(block.name)}</h3>")
    if block.title[1] > block.title[0]:
        parts.append(f'<div class="answer-title">{marked_text(text, *block.title, claims)}</div>')
    if block.body[1] > block.body[0]:
        parts.append(f'<div class="answer-body">{marked_text(text, *block.body, claims)}</div>')
    parts.append("</section>")
    return "".join(parts)


@dataclass(frozen=True)
class Shown:
    """One thread as both views take it."""

    thread_id: str
    text: str
    answers: pd.DataFrame
    claims: pd.DataFrame


def render_html(threads: list[Shown], title: str = "claims") -> str:
    """The span view of the threads as one page: per thread its segments in order, each a block."""
    body = []
    for thread in threads:
        body.append(f'<article class="thread"><h2>{html.escape(thread.thread_id)}</h2>')
        body += [render_block(thread.text, block, thread.claims)
                 for block in thread_blocks(thread.text, thread.answers)]
        body.append("</article>")
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


# ---- the command -----------------------------------------------------------------------------------------

def shown_threads(path: Path, model_dir: Path | None, settings: Settings = DEFAULT_SETTINGS) -> list[Shown]:
    """Each thread of the file with its rows of answers.csv and claims.csv."""
    from pipeline.faces import api
    from pipeline.io import readers
    from pipeline.threads import ThreadSource

    items = [item for item in readers.iter_threads(path, settings.read) if isinstance(item, ThreadSource)]
    tables = api.process(items, model_dir=model_dir, settings=settings)
    answers, claims = tables["answers"], tables["claims"]
    return [Shown(thread.thread_id, thread.text, answers[answers["thread_id"] == thread.thread_id],
                  claims[claims["thread_id"] == thread.thread_id]) for thread in items]


def show(path: Path, html_path: Path | None = None, model_dir: Path | None = None,
         settings: Settings = DEFAULT_SETTINGS) -> str:
    """The text view of every thread of `path`; with `html_path`, also the span view written there."""
    from pipeline.io.files import InputError, atomic_write_bytes

    shown = shown_threads(Path(path), model_dir, settings)
    if not shown:
        raise InputError(path, "no thread could be read from it (see 'claims segment' for why)")
    if html_path is not None:
        page = render_html(shown, title=f"claims show {Path(path).name}")
        atomic_write_bytes(html_path, page.encode("utf-8"))
    return "\n\n".join(render_text(t.thread_id, t.claims, t.answers) for t in shown)
