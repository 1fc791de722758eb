"""Reading thread files and writing tables safely.

Offsets in every output are indices into the file's text as decoded here:
UTF-8, a leading byte-order mark removed, newlines left exactly as they are.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterable

import pandas as pd

from pipeline.config import THREAD_SUFFIXES


class InputError(ValueError):
    """A thread file the pipeline cannot read; the message names the file."""

    def __init__(self, source: Path | str, problem: str, line: int | None = None):
        self.source = str(source)
        self.line = line
        self.problem = problem
        where = f"{self.source}:{line}" if line else self.source
        super().__init__(f"{where}: {problem}")


def discover_threads(input_path: Path | str) -> list[Path]:
    """Thread files under `input_path` (a file, or a folder read non-recursively), sorted."""
    path = Path(input_path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(path, "no such file or folder")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in THREAD_SUFFIXES)
    if not files:
        raise InputError(path, f"no thread files ({', '.join(THREAD_SUFFIXES)}) in this folder")
    return files


def thread_id_for(path: Path | str) -> str:
    """The thread id is the file name without its extension."""
    return Path(path).stem


def read_thread_text(path: Path | str) -> str:
    """Decode a thread file, raising InputError that names the file on bad input."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(path, f"cannot be read ({err.strerror or err})") from err
    if b"\x00" in data[:8192]:
        raise InputError(path, "looks like a binary file (it contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(path, f"not valid UTF-8 (byte {err.start})", line=line) from err
    if not text.strip():
        raise InputError(path, "the file is empty")
    return text


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
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
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_csv(frame: pd.DataFrame, path: Path | str, columns: Iterable[str]) -> None:
    """Write `frame` with exactly `columns`, byte-stable: LF newlines, UTF-8, shortest round-trip floats."""
    text = frame.loc[:, list(columns)].to_csv(index=False, lineterminator="\n")
    if not text.endswith("\n"):  # pandas leaves the header line of an empty table unterminated
        text += "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def read_csv(path: Path | str, what: str) -> pd.DataFrame:
    """Read an output table, with a message naming the stage that writes it if it is missing."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, f"missing; run the '{what}' stage first")
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"thread_id": str})
