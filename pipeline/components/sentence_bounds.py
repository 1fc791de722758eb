"""Sentence bounds as integer lists, read once per doc from arrays, for the components that work per sentence."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np
from spacy.attrs import IS_SPACE, ORTH, SENT_START
from spacy.tokens import Doc

from pipeline.components.extensions import SENTENCE_BOUNDS

_LIST_MARKER_END = {".", ")"}


@dataclass(frozen=True)
class SentenceBounds:
    """Token bounds of a Doc's sentences, read once from arrays.

    ``doc.sents`` builds a Python Token for every token of the doc on every
    call (to check that sentence starts are set); the components need
    only integers. ``raw_starts`` are the starts of ``doc.sents``; ``starts``
    and ``ends`` bound the sentences that are not empty, without edge
    whitespace or a leading list marker ("1.", "2)").
    """

    raw_starts: list[int]
    starts: list[int]
    ends: list[int]


def sentence_bounds(doc: Doc) -> SentenceBounds:
    """The doc's SentenceBounds, computed on first use (after sentence boundaries are set) and kept on the doc."""
    bounds = doc._.get(SENTENCE_BOUNDS)
    if bounds is None:
        bounds = _compute_sentence_bounds(doc)
        doc._.set(SENTENCE_BOUNDS, bounds)
    return bounds


def _compute_sentence_bounds(doc: Doc) -> SentenceBounds:
    if not len(doc):
        return SentenceBounds([], [], [])
    columns = doc.to_array([SENT_START, IS_SPACE, ORTH])
    return bounds_from_arrays(columns[:, 0].astype(np.int64) == 1, columns[:, 1].astype(bool).tolist(),
                              columns[:, 2].tolist(), doc.vocab.strings)


def bounds_from_arrays(sentence_starts: np.ndarray, spaces: list[bool], orths: list[int], strings) -> SentenceBounds:
    """SentenceBounds from a doc's arrays: whether each token starts a sentence, is white space, its ORTH id (the
    sentence_boundaries component, which holds them, hands them over instead of their being read again)."""
    n = len(orths)
    raw_starts = [0] + (np.flatnonzero(sentence_starts[1:]) + 1).tolist()
    starts, ends = [], []
    for start, end in zip(raw_starts, raw_starts[1:] + [n]):
        while start < end and spaces[start]:
            start += 1
        if start + 2 <= end and is_list_marker(strings, orths, start):
            start += 2
        while start < end and spaces[start]:
            start += 1
        while end > start and spaces[end - 1]:
            end -= 1
        if end > start:
            starts.append(start)
            ends.append(end)
    return SentenceBounds(raw_starts, starts, ends)


def is_list_marker(strings, orths: list[int], i: int) -> bool:
    """Whether tokens i, i+1 (ORTH ids) are a list marker: up to three digits, then "." or ")"."""
    if i + 1 >= len(orths) or strings[orths[i + 1]] not in _LIST_MARKER_END:
        return False
    number = strings[orths[i]]
    return number.isdigit() and len(number) <= 3


def containing_sentence(bounds: SentenceBounds, start: int, end: int) -> int | None:
    """Index of the (clean) sentence that holds tokens start:end whole, or None."""
    index = bisect_right(bounds.starts, start) - 1
    if index >= 0 and end <= bounds.ends[index]:
        return index
    return None
