"""Segmentation as line labelling: every line of a page gets a role, and the roles are decoded into question and answers.

A page is a sequence of lines; each gets one label of LABELS: the question's title
or body, an answer's title, the first body line of an answer without a title, a
further body line, or outside (page debris). A linear-chain CRF (sklearn-crfsuite)
learns the labels from the annotated corpus (pipeline.learning.line_segmenter),
with today's rules as features: what the rule segmenter made of the line, which
kind of boilerplate pattern it matches, and its shape (length, case, punctuation,
digits, name- and credential-like words, position, blank lines around it), and the
same for its neighbours. Decoding keeps the rule segmenter's inline trimming of
greetings, sign-offs and signatures at an answer's edges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.config import LINE_SEGMENTER_FILE
from pipeline.io.files import InputError
from pipeline.stages.segment import boilerplate_kind, load_lexicon, segment_text
from pipeline.threads import Segment

QUESTION_TITLE, QUESTION_BODY, ANSWER_TITLE, ANSWER_START, ANSWER_BODY, OUTSIDE = (
    "question_title", "question_body", "answer_title", "answer_start", "answer_body", "outside")
LABELS = (QUESTION_TITLE, QUESTION_BODY, ANSWER_TITLE, ANSWER_START, ANSWER_BODY, OUTSIDE)

_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_CREDENTIAL = re.compile(r"\b(?:MD|M\.D\.|DO|DDS|DMD|MBBS|PhD|RN|NP|PA-C|FACS|FAAD|FRCS)\b")
_SPECIALTY = re.compile(r"(?i)\b(?:surgeon|dermatologist|injector|physician|neurologist|ophthalmologist|dentist|"
                        r"nurse|board[- ]certified|specialist|clinic|practice)\b")
_DOCTOR = re.compile(r"\b(?:Dr\.?|Doctor)\s+[A-Z]")
_DATE = re.compile(r"(?i)\b(?:\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
                   r"\.?\s+\d{1,2}|\d{4}|ago)\b")
_FIRST_PERSON = frozenset(("i", "i'm", "i've", "i'd", "my", "me", "myself"))
_SECOND_PERSON = frozenset(("you", "your", "you're", "you've", "patients", "we", "our", "recommend"))
_VOTES = re.compile(r"(?i)^(?:\+?\d[\d,]*|helpful|yes\b.*\bno\b.*|share|reply|report|like|upvote|vote)")


@dataclass(frozen=True)
class Line:
    """One non-blank line of the page: its stripped text's offsets, and whether a blank line is next to it."""

    index: int
    start: int
    end: int
    text: str
    blank_before: bool
    blank_after: bool


def page_lines(text: str) -> list[Line]:
    """The page's non-blank lines, stripped, with exact offsets."""
    raw, offset = [], 0
    for piece in text.splitlines(keepends=True):
        body = piece.rstrip("\r\n")
        stripped = body.strip()
        if stripped:
            start = offset + (len(body) - len(body.lstrip()))
            raw.append((start, start + len(stripped), stripped))
        else:
            raw.append(None)
        offset += len(piece)
    lines = []
    for k, item in enumerate(raw):
        if item is not None:
            before = k == 0 or raw[k - 1] is None
            after = k == len(raw) - 1 or raw[k + 1] is None
            lines.append(Line(len(lines), item[0], item[1], item[2], before, after))
    return lines


def rule_labels(text: str, lines: list[Line]) -> list[str]:
    """What the rule segmenter made of each line, as a label (a feature of the model)."""
    try:
        segments = segment_text(text, warnings=[])
    except Exception:  # an empty or all-boilerplate page: the rules say nothing of it
        return [OUTSIDE] * len(lines)
    labels = []
    for line in lines:
        label = OUTSIDE
        for seg in segments:
            question = seg.position == 0
            if seg.title_end > seg.title_start and line.start < seg.title_end and line.end > seg.title_start:
                label = QUESTION_TITLE if question else ANSWER_TITLE
            elif line.start < seg.char_end and line.end > seg.char_start:
                label = QUESTION_BODY if question else (
                    ANSWER_START if seg.title_end <= seg.title_start and line.start <= seg.char_start else ANSWER_BODY)
        labels.append(label)
    return labels


