"""FastTfidfVectorizer: scikit-learn's matrix, made faster, for every configuration the models use."""

import pickle

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.components.tfidf import FastTfidfVectorizer

TRAIN = ["Botox usually lasts 3-4 months for most patients.", "The muscle may weaken and thin with repeated use.",
         "It is not permanent; the effect wears off.", "Doses can often be reduced over the years.",
         "Résultats: it lasts, it lasts, it lasts.", "I'd say it's OK"] * 2
NEW = TRAIN[:4] + ["Botox  usually\tlasts 3-4 months,   Dr. Ío said.", "", "a", "It's OK!!", "unseen words only"]


@pytest.mark.parametrize("params", [
    {"analyzer": "char_wb", "ngram_range": (3, 5), "min_df": 2, "sublinear_tf": True},
    {"analyzer": "char_wb", "ngram_range": (3, 3), "min_df": 1},
    {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True, "token_pattern": r"\S+"},
    {"ngram_range": (1, 2), "sublinear_tf": True},
    {"ngram_range": (1, 1)},
    {"ngram_range": (2, 3), "lowercase": False},
    {"ngram_range": (1, 3), "token_pattern": r"\S+", "min_df": 1},
])
def test_the_fast_transform_gives_scikit_learns_matrix(params):
    fast, plain = FastTfidfVectorizer(**params).fit(TRAIN), TfidfVectorizer(**params).fit(TRAIN)
    assert fast._fast_counts() is not None
    expected = plain.transform(NEW)
    for _ in range(2):  # the second time from the words already seen
        got = fast.transform(NEW)
        assert got.shape == expected.shape and (got != expected).nnz == 0


def test_other_configurations_and_the_pickle_are_scikit_learns():
    fitted = FastTfidfVectorizer(stop_words=["it"]).fit(TRAIN)
    assert fitted._fast_counts() is None  # stop words: scikit-learn's own transform
    assert (fitted.transform(NEW) != TfidfVectorizer(stop_words=["it"]).fit(TRAIN).transform(NEW)).nnz == 0
    chars = FastTfidfVectorizer(analyzer="char_wb").fit(TRAIN)
    before = pickle.dumps(chars)
    chars.transform(NEW)  # fills its word cache
    assert pickle.dumps(chars) == before  # which is not part of the model


def test_a_vectorizer_fitted_anew_forgets_what_it_kept_of_its_old_vocabulary():
    for params in ({"analyzer": "char_wb", "ngram_range": (3, 4)}, {"ngram_range": (1, 3)}):
        fast = FastTfidfVectorizer(**params).fit(TRAIN)
        fast.transform(NEW)  # keeps the old vocabulary's n-grams
        fast.fit(NEW[4:] + ["entirely other words here"])
        expected = TfidfVectorizer(**params).fit(NEW[4:] + ["entirely other words here"]).transform(TRAIN + NEW)
        got = fast.transform(TRAIN + NEW)
        assert got.shape == expected.shape and (got != expected).nnz == 0


def test_word_n_grams_never_cross_from_one_text_into_the_next():
    fast = FastTfidfVectorizer(ngram_range=(1, 3), token_pattern=r"\S+").fit(["a b c", "c a b", "b c a"])
    plain = TfidfVectorizer(ngram_range=(1, 3), token_pattern=r"\S+").fit(["a b c", "c a b", "b c a"])
    texts = ["a", "b", "c", "a b", "", "c", "x a b c x", "c a"]  # "a" then "b": no "a b" from two texts
    assert (fast.transform(texts) != plain.transform(texts)).nnz == 0
