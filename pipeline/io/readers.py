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

A file is opened as the very file its check passed (input_problem): without
following a link where none was checked, and the opened descriptor's kind,
device and inode compared with what was checked, so a file swapped for a link
or a pipe after its check is refused, never read. A file whose name is not
UTF-8 is refused (its row names it with \\xNN escapes): every path that reaches
a table or the terminal is UTF-8 text. NUL is refused in every field, as in
text files. What one file may cost is bounded before it is parsed: a page's
size (checked before it is hashed or read), its elements and lines, a
thread's answers (ReadSettings).

A CSV file is streamed, never held whole: a first pass checks its encoding and
notes each thread's last row, a second yields each thread once its last row
is read, in the order of first rows. Rows of a thread may be scattered through
the file; a thread begun is held until its last row, and so are the threads
begun after it (to keep that order), so a file whose threads are interleaved
costs memory as its interleaved part. Sorted or grouped by thread_id, as
exporters write them, memory stays that of one thread and one row.
"""

from __future__ import annotations

import codecs
import csv
import errno
import io
import json
import os
import re
import stat
import sys
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Iterator, Mapping

from pipeline.config import DEFAULT_SETTINGS, ReadSettings
from pipeline.io.files import VERBOSE, InputError, log, utf8_text
from pipeline.schemas import QUESTION_KINDS
from pipeline.threads import Segment, ThreadSource

TEXT_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl",)
CSV_SUFFIXES = (".csv",)
THREAD_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES + CSV_SUFFIXES
PAGE_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES  # one thread a file: the size limit is the file's
# files that describe a folder of threads, not threads (the annotated corpus keeps its SOURCES.csv beside them):
# these names in capitals only, so a user's sources.csv or notes.txt of threads is still read
FOLDER_NOTE_NAMES = frozenset(("README", "SOURCES", "LICENSE", "NOTES", "CHANGELOG"))
CSV_COLUMNS = ("thread_id", "question_title", "question_body", "answer_title", "answer_body")
SEPARATOR = "\n\n"
_HTML_DROP = ("script", "style", "noscript", "template", "nav", "aside", "form", "button", "svg", "head")
_HTML_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_HTML_BLOCKS = frozenset(("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "blockquote", "pre", "dt", "dd",
                          "dl", "td", "th", "tr", "table", "div", "section", "article", "main", "header", "footer",
                          "figure", "figcaption", "address", "hr"))


def shown(path: Path | str) -> str:
    """`path` as UTF-8 text for a table or the terminal: a byte of a name that is not UTF-8 (which Python keeps as a
    surrogate escape, and no UTF-8 file or terminal can hold) becomes \\xNN; a UTF-8 path is unchanged."""
    return utf8_text(str(path))


def _error(path: Path | str, problem: str, line: int | None = None) -> InputError:
    return InputError(shown(path), problem, line=line)


def discover_threads(input_path: Path | str, notes: bool = False) -> list[Path]:
    """Thread files under `input_path` (a file, or a folder read non-recursively), sorted by name.

    Every entry with a thread suffix is listed, whatever it is (a folder named
    x.txt, a FIFO, a link): input_problem says which of them cannot be read,
    and each gets a row in errors.csv instead of being skipped silently. The
    one exception is a folder's notes (README.txt, SOURCES.csv, LICENSE.txt,
    NOTES.txt, CHANGELOG.txt, named in capitals): they describe the threads,
    and each is named at -v when `notes` (by the pass that reads the threads,
    not by the checks and estimates before it: once a run).
    """
    path = Path(input_path)
    if not path.is_dir():
        if path.exists() or path.is_symlink():
            return [path]
        raise _error(path, "no such file or folder")
    candidates = sorted(p for p in path.iterdir() if p.suffix.lower() in THREAD_SUFFIXES)
    files = [p for p in candidates if p.stem not in FOLDER_NOTE_NAMES]
    for note in sorted(set(candidates) - set(files)) if notes else ():
        log(f"read: {shown(note)}: a folder's notes, not read as threads", VERBOSE)
    if not files:
        raise _error(path, f"no thread files ({', '.join(THREAD_SUFFIXES)}) in this folder")
    return files


_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def input_problem(path: Path, input_path: Path | str, settings: ReadSettings = DEFAULT_SETTINGS.read) -> str | None:
    """Why `path`, found under `input_path`, is not read as a thread file, or None.

    Nothing is opened here (opening a named pipe would block). A symbolic link
    is followed only inside the input folder, unless settings.follow_links: a
    link in a shared folder must not put another file's text into the tables.
    A file named as the input itself is read wherever its link points. A page
    file (.txt, .html) over settings.max_thread_bytes is refused here, so that
    nothing hashes or reads it; a name that is not UTF-8 is refused too.
    """
    return _inspect(path, input_path, settings)[0]


def _inspect(path: Path, input_path: Path | str, settings: ReadSettings) -> tuple[str | None, tuple | None, bool]:
    """input_problem's check: (problem or None, (device, inode) of the file that passed, whether it is a link)."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8 (its bytes shown as \\xNN); rename the file to read it", None, False
    root = Path(input_path)
    link = False
    try:
        if path.is_symlink():
            link = True
            try:
                os.stat(path)
            except FileNotFoundError:
                return f"a broken symbolic link (to {shown(os.readlink(path))})", None, link
            target = Path(os.path.realpath(path))
            inside = root.is_dir() and target.is_relative_to(Path(os.path.realpath(root)))
            if root.is_dir() and not inside and not settings.follow_links:
                return (f"a symbolic link to {shown(target)}, outside the input folder; not followed (--follow-links "
                        "reads it)"), None, link
        info = os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "a symbolic link loop", None, link
        return f"cannot be read ({utf8_text(err.strerror or str(err))})", None, link
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "not a regular file")
        return f"{kind}, not a thread file", None, link
    if path.suffix.lower() in PAGE_SUFFIXES and info.st_size > settings.max_thread_bytes:
        return _too_big(info.st_size, settings), None, link
    if not os.access(path, os.R_OK):  # the last step (tests swap a file for a link right after it)
        return "cannot be read (permission denied)", None, link
    return None, (info.st_dev, info.st_ino), link


