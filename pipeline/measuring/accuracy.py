"""Accuracy on the hand-annotated real threads: segmentation and claim extraction against gold.

The pipeline and a naive keyword script (pipeline.baseline) run on the same
threads and are scored the same way, per part of the annotated corpus's split:

- segmentation: threads segmented exactly (question title, number of answers,
  every answer's title), answers (and questions) whose text span is exactly
  the gold body, boilerplate leaked (each stretch of a predicted title or text
  that lies outside every gold title and body and holds a letter or digit),
  files rejected that hold answers;
- claims: precision and recall per (sentence, type), overall and per type. A
  predicted claim matches a gold claim of the same type when their character
  spans overlap by at least 80% of their union (one to one, best overlap
  first): an edge quote or bracket more or less still matches, a sentence cut
  at "etc." or run into the next one does not;
- durations: exactly right (both ends equal, open ends included) over the gold
  duration claims with a figure and the matched predictions that give one;
- negated and hedged: share of matched (sentence, type) pairs with the gold flag.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from pipeline.measuring import baseline
from pipeline.measuring.gold import CLAIM_TYPES, GoldClaim, GoldThread

MIN_OVERLAP = 0.8  # of the union of the two spans: a quote or bracket more or less, not half a sentence
MONTHS_TOLERANCE = 0.011  # figures are rounded to two decimals


@dataclass
class Prediction:
    """One system's rows for one thread; `rejected` holds the error when it produced none."""

    answers: pd.DataFrame | None
    claims: pd.DataFrame
    rejected: str | None = None


@dataclass
class ThreadScore:
    thread_id: str
    part: str
    exact: bool = False
    answers: int = 0
    answers_right: int = 0
    question_right: bool = False
    leaks: list = field(default_factory=list)  # (start, end, text) of each leaked stretch
    rejected: bool = False
    counts: Counter = field(default_factory=Counter)  # (type, tp|fp|fn) -> n
    errors: list = field(default_factory=list)  # (kind, detail) for reading the misses


def _norm(text) -> str:
    return " ".join(str(text).split()) if text is not None and not pd.isna(text) else ""


def _span(start, end) -> tuple[int, int] | None:
    return None if pd.isna(start) or int(start) == int(end) else (int(start), int(end))


