"""The spaCy pipeline: sentences, claim cues, negation and hedging, claims.

It runs on a blank English pipeline (no model download). Patterns match on
LOWER, TEXT and LIKE_NUM only, which a blank pipeline fills in; LEMMA or POS
patterns would silently match nothing there. Components:

- ``sentence_boundaries``: a newline starts a sentence, a list marker
  ("1.", "2)") does not end one (spaCy's sentencizer gets both wrong), and
  spaCy's sentencizer rule splits the rest (left to the parser or senter when a
  trained pipeline brings one);
- ``claim_cue_ruler``: claim cues from resources/claim_cues.jsonl into
  doc.spans["claim_cues"] (like a SpanRuler, but token patterns run only
  around the words they require; a "pseudo" phrase cancels the cues inside it);
- ``cue_triggers``: narrows token-pattern cues to their trigger word;
- ``claim_detector``: one claim per declarative sentence and claim type, the
  cue's context requirements checked (a duration figure meets ``time_span``),
  only the cues that make claims kept;
- ``negation`` and ``hedging``: negspacy's NegEx, twice, with the cue lists
  from resources/context_terms.json, scoped to each cue's clause (skipped for
  docs without claim cues);
- ``claim_flags``: the claims completed with their cue's negation and hedging
  (inverted for a cue that states the opposite of its type, "permanent").

The tokenizer is wrapped to keep each doc's input string (``doc_text``), and
every component reads integer arrays and that string rather than building a
Python Token or ``Span.text`` per token: that is where the time went.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from itertools import product
from math import prod
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import spacy
from negspacy.negation import Negex
from spacy.attrs import IS_PUNCT, IS_SPACE, LOWER, ORTH, SENT_START
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.pipeline.sentencizer import Sentencizer
from spacy.tokens import Doc, Span
from spacy.util import filter_spans, minibatch

from pipeline.config import CLAIM_CUES_FILE, CONTEXT_TERMS_FILE, DEFAULT_SETTINGS, Settings
from pipeline.components.durations import first_duration
from pipeline.schemas import CLAIM_TYPES
from pipeline.components.extensions import CLAIMS, HEDGED, NEGATED, SENTENCE_BOUNDS, SOURCE_TEXT, register_extensions

CUES_KEY = "claim_cues"
_RULE_KEYS = {"label", "id", "pattern", "requires", "trigger", "inverse", "also"}
PSEUDO = "pseudo"  # a rule label: a phrase holding a cue word that is no cue ("come back in two weeks")
FIGURE_CONTEXTS = frozenset({"time_span", "figure"})  # requirements also met by a duration figure pipeline.durations finds
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
    """Cue patterns (SpanRuler's format), and per cue id the context it requires, the words it narrows to
    and whether it states the opposite of its type."""

    patterns: list
    requires: dict
    triggers: dict
    inverse: frozenset = frozenset()
    also: dict = field(default_factory=dict)  # cue id -> [second type, the context it requires for it]


def load_claim_rules(path: Path = CLAIM_CUES_FILE) -> ClaimRules:
    """Read resources/claim_cues.jsonl: one rule a line, unknown keys rejected.

    ``requires`` names a context (see context_terms.json) the sentence must
    contain; ``trigger`` lists the words of a token pattern that are the cue
    itself, so context tokens matched around it ("will" in "will last") do not
    count as part of the cue when negation and hedging are scoped.
    ``inverse`` marks a cue that states the opposite of its type ("permanent"
    denies that the effect reverses): its claim is negated unless a negation
    governs it ("not permanent" asserts reversibility). ``also`` gives a second
    type the cue makes a claim of when the sentence has a context
    (``{"label": "duration", "requires": "time_span"}``: "resolves in 4-6 weeks").
    """
    patterns, requires, triggers, inverse, also = [], {}, {}, {}, {}
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
            if rule["label"] not in CLAIM_TYPES + (PSEUDO,):
                raise RulesError(f"{path}:{number}: unknown claim type {rule['label']!r}; expected one of "
                                 f"{CLAIM_TYPES + (PSEUDO,)}")
            needed = rule.get("requires")
            if requires.setdefault(rule["id"], needed) != needed:
                raise RulesError(f"{path}:{number}: cue id {rule['id']!r} has two different 'requires'")
            if inverse.setdefault(rule["id"], bool(rule.get("inverse"))) != bool(rule.get("inverse")):
                raise RulesError(f"{path}:{number}: cue id {rule['id']!r} is inverse in one rule and not in another")
            if "trigger" in rule:
                triggers[rule["id"]] = sorted(set(triggers.get(rule["id"], [])) | set(rule["trigger"]))
            second = rule.get("also")
            if second is not None and (not isinstance(second, dict) or set(second) != {"label", "requires"}
                                       or second["label"] not in CLAIM_TYPES):
                raise RulesError(f"{path}:{number}: 'also' must be {{\"label\": one of {CLAIM_TYPES}, \"requires\": a context}}")
            if also.setdefault(rule["id"], second) != second:
                raise RulesError(f"{path}:{number}: cue id {rule['id']!r} has two different 'also'")
            patterns.append({k: rule[k] for k in ("label", "id", "pattern")})
    return ClaimRules(patterns, requires, triggers, frozenset(k for k, v in inverse.items() if v),
                      {k: [v["label"], v["requires"]] for k, v in also.items() if v})


def load_context_terms(path: Path = CONTEXT_TERMS_FILE) -> dict:
    with open(path, encoding="utf-8") as handle:
        terms = json.load(handle)
    for category in ("negated", "hedged"):
        missing = [k for k in _NEGSPACY_KEYS if k not in terms.get(category, {})]
        if missing:
            raise RulesError(f"{path}: category {category!r} lacks {missing}")
    return terms


class BatchedPipe:
    """``pipe`` a batch at a time, as spaCy's trainable components do.

    Without it, each doc goes through every component before the next doc
    starts; a batch through one component keeps that component's code and data
    warm (about 10% faster over the whole pipeline, measured on bench/synthetic.py).
    """

    def pipe(self, docs, batch_size: int = 64):
        for batch in minibatch(docs, size=batch_size):
            yield from [self(doc) for doc in batch]


class TextKeepingTokenizer:
    """spaCy's tokenizer, keeping the input string on the Doc.

    ``Doc.text`` and ``Span.text`` rebuild the string token by token, in
    Python; the components read slices of the kept string instead (see
    doc_text). Everything else is delegated to the wrapped tokenizer.
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, text: str) -> Doc:
        doc = self.tokenizer(text)
        doc._.set(SOURCE_TEXT, text)
        return doc

    def pipe(self, texts, batch_size: int = 1000):
        for text in texts:
            yield self(text)

    def __getattr__(self, name: str):
        if name == "tokenizer" or name.startswith("__"):  # not yet set (copy, unpickling): no delegation
            raise AttributeError(name)
        return getattr(self.tokenizer, name)