def _bucket(n: int, edges: tuple[int, ...]) -> str:
    return str(next((edge for edge in edges if n <= edge), f">{edges[-1]}"))


def _shape(line: Line, lexicon: dict) -> dict:
    text = line.text
    words = _WORD.findall(text)
    capitalised = sum(w[0].isupper() for w in words)
    return {
        "words": _bucket(len(words), (0, 1, 2, 3, 5, 8, 12, 20, 40)),
        "ends": text[-1] if text[-1] in ".?!:," else "other",
        "caps": "all" if text.isupper() else "title" if words and capitalised == len(words) else (
            "most" if words and capitalised / len(words) > 0.5 else "few"),
        "digits": any(c.isdigit() for c in text),
        "only_digits": bool(re.fullmatch(r"[\d\s,.+\-/()%]+", text)),
        "boilerplate": boilerplate_kind(text, lexicon) or "none",
        "list_marker": bool(lexicon["list_marker"].match(text)),
        "credential": bool(_CREDENTIAL.search(text)),
        "specialty": bool(_SPECIALTY.search(text)),
        "doctor": bool(_DOCTOR.search(text)),
        "date": bool(_DATE.search(text)),
        "votes": bool(_VOTES.match(text)),
        "quote": text[0] in "\"“'",
        "greeting": bool(lexicon["greeting"].match(text)),
        "signoff_line": bool(lexicon["signoff"].search(" " + text)) and len(words) <= 6,
        "qa_question": bool(lexicon["qa_question"].match(text)),
        "qa_answer": bool(lexicon["qa_answer"].match(text)),
        "blank_before": line.blank_before,
        "blank_after": line.blank_after,
        "first_word": words[0].lower() if words else "",
        "asks": "?" in text,
        "asker_voice": _bucket(sum(w.lower() in _FIRST_PERSON for w in words), (0, 1, 3)),
        "expert_voice": _bucket(sum(w.lower() in _SECOND_PERSON for w in words), (0, 1, 3)),
        "chars": _bucket(len(text), (10, 25, 50, 80, 120, 200, 400)),
    }


def line_features(text: str, lines: list[Line]) -> list[dict]:
    """One feature dict per line (crfsuite's input): its own shape and rule label, its neighbours', its position."""
    lexicon = load_lexicon()
    shapes = [_shape(line, lexicon) for line in lines]
    rules = rule_labels(text, lines)
    features = []
    for k, line in enumerate(lines):
        own = {f"{name}={value}" if isinstance(value, str) else name: 1.0 if isinstance(value, str) else float(value)
               for name, value in shapes[k].items()}
        own[f"rule={rules[k]}"] = 1.0
        own[f"position={_bucket(k, (0, 1, 2, 3, 5, 8, 12))}"] = 1.0
        own["last"] = float(k == len(lines) - 1)
        for step, tag in ((-1, "prev"), (1, "next"), (-2, "prev2"), (2, "next2")):
            j = k + step
            if 0 <= j < len(lines):
                other = shapes[j]
                own[f"{tag}:rule={rules[j]}"] = 1.0
                own[f"{tag}:boilerplate={other['boilerplate']}"] = 1.0
                if abs(step) == 1:
                    own[f"{tag}:words={other['words']}"] = 1.0
                    own[f"{tag}:ends={other['ends']}"] = 1.0
                    own[f"{tag}:asker_voice={other['asker_voice']}"] = 1.0
                    own[f"{tag}:expert_voice={other['expert_voice']}"] = 1.0
                    for flag in ("credential", "specialty", "doctor", "votes", "date", "blank_before", "asks"):
                        if other[flag]:
                            own[f"{tag}:{flag}"] = 1.0
            else:
                own[f"{tag}:none"] = 1.0
        features.append(own)
    return features