def _too_big(size: int, settings: ReadSettings) -> str:
    return (f"file is {size / 2**20:.1f} MiB; a single-thread file may be at most "
            f"{settings.max_thread_bytes / 2**20:.0f} MiB (use .jsonl for many threads)")


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


def open_thread_file(path: Path, input_path: Path | str, settings: ReadSettings = DEFAULT_SETTINGS.read):
    """`path` opened for reading (binary) if it passes input_problem's check, and only as the file that passed it.

    A path that was no link when checked is opened with O_NOFOLLOW, and the
    descriptor opened is compared with what was checked (a regular file, the
    same device and inode): a file swapped after its check for a link out of
    the folder, a pipe (opened without blocking) or another file is refused,
    never read. Raises an InputError naming the file.
    """
    problem, identity, link = _inspect(path, input_path, settings)
    if problem:
        raise _error(path, problem)
    flags = _OPEN_FLAGS | (0 if link else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP and not link:
            raise _error(path, "became a symbolic link after it was checked; not followed") from None
        raise _error(path, f"cannot be read ({utf8_text(err.strerror or str(err))})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != identity:
            raise _error(path, "was replaced (by a link, a pipe or another file) after it was checked; not read")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def decode(data: bytes, path: Path | str, first_line: int = 1) -> str:
    """UTF-8 text without its byte-order mark, or an InputError naming the file and line."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise _error(path, "UTF-16 text; save the file as UTF-8", line=first_line if first_line > 1 else None)
    nul = data.find(b"\x00")
    if nul >= 0:  # anywhere, not only at the start: a NUL would reach the tables
        line = first_line + data[:nul].count(b"\n")
        raise _error(path, f"contains a NUL byte at byte {nul} (a binary file?)",
                     line=line if (first_line > 1 or nul >= 8192) else None)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        start = err.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)  # utf-8-sig counts after the mark
        line = first_line + data[:start].count(b"\n")
        raise _error(path, f"not valid UTF-8 at byte {start}; save the file as UTF-8", line=line) from err


_BLOCK = 1 << 18  # bytes read at a time where a file is streamed


def check_encoding(handle, path: Path | str) -> None:
    """decode()'s checks on a whole binary file, a block at a time (the file is never held whole); the same errors.
    Leaves the handle at the end of the file."""
    offset = newlines = 0
    carry = b""  # the start of a character cut by a block's end
    bad = None  # (byte, line) of the first byte that is not UTF-8: a NUL anywhere is said first, as by decode()
    while block := handle.read(_BLOCK):
        if offset == 0 and block[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise _error(path, "UTF-16 text; save the file as UTF-8")
        nul = block.find(b"\x00")
        if nul >= 0:
            at = offset + nul
            raise _error(path, f"contains a NUL byte at byte {at} (a binary file?)",
                         line=1 + newlines + block[:nul].count(b"\n") if at >= 8192 else None)
        if bad is None:
            data, carry = carry + block if carry else block, b""
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as err:
                if err.end == len(data) and err.reason == "unexpected end of data":
                    carry = data[err.start:]
                else:  # data starts len(data) - len(block) bytes before the block (a cut character, no newline)
                    bad = (offset - (len(data) - len(block)) + err.start, 1 + newlines + data[:err.start].count(b"\n"))
        newlines += block.count(b"\n")
        offset += len(block)
    if bad is None and carry:
        bad = (offset - len(carry), 1 + newlines)
    if bad is not None:
        raise _error(path, f"not valid UTF-8 at byte {bad[0]}; save the file as UTF-8", line=bad[1])


def _read_limited(handle, path: Path | str, settings: ReadSettings) -> bytes:
    """A page file's bytes, at most settings.max_thread_bytes of them (its size is checked on the open descriptor)."""
    size = os.fstat(handle.fileno()).st_size
    if size <= settings.max_thread_bytes:
        data = handle.read(settings.max_thread_bytes + 1)
        if len(data) <= settings.max_thread_bytes:
            return data
        size = max(size, len(data))  # it grew since
    raise _error(path, _too_big(size, settings))


def read_bytes(path: Path, settings: ReadSettings) -> bytes:
    """A page file's bytes, checked and opened as open_thread_file does (`path` named as the input itself)."""
    with open_thread_file(path, path, settings) as handle:
        return _read_limited(handle, path, settings)


def check_lines(text: str, path: Path | str, settings: ReadSettings, first_line: int = 1) -> None:
    """Refuse a text with a line longer than settings.max_line_chars, or with more than settings.max_page_lines
    lines of text (each may start an answer): a dump, not a thread page."""
    count = 0
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), first_line):
        if len(line) > settings.max_line_chars:
            raise _error(path, f"a line of {len(line):,} characters (at most {settings.max_line_chars:,}); "
                               "not a thread page", line=number)
        count += bool(line.strip())
    if count > settings.max_page_lines:
        raise _error(path, f"more than {settings.max_page_lines:,} lines of text ({count:,}), each of which may "
                           "start an answer (max_page_lines); not a thread page")


