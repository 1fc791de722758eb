"""Hand annotation of the annotated corpus (data/raw/corpus): read, check and resolve gold files to offsets.

One JSON file per thread (``data/raw/labels/gold/<thread_id>.json``, written
by reading the thread, never from the pipeline's output; rules in
``data/raw/labels/GUIDELINE.md``). A gold file quotes the text instead of
giving offsets, so a person can write and review it in a diff: titles and
claim sentences verbatim, answer bodies by their first and last words. This
module finds every quote in the thread text, in page order, and turns the file
into offsets the scorer (pipeline.accuracy) compares with the pipeline's rows.
Any quote that cannot be found, or found only ambiguously, is an error naming
the file and the element.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import CORPUS_DIR, CORPUS_SPLIT_FILE, GOLD_DIR
from pipeline.schemas import CLAIM_TYPES, OPEN, STANCES, YES_NO

GOLD_QUESTION_KINDS = (YES_NO, OPEN)  # a gold file says which a question is; "none" is only what the pipeline reads
DAYS_PER_MONTH = 30.436875  # the mean Gregorian month, as the duration lexicon uses
MONTHS_PER_UNIT = {"days": 1 / DAYS_PER_MONTH, "weeks": 7 / DAYS_PER_MONTH, "months": 1.0, "years": 12.0}
PARTS = ("dev", "test")
_THREAD_KEYS = {"thread_id", "question", "answers", "claims", "notes"}
_QUESTION_KEYS = {"title", "body", "proposition", "kind", "inferred", "notes"}
_ANSWER_KEYS = {"title", "body", "stance", "notes"}
_BODY_KEYS = {"first", "last"}
_CLAIM_KEYS = {"in", "sentence", "types", "negated", "hedged", "duration", "stance", "occurrence", "notes"}


class GoldError(ValueError):
    """A gold file that does not fit its thread or the format; the message names the file and element."""


@dataclass(frozen=True)
class GoldSegment:
    """The question (position 0) or an answer: title and body as offsets into the thread text (None: absent)."""

    position: int
    title: str | None
    title_span: tuple[int, int] | None
    body_span: tuple[int, int] | None
    stance: str | None


@dataclass(frozen=True)
class GoldClaim:
    """One claim sentence with all its types; flags and the duration apply per type."""

    position: int
    start: int
    end: int
    text: str
    types: tuple[str, ...]
    negated: frozenset[str]
    hedged: frozenset[str]
    months: tuple[float | None, float | None] | None  # of the duration type, when a figure is stated
    stance: str | None

    @property
    def role(self) -> str:
        return "question" if self.position == 0 else "answer"


@dataclass(frozen=True)
class GoldThread:
    thread_id: str
    text: str
    part: str
    question_kind: str
    proposition: str
    segments: tuple[GoldSegment, ...]
    claims: tuple[GoldClaim, ...] = field(default=())

    @property
    def answers(self) -> tuple[GoldSegment, ...]:
        return self.segments[1:]

    def content_spans(self) -> list[tuple[int, int]]:
        """Every span of the thread that is question or answer text (titles and bodies)."""
        return [span for seg in self.segments for span in (seg.title_span, seg.body_span) if span]


def hash_part(thread_id: str) -> str:
    """The annotated corpus's split: a thread is in the test part when the sha256 of its id is divisible by 3."""
    return "test" if int(hashlib.sha256(thread_id.encode("utf-8")).hexdigest(), 16) % 3 == 0 else "dev"


