"""The stance model the `classify` stage applies: its features, its estimator, and answers from claims.

A scikit-learn Pipeline: word and character n-grams of the claim sentence plus
the extracted claim features (type, negated, hedged, a stated duration) and
how the claim pairs with the thread's proposition, into a class-balanced
logistic regression, temperature-calibrated once there are enough labels.
An answer's stance combines its claims' probabilities (title claims weigh
more), unless it opens with a plain yes or no. Training, versions and
persistence are in pipeline.learning.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from pipeline.components.caseless import caseless
from pipeline.components.tfidf import FastTfidfVectorizer
from pipeline.config import DEFAULT_SETTINGS, ClassifySettings, TrainSettings
from pipeline.schemas import RESISTANCE, STANCES, WORSE_AFTER_STOPPING
from pipeline.stages import question

POLARITY_SIGN = {"lasting": 1.0, "passing": -1.0}  # other, or no question: 0
OFF_AXIS_KINDS = (RESISTANCE, WORSE_AFTER_STOPPING)  # propositions whose yes is not on the lasting/passing axis
_CONTENT_WORD = re.compile(r"[a-z]{4,}")
_FUNCTION_WORDS = frozenset("""that this with will have been from they them their there what when your about after
before does into more most much some such than then very were would could should botox dysport xeomin""".split())
DESIGNS = ("paired", "agreement", "blind")


def _stems(text: str) -> set[str]:
    return {w[:5] for w in _CONTENT_WORD.findall(text.lower()) if w not in _FUNCTION_WORDS}


def claim_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns the model reads, derived from claims.csv rows and the thread's question columns.

    `sign` is +1 where a yes to the question means the effect lasts, -1 where
    it means the effect passes, 0 otherwise; `overlap` is the share of the
    proposition's content words the claim repeats (a claim that restates the
    proposition, negated or not, takes a side on it).
    """
    negated = frame["negated"].astype(str).str.lower().eq("true")
    hedged = frame["hedged"].astype(str).str.lower().eq("true")
    has_duration = frame[["duration_min_months", "duration_max_months"]].notna().any(axis=1)
    polarity = frame["proposition_polarity"] if "proposition_polarity" in frame else pd.Series("", index=frame.index)
    proposition = frame["proposition"] if "proposition" in frame else pd.Series("", index=frame.index)
    # each distinct sentence and proposition is read once: a sentence of several claim types has several rows
    text_codes, texts = pd.factorize(frame["text"].astype(str))
    proposition_codes, propositions = pd.factorize(proposition.fillna("").astype(str))
    text_stems = [_stems(t) for t in texts]
    proposition_stems = [_stems(p) for p in propositions]
    pairs, pair_codes = np.unique(np.stack([text_codes, proposition_codes], axis=1), axis=0, return_inverse=True)
    pair_overlap = np.array([len(text_stems[t] & proposition_stems[p]) / len(proposition_stems[p])
                             if proposition_stems[p] else 0.0 for t, p in pairs])
    overlap = pair_overlap[pair_codes.reshape(-1)] if len(frame) else np.zeros(0)
    lexicon = question.load_lexicon()
    says_lasting, says_passing = caseless(lexicon["claim_lasting"]), caseless(lexicon["claim_passing"])
    lasting = np.array([says_lasting.finds(t) for t in texts], dtype=float)[text_codes]
    passing = np.array([says_passing.finds(t) for t in texts], dtype=float)[text_codes]
    sign = polarity.fillna("").astype(str).map(POLARITY_SIGN).fillna(0.0).to_numpy(dtype=float)
    kind = (frame["proposition_kind"] if "proposition_kind" in frame
            else pd.Series("", index=frame.index)).fillna("").astype(str)
    # a claim's lasting/passing direction says nothing about a proposition off that axis ("not permanent" under
    # "does it stop working?"): no sign there (dev CV claim macro-F1 0.666 -> 0.673; with kind_type 0.699)
    sign = np.where(kind.isin(OFF_AXIS_KINDS).to_numpy(), 0.0, sign)
    turned = np.where(negated.to_numpy(), -1.0, 1.0)
    return pd.DataFrame({
        "text": frame["text"].astype(str),
        "claim_type": frame["claim_type"].astype(str),
        "type_polarity": frame["claim_type"].astype(str) + np.where(negated, ":negated", ":affirmed"),
        # what a claim of this type, asserted or denied, means under this kind of proposition
        "kind_type": kind + ":" + frame["claim_type"].astype(str) + np.where(negated, ":negated", ":affirmed"),
        "negated": negated.astype(float),
        "hedged": hedged.astype(float),
        "has_duration": has_duration.astype(float),
        "overlap": np.asarray(overlap, dtype=float),
        "overlap_negated": np.asarray(overlap, dtype=float) * negated.to_numpy(dtype=float),
        "sign": sign,
        "says_lasting": lasting,
        "says_passing": passing,
        # +1 when the claim points the way a yes does, -1 when the other way (a negated claim points back)
        "agreement": sign * (lasting - passing) * turned,
    }, index=frame.index)


