"""The output folder as one unit: a lock per writer, and the tables of a run switched in together.

A run's tables (answers.csv, claims.csv, summary.csv, errors.csv) are first
written complete beside their final names (``.answers.csv.next``), then one
atomic rename of ``manifest.json``, which records each table's sha256, commits
the set; only then are the tables renamed into place. A reader checks each
table against the manifest, so it never takes tables of two runs for one:

- killed before the commit: the old tables and the old manifest are intact;
- killed after it, during the renames: a table that does not match the
  manifest is read from its ``.next`` file, and the next writer finishes the
  renames (``recover``);
- a table a later stage made stale (claims.csv after a new ``segment``) is no
  longer in the manifest, and reading it is an error naming the stage to run;
- a table edited by hand no longer matches its sha256: an error, not a silent
  mixture (delete manifest.json to use the tables as they are).

A folder without a manifest (written by hand, or by an older version) is read
as it is. Writers hold an exclusive lock on the folder (flock on the folder
itself, released by the system if the process dies), so a second run on the
same --out is refused with a message naming the first; readers (runs reading
one models folder, a report reading a run's tables) share it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from pipeline.io import files
from pipeline.schemas import TABLE_FILES

MANIFEST = "manifest.json"
LOCK_FILE = ".lock"
OWNER_FILE = ".lock.owner.json"
NEXT_SUFFIX = ".next"


class OutputFolderError(RuntimeError):
    """The output folder is in use by another run, or its tables do not form one run's set; the message says why."""


def staged_path(target: Path) -> Path:
    """Where a table is written before the switch: hidden, beside its final name, with no thread-file suffix."""
    return target.with_name(f".{target.name}{NEXT_SUFFIX}")


def read_manifest(out: Path) -> dict | None:
    path = Path(out) / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest.get("tables"), dict):
            raise ValueError("no 'tables' object")
        return manifest
    except (ValueError, AttributeError) as err:
        raise OutputFolderError(f"{path}: not a manifest this tool wrote ({err}); delete it to read the tables "
                                "as they are") from err


def _matches(path: Path, entry: dict) -> bool:
    """Whether the file holds the bytes the manifest records: always by their sha256 (size, mtime and inode can
    all be put back by whoever edits a table in place, so they decide nothing)."""
    if not path.is_file():
        return False
    return path.stat().st_size == entry.get("size") and files.sha256_file(path) == entry.get("sha256")


def _committed_bytes(path: Path, entry: dict) -> bytes | None:
    """The bytes of the table or of its staged copy whose sha256 is the manifest's, read once each (a file renamed
    between a check and a read cannot slip through); None if neither holds them now."""
    for candidate in (path, staged_path(path)):
        try:
            data = candidate.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            continue
        if files.sha256_bytes(data) == entry.get("sha256"):
            return data
    return None


def read_tables(out: Path, names: Iterable[str], what: str = "run", attempts: int = 3) -> dict[str, bytes]:
    """The bytes of the named tables as one set: all of the set one manifest commits (a reader during another
    run's switch reads the old set or the new one, never both), a table that changed under it read again with a
    fresh manifest. A missing table is an error naming the stage that writes it (`what`)."""
    out = Path(out)
    names = list(names)
    for name in names:
        if not (out / name).exists() and not staged_path(out / name).exists():
            raise files.InputError(out / name, f"missing; run the '{what}' stage first")
    for _ in range(attempts):
        manifest = read_manifest(out)
        if manifest is None:  # written by hand, or by an older version: read as it is
            return {name: (out / name).read_bytes() for name in names}
        found = {}
        for name in names:
            entry = _entry(out / name, manifest, what)
            if entry is None:
                found[name] = (out / name).read_bytes()
                continue
            data = _committed_bytes(out / name, entry)
            if data is None:
                break
            found[name] = data
        else:
            return found
        if read_manifest(out) == manifest:  # nothing was switching: the table was changed by hand
            entry = manifest["tables"][name]
            raise OutputFolderError(
                f"{out / name}: changed since '{entry.get('stage')}' wrote it (its sha256 differs from {MANIFEST}), "
                f"so it may not belong with the other tables; run 'claims {entry.get('stage')}' again, or delete "
                f"{MANIFEST} to use the tables as they are")
    raise OutputFolderError(f"{out}: its tables kept changing while they were read (another run is switching "
                            "them in); read them again when it has finished")


def _entry(path: Path, manifest: dict, what: str = "run") -> dict | None:
    """The manifest's entry for a table; an error if the table is here but left out (made stale by a later stage),
    naming the stage that writes it (`what`)."""
    entry = manifest["tables"].get(path.name)
    if entry is None and (path.exists() or staged_path(path).exists()):
        again = f"'claims {what}' (or 'claims run')" if what != "run" else "'claims run'"
        raise OutputFolderError(
            f"{path}: older than the other tables here (the last stage run in this folder, "
            f"'{manifest.get('written_by')}', made it stale); run {again} first")
    return entry


