"""Read threads from a file or a folder of mixed formats, one thread at a time.

Formats (by extension):

- ``.txt``: one thread per file, as copied from a page; segmented by pipeline.stages.segment.
- ``.html`` / ``.htm``: a saved page; its text is extracted (BeautifulSoup), one
  line per block element, then segmented like text.
- ``.jsonl``: one thread per line: {"id", "question_title", "question_body",
  "answers": [{"title", "body", "author"?}]}.
- ``.csv``: one row per answer: thread_id, question_title, question_body,
  answer_title, answer_body[, author].

Structured threads (JSONL, CSV) need no segmenting: their text is the fields
joined by blank lines (question title, question body, then each answer's title
and body), and offsets index that text. Bad input never stops a run: the
reader yields an InputError naming the file (and line) and goes on.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import stat
import sys
from dataclasses import replace
from pathlib import Path
from typing import Iterator, Mapping

from pipeline.config import DEFAULT_SETTINGS, ReadSettings
from pipeline.io.files import InputError
from pipeline.schemas import QUESTION_KINDS
from pipeline.threads import Segment, ThreadSource

TEXT_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl",)
CSV_SUFFIXES = (".csv",)
THREAD_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES + CSV_SUFFIXES
CSV_COLUMNS = ("thread_id", "question_title", "question_body", "answer_title", "answer_body")
SEPARATOR = "\n\n"
_HTML_DROP = ("script", "style", "noscript", "template", "nav", "aside", "form", "button", "svg", "head")
_HTML_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_HTML_BLOCKS = frozenset(("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "blockquote", "pre", "dt", "dd",
                          "dl", "td", "th", "tr", "table", "div", "section", "article", "main", "header", "footer",
                          "figure", "figcaption", "address", "hr"))


def discover_threads(input_path: Path | str) -> list[Path]:
    """Thread files under `input_path` (a file, or a folder read non-recursively), sorted by name.

    Every entry with a thread suffix is listed, whatever it is (a folder named
    x.txt, a FIFO, a link): input_problem says which of them cannot be read,
    and each gets a row in errors.csv instead of being skipped silently.
    """
    path = Path(input_path)
    if not path.is_dir():
        if path.exists() or path.is_symlink():
            return [path]
        raise InputError(path, "no such file or folder")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in THREAD_SUFFIXES)
    if not files:
        raise InputError(path, f"no thread files ({', '.join(THREAD_SUFFIXES)}) in this folder")
    return files


_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def input_problem(path: Path, input_path: Path | str, settings: ReadSettings = DEFAULT_SETTINGS.read) -> str | None:
    """Why `path`, found under `input_path`, is not read as a thread file, or None.

    Nothing is opened here (opening a named pipe would block). A symbolic link
    is followed only inside the input folder, unless settings.follow_links: a
    link in a shared folder must not put another file's text into the tables.
    A file named as the input itself is read wherever its link points.
    """
    root = Path(input_path)
    try:
        if path.is_symlink():
            try:
                os.stat(path)
            except FileNotFoundError:
                return f"a broken symbolic link (to {os.readlink(path)})"
            target = Path(os.path.realpath(path))
            inside = root.is_dir() and target.is_relative_to(Path(os.path.realpath(root)))
            if root.is_dir() and not inside and not settings.follow_links:
                return f"a symbolic link to {target}, outside the input folder; not followed (--follow-links reads it)"
        mode = os.stat(path).st_mode
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "a symbolic link loop"
        return f"cannot be read ({err.strerror or err})"
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
        return f"{kind}, not a thread file"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def decode(data: bytes, path: Path | str, first_line: int = 1) -> str:
    """UTF-8 text without its byte-order mark, or an InputError naming the file and line."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(path, "UTF-16 text; save the file as UTF-8", line=first_line if first_line > 1 else None)
    nul = data.find(b"\x00")
    if nul >= 0:  # anywhere, not only at the start: a NUL would reach the tables
        line = first_line + data[:nul].count(b"\n")
        raise InputError(path, f"contains a NUL byte at byte {nul} (a binary file?)",
                         line=line if (first_line > 1 or nul >= 8192) else None)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = first_line + data[: err.start].count(b"\n")
        raise InputError(path, f"not valid UTF-8 at byte {err.start}; save the file as UTF-8", line=line) from err


