import json
import shutil

import pytest

from pipeline.config import DEFAULT_SETTINGS
from pipeline.io.files import InputError
from pipeline.io.readers import discover_threads, html_to_text, iter_threads, read_text_file
from pipeline.threads import ThreadSource
from pipeline.stages.segment import segment_text

from conftest import FIXTURES

FORMATS = FIXTURES / "formats"


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
    for name in ("b.txt", "a.jsonl", "c.html", "d.csv", "notes.md"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("x")
    assert [p.name for p in discover_threads(tmp_path)] == ["a.jsonl", "b.txt", "c.html", "d.csv"]
    with pytest.raises(InputError, match="no such file"):
        discover_threads(tmp_path / "missing")


def test_a_folders_notes_are_not_threads(tmp_path):
    for name in ("SOURCES.csv", "README.txt", "Notes.txt", "sources.csv", "thread.txt"):
        (tmp_path / name).write_text("x")
    # in capitals a folder's notes; a user's own sources.csv or Notes.txt of threads is read
    assert [p.name for p in discover_threads(tmp_path)] == ["Notes.txt", "sources.csv", "thread.txt"]
    assert [p.name for p in discover_threads(tmp_path / "SOURCES.csv")] == ["SOURCES.csv"]  # named, it is read


def threads_of(path):
    items = list(iter_threads(path))
    return [i for i in items if isinstance(i, ThreadSource)], [i for i in items if isinstance(i, InputError)]


def test_structured_formats_match_what_was_written():
    expected = json.loads((FORMATS / "expected.json").read_text(encoding="utf-8"))
    threads, errors = threads_of(FORMATS)
    assert errors == []
    assert {t.thread_id for t in threads} == set(expected)
    for thread in threads:
        want = expected[thread.thread_id]
        segments = thread.segments or segment_text(thread.text, title_hints=thread.title_hints)  # html: like text
        assert segments[0].title == want["question_title"]
        assert [s.title for s in segments[1:]] == want["answer_titles"]
        for segment in segments:
            assert thread.text[segment.title_start:segment.title_end] == segment.title
            body = thread.text[segment.char_start:segment.char_end]
            assert not any(s in body or s in segment.title for s in want.get("must_not_appear", [])), body


def test_html_text_keeps_inline_markup_inside_its_paragraph():
    text = html_to_text("<html><body><nav>Home</nav><h1>Is it permanent?</h1>"
                        "<p>It <b>usually</b> lasts <a href='#'>3 months</a>, then fades.</p>"
                        "<footer>(c) Site</footer><script>x()</script></body></html>")
    assert text == "Is it permanent?\n\nIt usually lasts 3 months, then fades.\n"


JSONL_GOOD = {"id": "ok", "question_title": "Is it permanent?", "question_body": "Asking for a friend.",
              "answers": [{"title": "No", "body": "It wears off after three months."}]}


@pytest.mark.parametrize("line, problem", [
    ("{not json", "not JSON"),
    (json.dumps({k: v for k, v in JSONL_GOOD.items() if k != "answers"}), "lacks the field 'answers'"),
    (json.dumps({**JSONL_GOOD, "answers": []}), "no answers"),
    (json.dumps({**JSONL_GOOD, "answers": [{"title": "x"}]}), "lacks the field 'body'"),
    (json.dumps({**JSONL_GOOD, "id": 7}), "should be str"),
    ("[1, 2]", "not a JSON object"),
])
def test_bad_jsonl_lines_are_reported_with_their_line_and_the_rest_is_read(tmp_path, line, problem):
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps(JSONL_GOOD) + "\n" + line + "\n" + json.dumps({**JSONL_GOOD, "id": "ok2"}) + "\n")
    threads, errors = threads_of(path)
    assert [t.thread_id for t in threads] == ["ok", "ok2"]
    [error] = errors
    assert error.line == 2 and problem in error.problem and str(path) in str(error)


