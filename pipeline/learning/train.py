"""Training the stance model: its rows, the weak-label combination, cross-validation, the frozen-set comparison.

The `train` stage (pipeline.runner.graph) gives `fit_version` the labelled
threads already segmented and extracted, the labels and the annotated corpus;
it returns a Candidate, which the models folder's sink saves as a new version
and makes current if it is better (`publish_version`). Each phase says what it
does as it starts; the full figures go to the card and to `claims evaluate`.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedGroupKFold
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.io import files
from pipeline.io.files import VERBOSE, log, write_csv
from pipeline.learning import labeling, registry
from pipeline.learning import labels as hand_labels
from pipeline.measuring import evaluation
from pipeline.measuring.evaluation import score_predictions, stance_scores
from pipeline.schemas import STANCES
from pipeline.stages import stance_model
from pipeline.stages.classify import takes_stance, with_question
from pipeline.stages.stance_model import aligned_proba


class Phases:
    """'train: 2/5 cross-validating ...' as each phase starts, and how long the whole took."""

    def __init__(self, total: int):
        self.total, self.done, self.started = total, 0, time.monotonic()

    def next(self, what: str) -> None:
        self.done += 1
        log(f"train: {self.done}/{self.total} {what}")

    def seconds(self) -> float:
        return time.monotonic() - self.started


def training_rows(training: dict, labels: pd.DataFrame, labels_path: Path, sets: dict,
                  settings: Settings = DEFAULT_SETTINGS) -> dict:
    """Hand-labelled claims of the corpus's dev part, plus the labels file's claims of the training threads with
    weak labels.

    Only claims of threads that ask a yes/no question are rows: elsewhere a
    stance means nothing.
    """
    answers, claims = training["answers"], training["claims"]
    claims = with_question(claims, answers)
    claims = claims[takes_stance(claims, answers).to_numpy()]  # experts' claims of yes/no threads: the asker's take none
    table = training_table(claims, answers, labels, labels_path, settings)
    gold_rows = sets["train_claims"]
    gold_answers = sets["train_answers"]
    columns = list(table["rows"].columns)
    rows = pd.concat([table["rows"], gold_rows.reindex(columns=columns)], ignore_index=True)
    return {**table, "rows": rows,
            "y": pd.concat([table["y"], gold_rows["label"]], ignore_index=True),
            "weights": np.concatenate([table["weights"], np.ones(len(gold_rows))]),
            "is_gold": np.concatenate([table["is_gold"], np.ones(len(gold_rows), bool)]),
            "answer_labels": pd.concat([table["answer_labels"], gold_answers.set_index("answer_id")["label"]]),
            "spans": pd.concat([answers[["answer_id", "title_start", "title_end"]],
                                gold_answers[["answer_id", "title_start", "title_end"]]], ignore_index=True)}


def frozen_systems(model, training: dict, sets: dict, settings: Settings = DEFAULT_SETTINGS,
                   current: tuple[str, object] | None = None) -> dict:
    """The new model and what it must beat, predicted on the frozen rows in the same run.

    - majority: the most frequent hand label of the training rows;
    - keyword script: pipeline.measuring.baseline.keyword_stance;
    - first model: the question-blind design trained on the labels file alone, as before the annotated corpus;
    - question-blind design on the same rows, to show what pairing with the question adds;
    - the current model, when there is one.
    """
    rows, y, weights, is_gold = training["rows"], training["y"], training["weights"], training["is_gold"]
    claims, answers = sets["frozen_claims"], sets["frozen_answers"]
    answer_majority = training["answer_labels"].value_counts().sort_index().idxmax()
    systems = {"this model": evaluation.model_predictions(model, claims, answers, settings.classify),
               "majority baseline": evaluation.majority_predictions(
                   claims, answers, y[is_gold].value_counts().sort_index().idxmax(), answer_majority),
               "keyword baseline": evaluation.keyword_predictions(claims, answers)}
    from_labels_file = is_gold & ~rows["thread_id"].isin(sets["train_claims"]["thread_id"]).to_numpy()
    if from_labels_file.sum() >= 2 and y[from_labels_file].nunique() > 1:
        first = stance_model.build_model(settings.train, None, design="blind").fit(rows[from_labels_file], y[from_labels_file])
        systems["first model (blind, labels file)"] = evaluation.model_predictions(first, claims, answers, settings.classify)
    blind = stance_model.build_model(settings.train, y[is_gold].value_counts(), design="blind").fit(
        rows, y, classify__sample_weight=weights)
    systems["question-blind, same rows"] = evaluation.model_predictions(blind, claims, answers, settings.classify)
    if current is not None:
        systems[f"current model ({current[0]})"] = evaluation.model_predictions(current[1], claims, answers, settings.classify)
    return systems


def promote_if_better(model_dir, version, new_metrics, current, comparison, asked):
    """Make `version` current if asked, if there is none, or if it beats the current one by more than noise.

    "More than noise": the 95% thread-bootstrap interval of the difference in
    frozen claim macro-F1 lies above zero, so one flipped claim decides nothing.
    """
    new_score = evaluation.headline(new_metrics)
    if asked or current is None or comparison is None:
        registry.set_current(model_dir, version)
        log(f"train: {version} is now current (frozen claim macro-F1 {new_score:.3f})")
        return
    low, high = comparison["interval"]
    if low > 0:
        registry.set_current(model_dir, version)
        log(f"train: {version} is now current: frozen claim macro-F1 {comparison['difference']:+.3f} against "
            f"{current}, 95% interval [{low:+.3f}, {high:+.3f}]")
    else:
        log(f"train: {version} kept but not made current: its frozen claim macro-F1 differs from {current}'s by "
            f"{comparison['difference']:+.3f}, 95% interval [{low:+.3f}, {high:+.3f}], not clearly better; "
            f"'claims models use {version}' or 'claims train --promote' overrides")


def training_table(claims: pd.DataFrame, answers: pd.DataFrame, labels: pd.DataFrame, labels_path: Path,
                   settings: Settings = DEFAULT_SETTINGS) -> dict:
    """Join hand labels to claims and add weak labels for the rest.

    Labels whose sentence or answer is not in the training input (labelled on
    other threads, or text changed since) are skipped with a warning naming
    them, so that one stray label does not stop training.
    """
    sentence_labels = labels[labels["level"] == "sentence"]
    known = set(zip(claims["answer_id"], claims["text"]))
    unmatched = [i for i, r in sentence_labels.iterrows() if (r["answer_id"], r["text"]) not in known]
    if unmatched:
        first = sentence_labels.loc[unmatched[0]]
        log(f"train: warning: {len(unmatched)} sentence labels in {labels_path.name} match no claim of the training "
            f"input and are skipped (first at line {unmatched[0] + 2}: {first['answer_id']} {first['text'][:50]!r}); "
            "put their threads in --train-input / --input")
    answer_labels = labels[labels["level"] == "answer"].set_index("answer_id")["label"]
    unknown_answers = sorted(set(answer_labels.index) - set(answers["answer_id"]))
    if unknown_answers:
        log(f"train: warning: answer labels for {len(unknown_answers)} answers not in the training input are "
            f"skipped, e.g. {unknown_answers[:3]}")
        answer_labels = answer_labels[~answer_labels.index.isin(unknown_answers)]
    claims = claims.reset_index(drop=True)
    gold = hand_labels.attach_labels(claims, labels)
    polarity = claims["proposition_polarity"] if "proposition_polarity" in claims else pd.Series("lasting", claims.index)
    lf_matrix = labeling.toward_proposition(labeling.apply_labeling_functions(claims), polarity)
    # combined, not concatenated: a hand label wins; elsewhere the functions vote with weights from
    # their accuracy on the hand labels, and the row's weight follows the vote's confidence
    weak, confidence = labeling.weighted_vote(lf_matrix, labeling.lf_weights(lf_matrix, gold))
    is_gold = gold.ne(labeling.ABSTAIN).to_numpy()
    use = is_gold | (weak.ne(labeling.ABSTAIN).to_numpy() & (settings.train.weak_label_weight > 0))
    y = gold.where(is_gold, weak)
    weights = np.where(is_gold, 1.0, settings.train.weak_label_weight * confidence.to_numpy())
    return {
        "rows": claims[use].reset_index(drop=True),
        "y": y[use].reset_index(drop=True),
        "weights": weights[use],
        "is_gold": is_gold[use],
        "gold": gold,
        "claim_ids": claims["claim_id"],
        "lf_matrix": lf_matrix,
        "answer_labels": answer_labels,
    }


def format_metrics(metrics: dict) -> str:
    if "error" in metrics:
        return f"cross-validation: {metrics['error']}"
    return evaluation.readable_table(
        metrics, f"cross-validated over {metrics['folds']} folds grouped by {metrics['grouped_by']}:")


@dataclass
class Candidate:
    """A fitted model not yet saved: what its card will say, and how it compares with the current model."""

    estimator: object
    card: dict
    lf_report: pd.DataFrame
    comparison: dict | None  # claim macro-F1 difference with the current model, with its interval
    current: str | None  # the current version it was compared with
    seconds: float = 0.0


def fit_version(training: dict, labels: tuple[pd.DataFrame, Path], gold, current: tuple[str, object] | None,
                settings: Settings = DEFAULT_SETTINGS) -> Candidate:
    """Fit, cross-validate and score a new model on the frozen set (the annotated corpus's test part, never trained
    on), beside the baselines and the current model, with thread-bootstrap intervals.

    BLAS runs on one thread while it does: a multi-threaded BLAS sums in another order, so the same data gave a
    model with other bytes depending on the machine's cores and environment, and on these small problems its
    threads cost four times the time (22 s against 5 s on two cores).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_version(training, labels, gold, current, settings)


