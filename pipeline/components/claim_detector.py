"""The ``claim_detector`` component: one claim per declarative sentence and claim type, from the cues."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from spacy.attrs import IDX, LENGTH
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from pipeline.components.claim_records import PendingClaim
from pipeline.components.durations import duration_kind, first_duration, load_lexicon, unit_stem_occurrences
from pipeline.components.extensions import CLAIMS
from pipeline.components.pipes import RuleBackedComponent
from pipeline.components.rules import CUES_KEY, RuleFiles, RulesError
from pipeline.components.sentence_bounds import SentenceBounds, containing_sentence, sentence_bounds
from pipeline.components.text import doc_text
from pipeline.schemas import CLAIM_TYPES

FIGURE_CONTEXTS = frozenset({"time_span", "figure"})  # requirements also met by a duration figure durations finds
_TRAILING_ASIDE = re.compile(r"(?:\s*\([^()]*\)?|\s*\[[^\[\]]*\]?|[\s\"'\u201d\u2019]+)$")


DETECTORS = ("rules", "learned")


@lru_cache(maxsize=1)
def _learned_classifier():
    """The package's claim classifier (pipeline.components.claim_model), loaded once per process; where it
    cannot be loaded (another scikit-learn), a warning says so and the rules decide."""
    from pipeline.components import claim_model

    try:
        return claim_model.load()
    except claim_model.ClaimModelError as err:
        warnings.warn(f"{err}; claims are detected by the rules alone", stacklevel=2)
        return None


@Language.factory("claim_detector", assigns=[f"doc._.{CLAIMS}", "doc.spans"],
                  requires=["doc.spans", "token.is_sent_start"], default_config={"detector": "rules"})
class ClaimDetector(RuleBackedComponent):
    """One claim per declarative sentence and claim type, from the cues in doc.spans.

    It runs before negation and hedging and keeps only the cues that make
    claims (scoping the others was most of NegEx's work); ``claim_flags``
    completes the claims once their cues are scoped.

    A cue that requires a context counts only in a sentence holding one of that
    context's phrases; the context ``time_span`` is also met by a duration
    figure (durations.py), so "resolves in 4-6 weeks" is a duration claim
    and "resolves" alone is not. With ``detector="learned"`` a classifier
    trained on the annotated corpus decides per candidate sentence and type,
    the rules among its features (pipeline.learning.claim_classifier). Its rules: per cue id the context it requires,
    whether it is inverse and its second type (claim_cues.jsonl), and the
    contexts' phrases and the question openers (context_terms.json).
    """

    def __init__(self, nlp: Language, name: str, detector: str = "rules"):
        super().__init__(nlp, name)
        if detector not in DETECTORS:
            raise ValueError(f"claim_detector's detector is one of {', '.join(DETECTORS)}, not {detector!r}")
        self.detector = detector
        self.classifier = _learned_classifier() if detector == "learned" else None

    def rules_from(self, files: RuleFiles) -> dict:
        cues, terms = files.cues, files.terms
        return {"requirements": {k: list(v) for k, v in terms.get("requirements", {}).items() if not k.startswith("_")},
                "cue_requires": dict(cues.requires), "inverse_cues": sorted(cues.inverse),
                "question_openers": list(terms.get("question_openers", [])), "cue_also": dict(cues.also)}

    def set_rules(self, rules: dict) -> None:
        requirements, cue_requires, cue_also = rules["requirements"], rules["cue_requires"], rules["cue_also"]
        unknown = ({r for r in cue_requires.values() if r} | {r for _, r in cue_also.values()}) - set(requirements)
        if unknown:
            raise RulesError(f"claim cues require unknown contexts {sorted(unknown)}; known: {sorted(requirements)}")
        self.rules = rules
        self.cue_requires = cue_requires
        self.inverse_cues = frozenset(rules["inverse_cues"])
        self.cue_also = {cue_id: tuple(second) for cue_id, second in cue_also.items()}
        self.question_openers = frozenset(w.lower() for w in rules["question_openers"])
        self.requirement_matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for context, phrases in requirements.items():
            self.requirement_matcher.add(context, list(self.nlp.tokenizer.pipe(phrases)))

    def __call__(self, doc: Doc) -> Doc:
        candidates = self.candidates(doc)
        return self._claim(doc, candidates, self._decide(candidates))

    def pipe(self, docs, batch_size: int = 64):
        """Batch by batch, the learned detector deciding for a whole batch at once: a classifier's cost is mostly
        per call, not per sentence."""
        for batch in minibatch(docs, size=batch_size):
            found = [self.candidates(doc) for doc in batch]
            decided = self._decide([c for candidates in found for c in candidates])
            at = 0
            for doc, candidates in zip(batch, found):
                yield self._claim(doc, candidates, decided[at:at + len(candidates)])
                at += len(candidates)

    def _decide(self, candidates: list["Candidate"]) -> list[list[str]]:
        """Per candidate, the types it claims: the classifier's decision, or the types the rules found."""
        if self.classifier is not None:
            return self.classifier.decide(candidates) if candidates else []
        return [[t for t in CLAIM_TYPES if t in candidate.by_type] for candidate in candidates]

    def _claim(self, doc: Doc, candidates: list["Candidate"], decided: list[list[str]]) -> Doc:
        claims = []
        lexicon = load_lexicon()
        for candidate, types in zip(candidates, decided):
            for claim_type in types:
                cue = candidate.cue_for(claim_type)
                inverse = cue.label_ == claim_type and cue.id_ in self.inverse_cues
                duration, kind = None, None
                if claim_type == "duration":
                    duration, start = candidate.figure.value, candidate.sentence.start_char
                    kind = duration_kind(candidate.text, duration, (cue.start_char - start, cue.end_char - start),
                                         lexicon)
                claims.append(PendingClaim(candidate.index, candidate.sentence, candidate.text, cue, inverse,
                                           duration, claim_type, kind))
        # only the cues that make claims go on to negation and hedging scoping
        doc.spans[CUES_KEY] = list({(c.cue.start, c.cue.end, c.cue.label_): c.cue for c in claims}.values())
        doc._.set(CLAIMS, claims)
        return doc

    def candidates(self, doc: Doc, figures: bool | None = None) -> list["Candidate"]:
        """The sentences that may make claims, in order, with what the rules say of each: every declarative sentence
        holding a cue (the rules claim a type when a cue of it has its context), and, for the learned detector (or
        with ``figures``), one holding a duration figure without a cue ("3-4 months for most people")."""
        bounds = sentence_bounds(doc)
        cues_by_sentence: dict[int, list[Span]] = {}
        for cue in sorted(doc.spans.get(CUES_KEY, []), key=lambda s: (s.start, s.end)):
            index = containing_sentence(bounds, cue.start, cue.end)
            if index is not None:
                cues_by_sentence.setdefault(index, []).append(cue)
        figures_too = self.classifier is not None if figures is None else figures
        if not cues_by_sentence and not figures_too:
            return []
        contexts = self._contexts_by_sentence(doc, bounds)
        text = doc_text(doc)
        lexicon = load_lexicon()  # once per doc, not per sentence
        # sentence character bounds from two arrays: a Span is built only for a sentence that survives the tests
        offsets = doc.to_array([IDX, LENGTH]).astype(np.int64)
        lasts = np.asarray(bounds.ends, dtype=np.int64) - 1  # each sentence's last token
        start_chars = offsets[bounds.starts, 0] if bounds.starts else np.zeros(0, dtype=np.int64)
        end_chars = offsets[lasts, 0] + offsets[lasts, 1] if bounds.ends else np.zeros(0, dtype=np.int64)
        indices = set(cues_by_sentence)
        if figures_too:  # and the sentences holding a unit word's start: no cue and no unit word is no claim
            indices |= _sentences_holding(unit_stem_occurrences(text.lower(), lexicon), start_chars, end_chars)
        found = []
        for index in sorted(indices):
            cues = cues_by_sentence.get(index, [])
            first, last = bounds.starts[index], bounds.ends[index] - 1
            start_char, end_char = int(start_chars[index]), int(end_chars[index])
            sentence_text = text[start_char:end_char]
            if asks(sentence_text, self.question_openers):  # a question asks rather than claims
                continue
            figure = _Lazy(first_duration, sentence_text, lexicon)  # parsed at most once, and only if needed
            if not cues and figure.value is None:  # (its lexicon rules most sentences out at one search)
                continue
            by_type: dict[str, list[Span]] = {}
            for cue in cues:
                second = self.cue_also.get(cue.id_)
                for claim_type, needed in ((cue.label_, self.cue_requires.get(cue.id_)),) + ((second,) if second else ()):
                    if needed and needed not in contexts.get(index, ()) and not (
                            needed in FIGURE_CONTEXTS and figure.value):
                        continue
                    by_type.setdefault(claim_type, []).append(cue)
            found.append(Candidate(index, doc[first:last + 1], sentence_text, cues, by_type, figure))
        return found

    def _contexts_by_sentence(self, doc: Doc, bounds: SentenceBounds) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        for match_id, start, end in self.requirement_matcher(doc):
            index = containing_sentence(bounds, start, end)
            if index is not None:
                found.setdefault(index, set()).add(doc.vocab.strings[match_id])
        return found


@dataclass
class Candidate:
    """A sentence that may make claims: its cues, those whose context the rules found per type, its duration figure."""

    index: int  # among the doc's sentences that are not empty
    sentence: Span
    text: str
    cues: list[Span]  # every cue in it, whatever the type
    by_type: dict[str, list[Span]]  # per type the cues that make a claim by the rules
    figure: "_Lazy"  # .value: the first duration figure (durations.Duration) or None

    def cue_for(self, claim_type: str) -> Span:
        """The span whose negation and hedging the claim takes: the rules' cue of the type; else any cue of the type
        (its context unmet); else the duration figure; else the first cue in the sentence."""
        if claim_type in self.by_type:
            duration = self.figure.value if claim_type == "duration" else None
            return _claim_cue(self.by_type[claim_type], self.sentence.start_char, duration)
        same = [cue for cue in self.cues if cue.label_ == claim_type]
        if same:
            return same[-1]
        figure = self.figure.value
        if figure is not None:
            span = self.sentence.doc.char_span(self.sentence.start_char + figure.start,
                                               self.sentence.start_char + figure.end, alignment_mode="expand")
            if span is not None:
                return Span(span.doc, span.start, span.end, label=claim_type, span_id="figure")
        return self.cues[0]


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
    """The cue that makes the claim: the last of its type, the concluding statement ("I don't think it atrophies for
    good, but it can shrink a bit": "shrink"; dev negated right 0.974 -> 0.979), or for a duration with a figure the
    one nearest it ("won't last, and should clear up in 10-12 weeks": "clear up" is the duration, not "last")."""
    if len(cues) == 1:
        return cues[0]
    if figure is None:  # the concluding mention decides: "I don't think it shrinks for good, but it can thin a bit"
        return cues[-1]

    def distance(cue: Span) -> int:
        start, end = cue.start_char - sentence_start, cue.end_char - sentence_start
        return max(figure.start - end, start - figure.end, 0)
    return min(cues, key=lambda cue: (distance(cue), cue.start))


def _sentences_holding(positions: list[tuple[int, int]], start_chars: np.ndarray, end_chars: np.ndarray) -> set[int]:
    """The sentences (by their character bounds) that hold one of the (start, length) occurrences wholly."""
    if not positions or not len(start_chars):
        return set()
    where = np.array(positions, dtype=np.int64)
    index = np.searchsorted(start_chars, where[:, 0], side="right") - 1
    inside = (index >= 0) & (where[:, 0] + where[:, 1] <= end_chars[np.maximum(index, 0)])
    return set(index[inside].tolist())


class _Lazy:
    """A value computed on first use."""

    def __init__(self, compute, *args):
        self.compute, self.args, self._value, self.done = compute, args, None, False

    @property
    def value(self):
        if not self.done:
            self._value, self.done = self.compute(*self.args), True
        return self._value
