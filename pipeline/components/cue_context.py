"""The ``cue_negation`` and ``cue_hedging`` components: negspacy's NegEx, scoped to the clauses of claim cues."""

from __future__ import annotations

from bisect import bisect_right

from negspacy.negation import Negex
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.components.extensions import HEDGED, NEGATED
from pipeline.components.pipes import ClaimComponent, RuleBackedComponent
from pipeline.components.rules import CUES_KEY, NEGSPACY_KEYS, RuleFiles
from pipeline.components.sentence_bounds import sentence_bounds


class CueContext(RuleBackedComponent, Negex):
    """negspacy's NegEx, looking only at the clauses that hold a claim cue.

    Same matchers, termsets and decision (``_apply_negation``) as negspacy's
    ``negex``; its loop over every clause of the doc, with ``doc.sents`` and
    every span tested against every clause, is replaced by one bisection per
    cue, and docs without cues are skipped. A subclass names its ``category``:
    the cue lists it takes from context_terms.json and the Span extension it sets.
    """

    category = ""
    rules_file = "termset.json"

    def __init__(self, nlp: Language, name: str):
        ClaimComponent.__init__(self, nlp, name)  # not RuleBackedComponent's: Negex builds its matcher itself
        termset = self.rules_from(RuleFiles())
        Negex.__init__(self, nlp, name, neg_termset=termset, extension_name=self.category, span_keys=[CUES_KEY])
        self.rules = termset

    def rules_from(self, files: RuleFiles) -> dict:
        return {key: list(files.terms[self.category][key]) for key in NEGSPACY_KEYS}

    def set_rules(self, rules: dict) -> None:
        self.pseudo_negations, self.preceding_negations, self.following_negations, self.termination = (
            rules[key] for key in NEGSPACY_KEYS)
        self.build_patterns()
        self.rules = rules

    def build_patterns(self) -> None:
        super().build_patterns()
        # the longest phrase, in tokens: a match that bears on a cue lies within this many tokens of its sentence
        self.reach = max(map(len, self.pseudo_patterns + self.preceding_patterns + self.following_patterns
                             + self.termination_patterns), default=1)

    def negex(self, doc: Doc) -> Doc:
        cues = list(doc.spans.get(CUES_KEY, ()))  # a SpanGroup makes a new Span on every pass over it
        if not cues:
            return doc
        raw_starts = sentence_bounds(doc).raw_starts
        preceding, following, terminating = self.negations_near(doc, cues, raw_starts)
        boundaries = sorted(set(raw_starts) | {t[1] for t in terminating} | {len(doc)})
        for cue in cues:
            index = bisect_right(boundaries, cue.start) - 1
            if index + 1 >= len(boundaries) or cue.end > boundaries[index + 1]:
                continue  # the cue crosses a clause boundary: negspacy leaves it alone too
            start, end = boundaries[index], boundaries[index + 1]
            self._apply_negation(cue, [m for m in preceding if start <= m[1] < end],
                                 [m for m in following if start <= m[1] < end])
        return doc

    def negations_near(self, doc: Doc, cues, raw_starts: list[int]) -> tuple[list, list, list]:
        """negspacy's process_negations, matching only around the sentences that hold a cue.

        The phrases are matched in each cue sentence widened by the longest
        phrase on both sides: a phrase that starts in the sentence, and a pseudo
        phrase covering such a start, lie wholly inside, so every match that
        bears on a cue is found, as a match of the whole doc would find it.
        Most of a doc's sentences hold no cue.
        """
        ends = raw_starts[1:] + [len(doc)]
        sentences = sorted({bisect_right(raw_starts, cue.start) - 1 for cue in cues})
        regions: list[list[int]] = []
        for k in sentences:
            low, high = max(0, raw_starts[k] - self.reach), min(len(doc), ends[k] + self.reach)
            if regions and low <= regions[-1][1]:
                regions[-1][1] = max(regions[-1][1], high)
            else:
                regions.append([low, high])
        strings = doc.vocab.strings
        matches = [(strings[key], start, end) for low, high in regions for key, start, end in self.matcher(doc[low:high])]
        pseudo = [(start, end) for kind, start, end in matches if kind == "pseudo"]
        found: dict[str, list] = {"Preceding": [], "Following": [], "Termination": []}
        for kind, start, end in matches:
            if kind != "pseudo" and not any(low <= start <= high for low, high in pseudo):
                found[kind].append((kind, start, end))
        return found["Preceding"], found["Following"], found["Termination"]


@Language.factory("cue_negation", assigns=[f"span._.{NEGATED}"], requires=["doc.spans", "token.is_sent_start"])
class CueNegation(CueContext):
    """Sets Span._.negated on the claim cues a negation governs ("not permanent")."""

    category = NEGATED


@Language.factory("cue_hedging", assigns=[f"span._.{HEDGED}"], requires=["doc.spans", "token.is_sent_start"])
class CueHedging(CueContext):
    """Sets Span._.hedged on the claim cues a hedge governs ("may wear off")."""

    category = HEDGED
