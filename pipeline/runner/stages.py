"""The stages as runnable steps: read inputs, call the stage's core function, write outputs.

The stages are declared once (GRAPH: inputs, upstream stages, model, outputs).
A stage is skipped when its fingerprint (input files, upstream keys, the whole
package's code and rule files, output settings, model) matches the stamp it
left last time and its declared outputs still exist. Running a stage clears
the stamps of the stages downstream of it or sharing its outputs, so they run
again. Stamps live in ``<out>/.stamps/``; a trained model's fingerprint is kept
in its card.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from pipeline import config, schemas
from pipeline.learning import annotate
from pipeline.runner import chunked as corpus
from pipeline.stages import classify as dataset
from pipeline.measuring import evaluation
from pipeline.io import files
from pipeline.components import build_nlp
from pipeline.io import outputs
from pipeline.io import readers
from pipeline.learning import registry
from pipeline.learning import labels as hand_labels
from pipeline.learning import train
from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.io.files import InputError, log, write_csv
from pipeline.io.outputs import read_csv

@dataclass(frozen=True)
class Stage:
    """One stage as declared: what its fingerprint holds and what it writes into --out.

    Everything about re-running is derived from these declarations: a stage's
    key (stage_key), whether it is up to date (Stamps.up_to_date), and which
    stamps a run clears (the stages downstream of it, and those writing one of
    its outputs: `run` and the single stages rewrite the same tables).
    """

    name: str
    reads_threads: bool  # the thread files (and a propositions table) are inputs
    upstream: tuple[str, ...]  # stages whose result it reads (their keys are inputs)
    uses_model: bool  # the stance model file is an input
    outputs: tuple[str, ...]  # files in --out
    reads_labels: bool = False  # the labels file and the annotated corpus (gold files, split) are inputs


GRAPH = {stage.name: stage for stage in (
    Stage("segment", True, (), False, (config.ANSWERS_CSV, "errors.csv")),
    Stage("extract", False, ("segment",), False, (config.CLAIMS_CSV, "errors.csv")),
    Stage("classify", False, ("extract",), True, (config.ANSWERS_CSV, config.CLAIMS_CSV, config.SUMMARY_CSV)),
    Stage("run", True, (), True, (config.ANSWERS_CSV, config.CLAIMS_CSV, config.SUMMARY_CSV, "errors.csv")),
    # its stamp is the training key in the model's card; a new model re-runs the stages that use one
    Stage("train", True, (), False, (config.LF_REPORT_CSV,), reads_labels=True),
)}


def downstream(name: str) -> tuple[str, ...]:
    """Stages whose stamps no longer hold once `name` ran: those reading it (transitively), and those sharing
    an output with it that it does not itself read from."""
    after = {name}
    changed = True
    while changed:
        grown = {s.name for s in GRAPH.values() if after & set(s.upstream)} | after
        changed, after = grown != after, grown
    sharing = {s.name for s in GRAPH.values() if set(s.outputs) & set(GRAPH[name].outputs)}
    return tuple(sorted((after | sharing) - {name} - ancestors(name)))


def stale_tables(name: str) -> tuple[str, ...]:
    """Tables in --out that running `name` makes stale: written by a stage downstream, not by `name` or what it reads
    (a new answers.csv makes claims.csv and summary.csv stale; they leave the manifest, see pipeline.outputs)."""
    later = {table for s in downstream(name) for table in GRAPH[s].outputs}
    kept = set(GRAPH[name].outputs).union(*(GRAPH[s].outputs for s in ancestors(name)))
    return tuple(sorted((later - kept) & set(outputs.TABLE_FILES)))


def ancestors(name: str) -> set[str]:
    """The stages `name` reads from, transitively (it rewrites their tables by design: classify adds stance)."""
    found = set(GRAPH[name].upstream)
    for earlier in GRAPH[name].upstream:
        found |= ancestors(earlier)
    return found


PACKAGE_DIR = Path(__file__).resolve().parents[1]


def writes(*folders: str):
    """Run the stage holding the lock of each named folder argument (--out, --models); in --out, first finish a
    table switch a killed run left half done. A second process on the same folder is refused, naming the first."""
    def wrap(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def locked(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            if bound.arguments.get("input_path") is not None:  # a wrong --input: an error before any folder is made
                readers.discover_threads(bound.arguments["input_path"])
            with ExitStack() as held:
                for name in folders:
                    held.enter_context(outputs.locked(Path(bound.arguments[name])))
                if "out" in folders:
                    outputs.recover(Path(bound.arguments["out"]))
                return function(*args, **kwargs)
        return locked
    return wrap


def init_project(folder: Path) -> list[Path]:
    """The project layout under `folder` (what the command line's defaults expect): what was made, nothing
    overwritten."""
    folder = Path(folder)
    made = []
    for sub in (config.PROJECT_INPUT, config.PROJECT_LABELS.parent, config.PROJECT_OUT, config.PROJECT_MODELS):
        if not (folder / sub).is_dir():
            (folder / sub).mkdir(parents=True, exist_ok=True)
            made.append(sub)
    labels = folder / config.PROJECT_LABELS
    if not labels.exists():
        write_csv(pd.DataFrame(columns=schemas.LABEL_COLUMNS), labels, schemas.LABEL_COLUMNS)
        made.append(config.PROJECT_LABELS)
    return made


def check_apart(input_path: Path, out: Path) -> None:
    """--out must not be the input folder: the tables would be read as threads by the next run.

    A folder inside the input is never read (the input folder is read without
    its subfolders), so data/raw/processed is allowed.
    """
    if Path(input_path).resolve() == Path(out).resolve():
        raise InputError(out, "is the input folder; the tables written there would be read as threads next time: "
                              "give another --out")


@dataclass
class StageResult:
    stage: str
    ran: bool
    key: str
    errors: list[InputError] = field(default_factory=list)


def _digest(paths) -> list[tuple[str, str]]:
    return [(Path(p).name, files.sha256_file(p)) for p in paths]


def _inputs(input_path: Path, settings: Settings) -> list[tuple[str, str]]:
    """Digest of the thread files and of the propositions table given by hand, if any.

    A file that cannot be read is digested as its problem, not opened (a named
    pipe would block, an unreadable file would stop the run before reading
    could name it): reading gives it its row in errors.csv.
    """
    digests = []
    for path in readers.discover_threads(input_path):
        problem = readers.input_problem(path, input_path, settings)
        if problem is None:
            try:
                digests.append((path.name, files.sha256_file(path)))
                continue
            except OSError as err:
                problem = f"cannot be read ({err.strerror or err})"
        digests.append((path.name, f"not read: {problem}"))
    return digests + (_digest([settings.propositions_file]) if settings.propositions_file else [])


def _code(stage_names=None) -> list[tuple[str, str]]:
    """Digest of the whole package: every module and rule file, so that no code a stage runs can be left out.

    Any edit to the package re-runs the stages (a hand-kept list of modules
    per stage once forgot two of them and reported stale tables as up to date).
    """
    paths = sorted(p for p in PACKAGE_DIR.rglob("*") if p.is_file() and p.suffix in {".py", ".json", ".jsonl"}
                   and "__pycache__" not in p.parts)
    return [(p.relative_to(PACKAGE_DIR).as_posix(), files.sha256_file(p)) for p in paths]


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
        for later in downstream(stage):
            (self.folder / f"{later}.json").unlink(missing_ok=True)

    def up_to_date(self, stage: str, key: str) -> bool:
        """The stage's stamp holds this key and every output it declares is there (tables: as the manifest says)."""
        out, declared = self.folder.parent, GRAPH[stage].outputs
        return (self.key(stage) == key and all((out / name).exists() for name in declared)
                and outputs.intact(out, [name for name in declared if name in outputs.TABLE_FILES]))


def upstream_keys(name: str, out: Path) -> list[str]:
    """The keys the upstream stages left in `out`; a missing one is an error naming the command to run first."""
    stamps, keys = Stamps(out), []
    for earlier in GRAPH[name].upstream:
        key = stamps.key(earlier)
        if key is None:
            raise InputError(Path(out) / GRAPH[earlier].outputs[0],
                             f"no record of a{'n' if earlier[0] in 'aeiou' else ''} {earlier} run here; "
                             f"run 'claims {earlier}' first")
        keys.append(key)
    return keys


def stage_key(name: str, out: Path, input_path: Path | None = None, settings: Settings = DEFAULT_SETTINGS,
              model_path: Path | None = None, labels: tuple[Path, "train.GoldCorpus"] | None = None) -> str:
    """A stage's fingerprint, from its declaration: inputs, upstream keys, the package's code, output settings, model.

    An upstream stage that has left no stamp in `out` is an error naming the command to run first.
    """
    from importlib.metadata import version

    stage = GRAPH[name]
    labelled = None
    if stage.reads_labels:
        labels_path, corpus = labels
        labelled = _digest([labels_path]) + _digest(sorted(Path(corpus.gold_dir).glob("*.json"))
                                                    + [Path(corpus.split_path)])
    return fingerprint(name, _inputs(input_path, settings) if stage.reads_threads else None,
                       upstream_keys(name, out), _code(), settings.outputs(),
                       files.sha256_file(model_path) if stage.uses_model else None, labelled,
                       version("spacy"))


def _skip_message(stage: str) -> None:
    log(f"{stage}: up to date, skipped (inputs, settings, code and rules unchanged; --force re-runs it)")


def _progress(desc: str, total: int | None = None):
    return lambda iterable: tqdm(iterable, desc=desc, total=total, unit="doc", disable=None, leave=False)


@writes("out")
def run_segment(input_path: Path, out: Path, settings: Settings = DEFAULT_SETTINGS, force: bool = False) -> StageResult:
    check_apart(input_path, out)
    key = stage_key("segment", out, input_path, settings)
    stamps, target = Stamps(out), Path(out) / config.ANSWERS_CSV
    errors_csv = Path(out) / "errors.csv"
    if not force and stamps.up_to_date("segment", key):
        _skip_message("segment")
        return StageResult("segment", False, key, _read_errors(errors_csv))
    items = tqdm(readers.iter_threads(input_path, settings), desc="segment", unit="thread", disable=None, leave=False)
    answers, records = corpus.segment_chunk(items, settings)
    errors = [InputError(r.source, r.problem, r.line) for r in records]
    for err in errors:
        log(f"segment: skipped {err}")
    _publish(out, "segment", {config.ANSWERS_CSV: (answers.assign(stance=None, stance_score=float("nan")),
                                                   schemas.ANSWERS_OUTPUT_COLUMNS),
                              "errors.csv": (corpus.error_frame(errors), schemas.ERROR_COLUMNS)})
    stamps.record("segment", key)
    log(f"segment: {answers['thread_id'].nunique()} threads, {int((answers['role'] == 'answer').sum())} answers "
        f"-> {target}")
    return StageResult("segment", True, key, errors)


def _read_errors(path: Path) -> list[InputError]:
    """The errors of the last segment run, so a skipped run still reports what it skipped."""
    frame = pd.read_csv(outputs.table_path(path), dtype={"source": str, "error": str}, keep_default_na=False)
    return [InputError(r["source"], r["error"], int(r["line"]) if str(r["line"]).strip() else None)
            for r in frame.to_dict("records")]


def _publish(out: Path, stage: str, tables: dict[str, tuple[pd.DataFrame, list[str]]]) -> None:
    """A stage's tables into --out as one set, the tables it makes stale dropped (see pipeline.outputs)."""
    outputs.write_tables(out, {name: files.csv_bytes(frame, columns) for name, (frame, columns) in tables.items()},
                         stage, stale_tables(stage))


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


@writes("out")
def run_extract(input_path: Path, out: Path, settings: Settings = DEFAULT_SETTINGS, force: bool = False) -> StageResult:
    stamps, target = Stamps(out), Path(out) / config.CLAIMS_CSV
    key = stage_key("extract", out, input_path, settings)
    if not force and stamps.up_to_date("extract", key):
        _skip_message("extract")
        return StageResult("extract", False, key)
    answers = read_csv(Path(out) / config.ANSWERS_CSV, "segment")
    docs = int(answers["thread_id"].nunique())  # about one spaCy doc per thread
    texts = _thread_texts(input_path, answers["thread_id"], settings)
    claims, _, failed = corpus.extract_chunk(build_nlp(settings), answers, texts, settings,
                                             progress=_progress("extract", docs))
    errors = [InputError(r.source, r.problem, r.line) for r in failed]
    for err in errors:
        log(f"extract: skipped {err}")
    tables = {config.CLAIMS_CSV: (claims, schemas.CLAIM_COLUMNS)}
    if errors:  # beside segment's: the thread's answers stay in answers.csv, without claims
        tables["errors.csv"] = (corpus.error_frame(_read_errors(Path(out) / "errors.csv") + errors), schemas.ERROR_COLUMNS)
    _publish(out, "extract", tables)
    stamps.record("extract", key)
    log(f"extract: {len(claims)} claims -> {target}")
    return StageResult("extract", True, key, errors)


@writes("out", "model_dir")
def run_train(input_path: Path, labels_path: Path, model_dir: Path, out: Path,
              settings: Settings = DEFAULT_SETTINGS, force: bool = False, promote: bool = False,
              corpus: train.GoldCorpus | None = None) -> StageResult:
    """Train a new model version from the corpus's hand labels and the labels file; make it current if better.

    The corpus's test part is the frozen set: never trained on, every version
    and both baselines are scored on it, with thread-bootstrap intervals.
    """
    corpus = corpus or train.GoldCorpus()
    for folder in (model_dir, out):  # what a training killed before it finished left behind
        files.sweep_temporaries(folder)
    labels = hand_labels.read_labels(labels_path)
    key = stage_key("train", out, input_path, settings, labels=(labels_path, corpus))
    report = Path(out) / config.LF_REPORT_CSV
    current = registry.current_version(model_dir)
    if not force and current:
        current_path = registry.model_file(model_dir, current)
        card = registry.load_card(current_path)
        kept_report = current_path.with_suffix(".labeling_functions.csv")
        if (card.get("training_key") == key and card.get("model_sha256") == files.sha256_file(current_path)
                and kept_report.exists()):
            if not report.exists() or report.read_bytes() != kept_report.read_bytes():
                files.atomic_write_bytes(report, kept_report.read_bytes())
            _skip_message("train")
            return StageResult("train", False, key)
    train.train_version(input_path, labels, labels_path, model_dir, out, key, settings, corpus, promote)
    return StageResult("train", True, key)


def run_evaluate(model_dir: Path, out: Path, settings: Settings = DEFAULT_SETTINGS, model_name: str | None = None,
                 corpus: train.GoldCorpus | None = None) -> dict:
    """Score a model (the current one by default) and the baselines on the frozen set; write the report into `out`."""
    corpus = corpus or train.GoldCorpus()
    model_path = registry.resolve(model_dir, model_name)
    model, card = registry.load_model(model_path)
    sets = corpus.sets()
    claims, answers = sets["frozen_claims"], sets["frozen_answers"]
    majority = card.get("majority", {"claims": "against", "answers": "against"})
    systems = {"this model": evaluation.model_predictions(model, claims, answers, settings),
               "majority baseline": evaluation.majority_predictions(claims, answers, majority["claims"],
                                                                    majority["answers"]),
               "keyword baseline": evaluation.keyword_predictions(claims, answers)}
    report = evaluation.frozen_report(systems, claims, answers, settings.random_state)
    metrics = {**report["this model"], "systems": report, "questions": sets["questions"],
               "model": card.get("version", model_path.stem), "evaluated_on": "the corpus's test part"}
    metrics["claims"]["confusion_matrix"] = evaluation.confusion(claims["label"], systems["this model"]["claims"])
    metrics["answers"]["confusion_matrix"] = evaluation.confusion(answers["label"], systems["this model"]["answers"])
    title = f"{metrics['model']} on {metrics['evaluated_on']}"
    paths = evaluation.write_report(metrics, out, title, evaluation.frozen_table(report, sets["questions"]))
    print(evaluation.frozen_table(report, sets["questions"]))
    log(f"evaluate: report in {', '.join(str(p) for p in paths)}")
    return metrics


def models_table(model_dir: Path) -> pd.DataFrame:
    current = registry.current_version(model_dir)
    rows = []
    for version, card in registry.cards(model_dir):
        cv = card.get("cross_validation", {}).get("by_thread", {})
        frozen = card.get("frozen_evaluation", {})
        rows.append({
            "version": version, "current": "*" if version == current else "",
            "trained_at": card.get("trained_at", ""), "design": card.get("design", "blind"),
            "hand_rows": card.get("training_rows", {}).get("hand_labelled"),
            "weak_rows": card.get("training_rows", {}).get("weak_only"),
            "cv_macro_f1": cv.get("claims", {}).get("macro_f1"), "cv_f_avg": cv.get("claims", {}).get("f_avg"),
            "frozen_macro_f1": frozen.get("claims", {}).get("macro_f1"),
            "frozen_f_avg": frozen.get("claims", {}).get("f_avg"),
            "frozen_answer_accuracy": frozen.get("answers", {}).get("accuracy"),
        })
    return pd.DataFrame(rows)


def compare_models(model_dir: Path, first: str, second: str, settings: Settings = DEFAULT_SETTINGS,
                   corpus: train.GoldCorpus | None = None, out: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two versions side by side on the frozen set, the difference with its interval, and the claims that changed."""
    sets = (corpus or train.GoldCorpus()).sets()
    claims, answers = sets["frozen_claims"], sets["frozen_answers"]
    predicted = {}
    for name in (first, second):
        model, _ = registry.load_model(registry.resolve(model_dir, name))
        predicted[name] = evaluation.model_predictions(model, claims, answers, settings)
    report = evaluation.frozen_report(predicted, claims, answers, settings.random_state)
    difference = evaluation.paired_difference(claims["label"], predicted[second]["claims"],
                                              predicted[first]["claims"], claims["thread_id"], settings.random_state)
    table = pd.DataFrame({name: _flat_scores(metrics) for name, metrics in report.items()}).map(
        lambda v: "" if v is None else f"{v:.3f}")
    table.loc[f"claims macro-F1, {second} minus {first}"] = ["", f"{difference['difference']:+.3f}"]
    table.loc["  95% interval (resampling threads)"] = ["", "[{:+.3f}, {:+.3f}]".format(*difference["interval"])]
    changed = evaluation.changed_predictions(claims, claims["label"], predicted[first]["probabilities"],
                                             predicted[second]["probabilities"])
    if out is not None:
        write_csv(changed, Path(out) / "changed_predictions.csv", list(changed.columns))
    return table, changed


def _flat_scores(metrics: dict) -> dict:
    flat = {}
    for level in ("claims", "answers"):
        m = metrics[level]
        flat.update({f"{level} macro-F1": m["macro_f1"], f"{level} F_avg": m["f_avg"],
                     f"{level} accuracy": m["accuracy"]})
        flat.update({f"{level} F1 {label}": row["f1"] for label, row in m["per_class"].items()})
    flat["claims ECE"] = metrics["claims"].get("calibration", {}).get("ece")
    return flat


def label_export(out: Path, model_dir: Path, labels_path: Path, n: int, strategy: str = "margin",
                 include_answers: bool = False, target: Path | None = None) -> Path:
    model, _ = registry.load_model(registry.resolve(model_dir))
    answers = read_csv(Path(out) / config.ANSWERS_CSV, "segment")
    claims = read_csv(Path(out) / config.CLAIMS_CSV, "extract")
    labels = hand_labels.read_labels(labels_path)
    # only claims of yes/no threads take a stance; the model reads each against its thread's proposition
    claims = dataset.with_question(claims, answers)[dataset.asks_yes_no(claims, answers).to_numpy()]
    picked = annotate.export_uncertain(model, answers, claims, labels, n, strategy, include_answers)
    target = Path(target or Path(out) / "to_label.csv")
    write_csv(picked, target, schemas.EXPORT_COLUMNS)
    log(f"label export: {len(picked)} items from {picked['thread_id'].nunique()} threads, least sure first "
        f"by {strategy} -> {target}")
    return target


def label_import(path: Path, out: Path, labels_path: Path, annotator: str | None = None) -> tuple[int, int, int]:
    answers = read_csv(Path(out) / config.ANSWERS_CSV, "segment")
    claims = read_csv(Path(out) / config.CLAIMS_CSV, "extract")
    labels = hand_labels.read_labels(labels_path)
    counts = annotate.import_labels(Path(path), Path(labels_path), labels, claims, answers, annotator)
    log(f"label import: {counts[0]} labelled rows: {counts[1]} new, {counts[2]} changed -> {labels_path}")
    return counts


@writes("out", "model_dir")
def ensure_model(train_input: Path, labels_path: Path, model_dir: Path, out: Path,
                 settings: Settings = DEFAULT_SETTINGS, corpus: train.GoldCorpus | None = None) -> None:
    """For `run`: train only when there is no current model; otherwise say whether it is out of date.

    `run` never replaces the current model by itself, so a version chosen with
    `models use` stays in use until `claims train` is run.
    """
    current = registry.current_version(model_dir)
    if current is None:
        run_train(train_input, labels_path, model_dir, out, settings, corpus=corpus)
        return
    card = registry.load_card(registry.model_file(model_dir, current))
    key = stage_key("train", out, train_input, settings, labels=(labels_path, corpus or train.GoldCorpus()))
    kept_report = registry.model_file(model_dir, current).with_suffix(".labeling_functions.csv")
    if kept_report.exists():
        files.atomic_write_bytes(Path(out) / config.LF_REPORT_CSV, kept_report.read_bytes())
    if card.get("training_key") == key:
        log(f"train: the current model {current} is up to date with the labels", files.VERBOSE)
    else:
        log(f"train: using the current model {current}; labels, training threads or code changed since it was "
            "trained: 'claims train' makes a new version")


@writes("out", "model_dir")
def run_pipeline(input_path: Path, out: Path, model_dir: Path, settings: Settings = DEFAULT_SETTINGS,
                 force: bool = False, jobs: int | None = None, backend: str = "local",
                 scheduler: str | None = None, tls: corpus.TLSFiles | None = None) -> StageResult:
    """Segment, extract and classify the corpus in chunks with the current model (see pipeline.corpus)."""
    check_apart(input_path, out)
    model_path = registry.resolve(model_dir)
    registry.load_model(model_path)  # refuse an untrusted model before any work
    key = stage_key("run", out, input_path, settings, model_path)
    stamps = Stamps(out)
    targets = [Path(out) / f"{table}.csv" for table in corpus.TABLES]
    if not force and stamps.up_to_date("run", key):
        log("run: up to date, skipped (inputs, model, settings, code and rules unchanged; --force re-runs it)")
        return StageResult("run", False, key, _read_errors(targets[-1]))
    started = time.monotonic()
    total = -(-readers.estimate_threads(input_path) // settings.chunk_threads)  # chunks, rounded up
    result = corpus.run_corpus(input_path, out, key, settings, model_path, jobs, backend, scheduler,
                               progress=lambda results: tqdm(results, desc="run", unit="chunk", total=total,
                                                             disable=None if files.VERBOSITY["level"] else True,
                                                             leave=False), tls=tls)
    stamps.record("run", key)
    errors = _read_errors(targets[-1])
    resumed = f", {result['resumed']} of them resumed from an earlier run" if result["resumed"] else ""
    jobs = jobs or os.cpu_count() or 1
    in_process = backend == "local" and (jobs == 1 or result["chunks"] - result["resumed"] < 2)
    how = "local, in this process" if in_process else f"{backend}, {jobs} jobs"
    log(f"run: {result['chunks']} chunk{'' if result['chunks'] == 1 else 's'} of up to {settings.chunk_threads} "
        f"threads{resumed} ({how})", files.NORMAL if result["resumed"] else files.VERBOSE)
    log(closing_summary(out, len(errors), time.monotonic() - started))
    return StageResult("run", True, key, errors)


def closing_summary(out: Path, skipped: int, seconds: float) -> str:
    """What a run produced, from its summary table (one row a thread, so cheap on any corpus)."""
    summary = read_csv(Path(out) / config.SUMMARY_CSV, "run")
    by_type = ", ".join(f"{int(summary[f'claims_{t}'].sum()):,} {t.replace('_', ' ')}" for t in schemas.CLAIM_TYPES)
    lines = [f"run: {len(summary):,} threads, {int(summary['answers'].sum()):,} answers, "
             f"{int(summary['claims'].sum()):,} claims ({by_type}) in {seconds:.1f} s -> {out}"]
    if skipped:
        lines.append(f"run: {skipped:,} input item{'s' if skipped != 1 else ''} skipped: each is a row of "
                     f"{Path(out) / 'errors.csv'}")
    return "\n".join(lines)


@writes("out")
def run_classify(out: Path, model_dir: Path, settings: Settings = DEFAULT_SETTINGS, force: bool = False,
                 model_name: str | None = None) -> StageResult:
    stamps = Stamps(out)
    upstream_keys("classify", out)  # no extract run here: say so before loading a model
    model_path = registry.resolve(model_dir, model_name)
    model, card = registry.load_model(model_path)
    key = stage_key("classify", out, None, settings, model_path)
    targets = [Path(out) / name for name in GRAPH["classify"].outputs]
    if not force and stamps.up_to_date("classify", key):
        _skip_message("classify")
        return StageResult("classify", False, key)
    answers = read_csv(targets[0], "segment")
    claims = read_csv(targets[1], "extract")
    answers, claims, summary = corpus.classify_chunk(model, answers, claims, settings)
    _publish(out, "classify", {config.ANSWERS_CSV: (answers, schemas.ANSWERS_OUTPUT_COLUMNS),
                               config.CLAIMS_CSV: (claims, schemas.CLAIM_COLUMNS),
                               config.SUMMARY_CSV: (summary, schemas.SUMMARY_COLUMNS)})
    stamps.record("classify", key)
    log(f"classify: stance for {len(claims)} claims and {int((answers['role'] == 'answer').sum())} answers; "
        f"summary of {len(summary)} threads -> {targets[2]}")
    return StageResult("classify", True, key)