class PairedFeatures(TransformerMixin, BaseEstimator):
    """The claim's features as they are, beside a few of them times the question's sign.

    `sign` is +1 where a yes to the thread's question means the effect lasts,
    -1 where it means the effect passes, 0 otherwise. A linear model over both
    learns what a claim says regardless of the question (hedges, "it
    depends", its words) and, from the signed part, which way the claim points
    on the lasting/passing axis; the sign turns that direction into favor or
    against the thread's proposition. Only a compact part is signed (claim
    type with negation, the direction and hedge flags): signing every word as
    well fitted the training threads better and unseen ones worse
    (bench/stance_experiments.py).
    """

    def __init__(self, features, signed):
        self.features = features
        self.signed = signed

    def fit(self, X, y=None):
        self.features_ = clone(self.features).fit(X, y)
        self.signed_ = clone(self.signed).fit(X, y)
        return self

    def transform(self, X):
        signed = sparse.diags(X["sign"].to_numpy(dtype=float)) @ sparse.csr_matrix(self.signed_.transform(X))
        return sparse.hstack([sparse.csr_matrix(self.features_.transform(X)), signed], format="csr")


CLAIM_FLAGS = ["negated", "hedged", "has_duration", "says_lasting", "says_passing"]
QUESTION_FLAGS = ["overlap", "overlap_negated", "agreement"]  # what pairs the claim with its thread's question


def _feature_union(with_question: bool = True) -> ColumnTransformer:
    return ColumnTransformer([
        ("words", FastTfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), "text"),
        ("chars", FastTfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), sublinear_tf=True, min_df=2), "text"),
        ("claim", OneHotEncoder(handle_unknown="ignore"), ["claim_type", "type_polarity", "kind_type"]),
        ("flags", "passthrough", CLAIM_FLAGS + (QUESTION_FLAGS if with_question else [])),
    ])


def build_model(settings: TrainSettings = DEFAULT_SETTINGS.train, hand_label_counts: pd.Series | None = None,
                design: str = "paired") -> Pipeline:
    """The stance Pipeline; calibrated (sigmoid, 3-fold) once every class has enough hand labels.

    `design` "paired" pairs each claim with its question (PairedFeatures, plus
    the question flags); "agreement" has the question flags only; "blind"
    reads the claim alone, as the first model did. The three are kept so that
    bench/stance_experiments.py and every training can show what pairing adds.
    With fewer labels per class than settings.min_labels_to_calibrate, sigmoid
    calibration cannot be fitted reliably (it needs each class in each inner
    fold), so the class-balanced logistic regression's own probabilities are used
    and the card and reports show their reliability.
    """
    if design not in DESIGNS:
        raise ValueError(f"unknown stance model design {design!r}; expected one of {DESIGNS}")
    features = _feature_union(with_question=design != "blind")
    if design == "paired":
        features = PairedFeatures(features, ColumnTransformer([
            ("claim", OneHotEncoder(handle_unknown="ignore"), ["claim_type", "type_polarity"]),
            ("flags", "passthrough", CLAIM_FLAGS),
        ]))
    return Pipeline([
        ("derive", FunctionTransformer(claim_features)),
        ("features", features),
        ("classify", calibrated(LogisticRegression(max_iter=5000, class_weight="balanced", C=settings.stance_c,
                                                   random_state=settings.random_state), settings, hand_label_counts)),
    ])