def test_duplicate_thread_ids_across_files_are_reported(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps(JSONL_GOOD) + "\n")
    (tmp_path / "ok.txt").write_text("Is it permanent?\n\nBody here.\n\nNo\n\nIt wears off.\n")
    threads, errors = threads_of(tmp_path)
    assert [t.source.endswith("a.jsonl") for t in threads] == [True]
    assert "already read" in errors[0].problem


def test_oversized_file_and_overlong_line_are_refused_without_reading_everything(tmp_path):
    big = tmp_path / "big.txt"
    with open(big, "wb") as handle:
        handle.truncate(50 * 2**20)  # 50 MiB, sparse
    with pytest.raises(InputError, match="MiB"):
        read_text_file(big)
    long_line = tmp_path / "line.txt"
    long_line.write_text("Title?\n\n" + "x" * 2**20)
    with pytest.raises(InputError, match="a line of") as info:
        read_text_file(long_line)
    assert info.value.line == 3


def test_oversized_jsonl_line_is_skipped(tmp_path):
    path = tmp_path / "c.jsonl"
    limit = DEFAULT_SETTINGS.read.max_thread_bytes
    path.write_bytes(b'{"id": "' + b"x" * (limit + 10) + b'"}\n' + json.dumps(JSONL_GOOD).encode() + b"\n")
    threads, errors = threads_of(path)
    assert [t.thread_id for t in threads] == ["ok"]
    assert errors[0].line == 1 and "longer than" in errors[0].problem


def test_csv_threads_group_rows_and_report_missing_columns(tmp_path):
    shutil.copy(FORMATS / "answers.csv", tmp_path / "answers.csv")
    threads, errors = threads_of(tmp_path)
    assert errors == [] and [len(t.segments) - 1 for t in threads] == [3, 3]
    (tmp_path / "answers.csv").write_text("thread_id,question_title\nx,y\n")
    threads, errors = threads_of(tmp_path)
    assert threads == [] and "missing columns" in errors[0].problem


@pytest.mark.parametrize("html, lines", [
    ("<body><p>One<br>Two<br/>Three</p></body>", ["One", "Two", "Three"]),
    ("<body><li><strong>Not permanent</strong><p>It wears off.</p></li></body>", ["Not permanent", "It wears off."]),
    ("<body><div>Loose text<div>Inner block</div>more loose</div></body>", ["Loose text", "Inner block", "more loose"]),
    ("<body><header>Site</header><article><header><h2>Title</h2></header><p>Body</p></article></body>",
     ["Title", "Body"]),
    ("<body><p>perm<b>anent</b> &amp; <!-- note -->temporary</p></body>", ["permanent & temporary"]),
])
def test_html_blocks_become_lines(html, lines):
    assert html_to_text(html) == "\n\n".join(lines) + "\n"


def test_minified_html_is_not_refused_for_its_long_line(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><body><h1>Is it permanent?</h1>" + "<p>Filler paragraph about nothing.</p>" * 5000
                    + "<h2>No</h2><p>It wears off.</p></body></html>")
    threads, errors = threads_of(page)
    assert errors == [] and len(threads) == 1


@pytest.mark.parametrize("line, problem", [
    ('{"id":"t","question_title":"Q?","question_body":"b","answers":[{"title":5,"body":"x"}]}', "'title' should be str"),
    ("[" * 100000, "nested too deeply|not JSON"),
])
def test_odd_jsonl_values_are_errors_not_crashes(tmp_path, line, problem):
    path = tmp_path / "c.jsonl"
    path.write_text(line + "\n")
    threads, [error] = threads_of(path)
    assert threads == [] and error.line == 1
    assert __import__("re").search(problem, error.problem)


