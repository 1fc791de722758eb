"""The learned claim detector's model: per candidate sentence and claim type, a classifier with the rules as features.

claim_detector hands it its candidates (a sentence holding any cue, or a
duration figure, with what the rules say of it per type); it reads each one's
rule features, lemmas (spaCy's lookup table from spacy-lookups-data: a blank
pipeline has no lemmas, and "reverses", "lowered" must meet "reverse",
"lower") and characters, and answers per type at the threshold chosen for it.
A sentence is featurised once, whatever the number of types. Trained by
pipeline.learning.claim_classifier; package data (resources/claim_classifier.joblib
and its card), loaded only if its bytes match the card and this scikit-learn
wrote it.
"""

from __future__ import annotations

import io
import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from pipeline import config
from pipeline.components.tfidf import FastTfidfVectorizer
from pipeline.schemas import CLAIM_TYPES


@lru_cache(maxsize=1)
def _lemma_table():
    """spacy-lookups-data's English lemma lookup table (a spacy Table: keyed by the string's hash), read once."""
    from spacy.lookups import load_lookups

    return load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")


def lemmas(words) -> str:
    """The words' lemmas, lower-cased, space-separated ("Reverses" -> "reverse"; "lowered" -> "lower")."""
    known = _LEMMAS
    out = []
    for word in words:
        lowered = word.lower()
        lemma = known.get(lowered)
        if lemma is None:
            lemma = known[lowered] = _lemma_table().get(lowered, lowered)
        out.append(lemma)
    return " ".join(out)


_LEMMAS: dict[str, str] = {}  # the table's answers so far: its get() hashes the string on every call


_WORD = re.compile(r"\w+(?:'\w+)?|[^\w\s]")


def candidate_record(candidate) -> dict:
    """What the classifier reads of a claim_detector.Candidate: its text, lemmas, cues and what the rules claim."""
    words = _WORD.findall(candidate.text)  # the words of its text, not spaCy Tokens: one Python object per token
    return {"text": candidate.text, "lemmas": lemmas(words), "cues": [(c.label_, c.id_) for c in candidate.cues],
            "rule_types": sorted(candidate.by_type), "figure": candidate.figure.value is not None,
            "words": len(words)}


def type_features(record: dict, claim_type: str) -> dict:
    """The rules' view of a candidate for one type: whether they claim it, its cues by id and type (this or
    another), whether it states a duration figure, whether it is short (a title, a fragment)."""
    features = {"rules_claim": float(claim_type in record["rule_types"]), "figure": float(record["figure"]),
                "short": float(record["words"] < 6)}
    for label, cue_id in record["cues"]:
        features[f"cue_of_type={label == claim_type}"] = 1.0
        features[f"cue={label}|{cue_id}"] = 1.0
        features[f"cue_type={label}"] = 1.0
    return features


def rule_matrix(vectorizer: DictVectorizer, features: list[dict]):
    """What a fitted DictVectorizer's transform gives for numeric features (the same matrix; tested), built straight
    from its vocabulary: its own transform costs four times as much, per type, on every batch."""
    vocabulary = vectorizer.vocabulary_
    indices, values, indptr = [], [], [0]
    for row in features:
        for name, value in row.items():
            column = vocabulary.get(name)
            if column is not None:
                indices.append(column)
                values.append(value)
        indptr.append(len(indices))
    matrix = sp.csr_matrix((np.asarray(values, dtype=vectorizer.dtype), np.asarray(indices, dtype=np.intc),
                            np.asarray(indptr, dtype=np.intc)), shape=(len(features), len(vocabulary)))
    matrix.sort_indices()
    return matrix


