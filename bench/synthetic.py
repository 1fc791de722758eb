"""A synthetic corpus: threads recombined and perturbed from the bundled threads and the test fixtures.

Each synthetic thread takes a question from one source thread and three to
eight answers from any, with durations, words and sentence order perturbed,
so that texts differ but keep the vocabulary the rules are written for.
Deterministic for a given seed. Used by bench/scale.py.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from pipeline import config
from pipeline.io.readers import iter_threads
from pipeline.threads import ThreadSource
from pipeline.stages.segment import segment_text

ROOT = config.PROJECT_ROOT
SOURCES = [config.RAW_DIR, ROOT / "tests" / "fixtures" / "layouts", ROOT / "tests" / "fixtures" / "formats"]
SWAPS = {"Botox": ["Dysport", "Xeomin", "the toxin", "Botox"], "muscles": ["muscle fibres", "muscles"],
         "usually": ["typically", "often", "usually"], "months": ["months"], "permanent": ["permanent", "lasting"]}


def source_pool() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(question title, body) pairs and (answer title, body) pairs from every readable source thread."""
    questions, answers = [], []
    for folder in SOURCES:
        for item in iter_threads(folder):
            if not isinstance(item, ThreadSource):
                continue
            segments = item.segments or segment_text(item.text, title_hints=item.title_hints)
            text = item.text
            pieces = [(s.title, text[s.char_start:s.char_end]) for s in segments]
            questions.append(pieces[0])
            answers.extend(p for p in pieces[1:] if p[1].strip())
    return questions, answers


def perturb(text: str, rng: random.Random) -> str:
    def new_range(match: re.Match) -> str:
        low = rng.randint(2, 6)
        return f"{low}-{low + rng.randint(1, 3)} months"

    text = re.sub(r"\b\d+\s*-\s*\d+ months\b", new_range, text)
    for word, options in SWAPS.items():
        text = re.sub(rf"\b{word}\b", lambda m: rng.choice(options), text)
    paragraphs = text.split("\n\n")
    rng.shuffle(paragraphs)
    return "\n\n".join(paragraphs)


def write_corpus(path: Path, n_threads: int, seed: int = 0) -> tuple[int, int]:
    """Write `n_threads` threads as JSONL; returns (threads, words)."""
    rng = random.Random(seed)
    questions, answers = source_pool()
    words = 0
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n_threads):
            title, body = rng.choice(questions)
            picked = [rng.choice(answers) for _ in range(rng.randint(3, 8))]
            thread = {"id": f"syn-{i:07d}", "question_title": title, "question_body": perturb(body, rng),
                      "answers": [{"title": t, "body": perturb(b, rng)} for t, b in picked]}
            words += sum(len(x.split()) for x in [title, thread["question_body"]]
                         + [a["title"] + " " + a["body"] for a in thread["answers"]])
            handle.write(json.dumps(thread, ensure_ascii=False) + "\n")
    return n_threads, words
