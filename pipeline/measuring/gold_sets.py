"""Stance examples from the annotated corpus (data/raw/corpus, gold in data/raw/labels/gold).

Every claim of a yes/no thread carries a hand stance toward the thread's
proposition, and so does every answer. This module turns those gold files into
rows shaped like claims.csv and answers.csv (plus the question's reading), so
the stance model trains and is judged on the same columns it sees at run time:

- claim rows: one per (sentence, claim type), as the extractor writes them,
  with the gold flags and duration; the claim's stance is the gold one. The
  asker's own claims (gold role "question") are left out: the classify stage
  gives them no stance, so no model trains or is scored on them.
- answer rows: one per answer with its gold stance, its title span and text.

The question columns come from reading the question as the pipeline does
(pipeline.question) or, for training, from the annotator's proposition
(`reading="gold"`), so a mistake of the question reader does not teach the
model a wrong pairing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.stages import question
from pipeline.config import CORPUS_DIR, CORPUS_SPLIT_FILE, GOLD_DIR
from pipeline.measuring.gold import GoldThread, load_corpus_gold

from pipeline.schemas import QUESTION_COLUMNS  # noqa: E402 (one home for the question's columns)
CLAIM_ROW_COLUMNS = ["claim_id", "thread_id", "answer_id", "role", "claim_type", "text", "char_start", "char_end",
                     "negated", "hedged", "cue", "duration_min_months", "duration_max_months", "label"]
ANSWER_ROW_COLUMNS = ["thread_id", "answer_id", "position", "title", "text", "title_start", "title_end", "label"]


def _span_text(thread: GoldThread, span) -> str:
    return thread.text[span[0]:span[1]] if span else ""


def thread_reading(thread: GoldThread, lexicon, reading: str = "pipeline") -> question.Question:
    """The question's reading: as the pipeline reads the page, or from the annotator's proposition."""
    if reading == "gold":
        kind = question.YES_NO if thread.question_kind == "yes/no" else question.OPEN
        if kind != question.YES_NO:
            return question.Question(thread.proposition, kind, question.OTHER, "given")
        return question.Question(thread.proposition, kind, question.polarity(thread.proposition, lexicon), "given",
                                 thread.proposition_kind or question.proposition_kind(thread.proposition, lexicon))
    head = thread.segments[0]
    return question.read_question(_span_text(thread, head.title_span), _span_text(thread, head.body_span), lexicon,
                                  thread.thread_id)


def claim_rows(threads: list[GoldThread], lexicon, reading: str = "pipeline") -> pd.DataFrame:
    """Claim rows of the threads' yes/no questions that have a hand stance, the experts' only (not the asker's)."""
    rows = []
    for thread in threads:
        asked = thread_reading(thread, lexicon, reading).as_row()
        for number, claim in enumerate(thread.claims):
            if not claim.stance or claim.role == "question":
                continue
            for claim_type in claim.types:
                low, high = claim.months if (claim.months and claim_type == "duration") else (None, None)
                rows.append({
                    "claim_id": f"{thread.thread_id}:c{number}:{claim_type}", "thread_id": thread.thread_id,
                    "answer_id": f"{thread.thread_id}:{claim.position}", "role": claim.role,
                    "claim_type": claim_type, "text": claim.text, "char_start": claim.start, "char_end": claim.end,
                    "negated": claim_type in claim.negated, "hedged": claim_type in claim.hedged, "cue": "",
                    "duration_min_months": low, "duration_max_months": high, "label": claim.stance, **asked})
    return pd.DataFrame(rows, columns=CLAIM_ROW_COLUMNS + QUESTION_COLUMNS)


def answer_rows(threads: list[GoldThread], lexicon, reading: str = "pipeline") -> pd.DataFrame:
    """Answer rows that have a hand stance, with their title span (for title-weighted aggregation)."""
    rows = []
    for thread in threads:
        asked = thread_reading(thread, lexicon, reading).as_row()
        for segment in thread.answers:
            if not segment.stance:
                continue
            start = (segment.title_span or segment.body_span)[0]
            rows.append({
                "thread_id": thread.thread_id, "answer_id": f"{thread.thread_id}:{segment.position}",
                "position": segment.position, "title": _span_text(thread, segment.title_span),
                "text": _span_text(thread, segment.body_span),
                "title_start": segment.title_span[0] if segment.title_span else start,
                "title_end": segment.title_span[1] if segment.title_span else start,
                "label": segment.stance, **asked})
    return pd.DataFrame(rows, columns=ANSWER_ROW_COLUMNS + QUESTION_COLUMNS)


def question_reading_scores(threads: list[GoldThread], lexicon) -> dict:
    """How well the question reader finds the kind (open questions recognised, and kind right overall) and what a
    yes/no proposition is about (proposition kind right, overall and per gold kind)."""
    readings = [thread_reading(t, lexicon) for t in threads]
    read = [r.question_kind for r in readings]
    gold = [t.question_kind for t in threads]
    # what the proposition is about, over the yes/no threads whose gold says it (a thread not read as yes/no misses)
    kinds = [(r.proposition_kind, t.proposition_kind) for r, t in zip(readings, threads) if t.proposition_kind]
    by_kind = {kind: [sum(g == kind for _, g in kinds), sum(r == g == kind for r, g in kinds)]
               for kind in sorted({g for _, g in kinds})}
    open_ = [r for r, g in zip(read, gold) if g == question.OPEN]
    yes_no = [r for r, g in zip(read, gold) if g == question.YES_NO]
    return {"threads": len(threads), "open_questions": len(open_),
            "open_recognised": round(sum(r == question.OPEN for r in open_) / len(open_), 4) if open_ else None,
            "yes_no_recognised": round(sum(r == question.YES_NO for r in yes_no) / len(yes_no), 4) if yes_no else None,
            "kind_right": round(sum(r == g for r, g in zip(read, gold)) / len(gold), 4) if gold else None,
            "no_question_read": sum(r == question.NONE for r in read),
            "proposition_kind_right": round(sum(r == g for r, g in kinds) / len(kinds), 4) if kinds else None,
            "proposition_kinds": by_kind}  # kind -> [gold threads, read right]


def corpus_sets(gold_dir: Path = GOLD_DIR, corpus_dir: Path = CORPUS_DIR, split_path: Path = CORPUS_SPLIT_FILE,
                lexicon=None) -> dict:
    """Training rows from the dev part (the annotator's proposition), frozen rows from the test part (as read).

    Only yes/no threads have stance labels; the test part's open threads count
    in the question-reading figures.
    """
    lexicon = lexicon or question.load_lexicon()
    threads = load_corpus_gold(gold_dir, corpus_dir, split_path)
    dev = [t for t in threads if t.part == "dev" and t.question_kind == question.YES_NO]
    test = [t for t in threads if t.part == "test"]
    asked = [t for t in test if t.question_kind == question.YES_NO]
    return {"train_claims": claim_rows(dev, lexicon, "gold"), "train_answers": answer_rows(dev, lexicon, "gold"),
            "frozen_claims": claim_rows(asked, lexicon), "frozen_answers": answer_rows(asked, lexicon),
            "questions": question_reading_scores(test, lexicon),
            "files": sorted(Path(gold_dir).glob("*.json")) + [Path(split_path)]
            + [Path(corpus_dir) / f"{t.thread_id}.txt" for t in threads]}


@dataclass
class GoldCorpus:
    """Where the annotated corpus lives: its dev part trains, its test part is the frozen evaluation set."""

    gold_dir: Path = GOLD_DIR
    corpus_dir: Path = CORPUS_DIR
    split_path: Path = CORPUS_SPLIT_FILE

    def sets(self) -> dict:
        return corpus_sets(self.gold_dir, self.corpus_dir, self.split_path)