def read_text_file(path: Path, settings: ReadSettings = DEFAULT_SETTINGS.read) -> str:
    return _page_text(read_bytes(path, settings), path, settings)


def _page_text(data: bytes, path: Path | str, settings: ReadSettings) -> str:
    text = decode(data, path)
    if not text.strip():
        raise _error(path, "the file is empty")
    check_lines(text, path, settings)
    return text


_START_TAG = re.compile(r"<[A-Za-z]")


def check_elements(html: str, path: Path | str, settings: ReadSettings) -> None:
    """Refuse a page of more than settings.max_html_elements elements, counted as start tags before any tree is
    built (a tree takes about 0.7 KB an element)."""
    limit = settings.max_html_elements
    if html.count("<") <= limit:
        return
    for count, _ in enumerate(_START_TAG.finditer(html), 1):
        if count > limit:
            raise _error(path, f"more than {limit:,} HTML elements (max_html_elements); not a thread page")


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
            raise _error(path, f"field {name!r} should be str, got {type(value).__name__}", line=line)
    kind = str(given.get("question_kind", "")).strip()
    if kind and kind not in QUESTION_KINDS:
        raise _error(path, f"thread {thread.thread_id!r}: question_kind must be one of {QUESTION_KINDS}, "
                           f"got {kind!r}", line=line)
    return replace(thread, proposition=str(given.get("proposition", "")).strip(), question_kind=kind)


