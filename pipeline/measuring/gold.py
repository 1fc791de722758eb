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

from pipeline.config import CORPUS_DIR, CORPUS_SOURCES_FILE, CORPUS_SPLIT_FILE, GOLD_DIR
from pipeline.schemas import CLAIM_TYPES, DURATION_KINDS, OPEN, PROPOSITION_KINDS, STANCES, YES_NO

GOLD_QUESTION_KINDS = (YES_NO, OPEN)  # a gold file says which a question is; "none" is only what the pipeline reads
DAYS_PER_MONTH = 30.436875  # the mean Gregorian month, as the duration lexicon uses
MONTHS_PER_UNIT = {"days": 1 / DAYS_PER_MONTH, "weeks": 7 / DAYS_PER_MONTH, "months": 1.0, "years": 12.0}
PARTS = ("dev", "test")
# a page's layout, as GUIDELINE.md ("Sources and layout classes") defines each
LAYOUT_CLASSES = ("qa_thread", "qa_single", "answers_only", "forum", "faq_page", "faq_single", "ask_column",
                  "quoted_experts", "clinic_article", "consumer_article", "personal_blog", "repost", "video_page")
SOURCE_COLUMNS = ("file", "address", "site_kind", "seed_site", "added")
WRITTEN_HERE = "written here"  # the address of a thread not rewritten from a page
_THREAD_KEYS = {"thread_id", "question", "answers", "claims", "notes"}
_QUESTION_KEYS = {"title", "body", "proposition", "kind", "proposition_kind", "inferred", "notes"}
_ANSWER_KEYS = {"title", "body", "stance", "notes"}
_BODY_KEYS = {"first", "last"}
_CLAIM_KEYS = {"in", "sentence", "types", "negated", "hedged", "duration", "duration_kind", "stance", "occurrence",
               "notes"}


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
    duration_kind: str | None = None  # of the duration type: what the duration measures (schemas.DURATION_KINDS)

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
    proposition_kind: str | None = None  # of a yes/no question: what its proposition is about (PROPOSITION_KINDS)

    @property
    def answers(self) -> tuple[GoldSegment, ...]:
        return self.segments[1:]

    def content_spans(self) -> list[tuple[int, int]]:
        """Every span of the thread that is question or answer text (titles and bodies)."""
        return [span for seg in self.segments for span in (seg.title_span, seg.body_span) if span]


@dataclass(frozen=True)
class PageSource:
    """Where a corpus thread was rewritten from: its page, the page's layout class, and whether the page is on the
    seed thread's site."""

    thread_id: str
    address: str
    layout: str
    seed_site: bool
    added: str

    @property
    def written_here(self) -> bool:
        """A thread written in a site's shape rather than rewritten from a real page (never in the test part)."""
        return self.address == WRITTEN_HERE


def _iso_date(value: str) -> bool:
    import datetime

    try:
        datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return len(value) == 10


def read_sources(path: Path = CORPUS_SOURCES_FILE) -> dict[str, PageSource]:
    """thread_id -> its source row; a row that does not fit the format is an error naming the file and line."""
    sources = {}
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != SOURCE_COLUMNS:
            raise GoldError(f"{path}: columns must be {', '.join(SOURCE_COLUMNS)}, got {reader.fieldnames}")
        for row in reader:
            thread_id = (row["file"] or "").removesuffix(".txt")
            problem = ("more fields than columns" if None in row or None in row.values()
                       else "file must name a .txt thread" if not row["file"].endswith(".txt")
                       else f"site_kind must be one of {LAYOUT_CLASSES}" if row["site_kind"] not in LAYOUT_CLASSES
                       else "seed_site must be yes or no" if row["seed_site"] not in ("yes", "no")
                       else "added must be a date (YYYY-MM-DD)" if not _iso_date(row["added"])
                       else f"{thread_id} has a row already" if thread_id in sources else None)
            if problem:
                raise GoldError(f"{path}:{reader.line_num}: {problem}")
            sources[thread_id] = PageSource(thread_id, row["address"], row["site_kind"], row["seed_site"] == "yes",
                                              row["added"])
    return sources


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


@dataclass(frozen=True)
class SplitMinimums:
    """What the test and development parts must hold (GUIDELINE.md, "The split")."""

    test_threads: int = 120
    test_other_sites: int = 40
    test_per_layout: int = 3
    dev_threads: int = 200