class ClaimClassifier(ClassifierMixin, BaseEstimator):
    """One logistic regression per claim type over shared text features and per-type rule features.

    ``fit(records, Y)``: records as ``candidate_record`` gives them, Y a
    (records x types) 0/1 matrix in CLAIM_TYPES order. ``predict_proba`` gives
    the same matrix of probabilities; ``predict`` applies ``thresholds`` (per
    type; 0.5 where none is given).
    """

    def __init__(self, C: float = 16.0, thresholds: dict | None = None, char_max_features: int = 30000,
                 char_ngrams: tuple | None = (3, 5)):
        self.C = C
        self.thresholds = thresholds
        self.char_max_features = char_max_features
        self.char_ngrams = char_ngrams

    def _text_matrix(self, records, fit: bool = False):
        lemma_text = [r["lemmas"] for r in records]
        if fit:
            self.words_ = FastTfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=r"\S+")
            self.chars_ = None if self.char_ngrams is None else FastTfidfVectorizer(
                analyzer="char_wb", ngram_range=tuple(self.char_ngrams), min_df=3, sublinear_tf=True,
                max_features=self.char_max_features, dtype=np.float64)
        words = self.words_.fit_transform(lemma_text) if fit else self.words_.transform(lemma_text)
        if self.chars_ is None:
            return words.tocsr()
        text = [r["text"] for r in records]
        chars = self.chars_.fit_transform(text) if fit else self.chars_.transform(text)
        return sp.hstack([words, chars]).tocsr()

    def fit(self, records, Y):
        Y = np.asarray(Y)
        text = self._text_matrix(records, fit=True)
        self.types_ = list(CLAIM_TYPES)
        self.rules_, self.models_ = {}, {}
        for k, claim_type in enumerate(self.types_):
            rules = DictVectorizer()
            X = sp.hstack([text, rules.fit_transform([type_features(r, claim_type) for r in records])]).tocsr()
            y = Y[:, k]
            if y.min() == y.max():  # a type without positives (or negatives) here: its constant answer
                model = float(y.max())
            else:
                model = LogisticRegression(C=self.C, class_weight="balanced", max_iter=5000).fit(X, y)
            self.rules_[claim_type], self.models_[claim_type] = rules, model
        return self

    def predict_proba(self, records) -> np.ndarray:
        if not len(records):
            return np.zeros((0, len(self.types_)))
        text = self._text_matrix(records)
        out = np.zeros((len(records), len(self.types_)))
        for k, claim_type in enumerate(self.types_):
            model = self.models_[claim_type]
            if isinstance(model, float):
                out[:, k] = model
                continue
            rules = rule_matrix(self.rules_[claim_type], [type_features(r, claim_type) for r in records])
            out[:, k] = model.predict_proba(sp.hstack([text, rules]).tocsr())[:, 1]
        return out

    def predict(self, records) -> np.ndarray:
        thresholds = np.array([(self.thresholds or {}).get(t, 0.5) for t in self.types_])
        return (self.predict_proba(records) >= thresholds).astype(int)

    def decide(self, candidates) -> list[list[str]]:
        """Per claim_detector.Candidate, the types it claims (the component's call)."""
        chosen = self.predict([candidate_record(c) for c in candidates])
        return [[t for t, yes in zip(self.types_, row) if yes] for row in chosen]


def card_file(path: Path) -> Path:
    return Path(path).with_suffix(".card.json")


class ClaimModelError(RuntimeError):
    """The learned claim detector cannot be loaded here; the message says why and what runs instead."""


def load(path: Path = config.CLAIM_CLASSIFIER_FILE) -> ClaimClassifier:
    """The package's claim classifier, if its bytes match its card and this scikit-learn wrote it."""
    import joblib
    import sklearn

    from pipeline.io.files import sha256_bytes

    path = Path(path)
    try:
        card = json.loads(card_file(path).read_text(encoding="utf-8"))
        data = path.read_bytes()
    except (OSError, ValueError) as err:
        raise ClaimModelError(f"{path}: the learned claim detector cannot be read ({err})") from None
    if sha256_bytes(data) != card.get("model_sha256"):
        raise ClaimModelError(f"{path}: its sha256 does not match {card_file(path).name}; "
                              "'python -m pipeline.learning.claim_classifier' rebuilds it")
    written_by = card.get("versions", {}).get("scikit-learn")
    if written_by != sklearn.__version__:
        raise ClaimModelError(f"{path}: written by scikit-learn {written_by}, installed {sklearn.__version__}; "
                              "'python -m pipeline.learning.claim_classifier' rebuilds it here")
    return joblib.load(io.BytesIO(data))