def doc_text(doc: Doc) -> str:
    """The doc's text: the kept input string if there is one (the tokenizer never changes it), else Doc.text."""
    text = doc._.get(SOURCE_TEXT)
    return doc.text if text is None else text


@Language.factory("sentence_boundaries", default_config={"punctuation": True, "abbreviations": []})
class SentenceBoundaries(BatchedPipe):
    """Newlines start sentences, list markers at a line start stay with their item, and (``punctuation``)
    spaCy's Sentencizer rule splits the rest.

    The punctuation rule is the Sentencizer's, with its punctuation list, computed
    on integer arrays instead of a Python Token per token, and all boundaries are
    written with one ``Doc.from_array``. Lines win over punctuation and over
    boundaries set before, and the punctuation rule fills only undecided tokens,
    as when the Sentencizer runs after line boundaries are set. With a trained parser or
    senter, ``punctuation`` is off and the parser splits within lines.
    """

    def __init__(self, nlp: Language, name: str, punctuation: bool, abbreviations: list):
        register_extensions()
        self.name = name
        self.punctuation = punctuation
        self.strings = nlp.vocab.strings
        self.punct_ids = frozenset(self.strings.add(c) for c in Sentencizer.default_punct_chars)
        self.period = self.strings.add(".")
        self.abbreviations = frozenset(self.strings.add(a.lower()) for a in abbreviations)
        self._holds_newline: dict[int, bool] = {}

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if not n:
            return doc
        columns = doc.to_array([ORTH, IS_SPACE, IS_PUNCT, SENT_START, LOWER])
        orths = columns[:, 0].tolist()
        spaces = columns[:, 1].astype(bool).tolist()
        starts = columns[:, 3].astype(np.int64).tolist()  # 1 starts a sentence, -1 does not, 0 not decided yet
        for i in [0] + [i + 1 for i in np.flatnonzero(columns[:, 1]).tolist() if self._newline(orths[i])]:
            while i < n and spaces[i]:
                i += 1
            if i < n:
                starts[i] = 1
                if _is_list_marker(self.strings, orths, i):
                    starts[i + 1: i + 3] = [-1] * len(starts[i + 1: i + 3])
        if self.punctuation:
            guesses = self._punctuation_starts(orths, columns[:, 2].tolist(), columns[:, 4].tolist())
            starts = [s if s else (1 if g else -1) for s, g in zip(starts, guesses)]
        doc.from_array([SENT_START], np.array(starts, dtype=np.int64).astype(np.uint64).reshape(-1, 1))
        doc._.set(SENTENCE_BOUNDS, None)  # bounds computed from earlier boundaries are stale now
        return doc

    def _newline(self, orth: int) -> bool:
        holds = self._holds_newline.get(orth)
        if holds is None:
            text = self.strings[orth]
            holds = self._holds_newline[orth] = "\n" in text or "\r" in text
        return holds

    def _punctuation_starts(self, orths: list[int], is_punct: list[int], lowers: list[int]) -> list[bool]:
        """Sentencizer.predict for one doc: a sentence starts at the first non-punctuation token after a stop.

        One exception: the full stop of an abbreviation ("etc.", "approx.",
        "mos.") before a word in lower case or a number ends no sentence.
        """
        guesses = [False] * len(orths)
        guesses[0] = True
        start, seen_period = 0, False
        for i, (orth, punct) in enumerate(zip(orths, is_punct)):
            in_punct_chars = orth in self.punct_ids and not (orth == self.period and self._abbreviation_stop(orths, lowers, i))
            if seen_period and not punct and not in_punct_chars:
                guesses[start] = True
                start, seen_period = i, False
            elif in_punct_chars:
                seen_period = True
        guesses[start] = True
        return guesses

    def _abbreviation_stop(self, orths: list[int], lowers: list[int], i: int) -> bool:
        if i == 0 or lowers[i - 1] not in self.abbreviations:
            return False
        following = next((self.strings[o] for o in orths[i + 1:] if not self.strings[o].isspace()), "")
        return not following or not (following[0].isupper() or following[0] in "\"'“‘")


