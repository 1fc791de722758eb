"""Stage 3: the stance classifier (favor / against / neutral toward the thread's question).

A scikit-learn Pipeline: word and character n-grams of the claim sentence plus
the extracted claim features (type, negated, hedged, a stated duration),
into a class-balanced logistic regression. Training rows are the hand-labelled
claims plus, at a lower weight, claims that only the labelling functions
label. Metrics are cross-validated with folds grouped by answer, so no answer
is ever scored by a model that saw it.
"""

from __future__ import annotations

import json
import platform
import re
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from pipeline import question
from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.files import InputError, atomic_write_bytes, restore, sha256_bytes, sha256_file
from pipeline.labeling import ABSTAIN, AGAINST, FAVOR, STANCES
from pipeline.schemas import LABEL_COLUMNS

LEVELS = ("sentence", "answer")


class ModelTrustError(RuntimeError):
    """A model file whose hash does not match its card: loading it could run anyone's code."""


POLARITY_SIGN = {"lasting": 1.0, "passing": -1.0}  # other, or no question: 0
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
    lasting = np.array([bool(lexicon["claim_lasting"].search(t)) for t in texts], dtype=float)[text_codes]
    passing = np.array([bool(lexicon["claim_passing"].search(t)) for t in texts], dtype=float)[text_codes]
    sign = polarity.fillna("").astype(str).map(POLARITY_SIGN).fillna(0.0).to_numpy(dtype=float)
    turned = np.where(negated.to_numpy(), -1.0, 1.0)
    return pd.DataFrame({
        "text": frame["text"].astype(str),
        "claim_type": frame["claim_type"].astype(str),
        "type_polarity": frame["claim_type"].astype(str) + np.where(negated, ":negated", ":affirmed"),
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
        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), "text"),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), sublinear_tf=True, min_df=2), "text"),
        ("claim", OneHotEncoder(handle_unknown="ignore"), ["claim_type", "type_polarity"]),
        ("flags", "passthrough", CLAIM_FLAGS + (QUESTION_FLAGS if with_question else [])),
    ])


