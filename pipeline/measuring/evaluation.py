"""Evaluating, comparing and reporting stance models on the frozen set.

The frozen set is the annotated corpus's test part (data/raw/labels/gold,
split in corpus_split.csv): real threads no model trains on. Every figure is
shown beside a majority baseline and the keyword script run on the same rows,
with 95% intervals from resampling whole threads, so a version is promoted for
a difference larger than noise, not for one flipped claim.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from pipeline.config import DEFAULT_SETTINGS, ClassifySettings
from pipeline.io.figures import png_bytes, pyplot
from pipeline.schemas import AGAINST, STANCES
from pipeline.stages.stance_model import (aligned_proba, answer_features, answer_probabilities, answer_stance,
                                          decide_answers, with_direct_answers)

def confusion(y_true, y_pred) -> dict:
    """Rows: hand label; columns: predicted (a missing stance is counted in no column)."""
    from sklearn.metrics import confusion_matrix

    return {"labels": list(STANCES),
            "matrix": confusion_matrix(list(y_true), list(y_pred), labels=list(STANCES)).tolist()}


def headline(metrics: dict) -> float:
    """The figure versions are compared on: claim-level macro-F1."""
    return metrics["claims"]["macro_f1"]


def readable_table(metrics: dict, title: str) -> str:
    lines = [title, ""]
    for level in ("claims", "answers"):
        if level not in metrics:
            continue
        m = metrics[level]
        line = (f"{level} (n={m['n']}): macro-F1 {m['macro_f1']:.3f}  F_avg {m['f_avg']:.3f}  "
                f"accuracy {m['accuracy']:.3f}")
        base = metrics.get(f"{level}_majority_baseline")
        if base:
            line += (f"   majority baseline: macro-F1 {base['macro_f1']:.3f}  F_avg {base['f_avg']:.3f}  "
                     f"accuracy {base['accuracy']:.3f}")
        lines.append(line)
        lines.append(f"  {'class':<8} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
        for label, row in m["per_class"].items():
            lines.append(f"  {label:<8} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>6.3f} {row['support']:>8d}")
        matrix = m.get("confusion_matrix")
        if matrix is None:
            lines.append("")
            continue
        lines.append("  confusion (rows true, columns predicted): " + "  ".join(matrix["labels"]))
        for label, counts in zip(matrix["labels"], matrix["matrix"]):
            lines.append(f"    {label:<8} " + " ".join(f"{c:>7d}" for c in counts))
        if "calibration" in m:
            cal = m["calibration"]
            lines.append(f"  calibration: expected calibration error {cal['ece']:.3f}, Brier score {cal['brier']:.3f}")
        lines.append("")
    return "\n".join(lines)


def report_files(metrics: dict, title: str, comparison: str = "") -> dict[str, bytes]:
    """metrics.json, metrics.txt (with `comparison`, the systems side by side), confusion and reliability PNGs."""
    return {"metrics.json": (json.dumps(metrics, indent=2, sort_keys=True) + "\n").encode(),
            "metrics.txt": (readable_table(metrics, title) + ("\n" + comparison + "\n" if comparison else "")).encode(),
            "confusion_matrix.png": _confusion_png(metrics["claims"]["confusion_matrix"], title),
            "reliability.png": _reliability_png(metrics["claims"]["calibration"], title)}


def evaluate_model(model, card: dict, sets: dict, settings) -> dict[str, bytes]:
    """The `evaluate` stage: a model and the baselines on the frozen set, as report files (see report_files)."""
    claims, answers = sets["frozen_claims"], sets["frozen_answers"]
    majority = card.get("majority", {"claims": "against", "answers": "against"})
    systems = {"this model": model_predictions(model, claims, answers, settings.classify),
               "majority baseline": majority_predictions(claims, answers, majority["claims"], majority["answers"]),
               "keyword baseline": keyword_predictions(claims, answers)}
    report = frozen_report(systems, claims, answers, settings.train.random_state)
    metrics = {**report["this model"], "systems": report, "questions": sets["questions"],
               "model": card.get("version", "a model given in memory"), "evaluated_on": "the corpus's test part"}
    title = f"{metrics['model']} on {metrics['evaluated_on']}"
    return report_files(metrics, title, frozen_table(report, sets["questions"]))


def _confusion_png(confusion: dict, title: str) -> bytes:
    plt = pyplot()
    matrix = np.asarray(confusion["matrix"])
    figure, axes = plt.subplots(figsize=(4.2, 3.6))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(STANCES)), confusion["labels"])
    axes.set_yticks(range(len(STANCES)), confusion["labels"])
    axes.set_xlabel("predicted")
    axes.set_ylabel("hand label")
    for (i, j), count in np.ndenumerate(matrix):
        axes.text(j, i, str(count), ha="center", va="center", color="white" if count > matrix.max() / 2 else "black")
    axes.set_title(f"Claim stance: {title}", fontsize=9)
    return png_bytes(figure)


def _reliability_png(calibration: dict, title: str) -> bytes:
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(4.2, 3.6))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    bins = calibration["bins"]
    axes.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", label="model")
    for b in bins:
        axes.annotate(str(b["n"]), (b["confidence"], b["accuracy"]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    axes.set_xlim(0, 1.05)
    axes.set_ylim(0, 1.1)
    axes.set_xlabel("predicted probability of the top class")
    axes.set_ylabel("share correct")
    axes.set_title(f"Reliability (ECE {calibration['ece']:.3f}): {title}", fontsize=9)
    axes.legend(fontsize=7, loc="upper left")
    return png_bytes(figure)


def changed_predictions(rows: pd.DataFrame, gold: pd.Series, proba_a: np.ndarray, proba_b: np.ndarray) -> pd.DataFrame:
    """Claims whose predicted stance differs between two models."""
    a = np.asarray(STANCES, dtype=object)[proba_a.argmax(axis=1)]
    b = np.asarray(STANCES, dtype=object)[proba_b.argmax(axis=1)]
    changed = a != b
    return pd.DataFrame({"claim_id": rows["claim_id"][changed].to_numpy(), "text": rows["text"][changed].to_numpy(),
                         "hand_label": gold[changed].to_numpy(), "before": a[changed], "after": b[changed]})


# --- The frozen set: the annotated corpus's test part -------------------------------------------------------------

N_BOOTSTRAP = 1000
NO_STANCE = ""  # what a system predicts where it takes no stance (an open or unread question): always wrong


def stance_scores(y_true, y_pred) -> dict:
    """Per-class precision/recall/F1 over the three stances, macro-F1 over all three (a class never predicted nor
    labelled counts as 0), SemEval's F_avg, accuracy, the confusion matrix: the one scoring of every report and card."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    y_true, y_pred = list(y_true), list(y_pred)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=list(STANCES), zero_division=0)
    per_class = {label: {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
                         "support": int(s)} for label, p, r, f, s in zip(STANCES, precision, recall, f1, support)}
    return {"per_class": per_class, "macro_f1": round(float(np.mean(f1)), 4),
            "f_avg": round(float((per_class["favor"]["f1"] + per_class["against"]["f1"]) / 2), 4),
            "accuracy": round(float(accuracy_score(y_true, y_pred)), 4) if y_true else 0.0, "n": len(y_true),
            "confusion_matrix": confusion(y_true, y_pred)}