def _fit_version(training: dict, labels: tuple[pd.DataFrame, Path], gold, current: tuple[str, object] | None,
                 settings: Settings) -> Candidate:
    labels_frame, labels_path = labels
    phases = Phases(5)
    phases.next("reading the annotated corpus and the labels")
    sets = gold.sets()
    rows_of = training_rows(training, labels_frame, labels_path, sets, settings)
    lf_report = labeling.analyse(rows_of["lf_matrix"], rows_of["gold"], rows_of["claim_ids"])
    rows, y, weights, is_gold = rows_of["rows"], rows_of["y"], rows_of["weights"], rows_of["is_gold"]
    spans = rows_of["spans"]
    model = stance_model.build_model(settings.train, y[is_gold].value_counts(), design=settings.train.stance_design)
    phases.next(f"cross-validating on {int(is_gold.sum())} hand labels from {rows['thread_id'].nunique()} threads "
                f"({settings.train.cv_folds} folds grouped by thread, twice)")
    out_of_fold: list = []
    by_thread = cross_validate(model, rows, y, weights, is_gold, rows_of["answer_labels"], spans, settings,
                               group_by="thread_id", out_of_fold=out_of_fold)
    hand_only = cross_validate(model, rows[is_gold], y[is_gold], weights[is_gold], is_gold[is_gold],
                               rows_of["answer_labels"], spans, settings, group_by="thread_id")
    phases.next("fitting the model on every row" + (" and calibrating it" if settings.train.calibration != "none"
                                                     else ""))
    model.fit(rows, y, classify__sample_weight=weights)
    # the answer's own decision, read off its claims' out-of-fold probabilities: kept on the fitted Pipeline
    model.answer_model_, answer_scores = fit_answer_model(*out_of_fold[0], sets["train_answers"], settings)
    phases.next("scoring the frozen set beside the baselines"
                + (f" and the current model {current[0]}" if current else "")
                + f" ({evaluation.N_BOOTSTRAP:,} thread resamples)")
    systems = frozen_systems(model, rows_of, sets, settings, current)
    frozen = evaluation.frozen_report(systems, sets["frozen_claims"], sets["frozen_answers"],
                                      settings.train.random_state)
    comparison = None
    if current is not None:
        comparison = evaluation.paired_difference(sets["frozen_claims"]["label"], systems["this model"]["claims"],
                                                  systems[f"current model ({current[0]})"]["claims"],
                                                  sets["frozen_claims"]["thread_id"], settings.train.random_state)
    phases.next("saving")
    table_bytes = rows.assign(label=y, weight=weights).to_csv(index=False, lineterminator="\n").encode()
    card = {
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "training_data_sha256": files.sha256_bytes(table_bytes),
        "training_rows": {"hand_labelled": int(is_gold.sum()), "weak_only": int((~is_gold).sum()),
                          "threads": int(rows["thread_id"].nunique())},
        "design": settings.train.stance_design,
        "calibrated": stance_model.is_calibrated(model),
        "majority": {"claims": str(y[is_gold].value_counts().sort_index().idxmax()),
                     "answers": str(rows_of["answer_labels"].value_counts().sort_index().idxmax())},
        "labels_file": Path(labels_path).name,
        "settings": settings.as_dict(),
        "cross_validation": {"by_thread": by_thread, "by_thread_hand_labels_only": hand_only},
        "answer_model": {"features": stance_model.ANSWER_FEATURES, **answer_scores},
        "frozen_evaluation": frozen["this model"],
        "frozen_systems": frozen,
        "frozen_questions": sets["questions"],
        "compared_with_current": comparison,
        "labeling_functions": lf_report.drop(columns=["wrong_examples"]).to_dict("records"),
    }
    return Candidate(model, card, lf_report, comparison, current[0] if current else None, phases.seconds())