def publish(out: Path, staged: Iterable[str], stage: str, drop: Iterable[str] = (), stages: dict | None = None,
            clear: Iterable[str] = (), other_files: dict | None = None) -> None:
    """Switch the staged tables (written to staged_path of each name) into place, as one set.

    `drop` names tables of the folder that this stage makes stale: they leave
    the manifest, so a reader refuses them until the stage that writes them runs.
    `stages` records the key of each stage that ran (what says it is up to date),
    `clear` removes those of stages whose results no longer hold, and `other_files`
    records the other files a stage wrote (artifact -> names): all in the same
    commit as the tables.
    """
    out = Path(out)
    manifest = read_manifest(out) or {"tables": {}}
    tables = {name: entry for name, entry in manifest["tables"].items() if name not in set(drop)}
    staged = list(staged)
    for name in staged:
        path = staged_path(out / name)
        tables[name] = {"sha256": files.sha256_file(path), "size": path.stat().st_size, "stage": stage}
    keys = {name: key for name, key in manifest.get("stages", {}).items() if name not in set(clear)}
    keys.update(stages or {})
    written = {**manifest.get("files", {}), **(other_files or {})}
    body = {"tables": dict(sorted(tables.items())), "stages": dict(sorted(keys.items())),
            "files": dict(sorted(written.items())), "written_by": stage}
    files.atomic_write_bytes(out / MANIFEST, (json.dumps(body, indent=2) + "\n").encode())  # the commit
    for name in staged:
        os.replace(staged_path(out / name), out / name)
    for name in drop:
        (out / name).unlink(missing_ok=True)


def recover(out: Path) -> list[str]:
    """Finish a switch a killed writer left half done: rename each staged table the manifest names into place.

    Staged files the manifest does not name are what a run killed before its
    commit left: they are removed. Call with the folder's lock held.
    """
    out = Path(out)
    manifest = read_manifest(out)
    finished = []
    for name in TABLE_FILES:
        staged = staged_path(out / name)
        if not staged.exists():
            continue
        entry = (manifest or {"tables": {}})["tables"].get(name)
        if entry is not None and not _matches(out / name, entry) and _matches(staged, entry):
            os.replace(staged, out / name)
            finished.append(name)
        else:
            staged.unlink()
    return finished


def table_path(path: Path) -> Path:
    """The file to read for the table at `path`: itself, or its staged copy mid-switch; an error if stale or changed.
    (For a reader that opens the file itself, as pyarrow does; read_tables reads CSV tables safer.)"""
    path = Path(path)
    if path.name not in TABLE_FILES:
        return path
    manifest = read_manifest(path.parent)
    if manifest is None:
        return path
    entry = _entry(path, manifest)
    if entry is None or _matches(path, entry):
        return path
    if _matches(staged_path(path), entry):  # a switch in progress, or killed midway: the committed set is this
        return staged_path(path)
    raise OutputFolderError(
        f"{path}: changed since '{entry.get('stage')}' wrote it (its sha256 differs from {MANIFEST}), so it may "
        f"not belong with the other tables; run 'claims {entry.get('stage')}' again, or delete {MANIFEST} "
        "to use the tables as they are")


def frame_of(data: bytes):
    """A table's CSV bytes as a DataFrame, text columns as text and the formula prefix removed."""
    import io

    import pandas as pd

    from pipeline.schemas import TEXT_COLUMNS

    frame = pd.read_csv(io.BytesIO(data), keep_default_na=False, na_values=[""], dtype={c: str for c in TEXT_COLUMNS})
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(files.restore)
    return frame


def read_csv(path: Path | str, what: str):
    """Read an output table as a DataFrame, text columns as text, checked against the folder's manifest.

    A missing table is an error naming the stage that writes it (`what`).
    """
    path = Path(path)
    if path.name not in TABLE_FILES:
        if not path.exists():
            raise files.InputError(path, f"missing; run the '{what}' stage first")
        return frame_of(path.read_bytes())
    return frame_of(read_tables(path.parent, [path.name], what)[path.name])


PANDAS_DTYPES = {"text": "string", "integer": "Int64", "number": "float64", "flag": "boolean"}


def typed(frame):
    """The frame with each known column in its documented dtype (schemas.COLUMN_KINDS): text as pandas' string
    dtype, counts and offsets as nullable integers, flags as nullable booleans, scores and months as floats."""
    from pipeline.schemas import COLUMN_KINDS

    kinds = {c: PANDAS_DTYPES[COLUMN_KINDS[c]] for c in frame.columns if c in COLUMN_KINDS}
    converted = frame.copy()
    for column, dtype in kinds.items():
        if dtype == "boolean" and converted[column].dtype == object:  # "True"/"False" read as text
            converted[column] = converted[column].map({"True": True, "False": False, True: True, False: False})
        converted[column] = converted[column].astype(dtype)
    return converted


PARQUET_TYPES = {"text": "string", "integer": "int64", "number": "float64", "flag": "bool_"}  # pyarrow type names
PARQUET_ROWS = 100_000  # rows converted at a time: memory stays flat on any number of threads