def _outside(span: tuple[int, int], covered: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Stretches of `span` outside every covered span that hold a letter or digit."""
    pieces, cursor = [], span[0]
    for start, end in sorted(covered):
        if end <= cursor or start >= span[1]:
            continue
        if start > cursor:
            pieces.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < span[1]:
        pieces.append((cursor, span[1]))
    return [(s, e) for s, e in pieces if any(ch.isalnum() for ch in text[s:e])]


def score_segments(gold: GoldThread, answers: pd.DataFrame, score: ThreadScore) -> None:
    rows = answers.sort_values("position").to_dict("records")
    predicted_titles = [_norm(r["title"]) for r in rows]
    gold_titles = [_norm(s.title) for s in gold.segments]
    score.exact = predicted_titles == gold_titles
    if not score.exact:
        score.errors.append(("segmentation", f"titles {predicted_titles} != gold {gold_titles}"))
    bodies = {_span(r["char_start"], r["char_end"]) for r in rows}
    score.answers = len(gold.answers)
    score.answers_right = sum(seg.body_span in bodies for seg in gold.answers)
    score.question_right = bool(rows) and _span(rows[0]["char_start"], rows[0]["char_end"]) == gold.segments[0].body_span
    for seg in gold.answers:
        if seg.body_span not in bodies:
            start, end = seg.body_span or (0, 0)
            score.errors.append(("answer text", f"answer {seg.position} {gold.text[start:start + 40]!r}..."
                                                f"{gold.text[max(start, end - 30):end]!r} not found as one answer"))
    covered = gold.content_spans()
    for row in rows:
        for span in (_span(row["title_start"], row["title_end"]), _span(row["char_start"], row["char_end"])):
            if span:
                for start, end in _outside(span, covered, gold.text):
                    score.leaks.append((start, end, gold.text[start:end].strip()))
                    score.errors.append(("leak", f"position {row['position']}: {gold.text[start:end].strip()[:80]!r}"))


def span_overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Shared length over union length of two character spans (0 when they do not meet)."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    return inter / (max(a[1], b[1]) - min(a[0], b[0])) if inter > 0 else 0.0


def match_claims(gold: Iterable[GoldClaim], predicted: pd.DataFrame, claim_type: str) -> tuple[list, list, list]:
    """(matched (gold, row) pairs, unmatched gold, unmatched rows) for one claim type."""
    gold = [g for g in gold if claim_type in g.types]
    rows = predicted[predicted["claim_type"] == claim_type].to_dict("records") if len(predicted) else []
    pairs = sorted(((span_overlap((g.start, g.end), (int(r["char_start"]), int(r["char_end"]))), i, j)
                    for i, g in enumerate(gold) for j, r in enumerate(rows)), reverse=True)
    used_gold, used_rows, matched = set(), set(), []
    for overlap, i, j in pairs:
        if overlap < MIN_OVERLAP:
            break
        if i not in used_gold and j not in used_rows:
            used_gold.add(i)
            used_rows.add(j)
            matched.append((gold[i], rows[j]))
    return (matched, [g for i, g in enumerate(gold) if i not in used_gold],
            [r for j, r in enumerate(rows) if j not in used_rows])


def _months(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _same_months(a: tuple, b: tuple) -> bool:
    return all((x is None and y is None) or (x is not None and y is not None and abs(x - y) <= MONTHS_TOLERANCE)
               for x, y in zip(a, b))


def _as_bool(value) -> bool:
    return str(value).strip().lower() == "true"


def score_claims(gold: GoldThread, claims: pd.DataFrame, score: ThreadScore) -> None:
    counts = score.counts
    for claim_type in CLAIM_TYPES:
        matched, missed, spurious = match_claims(gold.claims, claims, claim_type)
        counts[(claim_type, "tp")] += len(matched)
        counts[(claim_type, "fn")] += len(missed)
        counts[(claim_type, "fp")] += len(spurious)
        score.errors += [("missed claim", f"{claim_type}: {g.text[:120]!r}") for g in missed]
        score.errors += [("spurious claim", f"{claim_type}: {r['text'][:120]!r}") for r in spurious]
        for g, row in matched:
            for flag in ("negated", "hedged"):
                right = (claim_type in getattr(g, flag)) == _as_bool(row[flag])
                counts[(flag, "n")] += 1
                counts[(flag, "right")] += right
                if not right:
                    score.errors.append((f"{flag} wrong", f"{claim_type}: gold {claim_type in getattr(g, flag)}: "
                                                          f"{g.text[:120]!r}"))
        if claim_type != "duration":
            continue
        for g in missed:
            if g.months is not None:
                counts[("durations", "n")] += 1
                score.errors.append(("duration wrong", f"gold {g.months}, claim not found: {g.text[:100]!r}"))
        for g, row in matched:  # what the duration measures, over matched claims whose gold says it
            if g.duration_kind is not None:
                predicted_kind = row.get("duration_kind")
                counts[("duration kinds", "n")] += 1
                counts[("duration kinds", "right")] += predicted_kind == g.duration_kind
                if predicted_kind != g.duration_kind:
                    score.errors.append(("duration kind wrong", f"gold {g.duration_kind} predicted {predicted_kind}: "
                                                                f"{g.text[:100]!r}"))
        for g, row in matched:
            predicted = (_months(row["duration_min_months"]), _months(row["duration_max_months"]))
            if g.months is None and predicted == (None, None):
                continue
            counts[("durations", "n")] += 1
            if g.months is not None and _same_months(g.months, predicted):
                counts[("durations", "right")] += 1
            else:
                score.errors.append(("duration wrong", f"gold {g.months} predicted {predicted}: {g.text[:100]!r}"))


def segmentation_score(gold: GoldThread, segments) -> ThreadScore:
    """A thread's segmentation figures for segments (threads.Segment) a segmenter gave, none if it gave none."""
    from pipeline.stages.segment import answers_table

    score = ThreadScore(gold.thread_id, gold.part)
    score_segments(gold, answers_table(gold.thread_id, gold.text, segments), score)
    return score


def rule_segments(text: str) -> list:
    """The rule segmenter's segments of a page, or none for a page it cannot read (scored as missing every answer)."""
    from pipeline.stages.segment import segment_text

    try:
        return segment_text(text, warnings=[])
    except Exception:  # noqa: BLE001 - an empty or all-boilerplate page
        return []


def score_thread(gold: GoldThread, prediction: Prediction) -> ThreadScore:
    score = ThreadScore(gold.thread_id, gold.part)
    if prediction.answers is None:
        score.rejected = bool(gold.answers)
        score.answers = len(gold.answers)
        score.errors.append(("rejected", prediction.rejected or ""))
        score_claims(gold, pd.DataFrame(columns=["claim_type"]), score)
        return score
    score_segments(gold, prediction.answers, score)
    score_claims(gold, prediction.claims, score)
    return score


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def summarise(scores: list[ThreadScore]) -> dict:
    """The figures of one system on a set of threads."""
    counts = sum((s.counts for s in scores), Counter())
    figures = {
        "threads": len(scores),
        "segmented exactly": _ratio(sum(s.exact for s in scores), len(scores)),
        "answers with the right text": _ratio(sum(s.answers_right for s in scores), sum(s.answers for s in scores)),
        "questions with the right text": _ratio(sum(s.question_right for s in scores), len(scores)),
        "boilerplate leaks (count)": sum(len(s.leaks) for s in scores),
        "files rejected with answers": sum(s.rejected for s in scores),
    }
    for claim_type in (None,) + CLAIM_TYPES:
        types = CLAIM_TYPES if claim_type is None else (claim_type,)
        tp, fp, fn = (sum(counts[(t, k)] for t in types) for k in ("tp", "fp", "fn"))
        name = "claims" if claim_type is None else f"  {claim_type}"
        figures[f"{name} precision"] = _ratio(tp, tp + fp)
        figures[f"{name} recall"] = _ratio(tp, tp + fn)
        if claim_type is None:
            figures["gold claims (sentence, type)"] = tp + fn
    figures["durations exactly right"] = _ratio(counts[("durations", "right")], counts[("durations", "n")])
    figures["duration kinds right"] = _ratio(counts[("duration kinds", "right")], counts[("duration kinds", "n")])
    figures["negated right"] = _ratio(counts[("negated", "right")], counts[("negated", "n")])
    figures["hedged right"] = _ratio(counts[("hedged", "right")], counts[("hedged", "n")])
    return figures


def baseline_predictions(threads: Iterable[GoldThread]) -> dict[str, Prediction]:
    predictions = {}
    for gold in threads:
        answers, claims = baseline.run(gold.thread_id, gold.text)
        predictions[gold.thread_id] = (Prediction(answers, claims) if len(answers) > 1
                                       else Prediction(None, claims, "no answers"))
    return predictions


def pipeline_predictions(threads: Iterable[GoldThread], tables: dict) -> dict[str, Prediction]:
    """The pipeline's rows for each gold thread, from the tables of a run over their files (answers, claims and
    errors, as pipeline.runner.execute leaves them in memory); a thread file it refused has its error instead."""
    answers, claims = tables["answers"], tables["claims"]
    refused = {Path(e.source).stem: e.problem for e in tables["errors"]}
    by_thread = dict(tuple(answers.groupby("thread_id", sort=False)))
    predictions = {}
    for gold in threads:
        if gold.thread_id in by_thread:
            predictions[gold.thread_id] = Prediction(by_thread[gold.thread_id],
                                                     claims[claims["thread_id"] == gold.thread_id])
        else:
            predictions[gold.thread_id] = Prediction(None, pd.DataFrame(columns=["claim_type"]),
                                                     refused.get(gold.thread_id, "not read"))
    return predictions


def score_all(threads: list[GoldThread], predictions: dict[str, Prediction]) -> list[ThreadScore]:
    return [score_thread(gold, predictions[gold.thread_id]) for gold in threads]


def figures_table(columns: dict[str, dict]) -> str:
    """A plain-text table: one row per figure, one column per (part, system)."""
    names = list(next(iter(columns.values())))
    width = max(len(n) for n in names) + 2
    header = "".ljust(width) + "".join(f"{c:>16}" for c in columns)
    lines = [header, "-" * len(header)]
    for name in names:
        cells = []
        for figures in columns.values():
            value = figures[name]
            cells.append("n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value))
        lines.append(name.ljust(width) + "".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)


GROUP_FIGURES = ("segmented exactly", "claims precision", "claims recall", "boilerplate leaks (count)")


def grouped_table(scores: dict[str, list[ThreadScore]], group_of: Callable[[str], str | None],
                  groups: Iterable[str]) -> str:
    """One row per (group, part) of threads, e.g. per layout class: its thread count and each of GROUP_FIGURES as
    "system / system" (the systems of `scores` in order, pipeline first); groups without threads are left out."""
    systems = list(scores)
    parts = sorted({s.part for s in scores[systems[0]]})
    header = f"{'':<22}{'part':>5}{'threads':>8}" + "".join(f"{name.replace(' (count)', ''):>30}" for name in GROUP_FIGURES)
    lines = [header, f"{'':<35}" + f"{' / '.join(systems):>30}" * len(GROUP_FIGURES), "-" * len(header)]
    for group in groups:
        for part in parts:
            chosen = {name: [s for s in scores[name] if s.part == part and group_of(s.thread_id) == group]
                      for name in systems}
            if not chosen[systems[0]]:
                continue
            figures = {name: summarise(chosen[name]) for name in systems}
            cells = []
            for figure in GROUP_FIGURES:
                values = [figures[name][figure] for name in systems]
                cells.append(" / ".join("n/a" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)
                                        for v in values))
            lines.append(f"{group:<22}{part:>5}{len(chosen[systems[0]]):>8}" + "".join(f"{c:>30}" for c in cells))
    return "\n".join(lines)


def error_lines(scores: list[ThreadScore], kinds: Callable[[str], bool] = lambda kind: True) -> list[str]:
    return [f"{s.thread_id}: {kind}: {detail}" for s in scores for kind, detail in s.errors if kinds(kind)]


def evaluate_corpus(threads: list[GoldThread], tables: dict, others: dict | None = None) -> tuple[dict, dict]:
    """(figures per "part system" column, thread scores per system) for the pipeline (its tables on the threads'
    files), each of `others` (name -> tables of another run, e.g. the rules alone) and the baseline."""
    systems = {"pipeline": pipeline_predictions(threads, tables)}
    systems |= {name: pipeline_predictions(threads, other) for name, other in (others or {}).items()}
    systems["baseline"] = baseline_predictions(threads)
    scores = {name: score_all(threads, predictions) for name, predictions in systems.items()}
    columns = {}
    for part in sorted({t.part for t in threads}):
        for name in systems:
            columns[f"{part} {name}"] = summarise([s for s in scores[name] if s.part == part])
    return columns, scores


def gold_as_prediction(thread: GoldThread) -> Prediction:
    """A second reader's gold in the pipeline's columns, so two readers are compared like system and gold."""
    answers, claims = [], []
    for seg in thread.segments:
        title_end = seg.title_span[1] if seg.title_span else 0
        body = seg.body_span or (title_end, title_end)
        title = seg.title_span or (body[0], body[0])
        answers.append({"thread_id": thread.thread_id, "position": seg.position, "title": seg.title or "",
                        "title_start": title[0], "title_end": title[1], "char_start": body[0], "char_end": body[1],
                        "stance": seg.stance})
    for claim in thread.claims:
        for claim_type in claim.types:
            low, high = claim.months if claim_type == "duration" and claim.months else (None, None)
            claims.append({"claim_type": claim_type, "text": claim.text, "char_start": claim.start,
                           "char_end": claim.end, "negated": claim_type in claim.negated,
                           "hedged": claim_type in claim.hedged, "duration_min_months": low,
                           "duration_max_months": high, "stance": claim.stance,
                           "duration_kind": claim.duration_kind if claim_type == "duration" else None})
    return Prediction(pd.DataFrame(answers), pd.DataFrame(claims, columns=["claim_type", "text", "char_start",
                                                                           "char_end", "negated", "hedged",
                                                                           "duration_min_months",
                                                                           "duration_max_months", "stance",
                                                                           "duration_kind"]))