def build_model(settings: Settings = DEFAULT_SETTINGS, hand_label_counts: pd.Series | None = None,
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


def calibrated(classifier, settings: Settings, hand_label_counts: pd.Series | None):
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


def read_labels(path: Path | str) -> pd.DataFrame:
    """The hand-label file, checked: known levels and labels only, no conflicting duplicates."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "labels file not found")
    labels = pd.read_csv(path, dtype=str, keep_default_na=False).map(restore)
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise InputError(path, f"missing columns {missing}")
    for column, allowed in (("level", LEVELS), ("label", STANCES)):
        bad = labels.index[~labels[column].isin(allowed)]
        if len(bad):
            raise InputError(path, f"unknown {column} {labels.at[bad[0], column]!r}; expected one of {allowed}",
                             line=int(bad[0]) + 2)
    key = ["level", "answer_id", "text"]
    clash = labels.groupby(key)["label"].nunique()
    if (clash > 1).any():
        level, answer_id, text = clash[clash > 1].index[0]
        raise InputError(path, f"conflicting labels for {level} {answer_id}: {text[:60]!r}")
    return labels.drop_duplicates(key)


def attach_labels(claims: pd.DataFrame, labels: pd.DataFrame) -> pd.Series:
    """Hand label per claim row, matched on answer and sentence text; '' where unlabelled."""
    sentence_labels = labels[labels["level"] == "sentence"].set_index(["answer_id", "text"])["label"]
    keys = pd.MultiIndex.from_frame(claims[["answer_id", "text"]])
    return pd.Series(sentence_labels.reindex(keys).fillna(ABSTAIN).to_numpy(), index=claims.index)


def _scores(y_true, y_pred) -> dict:
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=list(STANCES), zero_division=0)
    per_class = {label: {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
                         "support": int(s)} for label, p, r, f, s in zip(STANCES, precision, recall, f1, support)}
    present = [label for label in STANCES if label in set(y_true) | set(y_pred)]
    return {
        "per_class": per_class,
        "macro_f1": round(float(np.mean([per_class[label]["f1"] for label in present])), 4) if present else 0.0,
        "f_avg": round((per_class[FAVOR]["f1"] + per_class[AGAINST]["f1"]) / 2, 4),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "confusion_matrix": {"labels": list(STANCES),
                             "matrix": confusion_matrix(y_true, y_pred, labels=list(STANCES)).tolist()},
        "n": int(len(y_true)),
    }


def answer_stance(claims: pd.DataFrame, probabilities: np.ndarray, classes, title_spans: pd.DataFrame,
                  settings: Settings = DEFAULT_SETTINGS) -> pd.DataFrame:
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
                         settings: Settings = DEFAULT_SETTINGS) -> pd.DataFrame:
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


def reliability(y_true, probabilities: np.ndarray, n_bins: int = 5) -> dict:
    """Calibration of the top-class probability: expected calibration error, Brier score, and bins."""
    truth = np.asarray(list(y_true))
    confidence = probabilities.max(axis=1)
    correct = np.asarray(STANCES, dtype=object)[probabilities.argmax(axis=1)] == truth
    onehot = np.stack([(truth == label).astype(float) for label in STANCES], axis=1)
    edges = np.linspace(0, 1, n_bins + 1)
    bins, ece = [], 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            gap = abs(float(correct[inside].mean()) - float(confidence[inside].mean()))
            ece += gap * inside.sum() / len(truth)
            bins.append({"from": round(float(low), 2), "to": round(float(high), 2), "n": int(inside.sum()),
                         "confidence": round(float(confidence[inside].mean()), 4),
                         "accuracy": round(float(correct[inside].mean()), 4)})
    return {"ece": round(float(ece), 4), "brier": round(float(((probabilities - onehot) ** 2).sum(axis=1).mean()), 4),
            "bins": bins}


def aligned_proba(model: Pipeline, rows: pd.DataFrame) -> np.ndarray:
    """Probabilities with columns in STANCES order, whatever classes the model saw."""
    proba = model.predict_proba(rows)
    aligned = np.zeros((len(rows), len(STANCES)))
    for k, label in enumerate(model.classes_):
        aligned[:, STANCES.index(label)] = proba[:, k]
    return aligned


def score_predictions(rows: pd.DataFrame, gold: pd.Series, probabilities: np.ndarray, answer_labels: pd.Series,
                      title_spans: pd.DataFrame, settings: Settings = DEFAULT_SETTINGS) -> dict:
    """Claim- and answer-level scores, majority baselines and calibration for given probabilities."""
    predicted = [STANCES[i] for i in probabilities.argmax(axis=1)]
    majority = gold.value_counts().sort_index().idxmax() if len(gold) else AGAINST
    result = {
        "claims": {**_scores(gold, predicted), "calibration": reliability(gold, probabilities)},
        "claims_majority_baseline": _scores(gold, [majority] * len(gold)),
    }
    answers = answer_stance(rows.reset_index(drop=True), probabilities, STANCES, title_spans, settings)
    answers = answers[answers["answer_id"].isin(answer_labels.index)]
    if len(answers):
        truth = answer_labels.loc[answers["answer_id"]]
        result["answers"] = _scores(truth, answers["stance"])
        answer_majority = truth.value_counts().sort_index().idxmax()
        result["answers_majority_baseline"] = _scores(truth, [answer_majority] * len(truth))
    return result


def cross_validate(model: Pipeline, rows: pd.DataFrame, y: pd.Series, weights: np.ndarray, is_gold: np.ndarray,
                   answer_labels: pd.Series, title_spans: pd.DataFrame,
                   settings: Settings = DEFAULT_SETTINGS, group_by: str = "answer_id") -> dict:
    """Out-of-fold scores on hand-labelled rows only, folds grouped by `group_by` (answer or thread).

    Weakly labelled rows are used for training in every fold (unless their group
    is being scored) but never scored themselves. The majority baseline is the
    most frequent hand label, as a model that always predicts it would score.
    """
    groups = rows[group_by].to_numpy()
    gold_index = np.flatnonzero(is_gold)
    n_splits = min(settings.cv_folds, len(np.unique(groups[gold_index])))
    if n_splits < 2:
        return {"error": f"fewer than two labelled {group_by.replace('_id', 's')}: cannot cross-validate"}
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=settings.random_state)
    probabilities = np.zeros((len(gold_index), len(STANCES)))
    for train_part, test_part in folds.split(gold_index, y.to_numpy()[gold_index], groups[gold_index]):
        test_rows = gold_index[test_part]
        train_mask = ~np.isin(groups, groups[test_rows])
        fitted = clone(model).fit(rows[train_mask], y[train_mask], classify__sample_weight=weights[train_mask])
        probabilities[test_part] = aligned_proba(fitted, rows.iloc[test_rows])
    return {"folds": n_splits, "grouped_by": group_by,
            **score_predictions(rows.iloc[gold_index], y.iloc[gold_index], probabilities, answer_labels,
                                title_spans, settings)}


def versions() -> dict:
    import sklearn
    import spacy

    from pipeline import __version__

    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "spacy": spacy.__version__,
            "pandas": pd.__version__, "numpy": np.__version__, "joblib": joblib.__version__, "pipeline": __version__}


def _vectorizers(model: Pipeline) -> list[TfidfVectorizer]:
    features = model.named_steps["features"]
    features = getattr(features, "features_", features)
    return [t for _, t, _ in getattr(features, "transformers_", []) if isinstance(t, TfidfVectorizer)]


def card_path(model_path: Path) -> Path:
    return model_path.with_suffix(".card.json")


def save_model(model: Pipeline, model_path: Path, card: dict) -> dict:
    """joblib file plus a JSON card that records the file's sha256 (written last); the sha256 is trusted here."""
    import io

    for step in _vectorizers(model):
        if hasattr(step, "_stop_words_id"):  # an id() cache: differs per process, so the bytes would too
            del step._stop_words_id
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    data = buffer.getvalue()
    atomic_write_bytes(model_path, data)
    from pipeline import trust

    trust.add(sha256_bytes(data), model_path, trust.TRAINED_HERE)  # before the card: a version is whole once it has one
    card = {**card, "model_file": model_path.name, "model_sha256": sha256_bytes(data),
            "labels": list(STANCES), "versions": versions()}
    atomic_write_bytes(card_path(model_path), (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return card


def load_card(model_path: Path) -> dict:
    path = card_path(model_path)
    if not path.exists():
        raise ModelTrustError(f"{model_path}: no model card {path.name} beside it; run 'claims train'")
    return json.loads(path.read_text(encoding="utf-8"))


def load_model(model_path: Path | str) -> tuple[Pipeline, dict]:
    """Load a model only if its sha256 matches its card and is in the trust store (see pipeline.trust).

    The card catches a damaged file; the trust store, outside the models
    folder, catches a crafted one with a crafted card: loading a joblib file
    runs code, so only files trained here or trusted by hand are loaded.
    """
    from pipeline import trust

    model_path = Path(model_path)
    if not model_path.exists():
        raise ModelTrustError(f"{model_path}: no model file; run 'claims train' first")
    card = load_card(model_path)
    actual = sha256_file(model_path)
    if card.get("model_sha256") != actual:
        raise ModelTrustError(
            f"{model_path}: sha256 {actual[:12]}... does not match its card ({str(card.get('model_sha256'))[:12]}...); "
            "refusing to load it, since loading a joblib file runs code. Retrain with 'claims train'.")
    if not trust.is_trusted(actual):
        raise ModelTrustError(
            f"{model_path}: not trusted here: this installation did not train it (sha256 {actual[:12]}... is not "
            f"in {trust.store_path()}). Loading a joblib file runs code; if you know where this file comes from, "
            f"run 'claims models trust {model_path}' first.")
    return joblib.load(model_path), card


def predict(model: Pipeline, claims: pd.DataFrame) -> tuple[np.ndarray, list]:
    """Class probabilities per claim row, columns in the model's class order."""
    if claims.empty:
        return np.zeros((0, len(model.classes_))), list(model.classes_)
    return model.predict_proba(claims), list(model.classes_)