def _is_list_marker(strings, orths: list[int], i: int) -> bool:
    """Whether tokens i, i+1 (ORTH ids) are a list marker: up to three digits, then "." or ")"."""
    if i + 1 >= len(orths) or strings[orths[i + 1]] not in _LIST_MARKER_END:
        return False
    number = strings[orths[i]]
    return number.isdigit() and len(number) <= 3


@dataclass(frozen=True)
class SentenceBounds:
    """Token bounds of a Doc's sentences, read once from arrays.

    ``doc.sents`` builds a Python Token for every token of the doc on every
    call (to check that sentence starts are set); the components below need
    only integers. ``raw_starts`` are the starts of ``doc.sents``; ``starts``
    and ``ends`` bound the sentences that are not empty, without edge
    whitespace or a leading list marker ("1.", "2)").
    """

    raw_starts: list[int]
    starts: list[int]
    ends: list[int]


def sentence_bounds(doc: Doc) -> SentenceBounds:
    """The doc's SentenceBounds, computed on first use (after sentence boundaries are set) and kept on the doc."""
    bounds = doc._.get(SENTENCE_BOUNDS)
    if bounds is None:
        bounds = _compute_sentence_bounds(doc)
        doc._.set(SENTENCE_BOUNDS, bounds)
    return bounds


def _compute_sentence_bounds(doc: Doc) -> SentenceBounds:
    n = len(doc)
    if not n:
        return SentenceBounds([], [], [])
    columns = doc.to_array([SENT_START, IS_SPACE, ORTH])
    raw_starts = [0] + (np.flatnonzero(columns[1:, 0] == 1) + 1).tolist()
    spaces = columns[:, 1].astype(bool).tolist()
    orths = columns[:, 2].tolist()
    starts, ends = [], []
    for start, end in zip(raw_starts, raw_starts[1:] + [n]):
        while start < end and spaces[start]:
            start += 1
        if start + 2 <= end and _is_list_marker(doc.vocab.strings, orths, start):
            start += 2
        while start < end and spaces[start]:
            start += 1
        while end > start and spaces[end - 1]:
            end -= 1
        if end > start:
            starts.append(start)
            ends.append(end)
    return SentenceBounds(raw_starts, starts, ends)


