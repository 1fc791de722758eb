"""What each `claims` command does, as functions: the command line parses its arguments and calls these.

Every command that runs stages is one `execute` (pipeline.runner.execute) of
the declared stages with a source and a sink: `run` is the three thread stages
with the chunked runner, `segment`, `extract` and `classify` one each, `train`,
`evaluate` and `report` theirs.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from pipeline import config, schemas
from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.io import files, outputs, readers
from pipeline.io.files import InputError, log, write_csv
from pipeline.learning import registry, shipped
from pipeline.learning.labels import read_labels
from pipeline.measuring.gold_sets import GoldCorpus
from pipeline.runner.chunked import Chunked
from pipeline.runner.execute import Outcome, Plan, execute
from pipeline.runner.graph import GRAPH, THREAD_STAGES
from pipeline.runner.sinks import FolderSink, ModelsSink, Source


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


def check_input(input_path: Path, out: Path | None = None) -> None:
    """A wrong --input is an error before any folder is made; --out must not be the input folder (the tables
    written there would be read as threads by the next run). A folder inside the input is never read (the
    input folder is read without its subfolders), so data/raw/processed is allowed."""
    readers.discover_threads(input_path)
    if out is not None and Path(input_path).resolve() == Path(out).resolve():
        raise InputError(out, "is the input folder; the tables written there would be read as threads next time: "
                              "give another --out")


def _bar(desc: str, unit: str, total: int | None = None):
    return lambda iterable: tqdm(iterable, desc=desc, unit=unit, total=total, leave=False,
                                 disable=None if files.VERBOSITY["level"] else True)


def _chunked(name: str, settings: Settings, input_path: Path | None, jobs: int | None = 1, **dask) -> Chunked:
    total = -(-readers.estimate_threads(input_path) // settings.run.chunk_threads) if input_path else None
    return Chunked(jobs, progress=_bar(name, "chunk", total), **dask)


def segment(input_path: Path, out: Path, settings: Settings = DEFAULT_SETTINGS, force: bool = False) -> Outcome:
    check_input(input_path, out)
    sink = FolderSink(out)
    outcome = execute(["segment"], Source(threads=input_path), sink, settings,
                      _chunked("segment", settings, input_path), force)
    _say_skipped("segment", outcome)
    if outcome.ran:
        answers = sink.columns("answers", ["thread_id", "role"])
        log(f"segment: {answers['thread_id'].nunique()} threads, {int((answers['role'] == 'answer').sum())} answers "
            f"-> {Path(out) / 'answers.csv'}")
    return outcome


def check_tables(out: Path, *names: str) -> None:
    """A command that reads a run's tables names the folder if they are not there, before making anything."""
    missing = [name for name in names if not Path(out, f"{name}.csv").exists()
               and not outputs.staged_path(Path(out, f"{name}.csv")).exists()]
    if missing:
        writer = next(s.name for s in GRAPH.values() if missing[0] in s.outputs)
        raise InputError(Path(out) / f"{missing[0]}.csv", f"missing; no record of a{'n' if writer[0] in 'aeiou' else ''} "
                                                          f"{writer} run here; run 'claims {writer}' first")


def extract(out: Path, settings: Settings = DEFAULT_SETTINGS, force: bool = False) -> Outcome:
    """Claims of the answers in OUT/answers.csv (the thread files are not read again)."""
    check_tables(out, "answers")
    sink = FolderSink(out)
    outcome = execute(["extract"], Source(tables=Path(out)), sink, settings, _chunked("extract", settings, None),
                      force)
    _say_skipped("extract", outcome)
    if outcome.ran:
        log(f"extract: {len(sink.columns('claims', ['claim_id']))} claims -> {Path(out) / 'claims.csv'}")
    return outcome