def test_csv_reports_thread_start_lines_and_conflicting_questions(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('thread_id,question_title,question_body,answer_title,answer_body\n'
                    't1,Q?,body,A,"two\nlines"\n'
                    't2,Other?,b2,B,It wears off.\n'
                    't1,Q changed?,body,C,More.\n')
    threads, errors = threads_of(path)
    assert [(t.thread_id, t.line) for t in threads] == [("t2", 4)]
    assert errors[0].line == 5 and "differ" in errors[0].problem


def test_utf16_is_named(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("Title?\n\nBody".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        read_text_file(path)


def test_a_heading_over_the_question_body_is_not_an_answer_title(tmp_path):
    """Only a heading at the level of the answers' titles can title a first answer (see question_without_body.html)."""
    (tmp_path / "details.html").write_text(
        "<html><body><h1>Is Botox permanent after long-term use?</h1><h2>Question details</h2>"
        "<p>I have had Botox for eight years. Will the muscles stay weak if I stop?</p>"
        "<article><h3>Not permanent</h3><p>Botox lasts 3-4 months and the effect wears off.</p></article>"
        "<article><h3>It wears off</h3><p>After stopping, movement returns.</p></article></body></html>")
    (thread,), errors = threads_of(tmp_path)
    assert errors == [] and sorted(thread.title_hints.values()) == [1, 2, 3, 3]
    segments = segment_text(thread.text, title_hints=thread.title_hints)
    question = thread.text[segments[0].char_start:segments[0].char_end]
    assert "Will the muscles stay weak if I stop?" in question
    assert [s.title for s in segments[1:]] == ["Not permanent", "It wears off"]


def test_a_nul_byte_far_into_a_file_is_an_error_naming_its_line(tmp_path):
    from pipeline.io.readers import decode

    data = ("Title?\n\n" + "Body text line.\n" * 1000).encode() + b"\x00" + b"more\n"
    with pytest.raises(InputError, match=r"t.txt:1003: contains a NUL byte"):
        decode(data, tmp_path / "t.txt")


def test_pages_nested_tens_of_thousands_deep_read_without_recursion():
    from pipeline.io.readers import html_lines

    for page in ("<div>" * 50_000 + "Is it permanent?", "<font>" * 5_000 + "<p>Is it permanent?</p><p>No.</p>"):
        lines = [line for line, _ in html_lines(page)]
        assert lines[0] == "Is it permanent?"


def test_input_problem_names_what_is_not_a_readable_thread_file(tmp_path):
    import os

    from pipeline.io.readers import input_problem

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text("Is it? No.")
    (folder / "dir.txt").mkdir()
    os.mkfifo(folder / "pipe.txt")
    (folder / "inside.txt").symlink_to(folder / "ok.txt")
    (folder / "out.txt").symlink_to(tmp_path / "elsewhere.txt")
    (tmp_path / "elsewhere.txt").write_text("secret")
    (folder / "broken.txt").symlink_to(folder / "gone.txt")
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    problems = {p.name: input_problem(p, folder) for p in folder.iterdir()}
    assert problems["ok.txt"] is None and problems["inside.txt"] is None
    assert problems["dir.txt"] == "a folder, not a thread file"
    assert problems["pipe.txt"] == "a named pipe, not a thread file"
    assert problems["out.txt"].startswith(f"a symbolic link to {tmp_path / 'elsewhere.txt'}, outside the input folder")
    assert problems["broken.txt"].startswith("a broken symbolic link")
    assert problems["loop.txt"] == "a symbolic link loop"

    assert input_problem(folder / "out.txt", folder, DEFAULT_SETTINGS.read.__class__(follow_links=True)) is None
    assert input_problem(folder / "out.txt", folder / "out.txt") is None  # named as the input itself: followed


def test_a_csv_field_over_the_csv_modules_limit_keeps_every_thread(tmp_path):
    import csv

    from pipeline.io.readers import read_csv_threads

    path = tmp_path / "big.csv"
    header = "thread_id,question_title,question_body,answer_title,answer_body\r\n"
    path.write_text(header + 'a,Is it?,,T,"' + "long " * 60_000 + '"\r\nb,Is it?,,T,No.\r\n', encoding="utf-8")
    limit = csv.field_size_limit()
    read = list(read_csv_threads(path))
    assert [t.thread_id for t in read] == ["a", "b"] and csv.field_size_limit() == limit  # the limit is restored


# issue 20: names that are not UTF-8, a file swapped after its check, NUL in fields, limits before reading, CSV streamed

GOOD_PAGE = "Is it permanent?\n\nNo\n\nIt wears off after three months.\n"


def test_a_file_name_that_is_not_utf8_is_named_escaped_and_the_others_are_read(tmp_path):
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD_PAGE)
    (folder / os.fsdecode(b"bad\xff.txt")).write_text(GOOD_PAGE)
    (folder / os.fsdecode(b"corpus\xe9.jsonl")).write_text(json.dumps(JSONL_GOOD) + "\n")
    threads, errors = threads_of(folder)
    assert [t.thread_id for t in threads] == ["good"]
    assert sorted(e.source for e in errors) == [f"{folder}/bad\\xff.txt", f"{folder}/corpus\\xe9.jsonl"]
    assert all("not valid UTF-8" in e.problem for e in errors)
    for error in errors:
        str(error).encode("utf-8")  # printable: no surrogate escape reaches a table or the terminal

    odd = tmp_path / os.fsdecode(b"caf\xe9")  # a folder whose own name is not UTF-8: its files are read, named escaped
    odd.mkdir()
    (odd / "good.txt").write_text(GOOD_PAGE)
    (thread,), errors = threads_of(odd)
    assert errors == [] and thread.source == f"{tmp_path}/caf\\xe9/good.txt" and thread.thread_id == "good"


def swap_after_check(monkeypatch, target, swap):
    """Run `swap` once, right after the reader's check of `target` has passed and before it opens it: the race of
    a file replaced between check and open, made certain. The check's last step is os.access."""
    import os

    real, done = os.access, []

    def access(path, mode, *args, **kwargs):
        allowed = real(path, mode, *args, **kwargs)
        if os.fspath(path) == os.fspath(target) and not done:
            done.append(True)
            swap()
        return allowed
    monkeypatch.setattr(os, "access", access)
    return done


def _feed_fifo(fifo, text, seconds=0.3):
    """A writer for `fifo` that waits for a reader (never blocking itself) and gives it `text`; ends by itself."""
    import os
    import threading
    import time

    def write():
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                time.sleep(0.005)
                continue
            try:
                os.write(fd, text.encode())
            except OSError:
                pass
            os.close(fd)
            return
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return writer


@pytest.mark.parametrize("how", ["file_to_link", "inside_link_to_outside", "file_to_fifo"])
def test_a_file_swapped_after_its_check_is_not_read(tmp_path, monkeypatch, how):
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text(GOOD_PAGE.replace("three months", "SECRET-7f3a"))
    (folder / "real.txt").write_text(GOOD_PAGE)
    target = folder / "target.txt"
    writers = []
    if how == "inside_link_to_outside":
        target.symlink_to(folder / "real.txt")
    else:
        target.write_text(GOOD_PAGE)

    def swap():
        target.unlink()
        if how == "file_to_fifo":
            os.mkfifo(target)
            writers.append(_feed_fifo(target, secret.read_text()))
        else:
            target.symlink_to(secret)

    done = swap_after_check(monkeypatch, target, swap)
    threads, errors = threads_of(folder)
    for writer in writers:
        writer.join()
    assert done and not any("SECRET" in t.text for t in threads)
    assert [t.thread_id for t in threads] == ["real"]
    [error] = errors
    assert error.source == str(target) and "after it was checked" in error.problem


@pytest.mark.parametrize("record, where", [
    ({**JSONL_GOOD, "id": "n\u00002"}, "id"),
    ({**JSONL_GOOD, "question_title": "Is it\u0000 permanent?"}, "question_title"),
    ({**JSONL_GOOD, "question_body": "Asking\u0000"}, "question_body"),
    ({**JSONL_GOOD, "answers": [{"title": "N\u0000o", "body": "It wears off."}]}, "answers[0].title"),
    ({**JSONL_GOOD, "answers": [JSONL_GOOD["answers"][0], {"title": "No", "body": "It\u0000 wears off."}]},
     "answers[1].body"),
    ({**JSONL_GOOD, "proposition": "Botox is\u0000 permanent"}, "proposition"),
    ({**JSONL_GOOD, "answers": [{"body": "It wears off.", "author": "Dr\u0000"}]}, "answers[0].author"),
])
def test_a_nul_in_any_jsonl_field_is_an_error_naming_file_line_and_field(tmp_path, record, where):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(JSONL_GOOD) + "\n" + json.dumps({**record, "id": record["id"] + "2"}) + "\n")
    assert "\\u0000" in path.read_text()
    threads, errors = threads_of(path)
    assert [t.thread_id for t in threads] == ["ok"]
    [error] = errors
    assert error.line == 2 and "NUL" in error.problem and where in error.problem and str(path) in str(error)


def test_a_nul_in_a_record_or_string_given_in_memory_is_refused():
    from pipeline.io.readers import thread_from_record

    with pytest.raises(InputError, match="NUL"):
        thread_from_record({**JSONL_GOOD, "answers": [{"body": "It wears\x00 off."}]}, "<records>", 1)
    with pytest.raises(InputError, match="NUL"):
        thread_from_record({**JSONL_GOOD, "id": "n\x002"}, "<records>", 1)


def test_a_nul_in_a_csv_field_refuses_the_file_naming_its_line(tmp_path):
    path = tmp_path / "c.csv"
    rows = "".join(f"t{k},Is it?,,T,It wears off.\r\n" for k in range(1000))
    path.write_bytes(("thread_id,question_title,question_body,answer_title,answer_body\r\n" + rows).encode()
                     + b"late,Is it?,,T,It\x00 wears off.\r\n")
    threads, [error] = threads_of(path)
    assert threads == [] and error.line == 1002 and "NUL" in error.problem


def test_a_page_over_the_size_limit_is_refused_by_the_check_before_anything_reads_it(tmp_path):
    from pipeline.io.readers import input_problem

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("huge.txt", "huge.html", "corpus.jsonl"):
        with open(folder / name, "wb") as handle:
            handle.truncate(20 * 2**30)  # 20 GiB, sparse: nothing is written
    expected = "file is 20480.0 MiB; a single-thread file may be at most 10 MiB (use .jsonl for many threads)"
    assert input_problem(folder / "huge.txt", folder) == expected
    assert input_problem(folder / "huge.html", folder) == expected
    assert input_problem(folder / "corpus.jsonl", folder) is None  # a corpus: the limit is per thread, not per file
    small = DEFAULT_SETTINGS.read.__class__(max_thread_bytes=2**20)
    (folder / "two.txt").write_bytes(b"x" * (2 * 2**20))
    assert input_problem(folder / "two.txt", folder, small).startswith("file is 2.0 MiB; a single-thread file may be "
                                                                      "at most 1 MiB")


def test_a_page_of_too_many_elements_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    import bs4

    from pipeline.config import ReadSettings
    from pipeline.io.readers import read_path

    settings = ReadSettings(max_html_elements=100)
    fine, many = tmp_path / "fine.html", tmp_path / "many.html"
    fine.write_text("<h1>Is it permanent?</h1><p>No, it " + "<b>wears</b> " * 40 + "off.</p>")
    many.write_text("<h1>Is it permanent?</h1><p>No, it " + "<b>wears</b> " * 101 + "off. 1 < 2</p>")
    assert isinstance(next(read_path(fine, settings)), ThreadSource)

    def no_parsing(*args, **kwargs):
        raise AssertionError("the page was parsed")
    monkeypatch.setattr(bs4, "BeautifulSoup", no_parsing)
    [error] = read_path(many, settings)
    assert error.source == str(many) and "more than 100 HTML elements" in error.problem


def test_a_thread_of_too_many_answers_is_refused_naming_the_limit(tmp_path):
    from pipeline.config import ReadSettings
    from pipeline.io.readers import read_path

    settings = ReadSettings(max_answers=3, max_page_lines=8)
    answer = JSONL_GOOD["answers"][0]
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text(json.dumps({**JSONL_GOOD, "answers": [answer] * 3}) + "\n"
                     + json.dumps({**JSONL_GOOD, "id": "four", "answers": [answer] * 4}) + "\n")
    ok, error = read_path(jsonl, settings)
    assert ok.thread_id == "ok" and error.line == 2 and "4 answers; at most 3" in error.problem
    table = tmp_path / "c.csv"
    table.write_text("thread_id,question_title,question_body,answer_title,answer_body\n"
                     + "a,Is it?,,T,No.\n" * 3 + "b,Is it?,,T,No.\n" * 2 + "a,Is it?,,T,No.\n" + "c,Is it?,,T,No.\n")
    first, second, third = read_path(table, settings)
    assert isinstance(first, InputError) and first.line == 2 and "thread 'a' has 4 answers; at most 3" in first.problem
    assert (second.thread_id, third.thread_id) == ("b", "c")
    page = tmp_path / "p.txt"
    page.write_text("Is it permanent?\n\n" + "No.\n\n" * 7)
    assert isinstance(next(read_path(page, settings)), ThreadSource)
    page.write_text("Is it permanent?\n\n" + "No.\n\n" * 8)
    [error] = read_path(page, settings)
    assert "more than 8 lines of text" in error.problem


def test_a_jsonl_whose_only_line_is_too_long_gets_one_error(tmp_path):
    from pipeline.config import ReadSettings
    from pipeline.io.readers import read_jsonl

    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({**JSONL_GOOD, "question_body": "x" * 2000}) + "\n")
    [error] = read_jsonl(path, ReadSettings(max_thread_bytes=1000))
    assert error.line == 1 and "longer than" in error.problem