def decode(text: str, lines: list[Line], labels: list[str]) -> list[Segment]:
    """Question and answers from per-line labels: a title or first-body line opens an answer, body lines extend the
    open piece (so debris inside it stays inside), and greetings, sign-offs and signatures at a body's edges are cut
    as the rule segmenter cuts them."""
    lexicon = load_lexicon()
    pieces = [{"title": None, "body": []}]  # the question, then one per answer
    for line, label in zip(lines, labels):
        if label == QUESTION_TITLE and len(pieces) == 1 and pieces[0]["title"] is None and not pieces[0]["body"]:
            pieces[0]["title"] = line
        elif label == QUESTION_BODY and len(pieces) == 1:
            pieces[0]["body"].append(line)
        elif label in (ANSWER_TITLE, ANSWER_START) or (label == ANSWER_BODY and len(pieces) == 1):
            pieces.append({"title": line if label == ANSWER_TITLE else None,
                           "body": [] if label == ANSWER_TITLE else [line]})
        elif label in (ANSWER_BODY, QUESTION_BODY) and len(pieces) > 1:
            pieces[-1]["body"].append(line)
    segments = []
    for position, piece in enumerate(pieces):
        title = piece["title"]
        body = piece["body"]
        title_start, title_end = (title.start, title.end) if title else ((body[0].start,) * 2 if body else (0, 0))
        if body:
            start, end = _trimmed(text, body[0].start, body[-1].end, lexicon)
        else:
            start = end = title_end
        segments.append(Segment(position, text[title_start:title_end], title_start, title_end, start, end))
    if len(segments) == 1:  # no answer recognised: as the rules do, the whole text is one answer
        at = lines[0].start if lines else 0
        segments = [Segment(0, "", at, at, at, at), Segment(1, "", at, at, at, lines[-1].end if lines else 0)]
    return segments


def _trimmed(text: str, start: int, end: int, lexicon: dict) -> tuple[int, int]:
    """The body without a greeting opening its first line or a sign-off or signature closing its last."""
    first_line_end = text.find("\n", start)
    first_line_end = end if first_line_end < 0 or first_line_end > end else first_line_end
    greeting = lexicon["greeting"].match(text[start:first_line_end])
    if greeting and greeting.end() < first_line_end - start:
        rest = text[start + greeting.end():end]
        start = start + greeting.end() + (len(rest) - len(rest.lstrip()))
    last_line_start = text.rfind("\n", start, end) + 1 or start
    for pattern in (lexicon["signature"], lexicon["signoff"]):
        cut = pattern.search(text[max(start, last_line_start):end])
        if cut and cut.start() > 0:
            end = max(start, last_line_start) + len(text[max(start, last_line_start):max(start, last_line_start)
                                                         + cut.start()].rstrip())
    return start, end


@lru_cache(maxsize=4)
def _tagger(path: str, size: int, mtime_ns: int):
    """crfsuite's tagger for a model file, opened once per process (and again if the file changes)."""
    import pycrfsuite

    tagger = pycrfsuite.Tagger()
    tagger.open(path)
    return tagger


def learned_segments(text: str, source: str = "<text>", model_path: Path = LINE_SEGMENTER_FILE) -> list[Segment]:
    """The question and answers of a page as the learned segmenter reads it (settings.segment.segmenter "learned")."""
    lines = page_lines(text)
    if not lines:
        raise InputError(source, "the file is empty")
    try:
        stat = Path(model_path).stat()
    except FileNotFoundError:
        raise InputError(str(model_path), "no learned segmenter here; write it with "
                                          "'python -m pipeline.learning.line_segmenter' or use the rules") from None
    labels = _tagger(str(model_path), stat.st_size, stat.st_mtime_ns).tag(line_features(text, lines))
    return decode(text, lines, labels)