@Language.factory("claim_cue_ruler", default_config={"patterns": []})
class ClaimCueRuler(BatchedPipe):
    """Claim cues into doc.spans["claim_cues"], like spaCy's SpanRuler, but cheaper on plain text.

    Literal patterns, and token patterns that are only word lists (expanded
    into their literal phrases), go through one PhraseMatcher on LOWER. The
    other token patterns need a Matcher, which tests token by token in Python
    and is where the time went: each runs only around the anchor words it
    requires (found on the LOWER array, without a Python Token), as far as the
    pattern can reach and within the sentence, so a token-pattern cue never
    spans two sentences (a claim lies in one sentence anyway). Overlapping cues
    of one type keep the longest, then the first, as SpanRuler's filter does;
    cues of different types may overlap.
    """

    def __init__(self, nlp: Language, name: str, patterns: list):
        register_extensions()
        self.name = name
        self.phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        phrases: dict[str, list[Doc]] = {}
        self.unanchored = Matcher(nlp.vocab, validate=True)  # patterns without an anchor word: every sentence
        groups: dict[tuple[str, ...], AnchoredPatterns] = {}
        for pattern in patterns:
            key = f"{pattern['label']}|{pattern['id']}"
            if isinstance(pattern["pattern"], str):
                phrases.setdefault(key, []).append(nlp.make_doc(pattern["pattern"]))
                continue
            expansions = literal_expansions(pattern["pattern"])
            if expansions is not None:
                phrases.setdefault(key, []).extend(Doc(nlp.vocab, words=list(words)) for words in expansions)
                continue
            anchor = pattern_anchor(pattern["pattern"])
            if anchor is None:
                self.unanchored.add(key, [pattern["pattern"]])
                continue
            group = groups.setdefault(anchor.words, AnchoredPatterns(len(groups), Matcher(nlp.vocab, validate=True)))
            group.matcher.add(key, [pattern["pattern"]])
            group.before, group.after = _widest(group.before, anchor.before), _widest(group.after, anchor.after)
        for key, docs in phrases.items():
            self.phrases.add(key, docs)
        self.groups_by_word: dict[int, list[AnchoredPatterns]] = {}
        for words, group in groups.items():
            for word in words:
                self.groups_by_word.setdefault(nlp.vocab.strings.add(word), []).append(group)

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        for match_id, start, end in sorted(self.matches(doc), key=lambda m: (m[1], m[2], doc.vocab.strings[m[0]])):
            label, cue_id = doc.vocab.strings[match_id].split("|", 1)
            spans.append(Span(doc, start, end, label=label, span_id=cue_id))
        # a cue inside a pseudo phrase is none; overlapping cues of one type keep the longest, then the first;
        # one word may cue two types ("wears off in 3 months": reversibility and duration)
        pseudo = [(span.start, span.end) for span in spans if span.label_ == PSEUDO]
        by_type: dict[str, list[Span]] = {}
        for span in spans:
            if span.label_ != PSEUDO and not any(start <= span.start and span.end <= end for start, end in pseudo):
                by_type.setdefault(span.label_, []).append(span)
        doc.spans[CUES_KEY] = sorted((s for group in by_type.values() for s in filter_spans(group)),
                                     key=lambda s: (s.start, s.end, s.label_))
        return doc

    def matches(self, doc: Doc) -> list[tuple[int, int, int]]:
        """(key, start, end) of every cue pattern match, overlapping ones included."""
        found = list(self.phrases(doc))
        if not (self.groups_by_word or len(self.unanchored)):
            return found
        raw_starts = sentence_bounds(doc).raw_starts
        ends = raw_starts[1:] + [len(doc)]
        stretches = [(self.unanchored, start, end) for start, end in zip(raw_starts, ends)] if len(self.unanchored) else []
        stretches += self._anchored_stretches(doc, raw_starts, ends)
        for matcher, low, high in stretches:
            found += [(key, low + start, low + end) for key, start, end in matcher(doc[low:high])]
        return found

    def _anchored_stretches(self, doc: Doc, raw_starts: list[int], ends: list[int]) -> list[tuple]:
        """Per group of patterns and sentence, the tokens its anchor words can reach.

        Every match holds its pattern's anchor word within that pattern's reach,
        and token patterns test tokens one by one, so the matches found in the
        stretch are exactly those of the whole sentence.
        """
        stretches: dict[tuple[int, int], tuple] = {}
        for i, lower in enumerate(doc.to_array(LOWER).tolist()):
            for group in self.groups_by_word.get(lower, ()):
                k = bisect_right(raw_starts, i) - 1
                low = raw_starts[k] if group.before is None else max(raw_starts[k], i - group.before)
                high = ends[k] if group.after is None else min(ends[k], i + group.after + 1)
                known = stretches.get((group.index, k))
                if known is not None:
                    low, high = min(known[1], low), max(known[2], high)
                stretches[(group.index, k)] = (group.matcher, low, high)
        return [stretches[key] for key in sorted(stretches)]