class TemperatureCalibrated(ClassifierMixin, BaseEstimator):
    """A classifier whose probabilities are sharpened or softened by one temperature fitted out of fold.

    The temperature T minimises the log loss of softmax(log p / T) on
    cross-validated probabilities of `estimator`; the final estimator is
    fitted on all rows. One parameter cannot overfit a few hundred labels,
    and it keeps every prediction's most probable class, so calibration costs
    no accuracy (per-class sigmoid and isotonic calibration both lowered
    macro-F1 on dev: bench/stance_experiments.py).
    """

    def __init__(self, estimator, cv=3, random_state=0):
        self.estimator = estimator
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        from scipy.optimize import minimize_scalar
        from sklearn.model_selection import cross_val_predict

        y = np.asarray(y)
        folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        params = {"sample_weight": sample_weight} if sample_weight is not None else {}
        out_of_fold = cross_val_predict(clone(self.estimator), X, y, cv=folds, method="predict_proba", params=params)
        self.estimator_ = clone(self.estimator).fit(X, y, **params)
        self.classes_ = self.estimator_.classes_
        truth = np.searchsorted(self.classes_, y)
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        logs = np.log(np.clip(out_of_fold, 1e-12, 1.0))

        def loss(temperature: float) -> float:
            scaled = _softmax(logs / temperature)
            return float(-(weights * np.log(np.clip(scaled[np.arange(len(y)), truth], 1e-12, 1.0))).sum())

        self.temperature_ = float(minimize_scalar(loss, bounds=(0.05, 20.0), method="bounded").x)
        return self

    def predict_proba(self, X):
        return _softmax(np.log(np.clip(self.estimator_.predict_proba(X), 1e-12, 1.0)) / self.temperature_)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


CALIBRATIONS = ("temperature", "sigmoid", "isotonic", "none")


CALIBRATIONS = ("temperature", "sigmoid", "isotonic", "none")


def calibrated(classifier, settings: TrainSettings, hand_label_counts: pd.Series | None):
    """`classifier` calibrated by settings.calibration once every class has enough hand labels."""
    if settings.calibration not in CALIBRATIONS:
        raise ValueError(f"unknown calibration {settings.calibration!r}; expected one of {CALIBRATIONS}")
    enough = (hand_label_counts is not None and set(hand_label_counts.index) >= set(STANCES)
              and int(hand_label_counts.min()) >= settings.min_labels_to_calibrate)
    if not enough or settings.calibration == "none":
        return classifier
    if settings.calibration == "temperature":
        return TemperatureCalibrated(classifier, cv=3, random_state=settings.random_state)
    folds = StratifiedKFold(3, shuffle=True, random_state=settings.random_state)
    return CalibratedClassifierCV(classifier, method=settings.calibration, cv=folds,
                                  ensemble=settings.calibration_ensemble)


def is_calibrated(model: Pipeline) -> bool:
    return isinstance(model.named_steps["classify"], (CalibratedClassifierCV, TemperatureCalibrated))


def aligned_proba(model: Pipeline, rows: pd.DataFrame) -> np.ndarray:
    """Probabilities with columns in STANCES order, whatever classes the model saw."""
    proba = model.predict_proba(rows)
    aligned = np.zeros((len(rows), len(STANCES)))
    for k, label in enumerate(model.classes_):
        aligned[:, STANCES.index(label)] = proba[:, k]
    return aligned


def predict(model: Pipeline, claims: pd.DataFrame) -> tuple[np.ndarray, list]:
    """Class probabilities per claim row, columns in the model's class order."""
    if claims.empty:
        return np.zeros((0, len(model.classes_))), list(model.classes_)
    return model.predict_proba(claims), list(model.classes_)


def answer_stance(claims: pd.DataFrame, probabilities: np.ndarray, classes, title_spans: pd.DataFrame,
                  settings: ClassifySettings = DEFAULT_SETTINGS.classify) -> pd.DataFrame:
    """Answer-level stance: the weighted mean of its claims' probabilities, title claims weighted higher.

    `title_spans` has answer_id, title_start, title_end; a claim inside the title span is a title claim.
    Returns answer_id, stance, stance_score for answers with at least one claim.
    """
    if claims.empty:
        return pd.DataFrame(columns=["answer_id", "stance", "stance_score"])
    means = answer_probabilities(claims, probabilities, classes, title_spans, settings)
    return pd.DataFrame({
        "answer_id": means.index,
        "stance": means.idxmax(axis=1).to_numpy(),
        "stance_score": means.max(axis=1).round(settings.score_decimals).to_numpy(),
    })


def answer_probabilities(claims: pd.DataFrame, probabilities: np.ndarray, classes, title_spans: pd.DataFrame,
                         settings: ClassifySettings = DEFAULT_SETTINGS.classify) -> pd.DataFrame:
    """Per answer with claims, the weighted mean probability of each class (rows: answer_id).

    Claims of rows not in `title_spans` (the question's, say) are left out.
    """
    spans = title_spans.drop_duplicates("answer_id").set_index("answer_id")
    known = claims["answer_id"].isin(spans.index).to_numpy()
    claims, probabilities = claims[known], probabilities[known]
    starts = claims["char_start"].to_numpy()
    t_start = spans.loc[claims["answer_id"], "title_start"].to_numpy()
    t_end = spans.loc[claims["answer_id"], "title_end"].to_numpy()
    in_title = (starts >= t_start) & (starts < t_end)
    weights = np.where(in_title, settings.title_weight, 1.0)
    weighted = pd.DataFrame(probabilities * weights[:, None], columns=list(classes))
    weighted["answer_id"] = claims["answer_id"].to_numpy()
    weighted["_w"] = weights
    sums = weighted.groupby("answer_id", sort=False).sum()
    return sums[list(classes)].div(sums["_w"], axis=0)