def publish_version(model_dir: Path, candidate: Candidate, key: str, promote: bool = False) -> str:
    """Save the candidate as the next version with its card and labelling-function report; make it current if it is
    better (or asked). Returns the version."""
    version = registry.next_version(model_dir)
    model_file = registry.model_file(model_dir, version)
    write_csv(candidate.lf_report, model_file.with_suffix(".labeling_functions.csv"), list(candidate.lf_report.columns))
    card = registry.save_model(candidate.estimator, model_file,
                               {**candidate.card, "version": version, "training_key": key})
    log(summary_line(version, card, candidate.seconds))
    log(format_metrics(card["cross_validation"]["by_thread"]), VERBOSE)
    log("frozen set (the corpus's test part), yes/no threads:\n"
        + evaluation.frozen_table(card["frozen_systems"], card["frozen_questions"]), VERBOSE)
    promote_if_better(model_dir, version, card["frozen_evaluation"], candidate.current, candidate.comparison, promote)
    return version


def summary_line(version: str, card: dict, seconds: float) -> str:
    """What a training made, in two lines: the full figures are in the card and `claims evaluate` (or -v)."""
    rows = card["training_rows"]
    cv = card["cross_validation"]["by_thread"].get("claims", {}).get("macro_f1")
    systems = card["frozen_systems"]
    frozen = systems["this model"]["claims"]
    low, high = frozen.get("macro_f1_interval", [frozen["macro_f1"]] * 2)
    cv_text = f"cross-validated claim macro-F1 {cv:.3f}; " if cv is not None else ""
    return (f"train: {version} from {rows['hand_labelled']} hand labels in {rows['threads']} threads in {seconds:.0f} s: "
            f"{cv_text}frozen set claim macro-F1 {frozen['macro_f1']:.3f} [{low:.3f}, {high:.3f}] "
            f"(keyword script {systems['keyword baseline']['claims']['macro_f1']:.3f}, majority "
            f"{systems['majority baseline']['claims']['macro_f1']:.3f}); 'claims evaluate' shows every figure")


