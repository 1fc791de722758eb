"""The spaCy pipeline: sentences, claim cues, negation and hedging, claims.

It runs on a blank English pipeline (no model download). Patterns match on
LOWER, TEXT and LIKE_NUM only, which a blank pipeline fills in; LEMMA or POS
patterns would silently match nothing there. Components:

- ``line_sentence_boundaries``: a newline starts a sentence, and a list marker
  ("1.", "2)") does not end one (the default sentencizer gets both wrong);
- ``sentencizer`` (skipped when a trained pipeline brings a parser or senter);
- ``claim_cue_ruler``: claim cues from resources/claim_cues.jsonl into
  doc.spans["claim_cues"] (a SpanRuler that skips its Matcher where no token
  pattern can start);
- ``cue_triggers``: narrows token-pattern cues to their trigger word;
- ``negation`` and ``hedging``: negspacy's NegEx, twice, with the cue lists
  from resources/context_terms.json, scoped to each cue's clause (skipped for
  docs without claim cues);
- ``claim_detector``: one claim per sentence and claim type.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import spacy
from negspacy.negation import Negex
from spacy.attrs import IS_SPACE
from spacy.matcher import Matcher
from spacy.util import filter_spans
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from pipeline.config import CLAIM_CUES_FILE, CONTEXT_TERMS_FILE, DEFAULT_SETTINGS, Settings
from pipeline.durations import first_duration
from pipeline.extensions import CLAIMS, HEDGED, N_SENTENCES, NEGATED, register_extensions

CUES_KEY = "claim_cues"
CLAIM_TYPES = ("duration", "atrophy", "dose_reduction", "reversibility")
_RULE_KEYS = {"label", "id", "pattern", "requires", "trigger"}
_NEGSPACY_KEYS = ("pseudo_negations", "preceding_negations", "following_negations", "termination")
_LIST_MARKER_END = {".", ")"}


class RulesError(ValueError):
    """A rules file that does not have the expected shape; the message names the file."""


@dataclass(frozen=True)
class Claim:
    """A claim found in a Doc; offsets are characters within the Doc's text."""

    claim_type: str
    sentence_index: int  # among the Doc's sentences that are not empty
    start: int
    end: int
    text: str
    cue: str
    cue_id: str
    negated: bool
    hedged: bool
    duration_min_months: float | None
    duration_max_months: float | None


@dataclass(frozen=True)
class ClaimRules:
    """Cue patterns (SpanRuler's format), and per cue id the context it requires and the words it narrows to."""

    patterns: list
    requires: dict
    triggers: dict