@dataclass
class AnchoredPatterns:
    """Token patterns sharing one anchor word list, in their own Matcher, and how far they reach around it."""

    index: int
    matcher: Matcher
    before: int | None = 0
    after: int | None = 0


def literal_expansions(pattern: list, limit: int = 5000) -> list[tuple[str, ...]] | None:
    """The phrases a token pattern of plain lowercase word lists stands for, optional ("?") ones with and without
    (None for any other pattern, or for more than `limit` phrases)."""
    options = []
    for token in pattern:
        words = token.get("LOWER")
        optional = token.get("OP") == "?"
        if set(token) - {"OP"} != {"LOWER"} or token.get("OP") not in (None, "?") or (
                isinstance(words, dict) and set(words) != {"IN"}):
            return None
        words = list(words["IN"]) if isinstance(words, dict) else [words]
        if not all(isinstance(w, str) and w and w == w.lower() for w in words):
            return None
        options.append(words + [None] if optional else words)
    if not options or prod(len(words) for words in options) > limit:
        return None
    phrases = {tuple(w for w in combination if w is not None) for combination in product(*options)}
    return sorted(p for p in phrases if p)


_COMMON_WORDS = frozenset(("for", "to", "and", "a", "an", "the", "it", "they", "that", "which", "will", "may", "can",
                           "not", "n't", "do", "does", "at", "as", "over", "up", "about", "only", "just"))


@dataclass(frozen=True)
class Anchor:
    """Words one of which every match of a token pattern holds, and how far a match reaches around it."""

    words: tuple[str, ...]
    before: int | None  # most tokens a match can have before the anchor word; None: unbounded
    after: int | None


def pattern_anchor(pattern: list) -> Anchor | None:
    """The pattern's rarest required LOWER token, or None if no token is both required and a word list."""
    extents = [_token_extent(token.get("OP")) for token in pattern]
    candidates = []
    for k, token in enumerate(pattern):
        words = token.get("LOWER")
        if (extents[k][0] < 1 or token.get("OP") == "!" or not words or set(token) - {"LOWER", "OP"}
                or (isinstance(words, dict) and set(words) != {"IN"})):
            continue  # optional, negated, or not a plain word list (NOT_IN, REGEX, FUZZY...)
        words = tuple(words["IN"]) if isinstance(words, dict) else (words,)
        # rarest first, then fewest words, then one that does not repeat (its reach is bounded)
        candidates.append((sum(w in _COMMON_WORDS for w in words), len(words), extents[k][1] is None, k, words))
    if not candidates:
        return None
    *_, k, words = min(candidates)
    repeats = None if extents[k][1] is None else extents[k][1] - 1  # an anchor that may repeat reaches further
    return Anchor(words, _total(extents[:k], repeats), _total(extents[k + 1:], repeats))


def _token_extent(op: str | None) -> tuple[int, int | None]:
    """(fewest, most) tokens a pattern token with this operator consumes; most is None if unbounded."""
    fixed = {None: (1, 1), "?": (0, 1), "!": (1, 1), "*": (0, None), "+": (1, None)}  # "!": one token, not matching
    if op in fixed:
        return fixed[op]
    quantifier = re.fullmatch(r"\{(\d*)(,?)(\d*)\}", op)
    if quantifier is None:
        raise RulesError(f"unknown operator {op!r} in a claim cue pattern")
    fewest = int(quantifier.group(1) or 0)
    if not quantifier.group(2):
        return fewest, fewest
    return fewest, int(quantifier.group(3)) if quantifier.group(3) else None