def _csv_corpus(path, threads, answers=4):
    body = "It wears off after three to four months, although the muscle may weaken. " * 10
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("thread_id,question_title,question_body,answer_title,answer_body\r\n")
        handle.writelines(f't{k},Is it permanent ({k})?,Asking for a friend.,Answer {a},"{body}"\r\n'
                          for k in range(threads) for a in range(answers))


def test_a_csv_corpus_is_read_a_thread_at_a_time(tmp_path):
    """Memory does not grow with the file: reading 8 MB of CSV allocates less than the file's size at any time."""
    import tracemalloc

    from pipeline.io.readers import read_csv_threads

    path = tmp_path / "big.csv"
    _csv_corpus(path, 2500)
    size = path.stat().st_size
    assert size > 7 * 2**20
    tracemalloc.start()
    try:
        count = sum(isinstance(item, ThreadSource) for item in read_csv_threads(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 2500 and peak < size / 4, f"peak {peak:,} bytes for a file of {size:,}"


def test_csv_rows_of_a_thread_scattered_through_the_file_make_one_thread_in_first_row_order(tmp_path):
    from pipeline.io.readers import read_csv_threads

    path = tmp_path / "c.csv"
    path.write_text("thread_id,question_title,question_body,answer_title,answer_body\n"
                    "a,Is it?,,A1,One.\nb,Is it?,,B1,Two.\nb,Is it?,,B2,Three.\n,Is it?,,X,Four.\n"
                    "c,Is it?,,C1,Five.\na,Is it?,,A2,Six.\n")
    items = list(read_csv_threads(path))
    read = [(t.thread_id, t.line, len(t.segments) - 1) for t in items if isinstance(t, ThreadSource)]
    assert read == [("a", 2, 2), ("b", 3, 2), ("c", 6, 1)]
    assert [(e.line, e.problem) for e in items if isinstance(e, InputError)] == [(5, "empty thread_id")]