def load_claim_rules(path: Path = CLAIM_CUES_FILE) -> ClaimRules:
    """Read resources/claim_cues.jsonl: one rule a line, unknown keys rejected.

    ``requires`` names a context (see context_terms.json) the sentence must
    contain; ``trigger`` lists the words of a token pattern that are the cue
    itself, so context tokens matched around it ("will" in "will last") do not
    count as part of the cue when negation and hedging are scoped.
    """
    patterns, requires, triggers = [], {}, {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rule = json.loads(line)
            except json.JSONDecodeError as err:
                raise RulesError(f"{path}:{number}: not JSON ({err.msg})") from err
            unknown = set(rule) - _RULE_KEYS
            if unknown or not {"label", "id", "pattern"} <= set(rule):
                raise RulesError(f"{path}:{number}: expected keys label, id, pattern[, requires, trigger]; "
                                 f"got {sorted(rule)}")
            if rule["label"] not in CLAIM_TYPES:
                raise RulesError(f"{path}:{number}: unknown claim type {rule['label']!r}; expected one of {CLAIM_TYPES}")
            needed = rule.get("requires")
            if requires.setdefault(rule["id"], needed) != needed:
                raise RulesError(f"{path}:{number}: cue id {rule['id']!r} has two different 'requires'")
            if "trigger" in rule:
                triggers[rule["id"]] = sorted(set(triggers.get(rule["id"], [])) | set(rule["trigger"]))
            patterns.append({k: rule[k] for k in ("label", "id", "pattern")})
    return ClaimRules(patterns, requires, triggers)


def load_context_terms(path: Path = CONTEXT_TERMS_FILE) -> dict:
    with open(path, encoding="utf-8") as handle:
        terms = json.load(handle)
    for category in ("negated", "hedged"):
        missing = [k for k in _NEGSPACY_KEYS if k not in terms.get(category, {})]
        if missing:
            raise RulesError(f"{path}: category {category!r} lacks {missing}")
    return terms


@Language.factory("line_sentence_boundaries")
class LineSentenceBoundaries:
    """Newlines start sentences; list markers at a line start stay with their item."""

    def __init__(self, nlp: Language, name: str):
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        # only whitespace tokens can hold a newline: look at those, not at every token
        spaces = doc.to_array(IS_SPACE).astype(bool)
        line_starts = [0] + [i + 1 for i in np.flatnonzero(spaces) if "\n" in doc[i].text or "\r" in doc[i].text]
        for i in line_starts:
            while i < len(doc) and spaces[i]:
                i += 1
            if i < len(doc):
                doc[i].is_sent_start = True
                if _is_list_marker(doc, i):
                    for follower in doc[i + 1: i + 3]:
                        follower.is_sent_start = False
        return doc


def _is_list_marker(doc: Doc, i: int) -> bool:
    return i + 1 < len(doc) and doc[i].text.isdigit() and len(doc[i].text) <= 3 and doc[i + 1].text in _LIST_MARKER_END


@Language.factory("claim_cue_ruler", default_config={"patterns": []})
class ClaimCueRuler:
    """Claim cues into doc.spans["claim_cues"], like spaCy's SpanRuler, but cheaper on plain text.

    Literal patterns go through a PhraseMatcher on LOWER. Token patterns go
    through a Matcher, which walks every token in Python and is where the time
    went; it now runs only on docs holding a word that some token pattern
    requires (one regular-expression search of the text). Overlapping
    cues keep the longest, then the first, as SpanRuler's filter does.
    """

    def __init__(self, nlp: Language, name: str, patterns: list):
        self.name = name
        self.phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.matcher = Matcher(nlp.vocab, validate=True)
        literals: dict[str, list[str]] = {}
        first_words: set[str] = set()
        self.match_always = False
        for pattern in patterns:
            key = f"{pattern['label']}|{pattern['id']}"
            if isinstance(pattern["pattern"], str):
                literals.setdefault(key, []).append(pattern["pattern"])
                continue
            self.matcher.add(key, [pattern["pattern"]])
            words = _required_words(pattern["pattern"])
            if words is None:
                self.match_always = True
            else:
                first_words.update(words)
        for key, texts in literals.items():
            self.phrases.add(key, list(nlp.tokenizer.pipe(texts)))
        alternatives = "|".join(re.escape(w) for w in sorted(first_words, key=len, reverse=True))
        self.may_match = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if first_words else None

    def __call__(self, doc: Doc) -> Doc:
        matches = list(self.phrases(doc))
        if len(self.matcher) and (self.match_always or self.may_match.search(doc.text)):
            matches += self.matcher(doc)
        spans = []
        for match_id, start, end in sorted(matches, key=lambda m: (m[1], m[2], doc.vocab.strings[m[0]])):
            label, cue_id = doc.vocab.strings[match_id].split("|", 1)
            spans.append(Span(doc, start, end, label=label, span_id=cue_id))
        doc.spans[CUES_KEY] = filter_spans(spans)
        return doc


_COMMON_WORDS = frozenset(("for", "to", "and", "a", "an", "the", "it", "they", "that", "which", "will", "may", "can",
                           "not", "n't", "do", "does", "at", "as", "over", "up", "about", "only", "just"))


def _required_words(pattern: list) -> list[str] | None:
    """Words one of which must occur for `pattern` to match: its rarest required token, or None if unknown."""
    candidates = []
    for token in pattern:
        words = token.get("LOWER")
        if token.get("OP") in ("?", "*", "!") or not words or set(token) - {"LOWER", "OP"}:
            continue
        words = list(words["IN"]) if isinstance(words, dict) else [words]
        candidates.append((sum(w in _COMMON_WORDS for w in words), len(words), words))
    return min(candidates)[2] if candidates else None


@Language.factory("cue_triggers", default_config={"triggers": {}})
class CueTriggers:
    """Narrow each cue span to its trigger words (see load_claim_rules)."""

    def __init__(self, nlp: Language, name: str, triggers: dict):
        self.name = name
        self.triggers = {cue_id: frozenset(words) for cue_id, words in triggers.items()}

    def __call__(self, doc: Doc) -> Doc:
        narrowed = []
        for cue in doc.spans.get(CUES_KEY, []):
            words = self.triggers.get(cue.id_)
            if words:
                hit = next((t for t in cue if t.lower_ in words), None)
                if hit is not None:
                    cue = Span(doc, hit.i, hit.i + 1, label=cue.label, span_id=cue.id)
            narrowed.append(cue)
        doc.spans[CUES_KEY] = narrowed
        return doc


@Language.factory("cue_context", default_config={
    "neg_termset": {}, "ent_types": None, "extension_name": "negex", "chunk_prefix": None, "span_keys": None})
class CueContext(Negex):
    """negspacy's NegEx scoping, skipped for docs without claim cues (most text has none)."""

    def __call__(self, doc: Doc) -> Doc:
        if not doc.spans.get(CUES_KEY):
            return doc
        return super().__call__(doc)


@Language.factory("claim_detector", default_config={"requirements": {}, "cue_requires": {}})
class ClaimDetector:
    """One claim per declarative sentence and claim type, from the cues in doc.spans."""

    def __init__(self, nlp: Language, name: str, requirements: dict, cue_requires: dict):
        unknown = {r for r in cue_requires.values() if r} - set(requirements)
        if unknown:
            raise RulesError(f"claim cues require unknown contexts {sorted(unknown)}; known: {sorted(requirements)}")
        self.name = name
        self.cue_requires = cue_requires
        self.requirement_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for context, phrases in requirements.items():
            self.requirement_matcher.add(context, list(nlp.tokenizer.pipe(phrases)))

    def __call__(self, doc: Doc) -> Doc:
        cues_by_sentence: dict[int, list[Span]] = {}
        sentences = [s for s in (clean_sentence(sent) for sent in doc.sents) if s is not None]
        starts = [s.start for s in sentences]
        for cue in sorted(doc.spans.get(CUES_KEY, []), key=lambda s: (s.start, s.end)):
            index = _containing(starts, sentences, cue)
            if index is not None:
                cues_by_sentence.setdefault(index, []).append(cue)
        contexts = self._contexts_by_sentence(doc, sentences, starts)
        claims = []
        for index, cues in sorted(cues_by_sentence.items()):
            sentence = sentences[index]
            if is_question(sentence):
                continue
            first_of_type: dict[str, Span] = {}
            for cue in cues:
                needed = self.cue_requires.get(cue.id_)
                if needed and needed not in contexts.get(index, ()):
                    continue
                first_of_type.setdefault(cue.label_, cue)
            for claim_type in CLAIM_TYPES:
                if claim_type in first_of_type:
                    claims.append(_claim(index, sentence, first_of_type[claim_type]))
        doc._.set(CLAIMS, claims)
        doc._.set(N_SENTENCES, len(sentences))
        return doc

    def _contexts_by_sentence(self, doc: Doc, sentences: list[Span], starts: list[int]) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        for match_id, start, end in self.requirement_matcher(doc):
            index = _containing(starts, sentences, doc[start:end])
            if index is not None:
                found.setdefault(index, set()).add(doc.vocab.strings[match_id])
        return found


def _containing(starts: list[int], sentences: list[Span], span: Span) -> int | None:
    """Index of the sentence that holds `span` whole, or None."""
    index = bisect_right(starts, span.start) - 1
    if index >= 0 and span.end <= sentences[index].end:
        return index
    return None


def clean_sentence(sent: Span) -> Span | None:
    """The sentence without edge whitespace or a leading list marker; None if nothing is left."""
    doc, start, end = sent.doc, sent.start, sent.end
    while start < end and doc[start].is_space:
        start += 1
    if _is_list_marker(doc, start) and start + 2 <= end:
        start += 2
    while start < end and doc[start].is_space:
        start += 1
    while end > start and doc[end - 1].is_space:
        end -= 1
    return doc[start:end] if end > start else None


def is_question(sentence: Span) -> bool:
    return sentence[-1].text.endswith("?")


def _claim(index: int, sentence: Span, cue: Span) -> Claim:
    duration = first_duration(sentence.text) if cue.label_ == "duration" else None
    return Claim(
        claim_type=cue.label_,
        sentence_index=index,
        start=sentence.start_char,
        end=sentence.end_char,
        text=sentence.text,
        cue=cue.text,
        cue_id=cue.id_,
        negated=bool(cue._.get(NEGATED)),
        hedged=bool(cue._.get(HEDGED)),
        duration_min_months=duration.min_months if duration else None,
        duration_max_months=duration.max_months if duration else None,
    )


def build_nlp(settings: Settings = DEFAULT_SETTINGS, claim_cues: Path = CLAIM_CUES_FILE,
              context_terms: Path = CONTEXT_TERMS_FILE) -> Language:
    """A fresh pipeline; rule files are read now, so edits take effect on the next build."""
    register_extensions()
    rules = load_claim_rules(claim_cues)
    terms = load_context_terms(context_terms)
    if settings.spacy_model.startswith("blank:"):
        nlp = spacy.blank(settings.spacy_model.split(":", 1)[1])
    else:
        nlp = spacy.load(settings.spacy_model, exclude=["ner", "lemmatizer", "attribute_ruler"])
    has_sentences = any(name in nlp.pipe_names for name in ("parser", "senter"))
    first = nlp.pipe_names[0] if nlp.pipe_names else None
    nlp.add_pipe("line_sentence_boundaries", before=first) if first else nlp.add_pipe("line_sentence_boundaries")
    if not has_sentences:
        nlp.add_pipe("sentencizer")
    nlp.add_pipe("claim_cue_ruler", config={"patterns": rules.patterns})
    nlp.add_pipe("cue_triggers", config={"triggers": rules.triggers})
    for component, extension in (("negation", NEGATED), ("hedging", HEDGED)):
        termset = {key: terms[extension][key] for key in _NEGSPACY_KEYS}
        nlp.add_pipe("cue_context", name=component, config={
            "neg_termset": termset, "extension_name": extension, "span_keys": [CUES_KEY],
        })
    requirements = {k: v for k, v in terms.get("requirements", {}).items() if not k.startswith("_")}
    nlp.add_pipe("claim_detector", config={"requirements": requirements, "cue_requires": rules.requires})
    return nlp