def read_propositions(path: Path | str) -> dict[str, dict[str, str]]:
    """The propositions table: thread_id, proposition[, question_kind]; one row per thread."""
    path = Path(path)
    try:
        text = decode(path.read_bytes(), path)
    except OSError as err:
        raise _error(path, f"cannot be read ({utf8_text(err.strerror or str(err))})") from err
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not {"thread_id", "proposition"} <= set(reader.fieldnames or []):
        raise _error(path, "needs the columns thread_id and proposition (and optionally question_kind)", line=1)
    table: dict[str, dict[str, str]] = {}
    for line, row in enumerate(reader, 2):
        thread_id = (row["thread_id"] or "").strip()
        if not thread_id or thread_id in table:
            raise _error(path, "empty thread_id" if not thread_id else f"thread {thread_id!r} given twice",
                         line=line)
        given = {k: (row.get(k) or "").strip() for k in OVERRIDE_FIELDS if (row.get(k) or "").strip()}
        if given.get("question_kind", "") not in ("",) + QUESTION_KINDS:
            raise _error(path, f"question_kind must be one of {QUESTION_KINDS}, got {given['question_kind']!r}",
                         line=line)
        table[thread_id] = given
    return table


def _checked(thread: ThreadSource, settings: ReadSettings) -> ThreadSource:
    """Refuse a thread that would break a table: too long, an id too long to be a key, text that is not Unicode or
    holds a NUL."""
    if len(thread.text) > settings.max_thread_bytes:
        raise _error(thread.source, _too_long(thread.thread_id, len(thread.text), settings), line=thread.line)
    if len(thread.thread_id) > settings.max_thread_id_chars:
        raise _error(thread.source, f"a thread id of {len(thread.thread_id):,} characters (at most "
                                    f"{settings.max_thread_id_chars}): {thread.thread_id[:40]!r}...", line=thread.line)
    for name in ("thread_id", "text", "proposition"):
        what = "the thread id" if name == "thread_id" else f"the {name}"
        value = getattr(thread, name)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:  # JSON may escape a lone surrogate ("\ud800"); no CSV can hold it
            raise _error(thread.source, f"{'the ' + name if name != 'text' else 'the text'} holds a lone "
                                        f"surrogate ({err.object[err.start]!r} at character {err.start}), "
                                        "which is not Unicode text", line=thread.line) from None
        if "\x00" in value:  # JSON may escape a NUL ("\u0000"); a text file may not hold one either
            raise _error(thread.source, f"{what} holds a NUL character (\\u0000) at character {value.index(chr(0))}"
                                        "; NUL is not text", line=thread.line)
    return thread


def _too_long(thread_id: str, length: int, settings: ReadSettings) -> str:
    return f"thread {thread_id[:80]!r} has {length:,} characters; at most {settings.max_thread_bytes:,}"


def _too_many(who: str, count: int, settings: ReadSettings) -> str:
    return f"{who} has {count:,} answers; at most {settings.max_answers:,} (max_answers)"


def _field(record: dict, name: str, path: Path | str, line: int, kind=str):
    if name not in record:
        raise _error(path, f"lacks the field {name!r}", line=line)
    value = record[name]
    if not isinstance(value, kind):
        raise _error(path, f"field {name!r} should be {kind.__name__}, got {type(value).__name__}", line=line)
    return value


def thread_from_record(record, path: Path | str, line: int | None = None,
                       settings: ReadSettings = DEFAULT_SETTINGS.read) -> ThreadSource:
    """A thread from a JSONL-shaped record ({"id", "question_title", "question_body", "answers": [...]}), checked."""
    if not isinstance(record, dict):
        raise _error(path, "not a JSON object", line=line)
    answers = _field(record, "answers", path, line, list)
    if not answers:
        raise _error(path, "the thread has no answers", line=line)
    if len(answers) > settings.max_answers:
        thread_id = record.get("id")
        who = f"thread {thread_id[:80]!r}" if isinstance(thread_id, str) else "the thread"
        raise _error(path, _too_many(who, len(answers), settings), line=line)
    pairs = []
    for k, answer in enumerate(answers, 1):
        if not isinstance(answer, dict):
            raise _error(path, f"answer {k} is not a JSON object", line=line)
        body = _field(answer, "body", path, line)
        if not body.strip():
            raise _error(path, f"answer {k} has an empty body", line=line)
        title = answer.get("title")
        if title is not None and not isinstance(title, str):
            raise _error(path, f"answer {k}: field 'title' should be str, got {type(title).__name__}", line=line)
        pairs.append((title or "", body))
    thread_id = _field(record, "id", path, line)
    if not thread_id.strip():
        raise _error(path, "empty 'id'", line=line)
    thread = structured_thread(thread_id, shown(path), line, _field(record, "question_title", path, line),
                               _field(record, "question_body", path, line), pairs)
    given = {name: record[name] for name in OVERRIDE_FIELDS if record.get(name) is not None}
    return _checked(with_question(thread, given, path, line), settings)