def write_parquet(csv_path: Path, parquet_path: Path) -> None:
    """A table as Parquet, with the dtypes of `typed` (pyarrow, an optional extra), a chunk at a time."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:
        raise files.MissingExtraError("--format parquet needs pyarrow, an optional extra: pip install -e \".[parquet]\" "
                                "(or pip install pyarrow)") from err
    import pandas as pd

    from pipeline.schemas import COLUMN_KINDS, TEXT_COLUMNS

    header = pd.read_csv(csv_path, nrows=0).columns
    schema = pa.schema([(c, getattr(pa, PARQUET_TYPES[COLUMN_KINDS[c]])()) for c in header])
    handle, tmp = tempfile.mkstemp(prefix=f"{parquet_path.name}.", suffix=".tmp", dir=parquet_path.parent)
    os.close(handle)  # a fresh name made with O_EXCL: nothing planted at a predictable name is written through
    try:
        with pq.ParquetWriter(tmp, schema) as writer:
            for chunk in pd.read_csv(csv_path, keep_default_na=False, na_values=[""], chunksize=PARQUET_ROWS,
                                     dtype={c: str for c in TEXT_COLUMNS}):
                for column in chunk.columns:
                    if chunk[column].dtype == object:
                        chunk[column] = chunk[column].map(files.restore)
                writer.write_table(pa.Table.from_pandas(typed(chunk), schema=schema, preserve_index=False))
        os.chmod(tmp, 0o666 & ~files._umask())
        os.replace(tmp, parquet_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def intact(out: Path, names: Iterable[str]) -> bool:
    """Every named table is present and is the one the manifest records (used to decide a stage is up to date)."""
    try:
        return all(table_path(Path(out) / name) == Path(out) / name and (Path(out) / name).exists() for name in names)
    except OutputFolderError:
        return False


_HELD: dict[Path, list] = {}  # folders this process holds the lock of: [shared?, how many times] (re-entrant)


@contextmanager
def locked(folder: Path, command: str = "", shared: bool = False, record_owner: bool = True) -> Iterator[None]:
    """Hold the folder's lock: exclusive to write, shared to read (any number of readers at once, no writer).

    Another holder that excludes us is named in the error, not waited for. The
    lock is flock(2) on the folder's own descriptor, released by the system when
    the process dies: no lock file exists that deleting could release (a run
    whose `.lock` file was deleted once let a second writer in). Where flock is
    missing (Windows), an exclusive filelock in the folder stands in. A folder
    that cannot be written cannot change under a reader, so reading it takes no lock.
    `record_owner`: leave a note naming this process for the next one refused (not
    in a folder of the user's own data, such as the labels file's).
    """
    folder = Path(folder).resolve()
    if folder in _HELD:
        if _HELD[folder][0] and not shared:
            raise OutputFolderError(f"{folder}: this process reads it and cannot also write it")
        _HELD[folder][1] += 1
        try:
            yield
        finally:
            _HELD[folder][1] -= 1
        return
    if folder.exists() and not folder.is_dir():
        raise OutputFolderError(f"{folder} is a file, not a folder: give a folder for the outputs")
    if shared and folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        yield
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputFolderError(f"cannot create the folder {folder}: {err.strerror or err}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputFolderError(f"cannot write in {folder}: permission denied")
    release = _acquire(folder, shared)
    _HELD[folder] = [shared, 1]
    try:
        if not shared and record_owner:
            owner = {"pid": os.getpid(), "host": socket.gethostname(), "command": command or " ".join(sys.argv),
                     "started": time.strftime("%Y-%m-%d %H:%M:%S")}
            files.atomic_write_bytes(folder / OWNER_FILE, json.dumps(owner).encode())
        yield
    finally:
        del _HELD[folder]
        release()


def _acquire(folder: Path, shared: bool):
    """Take the folder's lock without waiting; the function that releases it."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; an exclusive lock file instead, readers included
        from filelock import FileLock, Timeout

        lock = FileLock(str(folder / LOCK_FILE), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise OutputFolderError(f"{folder} is in use by another claims process ({_owner(folder)}); wait for "
                                    "it to finish, or give another folder") from None
        return lock.release
    handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        readers_only = False
        if not shared:  # who holds it: readers (a shared lock is still to be had) or a writer (named in its note)
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                readers_only = True
            except BlockingIOError:
                pass
        os.close(handle)
        holder = "being read by another claims process" if readers_only else f"in use by another claims process " \
                                                                             f"({_owner(folder)})"
        raise OutputFolderError(f"{folder} is {holder}; wait for it to finish, or give another folder") from None
    return lambda: os.close(handle)


def _owner(folder: Path) -> str:
    try:
        owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
        return f"pid {owner['pid']} on {owner['host']}, started {owner['started']}: {owner['command'][:200]}"
    except (OSError, ValueError, KeyError, TypeError):
        return "its details are unknown"
