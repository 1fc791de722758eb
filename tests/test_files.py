import os

import pandas as pd
import pytest

from pipeline.files import InputError, atomic_write_bytes, discover_threads, read_thread_text, write_csv


@pytest.mark.parametrize("data, problem", [
    (b"", "empty"),
    (b"  \n\n", "empty"),
    (b"\x00\x01\x02binary", "binary"),
    ("Caf\u00e9 question\n\nbody".encode("latin-1"), "UTF-8"),
])
def test_bad_files_raise_an_error_naming_the_file(tmp_path, data, problem):
    path = tmp_path / "thread.txt"
    path.write_bytes(data)
    with pytest.raises(InputError, match=problem) as info:
        read_thread_text(path)
    assert str(path) in str(info.value)


def test_byte_order_mark_is_removed(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("\ufeffTitle?\n\nBody".encode("utf-8"))
    assert read_thread_text(path) == "Title?\n\nBody"


def test_discover_reads_only_thread_files_sorted(tmp_path):
    for name in ("b.txt", "a.txt", "notes.md"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("x")
    assert [p.name for p in discover_threads(tmp_path)] == ["a.txt", "b.txt"]
    with pytest.raises(InputError, match="no such file"):
        discover_threads(tmp_path / "missing")


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_write_csv_is_byte_stable(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, None], "c": ["x", "y,z"]})
    write_csv(frame, tmp_path / "one.csv", ["c", "a", "b"])
    write_csv(frame, tmp_path / "two.csv", ["c", "a", "b"])
    data = (tmp_path / "one.csv").read_bytes()
    assert data == (tmp_path / "two.csv").read_bytes()
    assert data == b'c,a,b\nx,1,0.5\n"y,z",2,\n'


def test_empty_table_is_a_terminated_header(tmp_path):
    write_csv(pd.DataFrame(columns=["a", "b"]), tmp_path / "empty.csv", ["a", "b"])
    assert (tmp_path / "empty.csv").read_bytes() == b"a,b\n"