def classify(out: Path, model_dir: Path, settings: Settings = DEFAULT_SETTINGS, force: bool = False,
             model_name: str | None = None) -> Outcome:
    check_tables(out, "answers", "claims")
    sink = FolderSink(out)
    with outputs.locked(model_dir, shared=True):
        source = Source(tables=Path(out), model_dir=Path(model_dir), model_name=model_name)
        Plan([GRAPH["classify"]], source, sink, settings)  # no extract run here: say so before loading a model
        registry.load_model(registry.resolve(model_dir, model_name))  # refuse an untrusted model before any work
        outcome = execute(["classify"], source, sink, settings, _chunked("classify", settings, None), force)
    if outcome.ran:
        roles = sink.columns("answers", ["role"])["role"]
        log(f"classify: stance for {len(sink.columns('claims', ['claim_id']))} claims and "
            f"{int((roles == 'answer').sum())} answers; summary of {len(sink.columns('summary', ['thread_id']))} "
            f"threads -> {Path(out) / 'summary.csv'}")
    return outcome


def _say_skipped(stage: str, outcome: Outcome) -> None:
    for err in outcome.errors if outcome.ran else []:
        log(f"{stage}: skipped {err.source}{f':{err.line}' if err.line else ''}: {err.problem}")


def train_source(train_input: Path, labels_path: Path, model_dir: Path, gold: GoldCorpus | None) -> Source:
    return Source(training_threads=Path(train_input), labels=Path(labels_path), model_dir=Path(model_dir),
                  gold=gold or GoldCorpus())


def train(train_input: Path, labels_path: Path, model_dir: Path, out: Path, settings: Settings = DEFAULT_SETTINGS,
          force: bool = False, promote: bool = False, gold: GoldCorpus | None = None) -> Outcome:
    """A new model version from the annotated corpus's dev part and the labels file; current if it is better.

    The corpus's test part is the frozen set: never trained on, every version
    and both baselines are scored on it, with thread-bootstrap intervals.
    """
    read_labels(labels_path)  # a missing or malformed labels file: said before anything is read or locked
    return execute(["train"], train_source(train_input, labels_path, model_dir, gold),
                   ModelsSink(model_dir, out, promote), settings, force=force)


def ensure_model(train_input: Path, labels_path: Path, model_dir: Path, out: Path,
                 settings: Settings = DEFAULT_SETTINGS, gold: GoldCorpus | None = None) -> None:
    """For `run`: a model to classify with. A models folder without one takes the model shipped with the package
    when training would learn nothing else (learning.shipped); otherwise one is trained, with its progress shown.
    An existing model is never replaced by `run` (a version chosen with `models use` stays), only said to be out
    of date, unless it cannot load here at all (written by another scikit-learn)."""
    model_dir, gold = Path(model_dir), gold or GoldCorpus()
    current = registry.current_version(model_dir)
    card = registry.load_card(registry.model_file(model_dir, current)) if current else None
    if card is not None and not registry.written_here(card):
        log(f"run: the current model {current} was written by scikit-learn {card['versions']['scikit-learn']} and "
            f"cannot load with this one: training a new version from the annotated corpus and {labels_path}")
        train(train_input, labels_path, model_dir, out, settings, gold=gold)
        return
    if current is None:
        if shipped.shipped_version() and shipped.better_start(labels_path, gold, settings):
            with outputs.locked(model_dir):
                if registry.current_version(model_dir) is None:
                    version = shipped.adopt(model_dir)
                    log(f"run: no model in {model_dir} yet: using {version}, the model shipped with the package "
                        "(trained on the annotated corpus and the bundled labels); 'claims train' trains one on "
                        "labels of your own")
            return
        log(f"run: no model in {model_dir} yet: training one from the annotated corpus and {labels_path}")
        train(train_input, labels_path, model_dir, out, settings, gold=gold)
        return
    try:  # only to say whether the model is up to date: what training would read need not be there
        source = train_source(train_input, labels_path, model_dir, gold)
        key = Plan([GRAPH["train"]], source, ModelsSink(model_dir, out), settings).keys["train"]
    except (InputError, OSError) as err:
        log(f"train: using the current model {current} (whether it is up to date with its training data cannot be "
            f"told: {err})", files.VERBOSE)
        return
    if card.get("training_key") == key:
        log(f"train: the current model {current} is up to date with the labels", files.VERBOSE)
    else:  # the shipped model's key holds the code as it was when it was made: said only with -v
        log(f"train: using the current model {current}; labels, training threads, settings or code changed since "
            "it was trained: 'claims train' makes a new version", files.VERBOSE if card.get("shipped") else files.NORMAL)


