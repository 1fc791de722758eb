"""Where a run's inputs come from and where its outputs go: the one owner of an output folder.

A `FolderSink` is an output folder (--out): it holds the folder's lock, reads
its tables checked against the manifest, keeps the parts of a chunked run, and
publishes a run's tables and the keys of the stages that made them in one
commit of the manifest (pipeline.io.outputs), so the tables and what says they
are up to date always change together. A `MemorySink` keeps the outputs in a
dict (pipeline.faces.api.process, the accuracy bench, training). A `Source`
names the inputs no stage of the run writes: thread files or thread items, a
folder of earlier tables, the models folder, the labels and the annotated corpus.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from pipeline.io import outputs
from pipeline.config import LF_REPORT_CSV
from pipeline.io.files import (ErrorRecord, atomic_write_bytes, csv_bytes, error_frame, error_records, sha256_file,
                                sweep_temporaries, write_csv)
from pipeline.runner.graph import GRAPH, TABLE_ARTIFACTS
from pipeline.schemas import COLUMN_KINDS, INTEGER, TABLES, table_file

PARTS_DIR = ".parts"


@dataclass
class Source:
    """The inputs of a run that none of its stages writes (each may be left out when no stage reads it)."""

    threads: Path | Iterable | None = None  # a thread file or folder (--input), or thread items in memory
    tables: Path | None = None  # a folder holding the tables of earlier stages (--out of an earlier run)
    model_dir: Path | None = None  # the models folder; its current version (or `model_name`) is the model
    model_name: str | None = None
    model: object | None = None  # a model already loaded (in memory): used as it is, keyed by its bytes
    labels: Path | None = None  # the hand labels file
    gold: object | None = None  # the annotated corpus (pipeline.measuring.gold_sets.GoldCorpus)
    training_threads: Path | None = None  # the thread files the labels refer to (--train-input)


def as_table(artifact: str, value) -> pd.DataFrame:
    """A table artifact as a frame with its columns (errors travel as ErrorRecords between steps)."""
    if artifact == "errors" and not isinstance(value, pd.DataFrame):
        return error_frame(value)
    return value


class MemorySink:
    """Outputs kept in a dict: nothing is locked, skipped or written."""

    def __init__(self):
        self.artifacts: dict = {}

    def holding(self):
        return nullcontext()

    def key(self, stage: str) -> str | None:
        return None

    def up_to_date(self, stage: str, key: str) -> bool:
        return False

    def has(self, artifact: str) -> bool:
        return artifact in self.artifacts

    def read(self, artifact: str):
        return self.artifacts[artifact]

    def publish(self, artifacts: dict, ran: dict[str, str], stale: Iterable[str] = ()) -> None:
        self.artifacts.update(artifacts)
        for artifact in stale:
            self.artifacts.pop(artifact, None)


class FolderSink:
    """An output folder: lock, manifest (tables and stage keys), parts of chunked runs, files of other stages."""

    def __init__(self, folder: Path, output_format: str = "csv"):
        self.folder = Path(folder)
        self.output_format = output_format

    @contextmanager
    def holding(self) -> Iterator[None]:
        """The folder's exclusive lock, with a table switch a killed run left half done finished first."""
        with outputs.locked(self.folder):
            outputs.recover(self.folder)
            yield

    def manifest(self) -> dict:
        return outputs.read_manifest(self.folder) or {"tables": {}, "stages": {}}

    def key(self, stage: str) -> str | None:
        return self.manifest().get("stages", {}).get(stage)

    def up_to_date(self, stage: str, key: str) -> bool:
        """The stage's recorded key is this key and every output it declares is here as recorded. The output format
        is no part of it: a skipped stage's Parquet copies are made from its CSVs, or dropped, by `restore`."""
        declared = GRAPH[stage].outputs
        tables = [table_file(a) for a in declared if a in TABLE_ARTIFACTS]
        others = [self.folder / name for a in declared if a not in TABLE_ARTIFACTS for name in self.file_names(a)]
        return (self.key(stage) == key and all((self.folder / name).exists() for name in tables)
                and outputs.intact(self.folder, tables) and all(path.exists() for path in others))

    def restore(self, stage: str) -> None:
        """A skipped stage's tables in the format asked for, as running it would leave them: Parquet copies
        converted from its CSVs where they are missing, or (CSV only) every Parquet copy dropped, so the Parquet
        set stays whole or absent. Switching format re-runs nothing."""
        tables = [a for a in GRAPH[stage].outputs if a in TABLE_ARTIFACTS]
        if not tables:  # a stage writing no table (evaluate, report) leaves a run's Parquet copies alone
            return
        manifest = self.manifest()
        recorded = manifest.get("tables", {})
        if self.output_format != "parquet":
            drop = [table_file(a, "parquet") for a in TABLE_ARTIFACTS]
            if any(name in recorded or (self.folder / name).exists() for name in drop):
                outputs.publish(self.folder, [], manifest.get("written_by", stage), drop=drop)
            return
        missing = [a for a in tables if table_file(a, "parquet") not in recorded
                   or not (self.folder / table_file(a, "parquet")).exists()]
        by_writer: dict[str, list[str]] = {}  # each copy recorded as written by the stage that wrote its CSV
        for artifact in missing:
            outputs.write_parquet(self.folder / table_file(artifact), self.staged(artifact, "parquet"))
            by_writer.setdefault(recorded.get(table_file(artifact), {}).get("stage", stage), []).append(
                table_file(artifact, "parquet"))
        for writer, names in by_writer.items():
            outputs.publish(self.folder, names, writer)

    def file_names(self, artifact: str) -> list[str]:
        """The files of a non-table artifact the manifest records (written by the stage that made them)."""
        return self.manifest().get("files", {}).get(artifact, [])

    def has(self, artifact: str) -> bool:
        path = self.folder / table_file(artifact)
        return path.exists() or outputs.staged_path(path).exists()

    def columns(self, artifact: str, names: list[str]) -> pd.DataFrame:
        """Some columns of a table, for counting what a run wrote without holding the whole table in memory."""
        return pd.read_csv(outputs.table_path(self.folder / table_file(artifact)), usecols=names, dtype=str,
                           keep_default_na=False)

    def content_key(self, artifact: str) -> str:
        """The key of a table no stage recorded: its bytes' sha256 (or its staged copy's, mid-switch)."""
        path = outputs.table_path(self.folder / table_file(artifact))
        return "table " + sha256_file(path)

    def read(self, artifact: str):
        """A table of the folder, checked against the manifest (errors as ErrorRecords), its whole-number columns
        as nullable integers as the stages make them (a source line of 2 stays "2" when written again)."""
        writer = next((s.name for s in GRAPH.values() if artifact in s.outputs), "run")
        frame = outputs.read_csv(self.folder / table_file(artifact), writer)
        if artifact == "errors":
            return error_records(frame)
        return frame.astype({c: "Int64" for c in frame.columns if COLUMN_KINDS.get(c) == INTEGER})

    def parts(self, key: str) -> Path:
        """The folder for the parts of the chunked run with this key; parts of any other run are removed (they
        can never be merged)."""
        root = self.folder / PARTS_DIR
        parts = root / key[:16]
        parts.mkdir(parents=True, exist_ok=True)
        for stale in root.iterdir():
            if stale != parts:
                shutil.rmtree(stale, ignore_errors=True)
        return parts

    def drop_parts(self, key: str) -> None:
        shutil.rmtree(self.folder / PARTS_DIR / key[:16], ignore_errors=True)

    def staged(self, artifact: str, suffix: str = "csv") -> Path:
        return outputs.staged_path(self.folder / table_file(artifact, suffix))

    def publish(self, artifacts: dict, ran: dict[str, str], stale: Iterable[str] = ()) -> None:
        """Write the artifacts (tables staged, other files atomically) and commit them with the stages' keys."""
        staged = []
        for artifact, value in artifacts.items():
            if artifact in TABLE_ARTIFACTS:
                columns = TABLES[artifact]
                frame = as_table(artifact, value)
                atomic_write_bytes(self.staged(artifact), csv_bytes(frame.reindex(columns=columns), columns))
                staged.append(artifact)
        self.commit(staged, ran, stale, files={a: v for a, v in artifacts.items() if a not in TABLE_ARTIFACTS})

    def commit(self, staged: list[str], ran: dict[str, str], stale: Iterable[str] = (), files: dict | None = None,
               ) -> None:
        """Switch the staged tables in as one set with the keys of the stages that ran (the stamps of the stages
        they make stale leave, with those stages' tables); Parquet copies beside them when asked for."""
        names = [table_file(a) for a in staged]
        parquet = [table_file(a, "parquet") for a in staged]
        if self.output_format == "parquet":  # converted from the staged CSVs, so both say the same
            for artifact in staged:
                outputs.write_parquet(self.staged(artifact), self.staged(artifact, "parquet"))
            names += parquet
        drop = [table_file(a) for a in stale] + [table_file(a, "parquet") for a in stale]
        if self.output_format != "parquet":  # a CSV-only run leaves no Parquet table of an older run behind: the
            drop += [table_file(a, "parquet") for a in TABLE_ARTIFACTS]  # Parquet set is whole or absent
        written = {}
        for artifact, named_bytes in (files or {}).items():
            for name, data in named_bytes.items():
                atomic_write_bytes(self.folder / name, data)
            written[artifact] = sorted(named_bytes)
        command = next(iter(ran)) if len(ran) == 1 else "run"  # several stages at once: only `claims run` does that
        outputs.publish(self.folder, names, command, drop=drop, stages=ran,
                        clear=_cleared(ran), other_files=written)


