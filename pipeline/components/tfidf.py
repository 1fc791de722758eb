"""A TfidfVectorizer whose transform gives scikit-learn's matrix faster, for the models that featurise every run.

scikit-learn builds every n-gram of every text in Python before counting it.
For the two analysers the models use, the same counts are made with less
work: character n-grams within words (char_wb) per distinct word, the counting
done as one sparse product (texts x words, words x n-grams); word n-grams from
one regular-expression pass, looked up directly. Fitting is scikit-learn's own;
any other configuration transforms as scikit-learn does. The matrices are
equal (tests/components/test_tfidf.py).
"""

from __future__ import annotations

import re
from itertools import repeat

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

_WHITE_SPACES = re.compile(r"\s\s+")  # as scikit-learn's vectorizers normalise them
WORD_CACHE_MAX = 200_000  # words whose n-grams a vectorizer keeps (then it starts again): memory stays bounded


def char_wb_counts(vectorizer: TfidfVectorizer, texts: list[str]):
    """The term counts a fitted char_wb vectorizer makes of `texts`, as texts x words times words x n-grams.

    Words repeat far more than sentences do, so each word's n-grams are looked
    up once (kept on the vectorizer, not pickled with it) and the counting is
    one sparse product. Only a word's own n-grams are kept, never a text's.
    """
    vocabulary = vectorizer.vocabulary_
    cache = _fitted_cache(vectorizer, "_ngram_cache", dict)
    if len(cache) > WORD_CACHE_MAX:
        cache.clear()
    words, indptr = [], [0]
    for text in texts:
        words += _WHITE_SPACES.sub(" ", text.lower() if vectorizer.lowercase else text).split()
        indptr.append(len(words))
    word_columns, distinct = pd.factorize(np.array(words, dtype=object)) if words else (np.zeros(0, dtype=np.intp), [])
    grams = []  # per distinct word of the batch, its n-grams' columns (each word's looked up once, then kept)
    for word in distinct:
        found = cache.get(word)
        if found is None:
            found = cache[word] = np.array(_word_ngram_indices(word, vocabulary, vectorizer.ngram_range),
                                           dtype=np.int32)
        grams.append(found)
    words_in_texts = sp.csr_matrix((np.ones(len(word_columns)), word_columns.astype(np.int32),
                                    np.asarray(indptr, dtype=np.int32)), shape=(len(texts), len(grams)))
    lengths = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
    gram_indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    gram_indices = np.concatenate(grams) if grams else np.zeros(0, dtype=np.int32)
    grams_of_words = sp.csr_matrix((np.ones(len(gram_indices)), gram_indices, gram_indptr),
                                   shape=(len(grams), len(vocabulary)))
    # the product holds no duplicates but its column indices unsorted: to CSC and back sorts them by counting,
    # cheaper than sorting each row
    counts = (words_in_texts @ grams_of_words).tocsc().tocsr().astype(vectorizer.dtype)
    counts.sum_duplicates()  # a no-op on canonical data; kept so the matrix is canonical whatever scipy does
    return counts


def _word_ngram_indices(word: str, vocabulary: dict, ngram_range: tuple) -> tuple:
    """The in-vocabulary indices of a word's char_wb n-grams, with repeats, as scikit-learn's analyser makes them."""
    padded, found = f" {word} ", []
    low, high = ngram_range
    for n in range(low, high + 1):
        offset = 0
        grams = [padded[0:n]]
        while offset + n < len(padded):
            offset += 1
            grams.append(padded[offset:offset + n])
        found += [vocabulary[g] for g in grams if g in vocabulary]
        if offset == 0:  # a short word counts once, as scikit-learn counts it
            break
    return tuple(found)


