"""The corpus's test part stays unseen: no 8-word run of a test-part thread occurs in the code, tests, docs or
the annotation guideline.

Fixtures and docs written while looking at a test thread, or rule entries copied from one, would let the
test figures reward tuning on the test part (GUIDELINE.md, "The split").
"""

import re
from pathlib import Path

from pipeline import config
from pipeline.measuring import gold

RUN = 8
ROOT = Path(__file__).resolve().parents[1]
SEARCHED = ("pipeline", "tests", "docs", "bench", "README.md", "notebooks", "data/raw/labels/GUIDELINE.md",
            "data/raw/corpus/README.md")
TEXT_SUFFIXES = {".py", ".md", ".json", ".jsonl", ".csv", ".txt", ".cfg", ".toml", ".yml", ".yaml", ".html", ".ipynb"}
WORD = re.compile(r"[a-z0-9']+")


def word_runs(text: str, length: int = RUN) -> set[tuple[str, ...]]:
    words = WORD.findall(text.lower())
    return {tuple(words[i:i + length]) for i in range(len(words) - length + 1)}


def searched_files():
    for name in SEARCHED:
        path = ROOT / name
        candidates = [path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []
        for file in candidates:
            if file.is_file() and file.suffix in TEXT_SUFFIXES and "__pycache__" not in file.parts:
                yield file


def test_word_runs_finds_a_shared_run_and_only_that():
    thread = "Dr. Quill says the droop fades within six weeks for nearly every patient."
    assert ("droop", "fades", "within", "six", "weeks", "for", "nearly", "every") in word_runs(thread)
    assert not word_runs("only seven words are in this line")


def test_no_test_part_thread_is_quoted_outside_the_corpus():
    test_ids = [thread_id for thread_id, part in gold.read_split().items() if part == "test"]
    assert test_ids, "the split names no test thread"
    owner = {}
    for thread_id in test_ids:
        for run in word_runs((config.CORPUS_DIR / f"{thread_id}.txt").read_text(encoding="utf-8")):
            owner.setdefault(run, thread_id)
    found = []
    for file in searched_files():
        if file.name == Path(__file__).name:
            continue
        for run in word_runs(file.read_text(encoding="utf-8", errors="replace")) & owner.keys():
            found.append(f"{file.relative_to(ROOT)}: '{' '.join(run)}' (from {owner[run]})")
    assert not found, "test-part text outside the corpus:\n" + "\n".join(sorted(found)[:40])
