"""One executor for every stage: lock, fingerprint, skip, read, step, publish and stamp.

`execute(names, source, sink, settings, runner)` runs any run of consecutive
stages of the declared graph (pipeline.runner.graph): `claims run` is the three
thread stages with the chunked runner, a single command is one stage, the
Python API and the accuracy bench are the thread stages in memory, training
segments and extracts its threads through it too.

A stage's key (its fingerprint) holds the keys of its inputs (the thread
files' digests, the key of the stage that wrote a table it reads, the model
file's sha256, the labels and the annotated corpus), the settings blocks it
declares, the digest of the whole package (every module and rule file, so that
no code a stage runs can be left out) and spaCy's version. A stage whose key is
the one its sink recorded, with its outputs intact, is skipped; from the first
stage that is not, every later one runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.io import files, readers
from pipeline.io.files import ErrorRecord, InputError, log
from pipeline.runner.graph import (GRAPH, TABLE_ARTIFACTS, Context, Stage, check_chain, errors_of, producers,
                                   published, stale_tables)
from pipeline.runner.sinks import FolderSink, MemorySink, Source, read_errors

PACKAGE_DIR = Path(__file__).resolve().parents[1]
# in the package but changing no stage's work: the list of shipped models is written after the model it lists was
# trained, so counting it would make the shipped model's own training key never match
NOT_CODE = frozenset({"shipped_models.json"})


@dataclass
class Outcome:
    """What a run did: the stages it ran and skipped, their keys, the input it skipped, what it left in memory."""

    ran: list[str]
    skipped: list[str]
    keys: dict[str, str]
    errors: list[ErrorRecord] = field(default_factory=list)
    artifacts: dict = field(default_factory=dict)  # a MemorySink's outputs; file-backed runs leave this empty
    chunks: int = 0
    resumed: int = 0


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


CODE_SUFFIXES = {".py", ".json", ".jsonl", ".crfsuite", ".joblib"}  # modules, rule files, the learned segmenter and
# claim detector


def code_digest() -> list[tuple[str, str]]:
    """Digest of the whole package: every module and rule file, so that no code a stage runs can be left out.

    Any edit to the package re-runs the stages (a hand-kept list of modules
    per stage once forgot two of them and reported stale tables as up to date).
    """
    paths = sorted(p for p in PACKAGE_DIR.rglob("*") if p.is_file() and p.suffix in CODE_SUFFIXES
                   and "__pycache__" not in p.parts and p.name not in NOT_CODE)
    return [(p.relative_to(PACKAGE_DIR).as_posix(), _stat_digest(str(p), *_stat(p))) for p in paths]


def _stat(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=512)
def _stat_digest(path: str, mtime_ns: int, size: int) -> str:
    """A file's sha256, read again only when it changed (many executes in one process share this)."""
    return files.sha256_file(path)


def digest_files(paths) -> list[tuple[str, str]]:
    return [(Path(p).name, files.sha256_file(p)) for p in paths]


def thread_digest(threads, settings: Settings) -> list:
    """Digest of the thread files (or of thread items given in memory) and of the propositions table, if any.

    A file that cannot be read is digested as its problem, not read (a named
    pipe would block, a file over its size limit would be hashed for nothing,
    an unreadable one would stop the run before reading could name it):
    reading gives it its row in errors.csv.
    """
    if threads is None:
        return []
    if not isinstance(threads, (str, Path)):
        return [(getattr(t, "thread_id", ""), files.sha256_bytes(str(getattr(t, "text", t)).encode("utf-8", "replace")))
                for t in threads]
    digests = []
    for path in readers.discover_threads(threads):
        name = readers.shown(path.name)
        try:  # hashed through the descriptor reading will use: a file swapped after its check is never read
            with readers.open_thread_file(path, threads, settings.read) as handle:
                digests.append((name, files.sha256_stream(handle)))
        except InputError as err:
            digests.append((name, f"not read: {err.problem}"))
    propositions = settings.read.propositions_file
    return digests + (digest_files([propositions]) if propositions else [])


def gold_digest(gold) -> list:
    return digest_files(sorted(Path(gold.gold_dir).glob("*.json")) + [Path(gold.split_path)]
                        + sorted(Path(gold.corpus_dir).glob("*.txt")))


