"""The stages as runnable steps: read inputs, call the stage's core function, write outputs.

A stage is skipped when its fingerprint (input files, upstream stage, settings,
code and rule files) matches the stamp it left last time and its outputs still
exist. Running a stage clears the stamps of the stages after it, so they run
again. Stamps live in ``<out>/.stamps/``; a trained model's fingerprint is kept
in its card.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from pipeline import (annotate, config, corpus, dataset, durations, evaluation, extensions, extract, files, labeling, nlp, readers,
                      registry, segment, stance)
from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.files import InputError, read_csv, write_csv

ANSWERS_OUTPUT_COLUMNS = corpus.ANSWERS_OUTPUT_COLUMNS
ERROR_COLUMNS = corpus.ERROR_COLUMNS
# a stage's run invalidates the stamps after it; `run` rewrites every table, so it and the stages exclude each other
DOWNSTREAM = {"segment": ("extract", "classify", "run"), "extract": ("classify", "run"), "classify": ("run",),
              "run": ("segment", "extract", "classify")}
RULE_FILES = {
    "segment": [config.SEGMENT_LEXICON_FILE],
    "extract": [config.CLAIM_CUES_FILE, config.CONTEXT_TERMS_FILE, config.DURATION_LEXICON_FILE],
    "train": [config.LABELING_LEXICON_FILE],
}
CODE = {
    "segment": [config, files, readers, segment],
    "extract": [extensions, nlp, durations, extract],
    "train": [labeling, stance, evaluation],
    "classify": [stance, dataset],
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class StageResult:
    stage: str
    ran: bool
    key: str
    errors: list[InputError] = field(default_factory=list)


def _digest(paths) -> list[tuple[str, str]]:
    return [(Path(p).name, files.sha256_file(p)) for p in paths]


def _code(stage_names) -> list[tuple[str, str]]:
    modules = {m.__name__: m for name in stage_names for m in CODE[name]}
    return _digest(sorted(Path(m.__file__) for m in modules.values())) + _digest(
        sorted(p for name in stage_names for p in RULE_FILES.get(name, [])))


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Stamps:
    def __init__(self, out: Path):
        self.folder = Path(out) / config.STAMPS_DIR

    def key(self, stage: str) -> str | None:
        path = self.folder / f"{stage}.json"
        return json.loads(path.read_text())["key"] if path.exists() else None

    def record(self, stage: str, key: str) -> None:
        files.atomic_write_bytes(self.folder / f"{stage}.json", json.dumps({"key": key}).encode())
        for later in DOWNSTREAM[stage]:
            (self.folder / f"{later}.json").unlink(missing_ok=True)

    def up_to_date(self, stage: str, key: str, outputs: list[Path]) -> bool:
        return self.key(stage) == key and all(p.exists() for p in outputs)


def _skip_message(stage: str) -> None:
    log(f"{stage}: up to date, skipped (inputs, settings, code and rules unchanged; --force re-runs it)")


def _progress(desc: str, total: int | None = None):
    return lambda iterable: tqdm(iterable, desc=desc, total=total, unit="doc", disable=None, leave=False)


def segment_source(thread: readers.ThreadSource, settings: Settings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """answers.csv rows for one thread: structured formats bring their segments, text is segmented."""
    return segment.answers_frame(segment_rows(thread, settings))


def segment_rows(thread: readers.ThreadSource, settings: Settings = DEFAULT_SETTINGS) -> list[dict]:
    """answers.csv rows of one thread; a thread read without a question, or as one answer, is reported."""
    warnings: list[str] = []
    segments = thread.segments or segment.segment_text(thread.text, thread.source, settings, thread.title_hints,
                                                       warnings)
    for warning in warnings:
        log(f"segment: warning: {warning}")
    return segment.answer_rows(thread.thread_id, thread.text, segments, Path(thread.source).name, thread.line)


def run_segment(input_path: Path, out: Path, settings: Settings = DEFAULT_SETTINGS, force: bool = False) -> StageResult:
    paths = readers.discover_threads(input_path)
    key = fingerprint("segment", _digest(paths), _code(["segment"]), settings.as_dict())
    stamps, target = Stamps(out), Path(out) / config.ANSWERS_CSV
    errors_csv = Path(out) / "errors.csv"
    if not force and stamps.up_to_date("segment", key, [target, errors_csv]):
        _skip_message("segment")
        return StageResult("segment", False, key, _read_errors(errors_csv))
    frames, errors = [], []
    for item in tqdm(readers.iter_threads(input_path, settings), desc="segment", unit="thread", disable=None, leave=False):
        try:
            if isinstance(item, InputError):
                raise item
            frames.append(segment_source(item, settings))
        except InputError as err:
            errors.append(err)
            log(f"segment: skipped {err}")
    answers = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=segment.ANSWER_COLUMNS)
    answers["stance"], answers["stance_score"] = None, float("nan")
    write_csv(answers, target, ANSWERS_OUTPUT_COLUMNS)
    _write_errors(out, errors)
    stamps.record("segment", key)
    log(f"segment: {len(frames)} threads, {int((answers['role'] == 'answer').sum())} answers -> {target}")
    return StageResult("segment", True, key, errors)


def _read_errors(path: Path) -> list[InputError]:
    """The errors of the last segment run, so a skipped run still reports what it skipped."""
    frame = pd.read_csv(path, dtype={"source": str, "error": str}, keep_default_na=False)
    return [InputError(r["source"], r["error"], int(r["line"]) if str(r["line"]).strip() else None)
            for r in frame.to_dict("records")]


def _write_errors(out: Path, errors: list[InputError]) -> None:
    rows = [{"source": e.source, "line": e.line, "error": e.problem} for e in errors]
    frame = pd.DataFrame(rows, columns=ERROR_COLUMNS).astype({"line": "Int64"})
    write_csv(frame, Path(out) / "errors.csv", ERROR_COLUMNS)


def _thread_texts(input_path: Path, thread_ids, settings: Settings = DEFAULT_SETTINGS) -> dict[str, str]:
    """The text of each wanted thread, read again from the inputs."""
    wanted = set(thread_ids)
    texts = {item.thread_id: item.text for item in readers.iter_threads(input_path, settings)
             if isinstance(item, readers.ThreadSource) and item.thread_id in wanted}
    missing = sorted(wanted - set(texts))
    if missing:
        raise InputError(input_path, f"threads in answers.csv not found in the input: {missing[:5]}; "
                                     "run 'segment' on the same --input")
    return texts


def run_extract(input_path: Path, out: Path, settings: Settings = DEFAULT_SETTINGS, force: bool = False) -> StageResult:
    stamps, target = Stamps(out), Path(out) / config.CLAIMS_CSV
    upstream = stamps.key("segment")
    if upstream is None:
        raise InputError(Path(out) / config.ANSWERS_CSV, "no record of a segment run here; run 'claims segment' first")
    import spacy

    key = fingerprint("extract", upstream, _code(["extract"]), settings.as_dict(), spacy.__version__)
    if not force and stamps.up_to_date("extract", key, [target]):
        _skip_message("extract")
        return StageResult("extract", False, key)
    answers = read_csv(Path(out) / config.ANSWERS_CSV, "segment")
    claims = extract_from_answers(answers, _thread_texts(input_path, answers["thread_id"], settings), settings)
    write_csv(claims, target, extract.CLAIM_COLUMNS)
    stamps.record("extract", key)
    log(f"extract: {len(claims)} claims -> {target}")
    return StageResult("extract", True, key)


def extract_from_answers(answers: pd.DataFrame, texts: dict[str, str], settings: Settings = DEFAULT_SETTINGS) -> pd.DataFrame:
    pipeline_ = nlp.build_nlp(settings)
    docs = int(answers["thread_id"].nunique())  # about one spaCy doc per thread
    return extract.extract_claims(pipeline_, answers, texts, settings, progress=_progress("extract", docs))


def labelled_corpus(input_path: Path, settings: Settings = DEFAULT_SETTINGS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """answers and claims of the threads the labels refer to, built in memory; the input must read cleanly."""
    threads = []
    for item in readers.iter_threads(input_path, settings):
        if isinstance(item, InputError):
            raise item  # training data must be read whole
        threads.append(item)
    texts = {t.thread_id: t.text for t in threads}
    answers = pd.concat([segment_source(t, settings) for t in threads], ignore_index=True)
    return answers, extract_from_answers(answers, texts, settings)


def run_train(input_path: Path, labels_path: Path, model_dir: Path, out: Path,
              settings: Settings = DEFAULT_SETTINGS, force: bool = False, promote: bool = False,
              frozen_path: Path = config.FROZEN_EVAL_FILE) -> StageResult:
    """Train a new model version from hand and weak labels; make it current if asked or not worse.

    The frozen evaluation set's answers are held out of training; both the new
    version and the current one are scored on it.
    """
    paths = readers.discover_threads(input_path)
    labels = stance.read_labels(labels_path)
    frozen = evaluation.load_or_freeze(labels, frozen_path)
    key = fingerprint("train", _digest(paths), _digest([labels_path, frozen_path]),
                      _code(["segment", "extract", "train"]), settings.as_dict())
    report = Path(out) / config.LF_REPORT_CSV
    current = registry.current_version(model_dir)
    if not force and current:
        current_path = registry.model_file(model_dir, current)
        card = stance.load_card(current_path)
        kept_report = current_path.with_suffix(".labeling_functions.csv")
        if (card.get("training_key") == key and card.get("model_sha256") == files.sha256_file(current_path)
                and kept_report.exists()):
            if not report.exists() or report.read_bytes() != kept_report.read_bytes():
                files.atomic_write_bytes(report, kept_report.read_bytes())
            _skip_message("train")
            return StageResult("train", False, key)
    answers, claims = labelled_corpus(input_path, settings)
    held_out = evaluation.frozen_answers(frozen)
    training = training_table(claims[~claims["answer_id"].isin(held_out)], answers,
                              labels[~labels["answer_id"].isin(held_out)], labels_path, settings)
    lf_report = labeling.analyse(training["lf_matrix"], training["gold"], training["claim_ids"])
    write_csv(lf_report, report, list(lf_report.columns))
    rows, y, weights, is_gold = training["rows"], training["y"], training["weights"], training["is_gold"]
    spans = answers[["answer_id", "title_start", "title_end"]]
    model = stance.build_model(settings, y[is_gold].value_counts())
    metrics = {group: stance.cross_validate(model, rows, y, weights, is_gold, training["answer_labels"], spans,
                                            settings, group_by=group)
               for group in ("answer_id", "thread_id")}
    hand_only = stance.cross_validate(model, rows[is_gold], y[is_gold], weights[is_gold], is_gold[is_gold],
                                      training["answer_labels"], spans, settings)
    model.fit(rows, y, classify__sample_weight=weights)
    eval_rows, eval_gold, eval_answers = evaluation.evaluation_rows(claims, frozen)
    frozen_metrics, _ = evaluation.evaluate(model, eval_rows, eval_gold, eval_answers, spans, settings)
    version = registry.next_version(model_dir)
    write_csv(lf_report, registry.model_file(model_dir, version).with_suffix(".labeling_functions.csv"),
              list(lf_report.columns))
    table_bytes = rows.assign(label=y, weight=weights).to_csv(index=False, lineterminator="\n").encode()
    stance.save_model(model, registry.model_file(model_dir, version), {
        "version": version,
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "training_key": key,
        "training_data_sha256": files.sha256_bytes(table_bytes),
        "training_rows": {"hand_labelled": int(is_gold.sum()), "weak_only": int((~is_gold).sum())},
        "calibrated": stance.is_calibrated(model),
        "labels_file": labels_path.name,
        "settings": settings.as_dict(),
        "cross_validation": {"by_answer": metrics["answer_id"], "by_thread": metrics["thread_id"],
                             "by_answer_hand_labels_only": hand_only},
        "frozen_evaluation": frozen_metrics,
        "labeling_functions": lf_report.drop(columns=["wrong_examples"]).to_dict("records"),
    })
    log(f"train: {version}: {int(is_gold.sum())} hand-labelled and {int((~is_gold).sum())} weakly labelled claims; "
        f"{len(held_out)} answers held out for the frozen evaluation")
    log(format_metrics(metrics["answer_id"]))
    log(format_metrics(metrics["thread_id"]))
    _promote(model_dir, version, frozen_metrics, current, eval_rows, eval_gold, eval_answers, spans, settings, promote)
    return StageResult("train", True, key)


def _promote(model_dir, version, new_metrics, current, eval_rows, eval_gold, eval_answers, spans, settings, asked):
    """Make `version` current if asked, if there is no current model, or if it is not worse on the frozen set."""
    new_score = evaluation.headline(new_metrics)
    if asked or current is None:
        registry.set_current(model_dir, version)
        log(f"train: {version} is now current (frozen macro-F1 {new_score:.3f})")
        return
    try:
        old_model, _ = stance.load_model(registry.model_file(model_dir, current))
        old_score = evaluation.headline(evaluation.evaluate(old_model, eval_rows, eval_gold, eval_answers, spans,
                                                            settings)[0])
    except stance.ModelTrustError as err:
        log(f"train: the current model cannot be checked ({err}); {version} replaces it")
        old_score = float("-inf")
    if new_score >= old_score:
        registry.set_current(model_dir, version)
        log(f"train: {version} is now current: frozen macro-F1 {new_score:.3f} vs {old_score:.3f} for {current}")
    else:
        log(f"train: {version} kept but not made current: frozen macro-F1 {new_score:.3f} is worse than "
            f"{old_score:.3f} for {current}; 'claims models use {version}' or 'claims train --promote' overrides")


def training_table(claims: pd.DataFrame, answers: pd.DataFrame, labels: pd.DataFrame, labels_path: Path,
                   settings: Settings = DEFAULT_SETTINGS) -> dict:
    """Join hand labels to claims and add weak labels for the rest.

    Labels whose sentence or answer is not in the training input (labelled on
    another corpus, or text changed since) are skipped with a warning naming
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
    gold = stance.attach_labels(claims, labels)
    lf_matrix = labeling.apply_labeling_functions(claims)
    # combined, not concatenated: a hand label wins; elsewhere the functions vote with weights from
    # their accuracy on the hand labels, and the row's weight follows the vote's confidence
    weak, confidence = labeling.weighted_vote(lf_matrix, labeling.lf_weights(lf_matrix, gold))
    is_gold = gold.ne(labeling.ABSTAIN).to_numpy()
    use = is_gold | weak.ne(labeling.ABSTAIN).to_numpy()
    y = gold.where(is_gold, weak)
    weights = np.where(is_gold, 1.0, settings.weak_label_weight * confidence.to_numpy())
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