def read_bytes(path: Path, settings: ReadSettings) -> bytes:
    try:
        size = path.stat().st_size
        if size > settings.max_thread_bytes:
            raise InputError(path, f"file is {size / 2**20:.1f} MiB; a single-thread file may be at most "
                                   f"{settings.max_thread_bytes / 2**20:.0f} MiB (use .jsonl for many threads)")
        return path.read_bytes()
    except OSError as err:
        raise InputError(path, f"cannot be read ({err.strerror or err})") from err


def check_lines(text: str, path: Path | str, settings: ReadSettings, first_line: int = 1) -> None:
    """Refuse a text with a line longer than settings.max_line_chars (a dump, not a thread)."""
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), first_line):
        if len(line) > settings.max_line_chars:
            raise InputError(path, f"a line of {len(line):,} characters (at most {settings.max_line_chars:,}); "
                                   "not a thread page", line=number)


def read_text_file(path: Path, settings: ReadSettings = DEFAULT_SETTINGS.read) -> str:
    text = decode(read_bytes(path, settings), path)
    if not text.strip():
        raise InputError(path, "the file is empty")
    check_lines(text, path, settings)
    return text


def html_to_text(html: str) -> str:
    """The page's readable text: one line per block element or <br>, blank lines between."""
    return SEPARATOR.join(line for line, _ in html_lines(html)) + "\n"


def html_lines(html: str) -> list[tuple[str, int]]:
    """The page's lines of text, each with its heading level (1-6 for h1-h6, 0 for other text).

    Scripts, styles, navigation and forms are dropped, and so are the page's own
    header and footer (but not those inside an article or section, which can
    hold an answer's title or signature). Inline markup does not break a line.
    """
    from bs4 import BeautifulSoup, NavigableString
    from bs4.element import Comment, Doctype, ProcessingInstruction

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    for tag in soup.find_all(("header", "footer")):
        if tag.find_parent(("article", "section")) is None:
            tag.decompose()
    lines: list[tuple[str, int]] = []  # (line, heading level or 0)
    pieces: list[str] = []
    heading = [0]

    def flush() -> None:
        line = re.sub(r"\s+", " ", "".join(pieces)).strip()
        if line:
            lines.append((line, heading[0]))
        pieces.clear()

    def walk(root) -> None:
        """Depth first on a stack of its own: a page nested thousands deep (unclosed tags) is no RecursionError."""
        stack: list = [("inside", root)]
        while stack:
            action, node = stack.pop()
            if action == "close":  # a block ended: its line ends, the outer heading level returns
                flush()
                heading[0] = node
            elif action == "inside":
                stack.extend(("visit", child) for child in reversed(node.contents))
            elif isinstance(node, (Comment, Doctype, ProcessingInstruction)):
                continue
            elif isinstance(node, NavigableString):
                pieces.append(str(node))
            elif node.name == "br":
                flush()
            elif node.name in _HTML_BLOCKS:
                flush()
                stack.append(("close", heading[0]))  # popped once the block's children are done
                heading[0] = heading[0] or _HTML_HEADINGS.get(node.name, 0)
                stack.append(("inside", node))
            else:
                stack.append(("inside", node))

    walk(soup.body or soup)
    flush()
    return lines


def structured_thread(thread_id: str, source: str, line: int | None, question_title: str, question_body: str,
                      answers: list[tuple[str, str]]) -> ThreadSource:
    """Join the fields with blank lines and record each part's offsets."""
    parts: list[str] = []
    cursor = 0

    def add(piece: str) -> tuple[int, int]:
        nonlocal cursor
        if parts:
            parts.append(SEPARATOR)
            cursor += len(SEPARATOR)
        parts.append(piece)
        start, cursor = cursor, cursor + len(piece)
        return start, cursor

    title = question_title.strip()
    t_start, t_end = add(title)
    body = question_body.strip()
    b_start, b_end = add(body) if body else (t_end, t_end)
    segments = [Segment(0, title, t_start, t_end, b_start, b_end)]
    for position, (answer_title, answer_body) in enumerate(answers, 1):
        answer_title, answer_body = answer_title.strip(), answer_body.strip()
        a_start, a_end = add(answer_title) if answer_title else (cursor, cursor)
        s, e = add(answer_body)
        segments.append(Segment(position, answer_title, a_start, a_end, s, e))
    return ThreadSource(thread_id, source, line, "".join(parts), tuple(segments))