def cross_validate(model, rows: pd.DataFrame, y: pd.Series, weights: np.ndarray, is_gold: np.ndarray,
                   answer_labels: pd.Series, title_spans: pd.DataFrame,
                   settings: Settings = DEFAULT_SETTINGS, group_by: str = "answer_id",
                   out_of_fold: list | None = None) -> dict:
    """Out-of-fold scores on hand-labelled rows only, folds grouped by `group_by` (answer or thread).

    Weakly labelled rows are used for training in every fold (unless their group
    is being scored) but never scored themselves. The majority baseline is the
    most frequent hand label, as a model that always predicts it would score.
    """
    groups = rows[group_by].to_numpy()
    gold_index = np.flatnonzero(is_gold)
    n_splits = min(settings.train.cv_folds, len(np.unique(groups[gold_index])))
    if n_splits < 2:
        return {"error": f"fewer than two labelled {group_by.replace('_id', 's')}: cannot cross-validate"}
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=settings.train.random_state)
    probabilities = np.zeros((len(gold_index), len(STANCES)))
    splits = folds.split(gold_index, y.to_numpy()[gold_index], groups[gold_index])
    for train_part, test_part in tqdm(splits, total=n_splits, desc="train: folds", unit="fold", disable=None,
                                      leave=False):
        test_rows = gold_index[test_part]
        train_mask = ~np.isin(groups, groups[test_rows])
        fitted = clone(model).fit(rows[train_mask], y[train_mask], classify__sample_weight=weights[train_mask])
        probabilities[test_part] = aligned_proba(fitted, rows.iloc[test_rows])
    if out_of_fold is not None:  # the hand-labelled rows and their out-of-fold probabilities, for the answer model
        out_of_fold.append((rows.iloc[gold_index], probabilities))
    return {"folds": n_splits, "grouped_by": group_by,
            **score_predictions(rows.iloc[gold_index], y.iloc[gold_index], probabilities, answer_labels,
                                title_spans, settings.classify)}