def word_counts(vectorizer: TfidfVectorizer, texts: list[str]):
    """The term counts a fitted word-analyser vectorizer (no stop words, n-grams from 1 up) makes of `texts`.

    Each token is numbered once (a dict lookup), and each order's n-grams are found for the whole batch at once
    as numbers (the tokens' numbers in base V) looked up in that order's sorted keys: no n-gram string is built.
    """
    index = _ngram_index(vectorizer)
    pattern = re.compile(vectorizer.token_pattern)
    numbers, lengths, number_of, unknown = [], [], index.tokens.get, repeat(-1)
    for text in texts:
        tokens = pattern.findall(text.lower() if vectorizer.lowercase else text)
        numbers += map(number_of, tokens, unknown)
        lengths.append(len(tokens))
    ids = np.asarray(numbers, dtype=np.int64)
    rows = np.repeat(np.arange(len(texts)), lengths)
    found_rows, found_columns = [], []
    for n, (keys, columns) in index.orders.items():
        if len(ids) < n or not len(keys):
            continue
        starts = np.arange(len(ids) - n + 1)
        valid = rows[starts] == rows[starts + n - 1]  # the n tokens lie in one text
        key = np.zeros(len(starts), dtype=np.int64)
        for offset in range(n):
            part = ids[starts + offset]
            valid &= part >= 0  # a token no n-gram of the vocabulary holds
            key = key * index.base + part
        at = np.searchsorted(keys, key[valid])
        at[at == len(keys)] = 0
        hit = keys[at] == key[valid]
        found_rows.append(rows[starts[valid][hit]])
        found_columns.append(columns[at[hit]])
    row = np.concatenate(found_rows) if found_rows else np.zeros(0, dtype=np.int64)
    column = np.concatenate(found_columns) if found_columns else np.zeros(0, dtype=np.int64)
    matrix = sp.csr_matrix((np.ones(len(row), dtype=vectorizer.dtype), (row, column)),
                           shape=(len(texts), len(vectorizer.vocabulary_)))
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


class _NgramIndex:
    """A fitted vocabulary's word n-grams as numbers: each token numbered, each order's n-grams as sorted keys."""

    def __init__(self, vocabulary: dict):
        self.tokens: dict[str, int] = {}
        by_order: dict[int, list[tuple]] = {}
        for gram, column in vocabulary.items():
            parts = gram.split(" ")
            by_order.setdefault(len(parts), []).append(
                ([self.tokens.setdefault(part, len(self.tokens)) for part in parts], column))
        self.base = max(len(self.tokens), 1)
        self.orders = {}
        for n, grams in sorted(by_order.items()):
            keys = np.zeros(len(grams), dtype=np.int64)
            for position in range(n):
                keys = keys * self.base + np.array([numbers[position] for numbers, _ in grams], dtype=np.int64)
            order = np.argsort(keys)
            self.orders[n] = (keys[order], np.array([column for _, column in grams], dtype=np.int64)[order])

    @staticmethod
    def fits(vocabulary: dict, high: int) -> bool:
        """Whether every key of `high` tokens fits in 63 bits (a vocabulary holds at most high tokens a gram)."""
        return (len(vocabulary) * high) ** high < 2 ** 62


def _ngram_index(vectorizer: TfidfVectorizer) -> _NgramIndex:
    return _fitted_cache(vectorizer, "_ngram_index", lambda: _NgramIndex(vectorizer.vocabulary_))


def _fitted_cache(vectorizer: TfidfVectorizer, name: str, build):
    """A value built from the fitted vocabulary, kept on the vectorizer (not pickled) until it is fitted anew."""
    kept = vectorizer.__dict__.get(name)
    if kept is None or kept[0] is not vectorizer.vocabulary_:
        kept = vectorizer.__dict__[name] = (vectorizer.vocabulary_, build())
    return kept[1]


class FastTfidfVectorizer(TfidfVectorizer):
    """TfidfVectorizer with a faster transform for char_wb and plain word analysers (same matrix)."""

    def _fast_counts(self):
        plain = (self.preprocessor is None and self.tokenizer is None and self.strip_accents is None
                 and not self.binary and getattr(self, "vocabulary_", None) is not None)
        if plain and self.analyzer == "char_wb":
            return char_wb_counts
        if (plain and self.analyzer == "word" and self.stop_words is None and self.ngram_range[0] >= 1
                and _NgramIndex.fits(self.vocabulary_, self.ngram_range[1])):
            return word_counts
        return None

    def __getstate__(self):
        state = super().__getstate__()
        for cache in ("_ngram_cache", "_ngram_index"):  # built in this process: the pickle is the fitted model only
            state.pop(cache, None)
        return state

    def transform(self, raw_documents):
        counting = self._fast_counts()
        if counting is None or isinstance(raw_documents, str):
            return super().transform(raw_documents)
        return self._tfidf.transform(counting(self, list(raw_documents)), copy=False)