def extend_split(split: dict[str, str], sources: dict[str, PageSource],
                 minimums: SplitMinimums = SplitMinimums()) -> dict[str, tuple[str, str]]:
    """Parts for the threads of `sources` the split does not name yet: thread_id -> (part, assigned_by).

    Each goes where hash_part puts it ("hash"), or to dev if it was written here; then, while the test part is short
    of a minimum (per layout class: each class with at least twice that many real pages), the new development thread with the
    smallest sha256 among those that would help is moved to test ("hash-topup"). Only ids, layout
    classes and sites decide, never a thread's text or a system's score on it. Raises GoldError when the minimums
    cannot all hold."""
    def digest(thread_id: str) -> int:
        return int(hashlib.sha256(thread_id.encode("utf-8")).hexdigest(), 16)

    new = {t: ("dev", "written-here") if sources[t].written_here else (hash_part(t), "hash")
           for t in sorted(sources.keys() - split.keys(), key=digest)}
    # a class with too few real pages to spare three for the test part (the first pages of a new layout) asks none yet
    real_layouts = [layout for layout in LAYOUT_CLASSES
                    if sum(s.layout == layout and not s.written_here for s in sources.values())
                    >= 2 * minimums.test_per_layout]
    parts = {**split, **{t: part for t, (part, _) in new.items()}}

    def shortfalls() -> list:
        test = [t for t, part in parts.items() if part == "test" and t in sources]
        short = []
        for layout in real_layouts:
            if sum(sources[t].layout == layout for t in test) < minimums.test_per_layout:
                short.append(lambda t, layout=layout: sources[t].layout == layout)
        if sum(not sources[t].seed_site for t in test) < minimums.test_other_sites:
            short.append(lambda t: not sources[t].seed_site)
        if sum(part == "test" for part in parts.values()) < minimums.test_threads:
            short.append(lambda t: True)
        return short

    while short := shortfalls():
        candidates = [t for t, (part, _) in new.items()
                      if parts[t] == "dev" and not sources[t].written_here and any(helps(t) for helps in short)]
        if not candidates:
            break
        chosen = candidates[0]
        parts[chosen], new[chosen] = "test", ("test", "hash-topup")
    dev = sum(part == "dev" for part in parts.values())
    if shortfalls() or dev < minimums.dev_threads:
        raise GoldError(f"the split cannot meet its minimums ({minimums}): test part short, or only {dev} "
                        f"development threads")
    return new


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
    kind = entry.get("duration_kind")
    if kind is not None and ("duration" not in types or kind not in DURATION_KINDS):
        raise GoldError(f"{where}: duration_kind is one of {DURATION_KINDS}, for a claim of type 'duration', "
                        f"got {kind!r}")
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
                     flags["hedged"], months(duration, where) if duration is not None else None, stance, kind)


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
    proposition_kind = question.get("proposition_kind")
    if proposition_kind is not None and (question["kind"] != YES_NO or proposition_kind not in PROPOSITION_KINDS):
        raise GoldError(f"{where}: question proposition_kind is for a yes/no question, one of {PROPOSITION_KINDS}; "
                        f"got {proposition_kind!r} for a {question['kind']} question")
    segments = tuple(segments)
    claims = tuple(_claim(entry, number, text, segments, where) for number, entry in enumerate(data["claims"], 1))
    keys = [(c.start, c.end) for c in claims]
    if len(set(keys)) != len(keys):
        raise GoldError(f"{where}: the same sentence is listed twice; give it all its types in one entry")
    return GoldThread(data["thread_id"], text, part, question["kind"], question["proposition"], segments,
                      tuple(sorted(claims, key=lambda c: c.start)), proposition_kind)


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
    """`python -m pipeline.measuring.gold [FILE...]`: check gold files (all by default), that every corpus thread
    has a gold file and a source row (when checking all), and print counts per part, layout class and site."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pipeline.measuring.gold", description=main.__doc__)
    parser.add_argument("files", nargs="*", type=Path, help="gold files to check (default: every one)")
    parser.add_argument("--extend-split", action="store_true",
                        help=f"give the threads of {CORPUS_SOURCES_FILE.name} that {CORPUS_SPLIT_FILE.name} does "
                             "not name a part (extend_split) and append them to it")
    args = parser.parse_args(argv)
    if args.extend_split:
        new = extend_split(read_split(), read_sources())
        with open(CORPUS_SPLIT_FILE, "a", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows((t, part, how) for t, (part, how) in sorted(new.items()))
        print(f"{len(new)} threads added to {CORPUS_SPLIT_FILE}")
    paths = list(args.files)
    check_all = not paths
    paths = paths or sorted(GOLD_DIR.glob("*.json"))
    split, problems, threads = read_split(), [], []
    for path in paths:
        try:
            threads.append(load_gold(path, split=split))
        except GoldError as err:
            problems.append(str(err))
    try:
        sources = read_sources()
    except (GoldError, OSError) as err:
        sources = {}
        problems.append(str(err))
    if check_all:
        corpus = {path.stem for path in CORPUS_DIR.glob("*.txt")}
        gold_ids = {path.stem for path in paths}
        problems += [f"{CORPUS_DIR / (t + '.txt')}: no gold file in {GOLD_DIR}" for t in sorted(corpus - gold_ids)]
        problems += [f"{CORPUS_SOURCES_FILE}: no row for {t}.txt" for t in sorted(corpus - sources.keys()) if sources]
        problems += [f"{CORPUS_SOURCES_FILE}: {t}.txt is not in the corpus" for t in sorted(sources.keys() - corpus)]
    print("\n".join(problems) if problems else "", end="\n" if problems else "")
    for part in PARTS:
        chosen = [t for t in threads if t.part == part]
        other = sum(1 for t in chosen if t.thread_id in sources and not sources[t.thread_id].seed_site)
        print(f"{part}: {len(chosen)} threads ({other} from other sites), {sum(len(t.answers) for t in chosen)} "
              f"answers, {sum(len(t.claims) for t in chosen)} claim sentences")
    if sources:
        counts = {layout: [0, 0] for layout in LAYOUT_CLASSES}
        for t in threads:
            if t.thread_id in sources:
                counts[sources[t.thread_id].layout][PARTS.index(t.part)] += 1
        print("layout classes (dev/test): " + ", ".join(f"{k} {d}/{s}" for k, (d, s) in counts.items()))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