def _total(extents: list[tuple[int, int | None]], extra: int | None) -> int | None:
    most = [high for _, high in extents] + [extra]
    return None if None in most else sum(most)


def _widest(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max(a, b)


@Language.factory("cue_triggers", default_config={"triggers": {}})
class CueTriggers(BatchedPipe):
    """Narrow each cue span to its trigger words (see load_claim_rules)."""

    def __init__(self, nlp: Language, name: str, triggers: dict):
        register_extensions()
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
class CueContext(BatchedPipe, Negex):
    """negspacy's NegEx, looking only at the clauses that hold a claim cue.

    Same matchers, termsets and decision (``_apply_negation``) as negspacy's
    ``negex``; its loop over every clause of the doc, with ``doc.sents`` and
    every span tested against every clause, is replaced by one bisection per
    cue, and docs without cues are skipped.
    """

    def negex(self, doc: Doc) -> Doc:
        cues = doc.spans.get(CUES_KEY)
        if not cues:
            return doc
        preceding, following, terminating = self.process_negations(doc)
        boundaries = sorted(set(sentence_bounds(doc).raw_starts) | {t[1] for t in terminating} | {len(doc)})
        for cue in cues:
            index = bisect_right(boundaries, cue.start) - 1
            if index + 1 >= len(boundaries) or cue.end > boundaries[index + 1]:
                continue  # the cue crosses a clause boundary: negspacy leaves it alone too
            start, end = boundaries[index], boundaries[index + 1]
            self._apply_negation(cue, [m for m in preceding if start <= m[1] < end],
                                 [m for m in following if start <= m[1] < end])
        return doc


@Language.factory("claim_detector", default_config={"requirements": {}, "cue_requires": {}, "inverse_cues": [],
                                                    "question_openers": [], "cue_also": {}})
class ClaimDetector(BatchedPipe):
    """One claim per declarative sentence and claim type, from the cues in doc.spans.

    It runs before negation and hedging and keeps only the cues that make
    claims (scoping the others was most of NegEx's work); ``claim_flags``
    completes the claims once their cues are scoped.

    A cue that requires a context counts only in a sentence holding one of that
    context's phrases; the context ``time_span`` is also met by a duration
    figure (pipeline.durations), so "resolves in 4-6 weeks" is a duration claim
    and "resolves" alone is not.
    """

    def __init__(self, nlp: Language, name: str, requirements: dict, cue_requires: dict, inverse_cues: list,
                 question_openers: list, cue_also: dict):
        register_extensions()
        unknown = ({r for r in cue_requires.values() if r} | {r for _, r in cue_also.values()}) - set(requirements)
        if unknown:
            raise RulesError(f"claim cues require unknown contexts {sorted(unknown)}; known: {sorted(requirements)}")
        self.name = name
        self.cue_requires = cue_requires
        self.inverse_cues = frozenset(inverse_cues)
        self.cue_also = {cue_id: tuple(second) for cue_id, second in cue_also.items()}
        self.question_openers = frozenset(w.lower() for w in question_openers)
        self.requirement_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for context, phrases in requirements.items():
            self.requirement_matcher.add(context, list(nlp.tokenizer.pipe(phrases)))

    def __call__(self, doc: Doc) -> Doc:
        bounds = sentence_bounds(doc)
        cues_by_sentence: dict[int, list[Span]] = {}
        for cue in sorted(doc.spans.get(CUES_KEY, []), key=lambda s: (s.start, s.end)):
            index = _containing(bounds, cue.start, cue.end)
            if index is not None:
                cues_by_sentence.setdefault(index, []).append(cue)
        contexts = self._contexts_by_sentence(doc, bounds) if cues_by_sentence else {}
        claims = []
        text = doc_text(doc) if cues_by_sentence else ""
        for index, cues in sorted(cues_by_sentence.items()):
            sentence = doc[bounds.starts[index]:bounds.ends[index]]
            sentence_text = text[sentence.start_char:sentence.end_char]
            if asks(sentence_text, self.question_openers):  # a question asks rather than claims
                continue
            figure = _Lazy(first_duration, sentence_text)  # parsed at most once, and only if a cue needs it
            by_type: dict[str, list[Span]] = {}
            for cue in cues:
                second = self.cue_also.get(cue.id_)
                for claim_type, needed in ((cue.label_, self.cue_requires.get(cue.id_)),) + ((second,) if second else ()):
                    if needed and needed not in contexts.get(index, ()) and not (
                            needed in FIGURE_CONTEXTS and figure.value):
                        continue
                    by_type.setdefault(claim_type, []).append(cue)
            for claim_type in CLAIM_TYPES:
                if claim_type in by_type:
                    duration = figure.value if claim_type == "duration" else None
                    cue = _claim_cue(by_type[claim_type], sentence.start_char, duration)
                    inverse = cue.label_ == claim_type and cue.id_ in self.inverse_cues
                    claims.append(_PendingClaim(index, sentence, sentence_text, cue, inverse, duration, claim_type))
        # only the cues that make claims go on to negation and hedging scoping
        doc.spans[CUES_KEY] = list({(c.cue.start, c.cue.end, c.cue.label_): c.cue for c in claims}.values())
        doc._.set(CLAIMS, claims)
        return doc

    def _contexts_by_sentence(self, doc: Doc, bounds: SentenceBounds) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        for match_id, start, end in self.requirement_matcher(doc):
            index = _containing(bounds, start, end)
            if index is not None:
                found.setdefault(index, set()).add(doc.vocab.strings[match_id])
        return found


_TRAILING_ASIDE = re.compile(r"(?:\s*\([^()]*\)?|\s*\[[^\[\]]*\]?|[\s\"'\u201d\u2019]+)$")


def asks(sentence: str, openers: frozenset = frozenset()) -> bool:
    """Whether a sentence is a question: it ends in "?", perhaps before an aside such as "(photo)", or it
    opens like one and has no closing full stop ("Does Botox Last Forever", a title)."""
    text = sentence.rstrip()
    if "?" not in text and (text.endswith((".", "!")) or not openers):
        return False
    while True:
        shorter = _TRAILING_ASIDE.sub("", text)
        if shorter == text:
            break
        text = shorter
    if text.endswith("?"):
        return True
    first = re.match(r"[A-Za-z']+", text)
    return bool(first) and first.group(0).lower() in openers and not text.endswith((".", "!"))


def _claim_cue(cues: list[Span], sentence_start: int, figure) -> Span:
    """The cue that makes the claim: the first of its type, or for a duration the one nearest the stated figure
    ("won't last, and should clear up in 10-12 weeks": "clear up" is the duration, not the denied "last")."""
    if figure is None or len(cues) == 1:
        return cues[0]
    def distance(cue: Span) -> int:
        start, end = cue.start_char - sentence_start, cue.end_char - sentence_start
        return max(figure.start - end, start - figure.end, 0)
    return min(cues, key=lambda cue: (distance(cue), cue.start))


def _containing(bounds: SentenceBounds, start: int, end: int) -> int | None:
    """Index of the (clean) sentence that holds tokens start:end whole, or None."""
    index = bisect_right(bounds.starts, start) - 1
    if index >= 0 and end <= bounds.ends[index]:
        return index
    return None


@dataclass(frozen=True)
class _PendingClaim:
    """A claim chosen before its cue's negation and hedging are known (claim_flags completes it)."""

    index: int
    sentence: Span
    sentence_text: str
    cue: Span
    inverse: bool
    duration: object
    claim_type: str


@Language.factory("claim_flags")
class ClaimFlags(BatchedPipe):
    """Complete the claims with the negation and hedging that the two NegEx components set on their cues."""

    def __init__(self, nlp: Language, name: str):
        register_extensions()
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        pending = doc._.get(CLAIMS) or []
        doc._.set(CLAIMS, [_claim(p.index, p.sentence, p.sentence_text, p.cue, p.claim_type, p.inverse, p.duration)
                           for p in pending])
        return doc


class _Lazy:
    """A value computed on first use."""

    def __init__(self, compute, *args):
        self.compute, self.args, self._value, self.done = compute, args, None, False

    @property
    def value(self):
        if not self.done:
            self._value, self.done = self.compute(*self.args), True
        return self._value


def _claim(index: int, sentence: Span, sentence_text: str, cue: Span, claim_type: str, inverse: bool = False,
           duration=None) -> Claim:
    return Claim(
        claim_type=claim_type,
        sentence_index=index,
        start=sentence.start_char,
        end=sentence.end_char,
        text=sentence_text,
        cue=sentence_text[cue.start_char - sentence.start_char:cue.end_char - sentence.start_char],
        cue_id=cue.id_,
        negated=bool(cue._.get(NEGATED)) != inverse,
        hedged=bool(cue._.get(HEDGED)),
        duration_min_months=duration.min_months if duration else None,
        duration_max_months=duration.max_months if duration else None,
    )


def claim_steps(rules: ClaimRules, terms: dict, punctuation: bool) -> list[tuple[str, str, dict]]:
    """(factory, name, config) of each component, in order: the one list build_nlp and medical_claims share."""
    requirements = {k: v for k, v in terms.get("requirements", {}).items() if not k.startswith("_")}
    steps = [
        ("sentence_boundaries", "sentence_boundaries",
         {"punctuation": punctuation, "abbreviations": terms.get("abbreviations", [])}),
        ("claim_cue_ruler", "claim_cue_ruler", {"patterns": rules.patterns}),
        ("cue_triggers", "cue_triggers", {"triggers": rules.triggers}),
        ("claim_detector", "claim_detector", {"requirements": requirements, "cue_requires": rules.requires,
                                              "inverse_cues": sorted(rules.inverse),
                                              "question_openers": terms.get("question_openers", []),
                                              "cue_also": rules.also}),
    ]
    for component, extension in (("negation", NEGATED), ("hedging", HEDGED)):
        termset = {key: terms[extension][key] for key in _NEGSPACY_KEYS}
        steps.append(("cue_context", component, {"neg_termset": termset, "extension_name": extension,
                                                 "span_keys": [CUES_KEY]}))
    steps.append(("claim_flags", "claim_flags", {}))
    return steps


def _has_sentences(nlp: Language) -> bool:
    return any(name in nlp.pipe_names for name in ("parser", "senter"))


def build_nlp(settings: Settings = DEFAULT_SETTINGS, claim_cues: Path = CLAIM_CUES_FILE,
              context_terms: Path = CONTEXT_TERMS_FILE) -> Language:
    """A fresh pipeline; rule files are read now, so edits take effect on the next build."""
    register_extensions()
    if settings.spacy_model.startswith("blank:"):
        nlp = spacy.blank(settings.spacy_model.split(":", 1)[1])
    else:
        nlp = spacy.load(settings.spacy_model, exclude=["ner", "lemmatizer", "attribute_ruler"])
    nlp.tokenizer = TextKeepingTokenizer(nlp.tokenizer)
    first = nlp.pipe_names[0] if nlp.pipe_names else None
    steps = claim_steps(load_claim_rules(claim_cues), load_context_terms(context_terms), not _has_sentences(nlp))
    for position, (factory, name, config) in enumerate(steps):
        placed = {"before": first} if position == 0 and first else {}
        nlp.add_pipe(factory, name=name, config=config, **placed)
    return nlp


@Language.factory("medical_claims", default_config={"claim_cues": "", "context_terms": ""})
class MedicalClaims(BatchedPipe):
    """All the claim components as one, for a pipeline of your own: ``nlp.add_pipe("medical_claims")``.

    Runs the components build_nlp adds, in the same order, on your docs
    (batch by batch), so ``doc._.claims`` holds the claims as spans. Empty
    paths mean the rule files bundled with the package; a pipeline with a
    parser or senter keeps its own sentence splits within lines.
    """

    def __init__(self, nlp: Language, name: str, claim_cues: str, context_terms: str):
        register_extensions()
        self.name = name
        rules = load_claim_rules(Path(claim_cues) if claim_cues else CLAIM_CUES_FILE)
        terms = load_context_terms(Path(context_terms) if context_terms else CONTEXT_TERMS_FILE)
        self.steps = [nlp.create_pipe(factory, name=f"{name}.{step}", config=config)
                      for factory, step, config in claim_steps(rules, terms, not _has_sentences(nlp))]

    def __call__(self, doc: Doc) -> Doc:
        for step in self.steps:
            doc = step(doc)
        return doc

    def pipe(self, docs, batch_size: int = 64):
        for step in self.steps:
            docs = step.pipe(docs, batch_size=batch_size)
        yield from docs
