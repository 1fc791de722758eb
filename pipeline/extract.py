"""Stage 2: sentences and typed claims, with offsets into the raw thread files.

Each answer is processed as two units, its title and its body, so a title is
always its own sentence. Sentence ids count the answer's sentences in order,
title first: ``{answer_id}:{k}``. A claim id adds the type: ``{sentence_id}:{type}``.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

import pandas as pd
from spacy.language import Language

from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.extensions import CLAIMS, N_SENTENCES
from pipeline.files import InputError

CLAIM_COLUMNS = [
    "claim_id", "thread_id", "answer_id", "sentence_id", "claim_type", "text", "char_start", "char_end",
    "negated", "hedged", "cue", "duration_min_months", "duration_max_months", "stance", "stance_score",
]


def units_of(answers: pd.DataFrame, texts: dict[str, str]) -> Iterator[tuple[str, tuple[str, str, int]]]:
    """(unit text, (thread_id, answer_id, offset)) for every title and body, in file order."""
    for row in answers.itertuples(index=False):
        text = texts[row.thread_id]
        for start, end, stored in ((row.title_start, row.title_end, row.title), (row.char_start, row.char_end, row.text)):
            unit = text[start:end]
            if unit != ("" if pd.isna(stored) else stored):
                raise InputError(row.thread_id, f"answers.csv does not match the thread file at {start}:{end}; "
                                                "re-run the 'segment' stage")
            if unit.strip():
                yield unit, (row.thread_id, row.answer_id, int(start))


def _normalised(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", str(text).lower()))


def extract_claims(nlp: Language, answers: pd.DataFrame, texts: dict[str, str],
                   settings: Settings = DEFAULT_SETTINGS, progress: Iterable | None = None) -> pd.DataFrame:
    """Rows of claims.csv for the answers given, stance columns left empty."""
    rows = []
    sentence_counter: dict[str, int] = {}
    # an answer title that repeats the question, even without its "?", asks rather than claims
    questions = {row.thread_id: _normalised(row.title)
                 for row in answers.itertuples(index=False) if row.role == "question" and not pd.isna(row.title)}
    docs = nlp.pipe(units_of(answers, texts), as_tuples=True, batch_size=settings.batch_size)
    for doc, (thread_id, answer_id, offset) in (progress(docs) if progress else docs):
        first = sentence_counter.get(answer_id, 0)
        sentence_counter[answer_id] = first + doc._.get(N_SENTENCES)
        question = questions.get(thread_id)
        for claim in doc._.get(CLAIMS):
            if question and _normalised(claim.text) == question:
                continue
            sentence_id = f"{answer_id}:{first + claim.sentence_index}"
            rows.append((f"{sentence_id}:{claim.claim_type}", thread_id, answer_id, sentence_id, claim.claim_type,
                         claim.text, offset + claim.start, offset + claim.end, claim.negated, claim.hedged, claim.cue,
                         claim.duration_min_months, claim.duration_max_months))
    # built from tuples, column by column: a list of dicts costs a dict per claim and a slow frame constructor
    columns = list(zip(*rows)) if rows else [()] * 13
    frame = pd.DataFrame(dict(zip(CLAIM_COLUMNS[:13], (list(c) for c in columns))), columns=CLAIM_COLUMNS)
    frame["stance"] = None
    for column in ("duration_min_months", "duration_max_months", "stance_score"):
        frame[column] = frame[column].astype("float64")
    return frame