OVERRIDE_FIELDS = ("proposition", "question_kind")


def with_question(thread: ThreadSource, given: Mapping[str, object], path: Path | str,
                  line: int | None = None) -> ThreadSource:
    """The thread with a proposition (and question kind) given by hand, checked."""
    if not given:
        return thread
    for name, value in given.items():
        if not isinstance(value, str):
            raise InputError(path, f"field {name!r} should be str, got {type(value).__name__}", line=line)
    kind = str(given.get("question_kind", "")).strip()
    if kind and kind not in QUESTION_KINDS:
        raise InputError(path, f"thread {thread.thread_id!r}: question_kind must be one of {QUESTION_KINDS}, "
                               f"got {kind!r}", line=line)
    return replace(thread, proposition=str(given.get("proposition", "")).strip(), question_kind=kind)


def read_propositions(path: Path | str) -> dict[str, dict[str, str]]:
    """The propositions table: thread_id, proposition[, question_kind]; one row per thread."""
    path = Path(path)
    try:
        text = decode(path.read_bytes(), path)
    except OSError as err:
        raise InputError(path, f"cannot be read ({err.strerror or err})") from err
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not {"thread_id", "proposition"} <= set(reader.fieldnames or []):
        raise InputError(path, "needs the columns thread_id and proposition (and optionally question_kind)", line=1)
    table: dict[str, dict[str, str]] = {}
    for line, row in enumerate(reader, 2):
        thread_id = (row["thread_id"] or "").strip()
        if not thread_id or thread_id in table:
            raise InputError(path, "empty thread_id" if not thread_id else f"thread {thread_id!r} given twice",
                             line=line)
        given = {k: (row.get(k) or "").strip() for k in OVERRIDE_FIELDS if (row.get(k) or "").strip()}
        if given.get("question_kind", "") not in ("",) + QUESTION_KINDS:
            raise InputError(path, f"question_kind must be one of {QUESTION_KINDS}, got {given['question_kind']!r}",
                             line=line)
        table[thread_id] = given
    return table


def _checked(thread: ThreadSource, settings: ReadSettings) -> ThreadSource:
    """Refuse a thread that would break a table: too long, an id too long to be a key, text that is not Unicode."""
    if len(thread.text) > settings.max_thread_bytes:
        raise InputError(thread.source, f"thread {thread.thread_id[:80]!r} has {len(thread.text):,} characters; "
                                        f"at most {settings.max_thread_bytes:,}", line=thread.line)
    if len(thread.thread_id) > settings.max_thread_id_chars:
        raise InputError(thread.source, f"a thread id of {len(thread.thread_id):,} characters (at most "
                                        f"{settings.max_thread_id_chars}): {thread.thread_id[:40]!r}...", line=thread.line)
    for name in ("thread_id", "text", "proposition"):
        try:
            getattr(thread, name).encode("utf-8")
        except UnicodeEncodeError as err:  # JSON may escape a lone surrogate ("\ud800"); no CSV can hold it
            raise InputError(thread.source, f"{'the ' + name if name != 'text' else 'the text'} holds a lone "
                                            f"surrogate ({err.object[err.start]!r} at character {err.start}), "
                                            "which is not Unicode text", line=thread.line) from None
    return thread


def _field(record: dict, name: str, path: Path, line: int, kind=str):
    if name not in record:
        raise InputError(path, f"lacks the field {name!r}", line=line)
    value = record[name]
    if not isinstance(value, kind):
        raise InputError(path, f"field {name!r} should be {kind.__name__}, got {type(value).__name__}", line=line)
    return value