def _frozen_setup(train_input: Path, labels_path: Path, frozen_path: Path, settings: Settings, eval_labels: Path | None):
    """Labelled evaluation rows: the frozen set by default, or another labels file."""
    if eval_labels is None and not Path(frozen_path).exists():
        raise InputError(frozen_path, "no frozen evaluation set yet; 'claims train' draws one")
    labels = stance.read_labels(eval_labels or frozen_path)
    answers, claims = labelled_corpus(train_input, settings)
    rows, gold, answer_labels = evaluation.evaluation_rows(claims, labels)
    sentence_labels = int((labels["level"] == "sentence").sum())
    if len(rows.drop_duplicates(["answer_id", "text"])) < sentence_labels:
        log(f"evaluate: warning: {sentence_labels - len(rows.drop_duplicates(['answer_id', 'text']))} of "
            f"{sentence_labels} sentence labels match no claim of --train-input and are not scored")
    return rows, gold, answer_labels, answers[["answer_id", "title_start", "title_end"]]


def run_evaluate(train_input: Path, labels_path: Path, model_dir: Path, out: Path, settings: Settings = DEFAULT_SETTINGS,
                 model_name: str | None = None, eval_labels: Path | None = None,
                 frozen_path: Path = config.FROZEN_EVAL_FILE, trust: bool = False) -> dict:
    """Score a model (the current one by default) on a labelled set and write its report into `out`."""
    model_path = registry.resolve(model_dir, model_name)
    model, card = stance.load_model(model_path, trust=trust)
    rows, gold, answer_labels, spans = _frozen_setup(train_input, labels_path, frozen_path, settings, eval_labels)
    metrics, _ = evaluation.evaluate(model, rows, gold, answer_labels, spans, settings)
    metrics["model"] = card.get("version", model_path.stem)
    metrics["evaluated_on"] = Path(eval_labels or frozen_path).name
    title = f"{metrics['model']} on {metrics['evaluated_on']}"
    paths = evaluation.write_report(metrics, out, title)
    print(evaluation.readable_table(metrics, title))
    log(f"evaluate: report in {', '.join(str(p) for p in paths)}")
    return metrics