def _nul_field(value) -> str | None:
    """Where a parsed JSON value holds a NUL character (a field path such as "answers[1].body"), or None."""
    stack = [("", value)]
    while stack:  # a stack of its own: JSON nested a thousand deep is no RecursionError
        at, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return at or "the line"
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                if "\x00" in key:
                    return f"a field name of {at or 'the record'}"
                stack.append((f"{at}.{key}" if at else key, child))
        elif isinstance(item, list):
            stack.extend((f"{at}[{k}]", child) for k, child in reversed(list(enumerate(item))))
    return None


def _opened(path: Path, settings: ReadSettings, items) -> Iterator[ThreadSource | InputError]:
    """`items(handle, name, settings)` over the file as opened by open_thread_file, or its InputError."""
    try:
        handle = open_thread_file(path, path, settings)
    except InputError as err:
        yield err
        return
    with handle:
        yield from items(handle, shown(path), settings)


def read_jsonl(path: Path, settings: ReadSettings = DEFAULT_SETTINGS.read) -> Iterator[ThreadSource | InputError]:
    """One thread per line; a bad line is reported and skipped, the others are read."""
    yield from _opened(path, settings, _jsonl_items)


def _jsonl_items(handle, name: str, settings: ReadSettings) -> Iterator[ThreadSource | InputError]:
    seen_any = False
    for number, raw in enumerate(_bounded_lines(handle, settings.max_thread_bytes), 1):
        if raw is None:
            seen_any = True
            yield InputError(name, f"line longer than {settings.max_thread_bytes / 2**20:.0f} MiB", line=number)
            continue
        if not raw.strip():
            continue
        seen_any = True
        try:
            text = decode(raw, name, number)
            record = json.loads(text)
            where = _nul_field(record) if "\\u0000" in text else None  # JSON writes a NUL only so
            if where is not None:
                raise InputError(name, f"a NUL character (\\u0000) in {where}; NUL is not text", line=number)
            yield thread_from_record(record, name, number, settings)
        except json.JSONDecodeError as err:
            yield InputError(name, f"not JSON ({err.msg} at column {err.colno})", line=number)
        except RecursionError:
            yield InputError(name, "JSON nested too deeply", line=number)
        except InputError as err:
            yield err
        except Exception as err:  # noqa: BLE001 - e.g. a 5,000-digit number: this line fails, the rest are read
            yield unexpected(name, err, number)
    if not seen_any:
        yield InputError(name, "the file is empty")


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

    A CSV file holds many threads: the size limit applies to each thread, not to the file. The file is streamed
    (see the module's docstring): memory is that of the threads begun and not yet ended, not of the file.
    """
    yield from _opened(path, settings, _csv_items)


class _CsvPass:
    """One pass over a CSV file's rows from its start: `rows()` gives (line of the row's start, row); then `error`
    holds (message, line) if a malformed row ended the pass, and `line_num` the number of lines read.

    A field of any size is read: csv's own limit of 128 KiB raised an error that lost every thread of the file,
    so it is lifted while this file's rows are parsed, and put back between them (the limit is global)."""

    def __init__(self, handle):
        handle.seek(0)
        self.text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        self.reader = csv.DictReader(self.text)
        self.error: tuple[str, int] | None = None
        self.header = self._parse(lambda: self.reader.fieldnames)
        self.header = list(self.header or []) if self.error is None else None

    def _parse(self, step):
        limit = csv.field_size_limit(sys.maxsize)
        try:
            return step()
        except csv.Error as err:
            self.error = (f"not valid CSV ({err}); the rest of the file is not read", self.reader.line_num)
            return None
        finally:
            csv.field_size_limit(limit)

    @property
    def line_num(self) -> int:
        return self.reader.line_num

    def rows(self) -> Iterator[tuple[int, dict]]:
        row_start = self.reader.line_num + 1
        try:
            while self.error is None and (row := self._parse(lambda: next(self.reader, None))) is not None:
                line, row_start = row_start, self.reader.line_num + 1
                yield line, row
        finally:
            self.text.detach()  # the handle is the caller's