def run(input_path: Path, out: Path, model_dir: Path, settings: Settings = DEFAULT_SETTINGS, force: bool = False,
        jobs: int | None = None, backend: str = "local", scheduler: str | None = None, tls=None) -> Outcome:
    """Segment, extract and classify the threads in chunks with the current model (see pipeline.runner.chunked);
    a second run with another --out may read the same models folder at the same time."""
    check_input(input_path, out)
    started = time.monotonic()
    sink = FolderSink(out, settings.run.output_format)
    with outputs.locked(model_dir, shared=True):
        registry.load_model(registry.resolve(model_dir))  # refuse an untrusted model before any work
        runner = _chunked("run", settings, input_path, jobs, backend=backend, scheduler=scheduler, tls=tls)
        outcome = execute(list(THREAD_STAGES), Source(threads=Path(input_path), model_dir=Path(model_dir)), sink,
                          settings, runner, force)
    if not outcome.ran:
        return outcome
    resumed = f", {outcome.resumed} of them resumed from an earlier run" if outcome.resumed else ""
    jobs = runner.jobs
    in_process = backend == "local" and (jobs == 1 or outcome.chunks - outcome.resumed < 2)
    how = "local, in this process" if in_process else f"{backend}, {jobs} jobs"
    log(f"run: {outcome.chunks} chunk{'' if outcome.chunks == 1 else 's'} of up to {settings.run.chunk_threads} "
        f"threads{resumed} ({how})", files.NORMAL if outcome.resumed else files.VERBOSE)
    log(closing_summary(sink, len(outcome.errors), time.monotonic() - started))
    return outcome


def closing_summary(sink: FolderSink, skipped: int, seconds: float) -> str:
    """What a run produced, from its summary table (one row a thread, so cheap on any input)."""
    summary = sink.columns("summary", ["answers", "claims", *(f"claims_{t}" for t in schemas.CLAIM_TYPES)]).astype(int)
    by_type = ", ".join(f"{int(summary[f'claims_{t}'].sum()):,} {t.replace('_', ' ')}" for t in schemas.CLAIM_TYPES)
    lines = [f"run: {len(summary):,} threads, {int(summary['answers'].sum()):,} answers, "
             f"{int(summary['claims'].sum()):,} claims ({by_type}) in {seconds:.1f} s -> {sink.folder}"]
    if skipped:
        lines.append(f"run: {skipped:,} input item{'s' if skipped != 1 else ''} skipped: each is a row of "
                     f"{sink.folder / 'errors.csv'}")
    return "\n".join(lines)


def evaluate(model_dir: Path, out: Path, settings: Settings = DEFAULT_SETTINGS, model_name: str | None = None,
             gold: GoldCorpus | None = None, force: bool = False) -> Outcome:
    """A model (the current one by default) and the baselines on the frozen set -> metrics.json, metrics.txt, PNGs."""
    with outputs.locked(model_dir, shared=True):
        outcome = execute(["evaluate"], Source(model_dir=Path(model_dir), model_name=model_name,
                                               gold=gold or GoldCorpus()), FolderSink(out), settings, force=force)
    log(f"evaluate: figures in {Path(out) / 'metrics.txt'} and beside it")
    return outcome


def report(out: Path, report_dir: Path | None = None, force: bool = False) -> Outcome:
    """report.html and its figures from a run's tables, into `report_dir` (default OUT/report). The run's folder
    is read under its shared lock, so no run switches its tables in while the report reads them."""
    check_tables(out, "answers", "claims")
    with outputs.locked(out, shared=True):
        return execute(["report"], Source(tables=Path(out)), FolderSink(report_dir or Path(out) / "report"),
                       force=force)