def models_table(model_dir: Path) -> pd.DataFrame:
    current = registry.current_version(model_dir)
    rows = []
    for version, card in registry.cards(model_dir):
        cv = card.get("cross_validation", {}).get("by_answer", {})
        frozen = card.get("frozen_evaluation", {})
        rows.append({
            "version": version, "current": "*" if version == current else "",
            "trained_at": card.get("trained_at", ""),
            "hand_rows": card.get("training_rows", {}).get("hand_labelled"),
            "weak_rows": card.get("training_rows", {}).get("weak_only"),
            "cv_macro_f1": cv.get("claims", {}).get("macro_f1"), "cv_f_avg": cv.get("claims", {}).get("f_avg"),
            "frozen_macro_f1": frozen.get("claims", {}).get("macro_f1"),
            "frozen_f_avg": frozen.get("claims", {}).get("f_avg"),
        })
    return pd.DataFrame(rows)


def compare_models(train_input: Path, labels_path: Path, model_dir: Path, first: str, second: str,
                   settings: Settings = DEFAULT_SETTINGS, frozen_path: Path = config.FROZEN_EVAL_FILE,
                   out: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two versions side by side on the frozen set, and the claims whose predicted stance changed."""
    rows, gold, answer_labels, spans = _frozen_setup(train_input, labels_path, frozen_path, settings, None)
    results, probabilities = {}, {}
    for name in (first, second):
        model, card = stance.load_model(registry.resolve(model_dir, name))
        results[name], probabilities[name] = evaluation.evaluate(model, rows, gold, answer_labels, spans, settings)
    table = pd.DataFrame({name: _flat_scores(metrics) for name, metrics in results.items()})
    changed = evaluation.changed_predictions(rows, gold, probabilities[first], probabilities[second])
    if out is not None:
        write_csv(changed, Path(out) / "changed_predictions.csv", list(changed.columns))
    return table, changed


def _flat_scores(metrics: dict) -> dict:
    flat = {}
    for level in ("claims", "answers"):
        if level in metrics:
            m = metrics[level]
            flat.update({f"{level} macro-F1": m["macro_f1"], f"{level} F_avg": m["f_avg"],
                         f"{level} accuracy": m["accuracy"]})
            flat.update({f"{level} F1 {label}": row["f1"] for label, row in m["per_class"].items()})
    flat["claims ECE"] = metrics["claims"]["calibration"]["ece"]
    return flat


def label_export(out: Path, model_dir: Path, labels_path: Path, n: int, strategy: str = "margin",
                 include_answers: bool = False, target: Path | None = None) -> Path:
    model, _ = stance.load_model(registry.resolve(model_dir))
    answers = read_csv(Path(out) / config.ANSWERS_CSV, "segment")
    claims = read_csv(Path(out) / config.CLAIMS_CSV, "extract")
    labels = stance.read_labels(labels_path)
    picked = annotate.export_uncertain(model, answers, claims, labels, n, strategy, include_answers)
    target = Path(target or Path(out) / "to_label.csv")
    write_csv(picked, target, annotate.EXPORT_COLUMNS)
    log(f"label export: {len(picked)} items from {picked['thread_id'].nunique()} threads, least sure first "
        f"by {strategy} -> {target}")
    return target


def label_import(path: Path, out: Path, labels_path: Path, annotator: str | None = None) -> tuple[int, int, int]:
    answers = read_csv(Path(out) / config.ANSWERS_CSV, "segment")
    claims = read_csv(Path(out) / config.CLAIMS_CSV, "extract")
    labels = stance.read_labels(labels_path)
    counts = annotate.import_labels(Path(path), Path(labels_path), labels, claims, answers, annotator)
    log(f"label import: {counts[0]} labelled rows: {counts[1]} new, {counts[2]} changed -> {labels_path}")
    return counts


def ensure_model(train_input: Path, labels_path: Path, model_dir: Path, out: Path,
                 settings: Settings = DEFAULT_SETTINGS, frozen_path: Path = config.FROZEN_EVAL_FILE) -> None:
    """For `run`: train only when there is no current model; otherwise say whether it is out of date.

    `run` never replaces the current model by itself, so a version chosen with
    `models use` stays in use until `claims train` is run.
    """
    current = registry.current_version(model_dir)
    if current is None:
        run_train(train_input, labels_path, model_dir, out, settings, frozen_path=frozen_path)
        return
    card = stance.load_card(registry.model_file(model_dir, current))
    key = fingerprint("train", _digest(readers.discover_threads(train_input)), _digest([labels_path, frozen_path]),
                      _code(["segment", "extract", "train"]), settings.as_dict())
    kept_report = registry.model_file(model_dir, current).with_suffix(".labeling_functions.csv")
    if kept_report.exists():
        files.atomic_write_bytes(Path(out) / config.LF_REPORT_CSV, kept_report.read_bytes())
    if card.get("training_key") == key:
        log(f"train: the current model {current} is up to date with the labels")
    else:
        log(f"train: using the current model {current}; labels, training threads or code changed since it was "
            "trained: 'claims train' makes a new version")


def run_pipeline(input_path: Path, out: Path, model_dir: Path, settings: Settings = DEFAULT_SETTINGS,
                 force: bool = False, jobs: int | None = None, backend: str = "local",
                 scheduler: str | None = None) -> StageResult:
    """Segment, extract and classify the corpus in chunks with the current model (see pipeline.corpus)."""
    model_path = registry.resolve(model_dir)
    stance.load_model(model_path)  # refuse an untrusted model before any work
    paths = readers.discover_threads(input_path)
    key = fingerprint("run", _digest(paths), _code(["segment", "extract", "classify"]), settings.as_dict(),
                      files.sha256_file(model_path))
    stamps = Stamps(out)
    targets = [Path(out) / f"{table}.csv" for table in corpus.TABLES]
    if not force and stamps.up_to_date("run", key, targets):
        log("run: up to date, skipped (inputs, model, settings, code and rules unchanged; --force re-runs it)")
        return StageResult("run", False, key, _read_errors(targets[-1]))
    result = corpus.run_corpus(input_path, out, key, settings, model_path, jobs, backend, scheduler,
                               progress=lambda results: tqdm(results, desc="chunks", unit="chunk", disable=None,
                                                             leave=False))
    stamps.record("run", key)
    errors = _read_errors(targets[-1])
    resumed = f", {result['resumed']} of them resumed from an earlier run" if result["resumed"] else ""
    jobs = jobs or os.cpu_count() or 1
    in_process = backend == "local" and (jobs == 1 or result["chunks"] - result["resumed"] < 2)
    how = "local, in this process" if in_process else f"{backend}, {jobs} jobs"
    log(f"run: {result['chunks']} chunk{'' if result['chunks'] == 1 else 's'} of up to {settings.chunk_threads} "
        f"threads{resumed} ({how}) -> {out}")
    return StageResult("run", True, key, errors)


def run_classify(out: Path, model_dir: Path, settings: Settings = DEFAULT_SETTINGS, force: bool = False,
                 trust: bool = False, model_name: str | None = None) -> StageResult:
    stamps = Stamps(out)
    upstream = stamps.key("extract")
    if upstream is None:
        raise InputError(Path(out) / config.CLAIMS_CSV, "no record of an extract run here; run 'claims extract' first")
    model_path = registry.resolve(model_dir, model_name)
    model, card = stance.load_model(model_path, trust=trust)
    key = fingerprint("classify", upstream, files.sha256_file(model_path),
                      _code(["classify"]), settings.as_dict())
    targets = [Path(out) / name for name in (config.ANSWERS_CSV, config.CLAIMS_CSV, config.SUMMARY_CSV)]
    if not force and stamps.up_to_date("classify", key, targets):
        _skip_message("classify")
        return StageResult("classify", False, key)
    answers = read_csv(targets[0], "segment")
    claims = read_csv(targets[1], "extract")
    answers, claims = dataset.classify(model, answers, claims, settings)
    summary = dataset.summarise(answers, claims)
    write_csv(claims, targets[1], extract.CLAIM_COLUMNS)
    write_csv(answers, targets[0], ANSWERS_OUTPUT_COLUMNS)
    write_csv(summary, targets[2], dataset.SUMMARY_COLUMNS)
    stamps.record("classify", key)
    log(f"classify: stance for {len(claims)} claims and {int((answers['role'] == 'answer').sum())} answers; "
        f"summary of {len(summary)} threads -> {targets[2]}")
    return StageResult("classify", True, key)