def _thread_confusions(y_true, y_pred, threads) -> tuple[np.ndarray, np.ndarray]:
    """Per thread, a confusion count matrix over the stances plus 'no stance' (last row and column)."""
    codes = {label: k for k, label in enumerate(STANCES)}
    true = np.array([codes.get(v, len(STANCES)) for v in y_true], dtype=int)
    pred = np.array([codes.get(v, len(STANCES)) for v in y_pred], dtype=int)
    ids, thread_index = np.unique(np.asarray(threads), return_inverse=True)
    size = len(STANCES) + 1
    counts = np.zeros((len(ids), size * size))
    np.add.at(counts, (thread_index, true * size + pred), 1)
    return ids, counts


def _figures(confusions: np.ndarray) -> np.ndarray:
    """Macro-F1, F_avg and accuracy of each row of flattened confusion matrices (vectorised over resamples)."""
    size = len(STANCES) + 1
    matrix = confusions.reshape(-1, size, size)[:, :len(STANCES)]  # rows: hand labels (always a stance)
    hit = np.stack([matrix[:, k, k] for k in range(len(STANCES))], axis=1)
    predicted = confusions.reshape(-1, size, size).sum(axis=1)[:, :len(STANCES)]
    actual = matrix.sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(predicted + actual > 0, 2 * hit / (predicted + actual), 0.0)
        accuracy = np.where(actual.sum(axis=1) > 0, hit.sum(axis=1) / actual.sum(axis=1), 0.0)
    favor, against = STANCES.index("favor"), STANCES.index("against")
    return np.stack([f1.mean(axis=1), (f1[:, favor] + f1[:, against]) / 2, accuracy], axis=1)


