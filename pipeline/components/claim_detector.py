"""The ``claim_detector`` component: one claim per declarative sentence and claim type, from the cues."""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from pipeline.components.claim_records import PendingClaim
from pipeline.components.durations import first_duration
from pipeline.components.extensions import CLAIMS
from pipeline.components.pipes import RuleBackedComponent
from pipeline.components.rules import CUES_KEY, RuleFiles, RulesError
from pipeline.components.sentence_bounds import SentenceBounds, containing_sentence, sentence_bounds
from pipeline.components.text import doc_text
from pipeline.schemas import CLAIM_TYPES

FIGURE_CONTEXTS = frozenset({"time_span", "figure"})  # requirements also met by a duration figure durations finds
_TRAILING_ASIDE = re.compile(r"(?:\s*\([^()]*\)?|\s*\[[^\[\]]*\]?|[\s\"'\u201d\u2019]+)$")


@Language.factory("claim_detector", assigns=[f"doc._.{CLAIMS}", "doc.spans"],
                  requires=["doc.spans", "token.is_sent_start"])
class ClaimDetector(RuleBackedComponent):
    """One claim per declarative sentence and claim type, from the cues in doc.spans.

    It runs before negation and hedging and keeps only the cues that make
    claims (scoping the others was most of NegEx's work); ``claim_flags``
    completes the claims once their cues are scoped.

    A cue that requires a context counts only in a sentence holding one of that
    context's phrases; the context ``time_span`` is also met by a duration
    figure (durations.py), so "resolves in 4-6 weeks" is a duration claim
    and "resolves" alone is not. Its rules: per cue id the context it requires,
    whether it is inverse and its second type (claim_cues.jsonl), and the
    contexts' phrases and the question openers (context_terms.json).
    """

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
        bounds = sentence_bounds(doc)
        cues_by_sentence: dict[int, list[Span]] = {}
        for cue in sorted(doc.spans.get(CUES_KEY, []), key=lambda s: (s.start, s.end)):
            index = containing_sentence(bounds, cue.start, cue.end)
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
                    claims.append(PendingClaim(index, sentence, sentence_text, cue, inverse, duration, claim_type))
        # only the cues that make claims go on to negation and hedging scoping
        doc.spans[CUES_KEY] = list({(c.cue.start, c.cue.end, c.cue.label_): c.cue for c in claims}.values())
        doc._.set(CLAIMS, claims)
        return doc

    def _contexts_by_sentence(self, doc: Doc, bounds: SentenceBounds) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        for match_id, start, end in self.requirement_matcher(doc):
            index = containing_sentence(bounds, start, end)
            if index is not None:
                found.setdefault(index, set()).add(doc.vocab.strings[match_id])
        return found


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


class _Lazy:
    """A value computed on first use."""

    def __init__(self, compute, *args):
        self.compute, self.args, self._value, self.done = compute, args, None, False

    @property
    def value(self):
        if not self.done:
            self._value, self.done = self.compute(*self.args), True
        return self._value
