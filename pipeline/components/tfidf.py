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

import numpy as np
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
    cache = vectorizer.__dict__.setdefault("_ngram_cache", {})
    if len(cache) > WORD_CACHE_MAX:
        cache.clear()
    local: dict[str, int] = {}  # this batch's words, numbered
    grams: list[tuple] = []
    word_columns, indptr = [], [0]
    for text in texts:
        for word in _WHITE_SPACES.sub(" ", text.lower() if vectorizer.lowercase else text).split():
            column = local.get(word)
            if column is None:
                found = cache.get(word)
                if found is None:
                    found = cache[word] = _word_ngram_indices(word, vocabulary, vectorizer.ngram_range)
                column = local[word] = len(grams)
                grams.append(found)
            word_columns.append(column)
        indptr.append(len(word_columns))
    words_in_texts = sp.csr_matrix((np.ones(len(word_columns)), np.asarray(word_columns, dtype=np.int32),
                                    np.asarray(indptr, dtype=np.int32)), shape=(len(texts), len(grams)))
    lengths = np.fromiter((len(g) for g in grams), dtype=np.int64, count=len(grams))
    gram_indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    gram_indices = np.fromiter((i for g in grams for i in g), dtype=np.int32, count=int(lengths.sum()))
    grams_of_words = sp.csr_matrix((np.ones(len(gram_indices)), gram_indices, gram_indptr),
                                   shape=(len(grams), len(vocabulary)))
    counts = (words_in_texts @ grams_of_words).tocsr().astype(vectorizer.dtype)
    counts.sum_duplicates()
    counts.sort_indices()
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
    """The term counts a fitted word-analyser vectorizer (no stop words, n-grams from 1 up) makes of `texts`."""
    vocabulary, (low, high) = vectorizer.vocabulary_, vectorizer.ngram_range
    pattern = re.compile(vectorizer.token_pattern)
    indices, values, indptr = [], [], [0]
    for text in texts:
        tokens = pattern.findall(text.lower() if vectorizer.lowercase else text)
        counts: dict[int, int] = {}
        for n in range(low, min(high, len(tokens)) + 1):
            if n == 1:
                grams = tokens
            elif n == 2:
                grams = [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]
            else:
                grams = [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
            for column in map(vocabulary.get, grams):
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
        indices.extend(counts)
        values.extend(counts.values())
        indptr.append(len(indices))
    matrix = sp.csr_matrix((np.asarray(values, dtype=vectorizer.dtype), np.asarray(indices, dtype=np.int32),
                            np.asarray(indptr, dtype=np.int32)), shape=(len(texts), len(vocabulary)))
    matrix.sort_indices()
    return matrix


class FastTfidfVectorizer(TfidfVectorizer):
    """TfidfVectorizer with a faster transform for char_wb and plain word analysers (same matrix)."""

    def _fast_counts(self):
        plain = (self.preprocessor is None and self.tokenizer is None and self.strip_accents is None
                 and not self.binary and getattr(self, "vocabulary_", None) is not None)
        if plain and self.analyzer == "char_wb":
            return char_wb_counts
        if plain and self.analyzer == "word" and self.stop_words is None and self.ngram_range[0] >= 1:
            return word_counts
        return None

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_ngram_cache", None)  # a cache of this process: the pickle is the fitted model only
        return state

    def transform(self, raw_documents):
        counting = self._fast_counts()
        if counting is None or isinstance(raw_documents, str):
            return super().transform(raw_documents)
        return self._tfidf.transform(counting(self, list(raw_documents)), copy=False)
