"""Stage 2: sentences and typed claims, with offsets into the raw thread files.

Each answer has two pieces, its title and its body. A thread's pieces go to
spaCy joined by blank lines, several to a Doc (up to ``settings.doc_chars``
characters; a piece is never cut): a blank line is a sentence boundary, so a
title is always its own sentence and nothing carries over from one piece to the
next, and few large Docs cost far less than many small ones. Sentence ids
count the answer's sentences in order, title first: ``{answer_id}:{k}``. A
claim id adds the type: ``{sentence_id}:{type}``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import groupby
from typing import Iterable, Iterator

import numpy as np
import pandas as pd
from spacy.attrs import IDX
from spacy.language import Language

from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.components.extensions import CLAIMS
from pipeline.io.files import InputError
from pipeline.components import build_nlp, sentence_bounds
from pipeline.schemas import CLAIM_COLUMNS
from pipeline.stages.segment import mask_boilerplate

PIECE_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Piece:
    """A title or body inside a Doc's text: where it starts there, how long it is, where it starts in the thread."""

    answer_id: str
    doc_start: int
    length: int
    thread_start: int


def pieces_of(answers: pd.DataFrame, texts: dict[str, str]) -> Iterator[tuple[str, str, int, str]]:
    """(thread_id, answer_id, offset, piece text) for every title and body that is not blank, in file order."""
    for row in answers.itertuples(index=False):
        text = texts[row.thread_id]
        structured = not pd.isna(row.source_line)
        for start, end, stored in ((row.title_start, row.title_end, row.title), (row.char_start, row.char_end, row.text)):
            piece = text[start:end]
            if piece != ("" if pd.isna(stored) else stored):
                raise InputError(row.thread_id, f"answers.csv does not match the thread file at {start}:{end}; "
                                                "re-run the 'segment' stage")
            if piece.strip():
                # page text may hold debris inside an answer; fields of JSONL/CSV input (which have a source line)
                # are taken as given, as they are not segmented either
                yield row.thread_id, row.answer_id, int(start), piece if structured else mask_boilerplate(piece)


def documents(answers: pd.DataFrame, texts: dict[str, str], max_chars: int) -> Iterator[tuple[str, tuple]]:
    """(doc text, (thread_id, pieces)): each thread's pieces joined by blank lines, at most `max_chars` a doc."""
    for thread_id, group in groupby(pieces_of(answers, texts), key=lambda p: p[0]):
        parts: list[str] = []
        pieces: list[Piece] = []
        size = 0
        for _, answer_id, offset, piece in group:
            if pieces and size + len(PIECE_SEPARATOR) + len(piece) > max_chars:
                yield "".join(parts), (thread_id, pieces)
                parts, pieces, size = [], [], 0
            if pieces:
                parts.append(PIECE_SEPARATOR)
                size += len(PIECE_SEPARATOR)
            pieces.append(Piece(answer_id, size, len(piece), offset))
            parts.append(piece)
            size += len(piece)
        yield "".join(parts), (thread_id, pieces)


def _normalised(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", str(text).lower()))


def extract_claims(nlp: Language, answers: pd.DataFrame, texts: dict[str, str],
                   settings: Settings = DEFAULT_SETTINGS, progress: Iterable | None = None) -> pd.DataFrame:
    """Rows of claims.csv for the answers given, stance columns left empty."""
    rows = []
    sentences_so_far: dict[str, int] = {}  # per answer, its sentences in earlier docs
    # an answer title that repeats the question, even without its "?", asks rather than claims
    questions = {row.thread_id: _normalised(row.title)
                 for row in answers.itertuples(index=False) if row.role == "question" and not pd.isna(row.title)}
    roles = dict(zip(answers["answer_id"], answers["role"]))  # the asker's own claims keep role "question"
    docs = nlp.pipe(documents(answers, texts, settings.doc_chars), as_tuples=True, batch_size=settings.batch_size)
    for doc, (thread_id, pieces) in (progress(docs) if progress else docs):
        sentence_chars = np.asarray(doc.to_array(IDX), dtype=np.int64)[sentence_bounds(doc).starts].tolist()
        piece_starts = [piece.doc_start for piece in pieces]
        numbering = []  # per piece: add to a doc sentence index to get the index within the answer
        for piece in pieces:
            first = bisect_left(sentence_chars, piece.doc_start)
            after = bisect_left(sentence_chars, piece.doc_start + piece.length)
            seen = sentences_so_far.get(piece.answer_id, 0)
            numbering.append(seen - first)
            sentences_so_far[piece.answer_id] = seen + after - first
        question = questions.get(thread_id)
        for claim in doc._.get(CLAIMS):
            if question and _normalised(claim.text) == question:
                continue
            k = bisect_right(piece_starts, claim.start) - 1
            answer_id, shift = pieces[k].answer_id, pieces[k].thread_start - pieces[k].doc_start
            sentence_id = f"{answer_id}:{claim.sentence_index + numbering[k]}"
            rows.append((f"{sentence_id}:{claim.claim_type}", thread_id, answer_id, roles[answer_id], sentence_id,
                         claim.claim_type, claim.text, claim.start + shift, claim.end + shift, claim.negated,
                         claim.hedged, claim.cue, claim.duration_min_months, claim.duration_max_months))
    # built from tuples, column by column: a list of dicts costs a dict per claim and a slow frame constructor
    extracted = CLAIM_COLUMNS[:-2]  # all but the stance columns
    columns = list(zip(*rows)) if rows else [()] * len(extracted)
    frame = pd.DataFrame(dict(zip(extracted, (list(c) for c in columns))), columns=CLAIM_COLUMNS)
    frame["stance"] = None
    for column in ("duration_min_months", "duration_max_months", "stance_score"):
        frame[column] = frame[column].astype("float64")
    return frame


def extract_from_answers(answers: pd.DataFrame, texts: dict[str, str], settings: Settings = DEFAULT_SETTINGS,
                         progress=None) -> pd.DataFrame:
    """claims.csv rows of every answer, with a spaCy pipeline built for the purpose."""
    return extract_claims(build_nlp(settings), answers, texts, settings, progress=progress)
