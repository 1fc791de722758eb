"""Hostile and unlucky inputs, one maker per case, for the end-to-end suite and bench/hostile.py.

Each case is (format, file name, maker, expect): the maker creates the entry
in a folder (a file, a folder, a FIFO or a link); `expect` is "error" when the
entry must be named in errors.csv, "read" when its threads must reach
answers.csv, and "either" when it may go either way but must be accounted for.
Written here, not taken from the pipeline's output.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

QUESTION = "Is Botox permanent after years of use?"
ANSWER = "No. The effect wears off in 3-4 months, although the muscle may weaken with repeated treatment."
CSV_HEADER = "thread_id,question_title,question_body,answer_title,answer_body\r\n"
SECRET = "SECRET-TOKEN-7f3a9c"


def jsonl_line(thread_id: str = "t1", body: str = ANSWER, **extra) -> str:
    record = {"id": thread_id, "question_title": QUESTION, "question_body": "", "answers": [
        {"title": "Not permanent", "body": body}], **extra}
    return json.dumps(record)


def csv_row(thread_id: str, body: str = ANSWER, question: str = QUESTION) -> str:
    quoted = body.replace('"', '""')
    return f'{thread_id},"{question}",,Not permanent,"{quoted}"\r\n'


def page(body: str = ANSWER) -> str:
    return f"{QUESTION}\n\nDr. Smith\nNot permanent\n{body}\n"


def _write(data: bytes | str):
    def make(path: Path) -> None:
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return make


def _folder(path: Path) -> None:
    path.mkdir()


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _dangling(path: Path) -> None:
    path.symlink_to(path.parent / "no-such-target.txt")


def _loop(path: Path) -> None:
    path.symlink_to(path)


def _outside(path: Path) -> None:
    secret = path.parent.parent / f"secret-of-{path.stem}.txt"
    secret.write_text(page(f"{SECRET} is the password; the effect lasts."), encoding="utf-8")
    path.symlink_to(secret)


def _unreadable(path: Path) -> None:
    path.write_text(page(), encoding="utf-8")
    path.chmod(0)


def _bytes_name(path: Path) -> None:
    """A file whose name holds a byte that is not UTF-8: the case is named as errors.csv shows it (\\xff), the file
    itself has the byte."""
    real = path.parent / os.fsdecode(path.name.encode().replace(b"\\xff", b"\xff"))
    real.write_text(page(), encoding="utf-8")


def _sparse(path: Path) -> None:
    """A 20 GiB file of nothing (sparse), as the probe made with truncate; 11 MiB where files cannot be sparse."""
    with open(path, "wb") as handle:
        handle.truncate(11 * 2**20)
        if os.fstat(handle.fileno()).st_blocks * 512 < 2**20:
            handle.truncate(20 * 2**30)


def _huge_line(path: Path) -> None:
    """A JSONL file whose only line is over the 10 MiB limit of a line."""
    path.write_text(jsonl_line("jh", "x" * (10 * 2**20)) + "\n", encoding="utf-8")


def _random_bytes(seed: int, size: int):
    rng = random.Random(seed)
    return _write(bytes(rng.randrange(256) for _ in range(size)))


CASES = [
    # plain text pages
    ("txt", "t_empty.txt", _write(b""), "error"),
    ("txt", "t_blank.txt", _write(b"  \n\n \t\n"), "error"),
    ("txt", "t_nul_start.txt", _write(b"\x00\x01binary"), "error"),
    ("txt", "t_nul_late.txt", _write(page().encode() + b"a" * 9000 + b"\x00"), "error"),
    ("txt", "t_utf16.txt", _write(page().encode("utf-16")), "error"),
    ("txt", "t_bad_utf8.txt", _write(b"Is it \xff\xfe permanent?\n"), "error"),
    ("txt", "t_long_line.txt", _write(b"x" * 200_001), "error"),
    ("txt", "t_random.txt", _random_bytes(1, 4096), "error"),
    ("txt", "t_folder.txt", _folder, "error"),
    ("txt", "t_fifo.txt", _fifo, "error"),
    ("txt", "t_dangling.txt", _dangling, "error"),
    ("txt", "t_loop.txt", _loop, "error"),
    ("txt", "t_outside.txt", _outside, "error"),
    ("txt", "t_unreadable.txt", _unreadable, "error"),  # not refused when run as root, who reads anything
    ("txt", "t_only_cr.txt", _write(page().replace("\n", "\r")), "either"),
    ("txt", "t_one_word.txt", _write("permanent"), "either"),
    ("txt", "t_name_\\xff.txt", _bytes_name, "error"),  # a file name that is not UTF-8
    ("txt", "t_huge_sparse.txt", _sparse, "error"),  # refused by its size before it is hashed or read
    ("txt", "t_many_lines.txt", _write(QUESTION + "\n\n" + "No.\n\n" * 100_001), "error"),  # 100,001 answers
    # HTML pages
    ("html", "h_deep_div.html", _write("<div>" * 1000 + page()), "read"),
    ("html", "h_unclosed_font.html", _write("<font>" * 1000 + f"<p>{QUESTION}</p><p>{ANSWER}</p>"), "read"),
    ("html", "h_deep_20k.html", _write("<b>" * 20_000 + page()), "read"),
    ("html", "h_script_only.html", _write("<script>alert(1)</script><style>p{}</style>"), "error"),
    ("html", "h_surrogate_entity.html", _write(f"<p>{QUESTION}</p><p>&#xd800; {ANSWER}</p>"), "either"),
    ("html", "h_nul.html", _write(b"<p>Is it?</p>\x00"), "error"),
    ("html", "h_unclosed_comment.html", _write(f"<p>{QUESTION}</p><!-- never closed <p>{ANSWER}</p>"), "either"),
    ("html", "h_bad_utf8.html", _write(b"<p>Is it \xc3\x28 permanent?</p>"), "error"),
    ("html", "h_huge_attribute.html", _write(f'<p title="{"a" * 1_000_000}">{QUESTION}</p><p>{ANSWER}</p>'), "either"),
    ("html", "h_many_elements.html", _write(f"<p>{QUESTION}</p><p>{ANSWER}</p>" + "<b>" * 200_001), "error"),
    ("html", "h_tag_soup.html", _write("<<<>>><p<p>></ p><//><a href='" + page() + "<table><td><tr>"), "either"),
    # JSON lines
    ("jsonl", "j_surrogate_body.jsonl", _write(jsonl_line("js1", "lasts \\ud800 forever").replace("\\\\", "\\")),
     "error"),
    ("jsonl", "j_surrogate_id.jsonl", _write(jsonl_line("x").replace('"x"', '"\\udfff"')), "error"),
    ("jsonl", "j_bigint.jsonl", _write('{"id": "b", "n": ' + "9" * 5000 + "}"), "error"),
    ("jsonl", "j_deep.jsonl", _write("[" * 100_000 + "]" * 100_000), "error"),
    ("jsonl", "j_not_object.jsonl", _write("[1, 2]"), "error"),
    ("jsonl", "j_answers_not_list.jsonl", _write('{"id": "a", "question_title": "Q", "question_body": "", '
                                                 '"answers": "none"}'), "error"),
    ("jsonl", "j_answer_not_object.jsonl", _write('{"id": "a", "question_title": "Q", "question_body": "", '
                                                  '"answers": [7]}'), "error"),
    ("jsonl", "j_nan_body.jsonl", _write('{"id": "n", "question_title": "Q", "question_body": "", '
                                         '"answers": [{"body": NaN}]}'), "error"),
    ("jsonl", "j_long_id.jsonl", _write(jsonl_line("i" * 1_000_000)), "error"),
    ("jsonl", "j_bad_kind.jsonl", _write(jsonl_line("k", question_kind="maybe")), "error"),
    ("jsonl", "j_truncated.jsonl", _write('{"id": "x", "question_title": "Q'), "error"),
    ("jsonl", "j_empty.jsonl", _write(""), "error"),
    ("jsonl", "j_nul_body.jsonl", _write(jsonl_line("jn1", "lasts \u0000 forever")), "error"),
    ("jsonl", "j_nul_id.jsonl", _write(jsonl_line("n\u00002")), "error"),
    ("jsonl", "j_many_answers.jsonl", _write(json.dumps({"id": "jma", "question_title": QUESTION, "question_body": "",
                                                         "answers": [{"body": ANSWER}] * 10_001})), "error"),
    ("jsonl", "j_one_huge_line.jsonl", _huge_line, "error"),  # one error row, not a second "the file is empty"
    ("jsonl", "j_mixed.jsonl", _write(jsonl_line("jm_good") + "\n{broken\n"), "read"),
    # CSV corpora
    ("csv", "c_big_field.csv", _write(CSV_HEADER + csv_row("cb_big", ANSWER + " x" * 100_000)
                                      + csv_row("cb_good")), "read"),
    ("csv", "c_missing_columns.csv", _write("thread_id,body\r\nx,y\r\n"), "error"),
    ("csv", "c_header_only.csv", _write(CSV_HEADER), "error"),
    ("csv", "c_unbalanced_quote.csv", _write(CSV_HEADER + csv_row("cq_good") + 'cq_bad,"Q,,T,"body\r\n'), "read"),
    ("csv", "c_nul.csv", _write(CSV_HEADER.encode() + b"x,Q,,T,\x00\r\n"), "error"),
    ("csv", "c_long_id.csv", _write(CSV_HEADER + csv_row("l" * 1_000_000)), "error"),
    ("csv", "c_question_differs.csv", _write(CSV_HEADER + csv_row("cd") + csv_row("cd", question="Other?")),
     "error"),
    ("csv", "c_empty_id.csv", _write(CSV_HEADER + csv_row("")), "error"),
    ("csv", "c_many_answers.csv", _write(CSV_HEADER + csv_row("cma") * 10_001 + csv_row("cma_good")), "read"),
    ("csv", "c_bad_utf8.csv", _write(CSV_HEADER.encode() + b"x,Q\xff,,T,body\r\n"), "error"),
]

FORMATS = ("txt", "html", "jsonl", "csv")
# put into good files at random places by the mutation tests
SNIPPETS = [b"\x00", b"\xff\xfe", b"\\ud800", b"9" * 5000, b"[" * 3000, b"<font>" * 2000, b'"', b"\r", b",,,\r\n",
            b"\n{", b"<!--", "\u00e9".encode(), b"\xed\xa0\x80", b"}" * 10, b"&#0;"]


def make_all(folder: Path, cases=CASES) -> list[tuple]:
    """Create every case in `folder`; returns the cases made (a FIFO needs a system that has them)."""
    made = []
    for case in cases:
        fmt, name, maker, expect = case
        if maker is _fifo and not hasattr(os, "mkfifo"):
            continue
        maker(folder / name)
        made.append(case)
    return made


GOOD_FILES = {  # one good file per format: its threads must survive whatever lies beside them
    "g_page.txt": page(),
    "g_html.html": f"<html><body><h1>{QUESTION}</h1><h3>Not permanent</h3><p>{ANSWER}</p></body></html>",
    "g_corpus.jsonl": jsonl_line("g_jsonl") + "\n",
    "g_corpus.csv": CSV_HEADER + csv_row("g_csv"),
}
GOOD_THREADS = ("g_page", "g_html", "g_jsonl", "g_csv")