def thread_from_record(record, path: Path | str, line: int | None = None,
                       settings: ReadSettings = DEFAULT_SETTINGS.read) -> ThreadSource:
    """A thread from a JSONL-shaped record ({"id", "question_title", "question_body", "answers": [...]}), checked."""
    if not isinstance(record, dict):
        raise InputError(path, "not a JSON object", line=line)
    answers = _field(record, "answers", path, line, list)
    if not answers:
        raise InputError(path, "the thread has no answers", line=line)
    pairs = []
    for k, answer in enumerate(answers, 1):
        if not isinstance(answer, dict):
            raise InputError(path, f"answer {k} is not a JSON object", line=line)
        body = _field(answer, "body", path, line)
        if not body.strip():
            raise InputError(path, f"answer {k} has an empty body", line=line)
        title = answer.get("title")
        if title is not None and not isinstance(title, str):
            raise InputError(path, f"answer {k}: field 'title' should be str, got {type(title).__name__}", line=line)
        pairs.append((title or "", body))
    thread_id = _field(record, "id", path, line)
    if not thread_id.strip():
        raise InputError(path, "empty 'id'", line=line)
    thread = structured_thread(thread_id, str(path), line, _field(record, "question_title", path, line),
                               _field(record, "question_body", path, line), pairs)
    given = {name: record[name] for name in OVERRIDE_FIELDS if record.get(name) is not None}
    return _checked(with_question(thread, given, path, line), settings)


def read_jsonl(path: Path, settings: ReadSettings = DEFAULT_SETTINGS.read) -> Iterator[ThreadSource | InputError]:
    """One thread per line; a bad line is reported and skipped, the others are read."""
    try:
        handle = open(path, "rb")
    except OSError as err:
        yield InputError(path, f"cannot be read ({err.strerror or err})")
        return
    with handle:
        seen_any = False
        for number, raw in enumerate(_bounded_lines(handle, settings.max_thread_bytes), 1):
            if raw is None:
                yield InputError(path, f"line longer than {settings.max_thread_bytes / 2**20:.0f} MiB", line=number)
                continue
            if not raw.strip():
                continue
            seen_any = True
            try:
                record = json.loads(decode(raw, path, number))
                yield thread_from_record(record, path, number, settings)
            except json.JSONDecodeError as err:
                yield InputError(path, f"not JSON ({err.msg} at column {err.colno})", line=number)
            except RecursionError:
                yield InputError(path, "JSON nested too deeply", line=number)
            except InputError as err:
                yield err
            except Exception as err:  # noqa: BLE001 - e.g. a 5,000-digit number: this line fails, the rest are read
                yield unexpected(path, err, number)
        if not seen_any:
            yield InputError(path, "the file is empty")


def _bounded_lines(handle, limit: int) -> Iterator[bytes | None]:
    """Lines of a binary file, None for a line longer than `limit` (read in pieces, never whole)."""
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while True:  # skip the rest of the oversized line
                rest = handle.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield line


def read_csv_threads(path: Path, settings: ReadSettings = DEFAULT_SETTINGS.read) -> Iterator[ThreadSource | InputError]:
    """One row per answer; a thread's rows share thread_id and question fields (they need not be adjacent).

    A CSV file holds many threads: the size limit applies to each thread, not to the file.
    """
    try:
        text = decode(path.read_bytes(), path)
    except OSError as err:
        yield InputError(path, f"cannot be read ({err.strerror or err})")
        return
    except InputError as err:
        yield err
        return
    # the file is in memory already: a field of any size is read, and a thread too large is refused by
    # _checked alone (csv's own limit of 128 KiB raised an error that lost every thread of the file)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        yield InputError(path, f"missing columns {missing}; expected {', '.join(CSV_COLUMNS)}[, author]", line=1)
        return
    threads: dict[str, dict] = {}
    row_start = reader.line_num + 1
    limit = csv.field_size_limit(sys.maxsize)
    try:
        for row in reader:
            line, row_start = row_start, reader.line_num + 1
            thread_id = (row["thread_id"] or "").strip()
            if not thread_id:
                yield InputError(path, "empty thread_id", line=line)
                continue
            question = (row["question_title"] or "", row["question_body"] or "")
            thread = threads.setdefault(thread_id, {"line": line, "question": question, "answers": [], "bad": None,
                                                    "given": {k: row[k] for k in OVERRIDE_FIELDS if row.get(k)}})
            if question != thread["question"] and thread["bad"] is None:
                thread["bad"] = InputError(path, f"thread {thread_id!r}: question fields differ from its first row "
                                                 f"(line {thread['line']})", line=line)
            if (row["answer_body"] or "").strip():
                thread["answers"].append((row["answer_title"] or "", row["answer_body"]))
    except csv.Error as err:  # the threads read before it are kept; the thread of this row may be incomplete
        yield InputError(path, f"not valid CSV ({err}); the rest of the file is not read", line=reader.line_num)
    finally:
        csv.field_size_limit(limit)
    if reader.line_num <= 1:
        yield InputError(path, "no rows under the header")
    for thread_id, thread in threads.items():
        if thread["bad"] is not None:
            yield thread["bad"]
        elif not thread["answers"]:
            yield InputError(path, f"thread {thread_id!r} has no answers", line=thread["line"])
        else:
            try:
                read = structured_thread(thread_id, str(path), thread["line"], *thread["question"], thread["answers"])
                yield _checked(with_question(read, thread["given"], path, thread["line"]), settings)
            except InputError as err:
                yield err