def fit_answer_model(claim_rows: pd.DataFrame, probabilities: np.ndarray, answers: pd.DataFrame,
                     settings: Settings = DEFAULT_SETTINGS) -> tuple[object, dict]:
    """The answer model fitted on the dev part's hand-labelled answers, reading their claims' out-of-fold
    probabilities (as it will read a fitted model's on new threads); and its thread-grouped cross-validated scores
    beside the claims' weighted mean with the opening yes or no, on the same answers."""
    labelled = answers[answers["label"].notna()].reset_index(drop=True)
    features = stance_model.answer_features(labelled, claim_rows.reset_index(drop=True), probabilities, STANCES,
                                            settings.classify)
    X, y = features.to_numpy(dtype=float), labelled["label"].to_numpy(dtype=object)
    groups = labelled["thread_id"].to_numpy()
    n_splits = min(settings.train.cv_folds, len(np.unique(groups)))
    scores = {"answers": len(labelled)}
    if n_splits >= 2 and len(set(y)) > 1:
        predicted = np.empty(len(y), dtype=object)
        folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=settings.train.random_state)
        for train_part, test_part in folds.split(X, y, groups):
            fitted = stance_model.build_answer_model(settings.train).fit(X[train_part], y[train_part])
            predicted[test_part] = fitted.predict(X[test_part])
        mean = labelled["answer_id"].map(stance_model.answer_probabilities(
            claim_rows.reset_index(drop=True), probabilities, STANCES, labelled, settings.classify).idxmax(axis=1)
            if len(claim_rows) else {}).fillna("neutral")
        mean = stance_model.with_direct_answers(labelled, mean)
        scores |= {"cross_validated": stance_scores(pd.Series(y), list(predicted)),
                   "claims_mean_same_answers": stance_scores(pd.Series(y), list(mean))}
    return stance_model.build_answer_model(settings.train).fit(X, y), scores
