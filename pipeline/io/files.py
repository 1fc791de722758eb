"""Errors that name their input, hashing, and writing tables safely."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd




class InputError(ValueError):
    """A thread file the pipeline cannot read; the message names the file."""

    def __init__(self, source: Path | str, problem: str, line: int | None = None):
        self.source = utf8_text(str(source))  # a name that is not UTF-8 can still be written to errors.csv
        self.line = line
        self.problem = problem
        where = f"{self.source}:{line}" if line else self.source
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class ErrorRecord:
    """An input error as a row of errors.csv, in a form that crosses process boundaries (an exception with its own
    arguments does not unpickle)."""

    source: str
    line: int | None
    problem: str

    @classmethod
    def of(cls, err: "InputError | ErrorRecord") -> "ErrorRecord":
        return err if isinstance(err, ErrorRecord) else cls(err.source, err.line, err.problem)


def thread_failure(source: str, line, thread_id: str, step: str, err: Exception,
                   outcome: str = "thread skipped") -> ErrorRecord:
    """The record of a thread on which a step failed in a way no check foresaw, and what became of the thread; the
    run goes on."""
    detail = str(err) if len(str(err)) <= 200 else str(err)[:200] + "..."
    return ErrorRecord(source, None if line is None or pd.isna(line) else int(line),
                       f"thread {thread_id[:80]!r}: {step} failed ({type(err).__name__}: {detail}); {outcome}")


def error_frame(errors: Iterable) -> pd.DataFrame:
    """errors.csv's rows from ErrorRecords or InputErrors (both name a source, a line and the problem)."""
    from pipeline.schemas import ERROR_COLUMNS

    rows = [{"source": e.source, "line": e.line, "error": e.problem} for e in errors]
    return pd.DataFrame(rows, columns=ERROR_COLUMNS).astype({"line": "Int64"})


def error_records(frame: pd.DataFrame) -> list[ErrorRecord]:
    """errors.csv's rows back as ErrorRecords."""
    return [ErrorRecord(str(r["source"]), None if pd.isna(r["line"]) or str(r["line"]).strip() == "" else int(r["line"]),
                        str(r["error"])) for r in frame.to_dict("records")]


class MissingExtraError(RuntimeError):
    """An optional part of the tool was asked for but is not installed; the message says how to install it."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path | str) -> str:
    with open(path, "rb") as handle:
        return sha256_stream(handle)


def sha256_stream(handle) -> str:
    """The sha256 of what is left to read in a binary file object."""
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write via a temporary file in the same folder, then rename: never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, path)
    except OSError as err:  # a full disk or a read-only folder: say which file could not be written
        Path(tmp_name).unlink(missing_ok=True)
        raise OSError(err.errno, f"cannot write {path}: {err.strerror or err}") from err
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


STALE_TEMPORARY_SECONDS = 3600


def sweep_temporaries(folder: Path | str, older_than: float = STALE_TEMPORARY_SECONDS) -> list[Path]:
    """Remove what a killed process left of atomic_write_bytes in `folder`: '.NAME.XXXX.tmp' files over an hour old.

    A write in progress is seconds old, so it is never touched; the files
    removed are returned.
    """
    import time

    folder, removed = Path(folder), []
    if not folder.is_dir():
        return removed
    limit = time.time() - older_than
    for path in folder.glob(".*.tmp"):
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < limit:
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


# OWASP CSV injection: a cell starting with one of these is a formula to a spreadsheet.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISER = "'"




def neutralise(value):
    """Prefix a text cell that a spreadsheet would run as a formula (or that starts with the prefix itself)."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS + (NEUTRALISER,)):
        return NEUTRALISER + value
    return value


def restore(value):
    """Undo `neutralise`: what the pipeline reads back is the text it wrote."""
    if isinstance(value, str) and value.startswith(NEUTRALISER):
        return value[1:]
    return value


def write_csv(frame: pd.DataFrame, path: Path | str, columns: Iterable[str]) -> None:
    """Write `frame` with exactly `columns`, atomically (see csv_bytes)."""
    atomic_write_bytes(path, csv_bytes(frame, columns))


def csv_bytes(frame: pd.DataFrame, columns: Iterable[str]) -> bytes:
    """`frame` as CSV with exactly `columns`, byte-stable: CRLF rows, UTF-8, shortest round-trip floats.

    Text cells are neutralised against formula injection; numbers stay numbers.
    """
    table = frame.loc[:, list(columns)].copy()
    for column in table.columns:
        cells = table[column]
        if isinstance(cells.dtype, pd.CategoricalDtype):
            cells = cells.astype(object)
        if not (cells.dtype == object or pd.api.types.is_string_dtype(cells)):
            continue
        try:  # neutralise(), vectorised: .str leaves cells that are not text alone
            risky = cells.str.startswith(FORMULA_TRIGGERS + (NEUTRALISER,)).eq(True)  # missing: False
        except AttributeError:  # an object column without a single string
            continue
        if risky.any():
            table[column] = cells.where(~risky, NEUTRALISER + cells[risky].astype(str))
    # RFC 4180 line ends: with "\r\n" as the terminator, a cell holding a lone "\r" or "\n" is quoted too
    text = table.to_csv(index=False, lineterminator="\r\n")
    if not text.endswith("\r\n"):  # pandas leaves the header line of an empty table unterminated
        text += "\r\n"
    return text.encode("utf-8")


QUIET, NORMAL, VERBOSE = 0, 1, 2
VERBOSITY = {"level": NORMAL}  # set once by the command line (-q, -v)


# C0 and C1 control characters but newline and tab, and DEL: an escape sequence in a thread's text or a file name
# could recolour, retitle or rewrite the user's terminal (OSC 52 even sets the clipboard)
_CONTROLS = {code: f"\\x{code:02x}" for code in [*range(0x00, 0x09), *range(0x0b, 0x20), *range(0x7f, 0xa0)]}


def utf8_text(text: str) -> str:
    """`text` as UTF-8 for a table or a message: a surrogate escape (a byte of a file name that is not UTF-8, in a
    path or an OS error) becomes \\xNN; other text is unchanged."""
    try:
        return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that escapes no byte
        return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def printable(text: str) -> str:
    """`text` as it is safe to print to a terminal: UTF-8 (see utf8_text), control characters shown as \\xNN."""
    return utf8_text(text).translate(_CONTROLS)


def log(message: str, level: int = NORMAL) -> None:
    """A progress or warning line for the user, on standard error: shown at `level` and above (-q shows none,
    -v also the VERBOSE ones, such as which model is in use); nothing from the input reaches the terminal raw."""
    import sys

    if VERBOSITY["level"] >= level:
        print(printable(message), file=sys.stderr, flush=True)


def reread_when_changed(loader):
    """`loader(path)` cached per file version (path, modification time, size).

    Rule files are read once per build, not once per process: an edit takes
    effect on the next call in the same process (a plain lru_cache kept the
    old rules until the process ended). A stat per call is the price.
    """
    import functools
    import inspect

    default = inspect.signature(loader).parameters["path"].default
    cached = functools.lru_cache(maxsize=8)(lambda path, mtime_ns, size: loader(Path(path)))

    @functools.wraps(loader)
    def load(path=default):
        stat = os.stat(path)
        return cached(str(path), stat.st_mtime_ns, stat.st_size)

    return load