def with_direct_answers(answers: pd.DataFrame, stances: pd.Series) -> pd.Series:
    """`stances` (indexed like `answers`) where an answer opening with a plain yes or no takes that stance."""
    lexicon = question.load_lexicon()
    direct = pd.Series([question.direct_answer(t if isinstance(t, str) else "", x if isinstance(x, str) else "", lexicon)
                        for t, x in zip(answers["title"], answers["text"])], index=answers.index)
    return stances.where(direct.eq("") | stances.isna() | stances.eq(""), direct)


# --- The answer's own decision -----------------------------------------------------------------------------------
ANSWER_FEATURES = ([f"mean_{s}" for s in STANCES] + [f"max_{s}" for s in STANCES]
                   + ["no_claims", "log_claims", "direct_favor", "direct_against"])


def answer_features(answers: pd.DataFrame, claims: pd.DataFrame, probabilities: np.ndarray, classes,
                    settings: ClassifySettings = DEFAULT_SETTINGS.classify) -> pd.DataFrame:
    """What the answer model reads of each answer row (index as `answers`): its claims' probabilities (weighted
    mean, title claims higher, and maximum, per stance), how many claims it has, and whether it opens with a plain
    yes or no. An answer without claims still has features: its opening, and the fact that it states nothing typed."""
    spans = answers[["answer_id", "title_start", "title_end"]]
    mine = claims["answer_id"].isin(answers["answer_id"]).to_numpy() if len(claims) else np.zeros(0, dtype=bool)
    claims, probabilities = claims[mine].reset_index(drop=True), np.asarray(probabilities)[mine]
    aligned = np.zeros((len(claims), len(STANCES)))
    for k, label in enumerate(classes):
        aligned[:, STANCES.index(label)] = probabilities[:, k]
    means = (answer_probabilities(claims, aligned, STANCES, spans, settings) if len(claims)
             else pd.DataFrame(columns=list(STANCES), dtype=float))
    by_answer = pd.DataFrame(aligned, columns=list(STANCES)).assign(answer_id=claims["answer_id"].to_numpy())
    maxes = by_answer.groupby("answer_id").max()
    counts = claims.groupby("answer_id").size()
    ids = answers["answer_id"]
    lexicon = question.load_lexicon()
    direct = [question.direct_answer(t if isinstance(t, str) else "", x if isinstance(x, str) else "", lexicon)
              for t, x in zip(answers["title"], answers["text"])]
    n = counts.reindex(ids).fillna(0).to_numpy(dtype=float)
    features = {**{f"mean_{s}": means[s].reindex(ids).fillna(0.0).to_numpy(dtype=float) for s in STANCES},
                **{f"max_{s}": maxes[s].reindex(ids).fillna(0.0).to_numpy(dtype=float) if len(maxes)
                   else np.zeros(len(ids)) for s in STANCES},
                "no_claims": (n == 0).astype(float), "log_claims": np.log1p(n),
                "direct_favor": np.array([d == "favor" for d in direct], dtype=float),
                "direct_against": np.array([d == "against" for d in direct], dtype=float)}
    return pd.DataFrame(features, index=answers.index)[ANSWER_FEATURES]


def build_answer_model(settings: TrainSettings = DEFAULT_SETTINGS.train) -> LogisticRegression:
    """The answer's stance from answer_features: a multinomial logistic regression (C 1, unweighted: dev grouped CV
    on out-of-fold claim probabilities, accuracy 0.740 and macro-F1 0.728 against 0.660 and 0.663 for the weighted
    mean of the claims with the opening yes or no on top; class weights and C 0.3 or 3 did no better)."""
    return LogisticRegression(C=1.0, max_iter=2000, random_state=settings.random_state)


def decide_answers(answer_model, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(stance, probability of it) per answer row, from the answer model."""
    if not len(features):
        return np.array([], dtype=object), np.array([], dtype=float)
    proba = answer_model.predict_proba(features[ANSWER_FEATURES].to_numpy(dtype=float))
    return np.asarray(answer_model.classes_, dtype=object)[proba.argmax(axis=1)], proba.max(axis=1)