def _resamples(n_threads: int, n: int, seed: int) -> np.ndarray:
    """How often each thread is drawn in each of `n` resamples of the threads with replacement."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_threads, np.full(n_threads, 1 / n_threads), size=n)


def thread_bootstrap(y_true, y_pred, threads, n: int = N_BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """Macro-F1, F_avg and accuracy on `n` resamples of whole threads (rows of one thread are not independent)."""
    ids, counts = _thread_confusions(y_true, y_pred, threads)
    return _figures(_resamples(len(ids), n, seed) @ counts)


def with_intervals(y_true, y_pred, threads, seed: int = 0) -> dict:
    """stance_scores plus a 95% thread-bootstrap interval for macro-F1, F_avg and accuracy."""
    scores = stance_scores(y_true, y_pred)
    if len(set(threads)) > 1:
        low, high = np.percentile(thread_bootstrap(y_true, y_pred, threads, seed=seed), [2.5, 97.5], axis=0)
        for k, name in enumerate(("macro_f1", "f_avg", "accuracy")):
            scores[f"{name}_interval"] = [round(float(low[k]), 4), round(float(high[k]), 4)]
    return scores


def paired_difference(y_true, pred_new, pred_old, threads, seed: int = 0) -> dict:
    """Claim macro-F1 of new minus old, with a 95% interval from the same thread resamples for both."""
    ids, new = _thread_confusions(y_true, pred_new, threads)
    _, old = _thread_confusions(y_true, pred_old, threads)
    draws = _resamples(len(ids), N_BOOTSTRAP, seed)
    diffs = _figures(draws @ new)[:, 0] - _figures(draws @ old)[:, 0]
    point = _figures(new.sum(axis=0, keepdims=True))[0, 0] - _figures(old.sum(axis=0, keepdims=True))[0, 0]
    low, high = np.percentile(diffs, [2.5, 97.5])
    return {"difference": round(float(point), 4), "interval": [round(float(low), 4), round(float(high), 4)]}


def model_predictions(model, claims: pd.DataFrame, answers: pd.DataFrame,
                      settings: ClassifySettings = DEFAULT_SETTINGS.classify) -> dict:
    """A model's claim and answer stances on rows of the annotated corpus (measuring.gold_sets), as the classify stage makes them.

    Rows whose question the pipeline did not read as yes/no get no stance.
    """
    asks = claims["question_kind"].eq("yes/no").to_numpy()
    probabilities = np.zeros((len(claims), len(STANCES)))
    if asks.any():
        probabilities[asks] = aligned_proba(model, claims[asks])
    claim_pred = np.where(asks, np.asarray(STANCES, dtype=object)[probabilities.argmax(axis=1)], NO_STANCE)
    in_answer = (asks & claims["answer_id"].isin(answers["answer_id"]).to_numpy())
    answer_model = getattr(model, "answer_model_", None)
    if answer_model is not None:
        features = answer_features(answers, claims[in_answer].reset_index(drop=True), probabilities[in_answer],
                                   STANCES, settings)
        answer_pred = pd.Series(decide_answers(answer_model, features)[0], index=answers.index)
    else:
        means = answer_probabilities(claims[in_answer].reset_index(drop=True), probabilities[in_answer], STANCES,
                                     answers[["answer_id", "title_start", "title_end"]], settings)
        answer_pred = answers["answer_id"].map(means.idxmax(axis=1) if len(means) else {}).fillna("neutral")
        answer_pred = with_direct_answers(answers, answer_pred)
    answer_pred = np.where(answers["question_kind"].eq("yes/no"), answer_pred, NO_STANCE)
    return {"claims": claim_pred, "answers": answer_pred, "probabilities": probabilities, "scored": asks}


def keyword_predictions(claims: pd.DataFrame, answers: pd.DataFrame) -> dict:
    """The keyword script's stances (pipeline.baseline): it reads neither the question nor a model."""
    from pipeline.measuring.baseline import keyword_answer_stance, keyword_stance

    claim_pred = claims["text"].map(keyword_stance)
    by_answer = claim_pred.groupby(claims["answer_id"]).agg(list)
    answer_pred = answers["answer_id"].map(lambda a: keyword_answer_stance(by_answer.get(a, [])))
    return {"claims": claim_pred.to_numpy(dtype=object), "answers": answer_pred.to_numpy(dtype=object)}