def _csv_items(handle, name: str, settings: ReadSettings) -> Iterator[ThreadSource | InputError]:
    check_encoding(handle, name)  # the whole file first, as when it was read whole: a bad byte refuses the file
    first = _CsvPass(handle)
    missing = [c for c in CSV_COLUMNS if c not in first.header] if first.header is not None else list(CSV_COLUMNS)
    if first.error is not None or missing:
        yield InputError(name, *first.error) if first.error else \
            InputError(name, f"missing columns {missing}; expected {', '.join(CSV_COLUMNS)}[, author]", line=1)
        return
    last = {(row["thread_id"] or "").strip(): number for number, (_, row) in enumerate(first.rows())}
    pending: dict[str, dict] = {}  # threads begun and not yet yielded
    order: deque[str] = deque()  # their ids, in the order of their first rows
    second = _CsvPass(handle)
    for number, (line, row) in enumerate(second.rows()):
        thread_id = (row["thread_id"] or "").strip()
        if not thread_id:
            yield InputError(name, "empty thread_id", line=line)
            continue
        if last.get(thread_id, -1) < number:  # not as the first pass read it
            yield InputError(name, "the file changed while it was read; the rest of it is not read", line=line)
            break
        thread = pending.get(thread_id)
        if thread is None:
            thread = pending[thread_id] = {"line": line, "question": _question(row), "answers": [], "count": 0,
                                           "length": _length(*_question(row)), "bad": None,
                                           "given": {k: row[k] for k in OVERRIDE_FIELDS if row.get(k)}}
            order.append(thread_id)
        _add_row(thread, thread_id, row, line, name, settings)
        thread["done"] = last[thread_id] == number
        while order and pending[order[0]]["done"]:
            ended = order.popleft()
            yield _csv_thread(ended, pending.pop(ended), name, settings)
    if second.error is not None:  # the threads read before it are kept; the thread of this row may be incomplete
        yield InputError(name, *second.error)
    elif second.line_num <= 1:
        yield InputError(name, "no rows under the header")
    for ended in order:
        yield _csv_thread(ended, pending[ended], name, settings)


def _question(row: dict) -> tuple[str, str]:
    return row["question_title"] or "", row["question_body"] or ""


def _length(*pieces: str) -> int:
    """The length structured_thread gives the text of these pieces (the first always there, the others if not
    blank), without building it."""
    first, *rest = (piece.strip() for piece in pieces)
    return len(first) + sum(len(SEPARATOR) + len(piece) for piece in rest if piece)


def _add_row(thread: dict, thread_id: str, row: dict, line: int, name: str, settings: ReadSettings) -> None:
    """One row's answer into its thread; a thread over the limits keeps its counts, not its text."""
    if _question(row) != thread["question"] and thread["bad"] is None:
        thread["bad"] = InputError(name, f"thread {thread_id!r}: question fields differ from its first row "
                                         f"(line {thread['line']})", line=line)
        thread["answers"] = None
    if (row["answer_body"] or "").strip():
        answer = (row["answer_title"] or "", row["answer_body"])
        thread["count"] += 1
        thread["length"] += len(SEPARATOR) + _length(*reversed(answer))  # the body is never blank, the title may be
        if thread["answers"] is not None:
            thread["answers"].append(answer)
            if thread["count"] > settings.max_answers or thread["length"] > settings.max_thread_bytes:
                thread["answers"] = None  # refused when it ends: its text need not be kept


