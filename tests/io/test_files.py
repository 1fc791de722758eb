import os

import pandas as pd
import pytest

from pipeline.io.files import atomic_write_bytes, write_csv


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
    assert data == b'c,a,b\r\nx,1,0.5\r\n"y,z",2,\r\n'


def test_empty_table_is_a_terminated_header(tmp_path):
    write_csv(pd.DataFrame(columns=["a", "b"]), tmp_path / "empty.csv", ["a", "b"])
    assert (tmp_path / "empty.csv").read_bytes() == b"a,b\r\n"


def test_formula_cells_are_neutralised_and_numbers_stay_numbers(tmp_path):
    from pipeline.io.outputs import read_csv

    texts = ["=HYPERLINK(\"x\")", "+1 shot", "-2 units", "@cmd", "\tlead", "\rlead", "'quoted", "plain"]
    frame = pd.DataFrame({"text": texts, "number": [-1, 2, -3, 4, 5, 6, 7, 8]})
    write_csv(frame, tmp_path / "t.csv", ["text", "number"])
    raw = pd.read_csv(tmp_path / "t.csv", keep_default_na=False)
    assert all(cell.startswith("'") for cell in raw["text"][:7]) and raw["text"][7] == "plain"
    assert raw["number"].tolist() == [-1, 2, -3, 4, 5, 6, 7, 8]
    assert raw["text"][5] == "'\rlead"  # quoted, so the lone carriage return stays inside its cell
    assert read_csv(tmp_path / "t.csv", "test")["text"].tolist() == texts


def test_neutralising_any_column_type():
    """Object columns without text, mixed columns, categoricals and missing cells: text cells only are touched."""
    from pipeline.io.files import csv_bytes

    frame = pd.DataFrame({
        "numbers": pd.Series([-1, 2.5, True], dtype=object),
        "mixed": pd.Series(["=x", 3, None], dtype=object),
        "category": pd.Series(["=a", "b", "=a"], dtype="category"),
        "missing": pd.Series([None, float("nan"), "-y"], dtype=object),
    })
    lines = csv_bytes(frame, frame.columns).decode().split("\r\n")
    assert lines[1:4] == ["-1,'=x,'=a,", "2.5,3,b,", "True,,'=a,'-y"]


def test_rule_files_are_read_again_when_they_change(tmp_path):
    import json
    import os

    from pipeline.io.files import reread_when_changed

    reads = []

    @reread_when_changed
    def load(path=tmp_path / "rules.json"):
        reads.append(path)
        return json.loads(path.read_text())

    rules = tmp_path / "rules.json"
    rules.write_text('{"a": 1}')
    assert load() == {"a": 1} and load() == {"a": 1} and len(reads) == 1  # read once while unchanged
    rules.write_text('{"a": 22}')
    os.utime(rules, ns=(rules.stat().st_atime_ns, rules.stat().st_mtime_ns + 1_000_000))
    assert load() == {"a": 22} and len(reads) == 2  # an edit takes effect in the same process


def test_a_failed_write_names_the_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    import errno
    import os

    import pytest

    from pipeline.io import files

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full_disk)
    target = tmp_path / "claims.csv"
    with pytest.raises(OSError, match="cannot write .*claims.csv: No space left on device") as raised:
        files.atomic_write_bytes(target, b"x")
    assert raised.value.errno == errno.ENOSPC
    assert not target.exists() and os.listdir(tmp_path) == []


def test_temporaries_of_killed_writes_are_swept_but_not_fresh_ones(tmp_path):
    import os
    import time

    from pipeline.io.files import sweep_temporaries

    stale, fresh, table = tmp_path / ".stance-0002.joblib.abc.tmp", tmp_path / ".claims.csv.def.tmp", tmp_path / "x.tmp"
    for path in (stale, fresh, table):
        path.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    os.utime(table, (two_hours_ago, two_hours_ago))
    assert sweep_temporaries(tmp_path) == [stale]
    assert fresh.exists() and table.exists()  # a write in progress, and a file that is not ours
