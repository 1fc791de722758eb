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
from scipy.special import expit
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
    lowered = list(map(str.lower, words))
    found = list(map(_LEMMAS.get, lowered))
    if None in found:  # words not met before: the table's answer, kept
        table = _lemma_table()
        found = [lemma if lemma is not None else _LEMMAS.setdefault(word, table.get(word, word))
                 for word, lemma in zip(lowered, found)]
    return " ".join(found)


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
        features.update(dict.fromkeys(_cue_names(label, cue_id), 1.0))
    return features


def _cue_names(label: str, cue_id: str) -> tuple[str, str]:
    """The names of a cue's features, alike for every type: the cue by id and by type."""
    return f"cue={label}|{cue_id}", f"cue_type={label}"


SHARED_RULE_FEATURES = ("figure", "short", "cue=", "cue_type=")  # type_features' names alike for every type


def _shared_rule_rows(records: list[dict], vocabulary: dict) -> sp.csr_matrix:
    """The rule features whose names and values do not depend on the type (figure, short, each cue by id and by
    type), one row per record, over `vocabulary`: built once per batch for every type, not once per type."""
    indices, indptr = [], [0]
    for record in records:
        names = {name for label, cue_id in record["cues"] for name in _cue_names(label, cue_id)}
        if record["figure"]:
            names.add("figure")
        if record["words"] < 6:
            names.add("short")
        indices.extend(sorted(vocabulary[name] for name in names if name in vocabulary))
        indptr.append(len(indices))
    return sp.csr_matrix((np.ones(len(indices)), np.asarray(indices, dtype=np.intc), np.asarray(indptr, dtype=np.intc)),
                         shape=(len(records), len(vocabulary)))


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

    def _fit_text_matrix(self, records):
        """Fit the lemma n-gram and character n-gram vectorizers; their two matrices side by side."""
        self.words_ = FastTfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=r"\S+")
        words = self.words_.fit_transform([r["lemmas"] for r in records])
        if self.char_ngrams is None:
            self.chars_ = None
            return words.tocsr()
        self.chars_ = FastTfidfVectorizer(analyzer="char_wb", ngram_range=tuple(self.char_ngrams), min_df=3,
                                          sublinear_tf=True, max_features=self.char_max_features, dtype=np.float64)
        return sp.hstack([words, self.chars_.fit_transform([r["text"] for r in records])]).tocsr()

    def fit(self, records, Y):
        Y = np.asarray(Y)
        text = self._fit_text_matrix(records)
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

    def decision_function(self, records) -> np.ndarray:
        """Per record and type, the logistic regression's score: the same sum as each model's own
        decision_function over [text | that type's rule features] (tested), computed for every type at once.

        The text matrices are multiplied by the four types' coefficients in one product each, and the rule
        features split into those alike for every type (one shared matrix) and the three that depend on it
        (rules_claim, cue_of_type=True/False), taken as columns: each model's own transform and product over a
        stacked matrix cost more than the rest of the claim detector.
        """
        words = self.words_.transform([r["lemmas"] for r in records])
        chars = None if self.chars_ is None else self.chars_.transform([r["text"] for r in records])
        n_words, n_text = words.shape[1], words.shape[1] + (0 if chars is None else chars.shape[1])
        trained = [(k, model) for k, model in enumerate(self.models_[t] for t in self.types_)
                   if not isinstance(model, float)]
        shared = sorted({name for t in self.types_ for name in self.rules_[t].vocabulary_
                         if name.startswith(SHARED_RULE_FEATURES)})
        shared_columns = {name: i for i, name in enumerate(shared)}
        text_weights = np.zeros((n_text, len(self.types_)))
        shared_weights = np.zeros((len(shared), len(self.types_)))
        for k, model in trained:
            vocabulary, coef = self.rules_[self.types_[k]].vocabulary_, model.coef_[0]
            text_weights[:, k] = coef[:n_text]
            for name, column in shared_columns.items():
                if name in vocabulary:
                    shared_weights[column, k] = coef[n_text + vocabulary[name]]
        scores = words @ text_weights[:n_words]
        if chars is not None:
            scores += chars @ text_weights[n_words:]
        scores += _shared_rule_rows(records, shared_columns) @ shared_weights
        labels = [{label for label, _ in r["cues"]} for r in records]
        for k, claim_type in enumerate(self.types_):
            model = self.models_[claim_type]
            if isinstance(model, float):
                continue
            vocabulary, coef = self.rules_[claim_type].vocabulary_, model.coef_[0]
            for name, present in (
                    ("rules_claim", [claim_type in r["rule_types"] for r in records]),
                    ("cue_of_type=True", [claim_type in found for found in labels]),
                    ("cue_of_type=False", [bool(found - {claim_type}) for found in labels])):
                if name in vocabulary:
                    scores[:, k] += np.asarray(present, dtype=float) * coef[n_text + vocabulary[name]]
            scores[:, k] += model.intercept_[0]
        return scores

    def predict_proba(self, records) -> np.ndarray:
        """Per record and type, the probability of a claim (a type the training data had one answer for: it)."""
        if not len(records):
            return np.zeros((0, len(self.types_)))
        out = expit(self.decision_function(records))
        for k, claim_type in enumerate(self.types_):
            if isinstance(self.models_[claim_type], float):
                out[:, k] = self.models_[claim_type]
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
