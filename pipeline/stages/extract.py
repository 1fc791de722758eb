"""The `extract` stage: sentences and typed claims, with offsets into the thread text.

It reads answers.csv's rows only, never the thread files: each row carries its
title and text and where they start in the thread. Each answer has two pieces,
its title and its body. A thread's pieces go to
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

from pipeline.config import DEFAULT_SETTINGS, ExtractSettings
from pipeline.components.extensions import CLAIMS
from pipeline.io.files import ErrorRecord, thread_failure
from pipeline.components import sentence_bounds
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


def pieces_of(answers: pd.DataFrame) -> Iterator[tuple[str, str, int, str]]:
    """(thread_id, answer_id, offset, piece text) for every title and body that is not blank, in file order."""
    names = ("thread_id", "answer_id", "source_line", "title_start", "title", "char_start", "text")
    # plain lists, zipped: itertuples reads each cell of an Arrow-backed column through pandas, one at a time
    for thread_id, answer_id, source_line, title_start, title, char_start, text in zip(
            *(answers[name].tolist() for name in names)):
        structured = not pd.isna(source_line)
        for start, stored in ((title_start, title), (char_start, text)):
            piece = "" if pd.isna(stored) else str(stored)
            if piece.strip():
                # page text may hold debris inside an answer; fields of JSONL/CSV input (which have a source line)
                # are taken as given, as they are not segmented either
                yield thread_id, answer_id, int(start), piece if structured else mask_boilerplate(piece)


def documents(answers: pd.DataFrame, max_chars: int) -> Iterator[tuple[str, tuple]]:
    """(doc text, (thread_id, pieces)): each thread's pieces joined by blank lines, at most `max_chars` a doc."""
    for thread_id, group in groupby(pieces_of(answers), key=lambda p: p[0]):
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


def extract_claims(nlp: Language, answers: pd.DataFrame, settings: ExtractSettings = DEFAULT_SETTINGS.extract,
                   progress: Iterable | None = None) -> pd.DataFrame:
    """Rows of claims.csv for the answers given, stance columns left empty."""
    rows = []
    sentences_so_far: dict[str, int] = {}  # per answer, its sentences in earlier docs
    # an answer title that repeats the question, even without its "?", asks rather than claims
    questions = {thread_id: _normalised(title) for thread_id, role, title in zip(
        answers["thread_id"].tolist(), answers["role"].tolist(), answers["title"].tolist())
        if role == "question" and not pd.isna(title)}
    roles = dict(zip(answers["answer_id"], answers["role"]))  # the asker's own claims keep role "question"
    docs = nlp.pipe(documents(answers, settings.doc_chars), as_tuples=True, batch_size=settings.batch_size)
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
                         claim.hedged, claim.cue, claim.duration_min_months, claim.duration_max_months,
                         claim.duration_kind))
    # built from tuples, column by column: a list of dicts costs a dict per claim and a slow frame constructor
    extracted = CLAIM_COLUMNS[:-2]  # all but the stance columns
    columns = list(zip(*rows)) if rows else [()] * len(extracted)
    frame = pd.DataFrame(dict(zip(extracted, (list(c) for c in columns))), columns=CLAIM_COLUMNS)
    frame["stance"] = None
    for column in ("duration_min_months", "duration_max_months", "stance_score"):
        frame[column] = frame[column].astype("float64")
    return frame


FAILURE_STEP = "claim extraction"


def is_failure(error: ErrorRecord) -> bool:
    """Whether an errors.csv row is extract's own (a thread it failed on), not an input segment could not read."""
    return f": {FAILURE_STEP} failed (" in error.problem


def earlier_errors(errors: list[ErrorRecord]) -> list[ErrorRecord]:
    """The errors extract carries on from the stages before it: its own failures of an earlier run are dropped (a
    run after a fix would otherwise still name a thread it now reads)."""
    return [e for e in errors if not is_failure(e)]


def extract_threads(nlp: Language, answers: pd.DataFrame, settings: ExtractSettings = DEFAULT_SETTINGS.extract,
                    progress=None) -> tuple[pd.DataFrame, pd.DataFrame, list[ErrorRecord]]:
    """The `extract` stage: the answers (every row, stance emptied: the claims it stood on are new), their claims,
    and an ErrorRecord for each thread whose extraction failed.

    The threads are extracted at once; only if that fails is each thread tried
    on its own, so the one that fails is named and the others keep their
    claims. The failed thread's answers stay (without claims, and named in
    errors.csv): answers.csv keeps segment's rows, so a `claims extract` after a
    fix finds the thread again.
    """
    answers = answers.assign(stance=None, stance_score=float("nan"))
    try:
        return answers, extract_claims(nlp, answers, settings, progress), []
    except Exception:  # noqa: BLE001 - find the thread
        pass
    claims, errors = [], []
    for thread_id, rows in answers.groupby("thread_id", sort=False):
        try:
            claims.append(extract_claims(nlp, rows, settings))
        except Exception as err:  # noqa: BLE001
            first = rows.iloc[0]
            errors.append(thread_failure(first["source"], first["source_line"], thread_id, FAILURE_STEP, err,
                                         "its answers are kept, without claims"))
    empty = extract_claims(nlp, answers.iloc[:0], settings)
    return answers, pd.concat([empty, *claims], ignore_index=True), errors