class Plan:
    """The keys of a run's stages, and where each of their inputs comes from."""

    def __init__(self, stages: list[Stage], source: Source, sink, settings: Settings):
        self.stages, self.source, self.sink, self.settings = stages, source, sink, settings
        self.names = [s.name for s in stages]
        self.tables = FolderSink(source.tables) if source.tables is not None else None
        self.keys: dict[str, str] = {}
        for stage in stages:
            self.keys[stage.name] = fingerprint(
                stage.name, [self.input_key(artifact, stage.name) for artifact in stage.inputs],
                self.settings.fingerprint(stage.settings), code_digest(), _spacy_version())

    def producer(self, artifact: str, stage: str):
        """(stage that wrote `artifact` for `stage`, the folder holding its result): a stage of this run, else the
        nearest earlier writer that the tables folder (or the sink) has a record of, else (None, a folder holding
        the table as it is, with no record of who wrote it); (None, None) if no stage writes it."""
        writers = producers(artifact, stage)
        if not writers:
            return None, None
        in_run = [w for w in writers if w in self.names]
        if in_run and self.names.index(in_run[0]) < self.names.index(stage):
            return in_run[0], self.sink
        folders = [f for f in (self.tables, self.sink) if isinstance(f, FolderSink)]
        for folder in folders:
            recorded = next((w for w in writers if folder.key(w) is not None), None)
            if recorded:
                return recorded, folder
        for folder in folders:  # tables no stage of ours recorded (written by hand, or the manifest deleted)
            if folder.has(artifact):
                return None, folder
        where = self.tables.folder if self.tables is not None else getattr(self.sink, "folder", "memory")
        raise InputError(Path(where) / f"{artifact}.csv",
                         f"no record of a{'n' if writers[-1][0] in 'aeiou' else ''} {writers[-1]} run here; "
                         f"run 'claims {writers[-1]}' first")

    def input_key(self, artifact: str, stage: str):
        source, settings = self.source, self.settings
        if artifact == "threads":
            return thread_digest(source.threads, settings)
        if artifact == "model":
            if "train" in self.names:  # a model this run trains
                return self.keys["train"]
            if source.model is not None:
                return "given in memory"
            path = model_path(source)
            return files.sha256_file(path) if path else "no model"
        if artifact == "labels":
            return digest_files([source.labels])
        if artifact == "gold":
            return gold_digest(source.gold)
        if artifact == "training":
            return thread_digest(source.training_threads, settings)
        if artifact == "current":  # the model a new one is compared with: no part of what training makes
            return None
        writer, folder = self.producer(artifact, stage)
        if writer is None:  # a table no stage recorded: keyed by its content
            return folder.content_key(artifact) if folder is not None else None
        return self.keys[writer] if writer in self.keys else folder.key(writer)

    def first_to_run(self, force: bool) -> int:
        """Index of the first stage that is not up to date (every later one runs too); len(stages) if none."""
        if force:
            return 0
        for k, stage in enumerate(self.stages):
            if not self.sink.up_to_date(stage.name, self.keys[stage.name]):
                return k
        return len(self.stages)


@lru_cache(maxsize=1)
def _spacy_version() -> str:
    from importlib.metadata import version

    return version("spacy")


def model_path(source: Source) -> Path | None:
    """The model file a run reads: `model_name` or the current version of `model_dir` (None: no model)."""
    if source.model_dir is None:
        return None
    from pipeline.learning import registry

    return registry.resolve(source.model_dir, source.model_name)


def read_input(artifact: str, stage: str, plan: Plan, context: Context):
    """The value of one input of the first stage to run (later stages take their inputs from the ones before)."""
    source, settings = plan.source, plan.settings
    if artifact == "threads":
        return source.threads if not isinstance(source.threads, (str, Path)) else \
            readers.iter_threads(source.threads, settings.read)
    if artifact == "model":
        from pipeline.learning import registry

        if source.model is not None:
            return source.model if isinstance(source.model, registry.LoadedModel) else \
                registry.LoadedModel(source.model, {})
        path = model_path(source)
        return registry.load_model(path) if path is not None else None
    if artifact == "labels":
        from pipeline.learning.labels import read_labels

        return (read_labels(source.labels), Path(source.labels))
    if artifact == "gold":
        return source.gold
    if artifact == "training":
        return training_tables(source, settings)
    if artifact == "current":
        return current_model(source.model_dir)
    writer, folder = plan.producer(artifact, stage)
    if folder is None or not folder.has(artifact):
        if artifact == "errors":  # no input was skipped
            return []
        where = getattr(folder, "folder", None) or plan.source.tables or Path(".")
        raise InputError(Path(where) / f"{artifact}.csv", f"missing; run 'claims {writer or 'run'}' first")
    return folder.read(artifact)