class ModelsSink:
    """The models folder as the `train` stage's sink: a new version saved, and made current if it is better;
    the labelling functions' report also into --out. The stage's recorded key is the current model's
    training key (in its card)."""

    def __init__(self, model_dir: Path, out: Path, promote: bool = False):
        self.model_dir, self.out, self.promote = Path(model_dir), Path(out), promote
        self.version: str | None = None

    @contextmanager
    def holding(self) -> Iterator[None]:
        with outputs.locked(self.model_dir), outputs.locked(self.out):
            for folder in (self.model_dir, self.out):  # what a training killed before it finished left behind
                sweep_temporaries(folder)
            yield

    def _current(self) -> tuple[Path, dict] | None:
        from pipeline.learning import registry

        version = registry.current_version(self.model_dir)
        if version is None:
            return None
        path = registry.model_file(self.model_dir, version)
        return path, registry.load_card(path)

    def key(self, stage: str) -> str | None:
        """The current model's training key, if that model is whole and loads here (else nothing is up to date)."""
        from pipeline.learning import registry

        current = self._current()
        if (current is None or current[1].get("model_sha256") != sha256_file_or_none(current[0])
                or not registry.written_here(current[1])):
            return None
        return current[1].get("training_key")

    def up_to_date(self, stage: str, key: str) -> bool:
        current = self._current()
        return self.key(stage) == key and current[0].with_suffix(".labeling_functions.csv").exists()

    def restore(self, stage: str) -> None:
        """A skipped training still leaves the current model's labelling-function report in --out."""
        kept = self._current()[0].with_suffix(".labeling_functions.csv")
        target = self.out / LF_REPORT_CSV
        if not target.exists() or target.read_bytes() != kept.read_bytes():
            atomic_write_bytes(target, kept.read_bytes())

    def has(self, artifact: str) -> bool:
        return False

    def publish(self, artifacts: dict, ran: dict[str, str], stale: Iterable[str] = ()) -> None:
        from pipeline.learning.train import publish_version

        report = artifacts["lf_report"]
        write_csv(report, self.out / LF_REPORT_CSV, list(report.columns))
        self.version = publish_version(self.model_dir, artifacts["model"], ran["train"], self.promote)


def sha256_file_or_none(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def _cleared(ran: dict[str, str]) -> list[str]:
    from pipeline.runner.graph import downstream

    return sorted(downstream(list(ran)) - set(ran)) if ran else []


def read_errors(sink) -> list[ErrorRecord]:
    """The errors a folder's last run recorded (so a skipped run still reports what was skipped)."""
    return sink.read("errors") if sink.has("errors") else []


