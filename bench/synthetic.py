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


# --- A corpus whose sentences do not repeat (issue 25) -----------------------------------------------------------
PRODUCTS = ("Botox", "Dysport", "Xeomin", "Daxxify", "Jeuveau", "the toxin", "the neuromodulator")
SYNONYMS = (("usually", "typically", "generally", "often", "in most cases"), ("patients", "people", "clients"),
            ("doctor", "injector", "physician", "provider"), ("forehead", "brow", "frown lines", "crow's feet"),
            ("treatment", "session", "appointment"), ("effect", "result", "response"),
            ("muscle", "masseter", "muscle group"), ("weaker", "smaller", "thinner"), ("return", "come back"))
OPENERS = ("", "In my view, ", "Honestly, ", "From what I see, ", "As a rule, ", "Briefly, ", "Also, ", "Still, ",
           "In practice, ", "To be clear, ", "Of course, ", "Frankly, ", "Put simply, ", "In short, ", "Again, ")
FILLERS = ("really", "clearly", "mostly", "quite", "certainly", "simply", "indeed", "still", "largely", "truly",
           "plainly", "gently", "fairly", "just", "surely")
SURNAMES = ("Abara", "Bergstrom", "Castell", "Dunmore", "Eskildsen", "Farrow", "Gallo", "Haddad", "Ishii", "Jovanic",
            "Kaur", "Lindqvist", "Moreau", "Nwosu", "Okafor", "Petrov", "Quintero", "Rasku", "Sato", "Tamm")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def vary(text: str, rng: random.Random) -> str:
    """The text with each sentence varied: numbers, products, synonyms, names, an opener, clause order."""
    out = []
    for sentence in _SENTENCE.split(text):
        sentence = re.sub(r"\b\d+\b", lambda m: str(rng.randint(1, 2 * int(m.group(0)) + 3)), sentence)
        sentence = re.sub(r"\b(?:Botox|Dysport|Xeomin)\b", lambda m: rng.choice(PRODUCTS), sentence)
        for group in SYNONYMS:
            sentence = re.sub(rf"\b(?:{'|'.join(map(re.escape, group))})\b", lambda m, g=group: rng.choice(g),
                              sentence)
        sentence = re.sub(r"\bDr\.? [A-Z][a-z]+", lambda m: f"Dr. {rng.choice(SURNAMES)}", sentence)
        clauses = sentence.split(", ")
        if len(clauses) == 2 and rng.random() < 0.3 and clauses[1][:1].islower():
            sentence = f"{clauses[1][:1].upper()}{clauses[1][1:].rstrip('.')}, {clauses[0][:1].lower()}{clauses[0][1:]}."
        words = sentence.split(" ")
        if len(words) > 4:  # a filler word at a random place: the same sentence rarely comes out twice
            at = rng.randint(1, len(words) - 2)
            sentence = " ".join(words[:at] + [rng.choice(FILLERS)] + words[at:])
        opener = rng.choice(OPENERS)
        if opener and sentence[:1].isupper():
            sentence = opener + sentence[:1].lower() + sentence[1:]
        out.append(sentence)
    return " ".join(out)


def annotated_pool() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(title, body) of every question and answer of the annotated corpus, as its gold reads them."""
    from pipeline.measuring.gold import load_corpus_gold

    questions, answers = [], []
    for thread in load_corpus_gold():
        pieces = [(thread.text[s.title_span[0]:s.title_span[1]] if s.title_span else "",
                   thread.text[s.body_span[0]:s.body_span[1]] if s.body_span else "") for s in thread.segments]
        questions.append(pieces[0])
        answers.extend(p for p in pieces[1:] if p[1].strip())
    return questions, answers


def write_varied_corpus(path: Path, n_threads: int, seed: int = 0) -> tuple[int, int, float]:
    """`n_threads` threads as JSONL from the annotated corpus's questions and answers, every sentence varied so that
    few repeat across threads; returns (threads, words, distinct sentences / sentences)."""
    rng = random.Random(seed)
    questions, answers = annotated_pool()
    words, seen, total = 0, set(), 0
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n_threads):
            title, body = rng.choice(questions)
            picked = [rng.choice(answers) for _ in range(rng.randint(2, 6))]
            thread = {"id": f"var-{i:07d}", "question_title": vary(title, rng), "question_body": vary(body, rng),
                      "answers": [{"title": vary(t, rng), "body": vary(b, rng)} for t, b in picked]}
            for piece in [thread["question_body"]] + [a["body"] for a in thread["answers"]]:
                for sentence in _SENTENCE.split(piece):
                    if sentence.strip():
                        total += 1
                        seen.add(sentence.strip())
            words += sum(len(x.split()) for x in [thread["question_title"], thread["question_body"]]
                         + [a["title"] + " " + a["body"] for a in thread["answers"]])
            handle.write(json.dumps(thread, ensure_ascii=False) + "\n")
    return n_threads, words, len(seen) / total if total else 1.0