def read_split(path: Path = CORPUS_SPLIT_FILE) -> dict[str, str]:
    """thread_id -> part, from the split file written once (hash_part, plus threads assigned by hand)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    split = {}
    for number, row in enumerate(rows, 2):
        if row.get("part") not in PARTS:
            raise GoldError(f"{path}:{number}: part must be one of {PARTS}, got {row.get('part')!r}")
        split[row["thread_id"]] = row["part"]
    return split


def months(value: list, where: str) -> tuple[float | None, float | None]:
    """[min, max, unit] (either end may be null) -> (min, max) in months, rounded to 2 decimals."""
    if not (isinstance(value, list) and len(value) == 3 and value[2] in MONTHS_PER_UNIT
            and all(v is None or isinstance(v, (int, float)) for v in value[:2]) and value[:2] != [None, None]):
        raise GoldError(f"{where}: duration must be [min, max, unit] with a unit in {sorted(MONTHS_PER_UNIT)} "
                        f"and at least one number, got {value!r}")
    factor = MONTHS_PER_UNIT[value[2]]
    low, high = (None if v is None else round(v * factor, 2) for v in value[:2])
    if low is not None and high is not None and low > high:
        raise GoldError(f"{where}: duration minimum {value[0]} is above its maximum {value[1]}")
    return low, high


def _check_keys(obj, allowed: set, required: set, where: str) -> None:
    if not isinstance(obj, dict):
        raise GoldError(f"{where}: expected an object, got {type(obj).__name__}")
    unknown, missing = set(obj) - allowed, required - set(obj)
    if unknown or missing:
        raise GoldError(f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}; "
                        f"allowed: {sorted(allowed)}")


class _Cursor:
    """Finds quotes in page order: each search starts where the last found element ended.

    A quote matches at word boundaries only ("No" is not found in "Nope"), and
    a title prefers an occurrence that is a whole line, so a heading is not
    found inside a breadcrumb or a sentence that repeats it.
    """

    def __init__(self, text: str, where: str):
        self.text, self.where, self.position = text, where, 0

    def find(self, quote: str, element: str, whole_line: bool = False) -> tuple[int, int]:
        if not isinstance(quote, str) or not quote.strip() or quote != quote.strip():
            raise GoldError(f"{self.where}: {element}: expected a non-empty quote without edge whitespace, got {quote!r}")
        starts = list(word_occurrences(self.text, quote, self.position))
        lines = [s for s in starts if _is_whole_line(self.text, s, s + len(quote))] if whole_line else []
        if not starts:
            hint = " (it occurs earlier: elements must be in page order)" if self.text.find(quote) >= 0 else ""
            raise GoldError(f"{self.where}: {element}: {quote[:60]!r} not found in the thread text{hint}")
        start = (lines or starts)[0]
        self.position = start + len(quote)
        return start, self.position


def word_occurrences(text: str, quote: str, start: int = 0, end: int | None = None):
    """Starts of `quote` in text[start:end] that do not begin or end inside a word."""
    end = len(text) if end is None else end
    found = text.find(quote, start, end)
    while found >= 0:
        after = found + len(quote)
        inside_before = found > 0 and text[found - 1].isalnum() and quote[0].isalnum()
        inside_after = after < len(text) and text[after].isalnum() and quote[-1].isalnum()
        if not (inside_before or inside_after):
            yield found
        found = text.find(quote, found + 1, end)


def _is_whole_line(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return not text[line_start:start].strip() and not text[end:line_end].strip()


def _segment(cursor: _Cursor, entry: dict, position: int, where: str) -> GoldSegment:
    name = "question" if position == 0 else f"answer {position}"
    title = entry.get("title")
    title_span = cursor.find(title, f"{name} title", whole_line=True) if title is not None else None
    body = entry.get("body")
    body_span = None
    if body is not None:
        _check_keys(body, _BODY_KEYS, _BODY_KEYS, f"{where}: {name} body")
        start, _ = cursor.find(body["first"], f"{name} body first words")
        cursor.position = start
        _, end = cursor.find(body["last"], f"{name} body last words")
        if start >= end:
            raise GoldError(f"{where}: {name} body: the last words end before the first words start")
        body_span = (start, end)
    if title_span is None and body_span is None and position > 0:
        raise GoldError(f"{where}: {name} has neither title nor body")
    stance = entry.get("stance")
    if stance is not None and stance not in STANCES:
        raise GoldError(f"{where}: {name}: stance must be one of {STANCES} or null, got {stance!r}")
    return GoldSegment(position, title, title_span, body_span, stance)


def _claim(entry: dict, number: int, text: str, segments: tuple[GoldSegment, ...], where: str) -> GoldClaim:
    where = f"{where}: claim {number}"
    _check_keys(entry, _CLAIM_KEYS, {"in", "sentence", "types"}, where)
    position = entry["in"]
    if not isinstance(position, int) or not 0 <= position < len(segments):
        raise GoldError(f"{where}: 'in' must be 0 (question) to {len(segments) - 1}, got {position!r}")
    types = entry["types"]
    if not types or not isinstance(types, list) or set(types) - set(CLAIM_TYPES) or len(set(types)) != len(types):
        raise GoldError(f"{where}: types must be distinct values of {CLAIM_TYPES}, got {types!r}")
    flags = {}
    for flag in ("negated", "hedged"):
        value = entry.get(flag, [])
        if value is True:
            value = list(types)
        if not isinstance(value, list) or set(value) - set(types):
            raise GoldError(f"{where}: {flag} must be true, false/[] or a list of this claim's types, got {value!r}")
        flags[flag] = frozenset(value or [])
    duration = entry.get("duration")
    if duration is not None and "duration" not in types:
        raise GoldError(f"{where}: a duration figure needs the type 'duration'")
    stance = entry.get("stance")
    if stance is not None and stance not in STANCES:
        raise GoldError(f"{where}: stance must be one of {STANCES} or null, got {stance!r}")
    segment = segments[position]
    sentence = entry["sentence"]
    if not isinstance(sentence, str) or not sentence.strip() or sentence != sentence.strip():
        raise GoldError(f"{where}: sentence must be non-empty text without edge whitespace")
    occurrence = entry.get("occurrence", 1)
    found = [start for span in (segment.title_span, segment.body_span) if span
             for start in word_occurrences(text, sentence, span[0], span[1])]
    if len(found) < occurrence:
        raise GoldError(f"{where}: {sentence[:60]!r} not found in the title or body of "
                        f"{'the question' if position == 0 else f'answer {position}'}")
    if len(found) > 1 and "occurrence" not in entry:
        raise GoldError(f"{where}: {sentence[:60]!r} occurs {len(found)} times there; add \"occurrence\": N")
    start = found[occurrence - 1]
    return GoldClaim(position, start, start + len(sentence), sentence, tuple(types), flags["negated"],
                     flags["hedged"], months(duration, where) if duration is not None else None, stance)


def parse_gold(data: dict, text: str, part: str, where: str) -> GoldThread:
    """A gold file's content resolved against its thread's text."""
    _check_keys(data, _THREAD_KEYS, {"thread_id", "question", "answers", "claims"}, where)
    question = data["question"]
    _check_keys(question, _QUESTION_KEYS, {"title", "body", "proposition", "kind"}, f"{where}: question")
    if question["kind"] not in GOLD_QUESTION_KINDS:
        raise GoldError(f"{where}: question kind must be one of {GOLD_QUESTION_KINDS}, got {question['kind']!r}")
    cursor = _Cursor(text, where)
    segments = [_segment(cursor, {k: question[k] for k in ("title", "body")}, 0, where)]
    for position, answer in enumerate(data["answers"], 1):
        _check_keys(answer, _ANSWER_KEYS, {"title", "body", "stance"}, f"{where}: answer {position}")
        segments.append(_segment(cursor, answer, position, where))
    if question["kind"] == "open" and any(seg.stance for seg in segments[1:]):
        raise GoldError(f"{where}: answers to an open question take no stance (null)")
    segments = tuple(segments)
    claims = tuple(_claim(entry, number, text, segments, where) for number, entry in enumerate(data["claims"], 1))
    keys = [(c.start, c.end) for c in claims]
    if len(set(keys)) != len(keys):
        raise GoldError(f"{where}: the same sentence is listed twice; give it all its types in one entry")
    return GoldThread(data["thread_id"], text, part, question["kind"], question["proposition"], segments,
                      tuple(sorted(claims, key=lambda c: c.start)))


def copy_slice(folder: Path, dev: int, test: int, kind: str = "yes/no") -> tuple[Path, Path]:
    """The first `dev` and `test` threads of one question kind (gold files and their texts) copied under `folder`,
    as (gold folder, threads folder): a slice of the annotated corpus to train and freeze on quickly, for tests and benchmarks."""
    import shutil

    gold, threads = Path(folder) / "gold", Path(folder) / "threads"
    gold.mkdir(parents=True)
    threads.mkdir()
    split, quota = read_split(), {"dev": dev, "test": test}
    for path in sorted(GOLD_DIR.glob("*.json")):
        part = split[path.stem]
        if quota[part] and json.loads(path.read_text(encoding="utf-8"))["question"]["kind"] == kind:
            quota[part] -= 1
            shutil.copy(path, gold)
            shutil.copy(CORPUS_DIR / f"{path.stem}.txt", threads)
    return gold, threads


def load_gold(gold_path: Path, corpus_dir: Path = CORPUS_DIR, split: dict[str, str] | None = None) -> GoldThread:
    """One gold file with its thread (``<corpus_dir>/<thread_id>.txt``), checked."""
    gold_path = Path(gold_path)
    try:
        data = json.loads(gold_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise GoldError(f"{gold_path}:{err.lineno}: not JSON ({err.msg})") from err
    thread_id = data.get("thread_id") if isinstance(data, dict) else None
    if thread_id != gold_path.stem:
        raise GoldError(f"{gold_path}: thread_id {thread_id!r} does not match the file name")
    thread_path = Path(corpus_dir) / f"{thread_id}.txt"
    if not thread_path.exists():
        raise GoldError(f"{gold_path}: no thread file {thread_path}")
    text = thread_path.read_bytes().decode("utf-8-sig")
    split = read_split() if split is None else split
    if thread_id not in split:
        raise GoldError(f"{gold_path}: {thread_id} is not in the split file")
    return parse_gold(data, text, split[thread_id], str(gold_path))


def load_corpus_gold(gold_dir: Path = GOLD_DIR, corpus_dir: Path = CORPUS_DIR,
                     split_path: Path = CORPUS_SPLIT_FILE) -> list[GoldThread]:
    """Every gold file of the folder, in thread id order."""
    split = read_split(split_path)
    return [load_gold(path, corpus_dir, split) for path in sorted(Path(gold_dir).glob("*.json"))]


def main(argv: list[str] | None = None) -> int:
    """`python -m pipeline.gold [FILE...]`: check gold files (all by default) and print a count per part."""
    import sys

    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or sorted(GOLD_DIR.glob("*.json"))
    split, problems, threads = read_split(), 0, []
    for path in paths:
        try:
            threads.append(load_gold(path, split=split))
        except GoldError as err:
            problems += 1
            print(err)
    for part in PARTS:
        chosen = [t for t in threads if t.part == part]
        print(f"{part}: {len(chosen)} threads, {sum(len(t.answers) for t in chosen)} answers, "
              f"{sum(len(t.claims) for t in chosen)} claim sentences")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