def current_model(model_dir) -> tuple[str, object] | None:
    """(version, model) of the folder's current model, to compare a new one with; None if there is none or it cannot
    be checked (said, not fatal: training goes on)."""
    from pipeline.learning import registry

    version = registry.current_version(model_dir) if model_dir is not None else None
    if version is None:
        return None
    try:
        return version, registry.load_model(registry.model_file(model_dir, version))[0]
    except registry.ModelTrustError as err:
        log(f"train: the current model cannot be checked ({err}); it is left out of the comparison")
        return None


def training_tables(source: Source, settings: Settings) -> dict:
    """answers and claims of the threads the labels refer to, segmented and extracted in memory: training data
    must read whole, so an input error stops training."""
    log(f"train: reading the threads the labels refer to ({source.training_threads})")
    items = []
    for item in readers.iter_threads(source.training_threads, settings.read):
        if isinstance(item, InputError):
            raise item
        items.append(item)
    outcome = execute(["segment", "extract"], Source(threads=items), MemorySink(), settings)
    if outcome.errors:
        first = outcome.errors[0]
        raise InputError(first.source, first.problem, first.line)
    return {"answers": outcome.artifacts["answers"], "claims": outcome.artifacts["claims"]}


class InProcess:
    """Every stage on all its input at once, in this process."""

    def run(self, stages: list[Stage], plan: Plan, context: Context, progress=None) -> dict:
        values: dict = {}
        for stage in stages:
            inputs = {a: values[a] if a in values else read_input(a, stage.name, plan, context) for a in stage.inputs}
            if progress is not None:
                inputs["progress"] = progress
            values.update(stage.step(inputs, plan.settings, context))
        return {artifact: values[artifact] for artifact in published([s.name for s in stages])}


def execute(names, source: Source, sink=None, settings: Settings = DEFAULT_SETTINGS, runner=None,
            force: bool = False, context: Context | None = None) -> Outcome:
    """Run the stages `names` (consecutive stages of the graph) from `source` into `sink`, skipping those whose
    key the sink recorded with their outputs intact. A `context` kept between in-process calls keeps its spaCy
    pipeline (the chunked runner keeps one per worker process)."""
    stages = check_chain(names)
    sink = sink if sink is not None else MemorySink()
    runner = runner or InProcess()
    with sink.holding():
        plan = Plan(stages, source, sink, settings)
        first = plan.first_to_run(force)
        for stage in stages[:first]:
            log(f"{stage.name}: up to date, skipped (inputs, settings, code and rules unchanged; --force re-runs it)")
            if hasattr(sink, "restore"):
                sink.restore(stage.name)
        todo = stages[first:]
        if not todo:  # what these stages skipped last time they ran, so a skipped run still says so
            return Outcome([], plan.names, plan.keys, errors_of(plan.names, read_errors(sink)))
        ran = {s.name: plan.keys[s.name] for s in todo}
        context = context or Context()
        if hasattr(runner, "run_chunks"):
            counts = runner.run_chunks(todo, plan, context, sink, ran, stale_tables(ran))
            return Outcome(list(ran), plan.names[:first], plan.keys, errors_of(ran, read_errors(sink)), {}, **counts)
        artifacts = runner.run(todo, plan, context)
        sink.publish(artifacts, ran, stale_tables(ran))
        errors = artifacts["errors"] if "errors" in artifacts else []
        kept = {a: v for a, v in artifacts.items() if isinstance(sink, MemorySink) or a not in TABLE_ARTIFACTS}
        return Outcome(list(ran), plan.names[:first], plan.keys, errors_of(ran, list(errors)), kept)


__all__ = ["execute", "Outcome", "Source", "FolderSink", "MemorySink", "InProcess", "GRAPH"]