def unexpected(path: Path | str, err: Exception, line: int | None = None) -> InputError:
    """An InputError for an exception no check foresaw: the file (and line) named, the run goes on."""
    detail = str(err)
    detail = detail if len(detail) <= 200 else detail[:200] + "..."
    return InputError(path, f"could not be read ({type(err).__name__}: {detail})", line=line)


def read_path(path: Path, settings: ReadSettings = DEFAULT_SETTINGS.read,
              input_path: Path | str | None = None) -> Iterator[ThreadSource | InputError]:
    """The threads of one file, with an InputError for each problem; never raises for what the file holds."""
    problem = input_problem(path, path if input_path is None else input_path, settings)
    if problem:
        yield InputError(path, problem)
        return
    suffix = path.suffix.lower()
    try:
        if suffix in JSONL_SUFFIXES:
            yield from read_jsonl(path, settings)
        elif suffix in CSV_SUFFIXES:
            yield from read_csv_threads(path, settings)
        else:
            yield _read_page(path, suffix, settings)
    except InputError as err:
        yield err
    except Exception as err:  # noqa: BLE001 - whatever a hostile file does, it is this file's error row
        yield unexpected(path, err)


def _read_page(path: Path, suffix: str, settings: ReadSettings) -> ThreadSource:
    """A one-thread file (text or HTML), read whole."""
    hints: dict[int, int] = {}
    if suffix in HTML_SUFFIXES:
        lines = html_lines(decode(read_bytes(path, settings), path))
        if not lines:
            raise InputError(path, "the page has no readable text")
        offset = 0
        for line, level in lines:
            if level:
                hints[offset] = level
            offset += len(line) + len(SEPARATOR)
        text = SEPARATOR.join(line for line, _ in lines) + "\n"
        check_lines(text, path, settings)
    else:
        text = read_text_file(path, settings)
    return _checked(ThreadSource(path.stem, str(path), None, text, title_hints=hints), settings)


def estimate_threads(input_path: Path | str) -> int:
    """About how many threads the input holds, without parsing it (for a progress bar's total): a page file is
    one, a JSONL file one a line, a CSV file at most one a line. Files that cannot be read count as none."""
    count = 0
    for path in discover_threads(input_path):
        suffix = path.suffix.lower()
        if suffix not in JSONL_SUFFIXES + CSV_SUFFIXES:
            count += 1
            continue
        if input_problem(path, input_path) is not None:
            continue
        try:
            with open(path, "rb") as handle:
                lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
        except OSError:
            continue
        count += max(1, lines - (suffix in CSV_SUFFIXES))
    return max(count, 1)


def iter_threads(input_path: Path | str, settings: ReadSettings = DEFAULT_SETTINGS.read) -> Iterator[ThreadSource | InputError]:
    """Every thread under `input_path`, in file order, with errors in-band; ids must be unique.

    Propositions given in settings.propositions_file replace those of the input.
    """
    seen: dict[str, str] = {}
    table = read_propositions(settings.propositions_file) if settings.propositions_file else {}
    for path in discover_threads(input_path):
        for item in read_path(path, settings, input_path):
            if isinstance(item, ThreadSource) and item.thread_id in table:
                item = with_question(item, table[item.thread_id], settings.propositions_file)
            if isinstance(item, ThreadSource):
                if item.thread_id in seen:
                    item = InputError(item.source, f"thread id {item.thread_id!r} was already read from "
                                                   f"{seen[item.thread_id]}", line=item.line)
                else:
                    seen[item.thread_id] = item.source
            yield item