def _csv_thread(thread_id: str, thread: dict, name: str, settings: ReadSettings) -> ThreadSource | InputError:
    """A CSV thread whose rows are all read, or the error that refuses it."""
    line = thread["line"]
    if thread["bad"] is not None:
        return thread["bad"]
    if not thread["count"]:
        return InputError(name, f"thread {thread_id!r} has no answers", line=line)
    try:
        if thread["count"] > settings.max_answers:
            raise InputError(name, _too_many(f"thread {thread_id[:80]!r}", thread["count"], settings), line=line)
        if thread["answers"] is None:  # over the size limit, its text not kept: said as _checked says it
            with_question(ThreadSource(thread_id, name, line, ""), thread["given"], name, line)
            raise InputError(name, _too_long(thread_id, thread["length"], settings), line=line)
        read = structured_thread(thread_id, name, line, *thread["question"], thread["answers"])
        return _checked(with_question(read, thread["given"], name, line), settings)
    except InputError as err:
        return err


def unexpected(path: Path | str, err: Exception, line: int | None = None) -> InputError:
    """An InputError for an exception no check foresaw: the file (and line) named, the run goes on."""
    detail = utf8_text(str(err))
    detail = detail if len(detail) <= 200 else detail[:200] + "..."
    return _error(path, f"could not be read ({type(err).__name__}: {detail})", line=line)


def read_path(path: Path, settings: ReadSettings = DEFAULT_SETTINGS.read,
              input_path: Path | str | None = None) -> Iterator[ThreadSource | InputError]:
    """The threads of one file, with an InputError for each problem; never raises for what the file holds.

    The file is opened as the one its check passed (open_thread_file), and read from that descriptor alone."""
    try:
        handle = open_thread_file(path, path if input_path is None else input_path, settings)
    except InputError as err:
        yield err
        return
    suffix, name = path.suffix.lower(), shown(path)
    with handle:
        try:
            if suffix in JSONL_SUFFIXES:
                yield from _jsonl_items(handle, name, settings)
            elif suffix in CSV_SUFFIXES:
                yield from _csv_items(handle, name, settings)
            else:
                yield _read_page(handle, path, suffix, settings)
        except InputError as err:
            yield err
        except Exception as err:  # noqa: BLE001 - whatever a hostile file does, it is this file's error row
            yield unexpected(name, err)


def _read_page(handle, path: Path, suffix: str, settings: ReadSettings) -> ThreadSource:
    """A one-thread file (text or HTML), read whole from its open handle."""
    hints: dict[int, int] = {}
    name = shown(path)
    data = _read_limited(handle, name, settings)
    if suffix in HTML_SUFFIXES:
        html = decode(data, name)
        check_elements(html, name, settings)
        lines = html_lines(html)
        if not lines:
            raise InputError(name, "the page has no readable text")
        offset = 0
        for line, level in lines:
            if level:
                hints[offset] = level
            offset += len(line) + len(SEPARATOR)
        text = SEPARATOR.join(line for line, _ in lines) + "\n"
        check_lines(text, name, settings)
    else:
        text = _page_text(data, name, settings)
    return _checked(ThreadSource(path.stem, name, None, text, title_hints=hints), settings)


def estimate_threads(input_path: Path | str) -> int:
    """About how many threads the input holds, without parsing it (for a progress bar's total): a page file is
    one, a JSONL file one a line, a CSV file at most one a line. Files that cannot be read count as none."""
    count = 0
    for path in discover_threads(input_path):
        suffix = path.suffix.lower()
        if suffix not in JSONL_SUFFIXES + CSV_SUFFIXES:
            count += 1
            continue
        try:
            with open_thread_file(path, input_path) as handle:
                lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(_BLOCK), b""))
        except (InputError, OSError):
            continue
        count += max(1, lines - (suffix in CSV_SUFFIXES))
    return max(count, 1)


def iter_threads(input_path: Path | str, settings: ReadSettings = DEFAULT_SETTINGS.read) -> Iterator[ThreadSource | InputError]:
    """Every thread under `input_path`, in file order, with errors in-band; ids must be unique.

    Propositions given in settings.propositions_file replace those of the input.
    """
    seen: dict[str, str] = {}
    table = read_propositions(settings.propositions_file) if settings.propositions_file else {}
    for path in discover_threads(input_path, notes=True):
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
