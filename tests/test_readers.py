import pytest

from pipeline.files import InputError
from pipeline.readers import discover_threads, read_text_file

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
        read_text_file(path)
    assert str(path) in str(info.value)


def test_byte_order_mark_is_removed(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("\ufeffTitle?\n\nBody".encode("utf-8"))
    assert read_text_file(path) == "Title?\n\nBody"


def test_discover_reads_only_thread_files_sorted(tmp_path):
    for name in ("b.txt", "a.txt", "notes.md"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("x")
    assert [p.name for p in discover_threads(tmp_path)] == ["a.txt", "b.txt"]
    with pytest.raises(InputError, match="no such file"):
        discover_threads(tmp_path / "missing")