def majority_predictions(claims: pd.DataFrame, answers: pd.DataFrame, claim_label: str, answer_label: str) -> dict:
    """Always the most frequent training label."""
    return {"claims": np.full(len(claims), claim_label, dtype=object),
            "answers": np.full(len(answers), answer_label, dtype=object)}


def frozen_report(systems: dict[str, dict], claims: pd.DataFrame, answers: pd.DataFrame, seed: int = 0) -> dict:
    """Every system on the same frozen rows: claims and answers with thread-bootstrap intervals, calibration."""
    report = {}
    for name, predicted in systems.items():
        entry = {"claims": with_intervals(claims["label"], predicted["claims"], claims["thread_id"], seed),
                 "answers": with_intervals(answers["label"], predicted["answers"], answers["thread_id"], seed)}
        if "probabilities" in predicted and predicted["scored"].any():
            scored = predicted["scored"]
            entry["claims"]["calibration"] = reliability(claims["label"].to_numpy()[scored],
                                                         predicted["probabilities"][scored])
        report[name] = entry
    return report


def frozen_table(report: dict, questions: dict | None = None) -> str:
    """The frozen report as text: one line per system and level, with 95% intervals."""
    def cell(m: dict, key: str) -> str:
        low, high = m.get(f"{key}_interval", [m[key], m[key]])
        return f"{m[key]:.3f} [{low:.3f}, {high:.3f}]"

    lines = [f"{'system':<34} {'level':<8} {'n':>4}  {'macro-F1 [95% CI]':<22} {'F_avg [95% CI]':<22} "
             f"{'accuracy [95% CI]':<22} ECE    Brier"]
    for name, entry in report.items():
        for level in ("claims", "answers"):
            m = entry[level]
            cal = m.get("calibration")
            tail = f"{cal['ece']:.3f}  {cal['brier']:.3f}" if cal else ""
            lines.append(f"{name:<34} {level:<8} {m['n']:>4}  {cell(m, 'macro_f1'):<22} {cell(m, 'f_avg'):<22} "
                         f"{cell(m, 'accuracy'):<22} {tail}")
    if questions:
        lines.append(f"question reading: {questions['threads']} threads; open questions recognised "
                     f"{questions['open_recognised']} of {questions['open_questions']}; yes/no recognised "
                     f"{questions['yes_no_recognised']}; kind right {questions['kind_right']}; "
                     f"no question read {questions['no_question_read']}")
        if questions.get("proposition_kind_right") is not None:
            per_kind = ", ".join(f"{kind} {right}/{n}" for kind, (n, right) in questions["proposition_kinds"].items())
            lines.append(f"proposition kind right {questions['proposition_kind_right']} of the yes/no threads "
                         f"({per_kind})")
    return "\n".join(lines)


# --- Scores of out-of-fold probabilities (cross-validation) ---------------------------------------------------

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


def score_predictions(rows: pd.DataFrame, gold: pd.Series, probabilities: np.ndarray, answer_labels: pd.Series,
                      title_spans: pd.DataFrame, settings: ClassifySettings = DEFAULT_SETTINGS.classify) -> dict:
    """Claim- and answer-level scores, majority baselines and calibration for given probabilities."""
    predicted = [STANCES[i] for i in probabilities.argmax(axis=1)]
    majority = gold.value_counts().sort_index().idxmax() if len(gold) else AGAINST
    result = {
        "claims": {**stance_scores(gold, predicted), "calibration": reliability(gold, probabilities)},
        "claims_majority_baseline": stance_scores(gold, [majority] * len(gold)),
    }
    answers = answer_stance(rows.reset_index(drop=True), probabilities, STANCES, title_spans, settings)
    answers = answers[answers["answer_id"].isin(answer_labels.index)]
    if len(answers):
        truth = answer_labels.loc[answers["answer_id"]]
        result["answers"] = stance_scores(truth, answers["stance"])
        answer_majority = truth.value_counts().sort_index().idxmax()
        result["answers_majority_baseline"] = stance_scores(truth, [answer_majority] * len(truth))
    return result
