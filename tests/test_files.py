import os

import pandas as pd
import pytest

from pipeline.files import atomic_write_bytes, write_csv


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
