"""The ``claim_cue_ruler`` component: claim cues into doc.spans, like spaCy's SpanRuler but cheaper on plain text."""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

from spacy.attrs import LOWER
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from pipeline.components.cue_patterns import AnchoredPatterns, literal_expansions, pattern_anchor
from pipeline.components.pipes import RuleBackedComponent
from pipeline.components.rules import CUES_KEY, PSEUDO, RuleFiles
from pipeline.components.sentence_bounds import sentence_bounds
from pipeline.components.token_arrays import is_in, sorted_ids


def longest_first(cues: list[tuple]) -> list[tuple]:
    """spaCy's filter_spans on (start, end, ...) tuples: of overlapping cues the longest, then the first, is kept."""
    kept, seen = [], set()
    for cue in sorted(cues, key=lambda c: (c[1] - c[0], -c[0]), reverse=True):
        start, end = cue[0], cue[1]
        if start not in seen and end - 1 not in seen:
            kept.append(cue)
            seen.update(range(start, end))
    return sorted(kept, key=lambda c: c[0])


@Language.factory("claim_cue_ruler", assigns=["doc.spans"], requires=["token.is_sent_start"])
class ClaimCueRuler(RuleBackedComponent):
    """Claim cues into doc.spans["claim_cues"], from the patterns of claim_cues.jsonl (SpanRuler's format).

    Literal patterns, and token patterns that are only word lists (expanded
    into their literal phrases), go through one PhraseMatcher on LOWER. The
    other token patterns need a Matcher, which tests token by token in Python
    and is where the time went: each runs only around the anchor words it
    requires (found on the LOWER array, without a Python Token), as far as the
    pattern can reach and within the sentence, so a token-pattern cue never
    spans two sentences (a claim lies in one sentence anyway). Overlapping cues
    of one type keep the longest, then the first, as SpanRuler's filter does;
    cues of different types may overlap. The patterns are saved as
    patterns.jsonl in the component's folder, as SpanRuler saves its own.
    """

    rules_file = "patterns.jsonl"

    def rules_from(self, files: RuleFiles) -> list:
        return files.cues.patterns

    def set_rules(self, rules: list) -> None:
        """Sort the patterns into the PhraseMatcher, the Matchers of their anchor words and the unanchored Matcher."""
        vocab = self.nlp.vocab
        self.rules = list(rules)
        self.phrases = PhraseMatcher(vocab, attr="LOWER")
        phrases: dict[str, list[Doc]] = {}
        self.unanchored = Matcher(vocab, validate=True)  # patterns without an anchor word: every sentence
        groups: dict[tuple[str, ...], AnchoredPatterns] = {}
        for pattern in self.rules:
            key = f"{pattern['label']}|{pattern['id']}"
            if isinstance(pattern["pattern"], str):
                phrases.setdefault(key, []).append(self.nlp.make_doc(pattern["pattern"]))
                continue
            expansions = literal_expansions(pattern["pattern"])
            if expansions is not None:
                phrases.setdefault(key, []).extend(Doc(vocab, words=list(words)) for words in expansions)
                continue
            anchor = pattern_anchor(pattern["pattern"])
            if anchor is None:
                self.unanchored.add(key, [pattern["pattern"]])
                continue
            group = groups.setdefault(anchor.words, AnchoredPatterns(len(groups), Matcher(vocab, validate=True)))
            group.matcher.add(key, [pattern["pattern"]])
            group.reach_at_least(anchor)
        for key, docs in phrases.items():
            self.phrases.add(key, docs)
        self.groups_by_word: dict[int, list[AnchoredPatterns]] = {}
        for words, group in groups.items():
            for word in words:
                self.groups_by_word.setdefault(vocab.strings.add(word), []).append(group)
        self.anchor_words = sorted_ids(self.groups_by_word)

    def __call__(self, doc: Doc) -> Doc:
        strings = doc.vocab.strings
        found = sorted((start, end, *strings[key].split("|", 1)) for key, start, end in self.matches(doc))
        # a cue inside a pseudo phrase is none; overlapping cues of one type keep the longest, then the first
        # (spaCy's filter_spans, on tuples: a Span is made only for a cue that is kept); one word may cue two
        # types ("wears off in 3 months": reversibility and duration)
        pseudo = [(start, end) for start, end, label, _ in found if label == PSEUDO]
        by_type: dict[str, list[tuple]] = {}
        for start, end, label, cue_id in found:
            if label != PSEUDO and not any(low <= start and end <= high for low, high in pseudo):
                by_type.setdefault(label, []).append((start, end, label, cue_id))
        kept = sorted(cue for group in by_type.values() for cue in longest_first(group))
        doc.spans[CUES_KEY] = [Span(doc, start, end, label=label, span_id=cue_id) for start, end, label, cue_id in kept]
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
        lowers = doc.to_array(LOWER)
        anchored = np.flatnonzero(is_in(lowers, self.anchor_words))  # the few tokens that are anchor words
        for i, lower in zip(anchored.tolist(), lowers[anchored].tolist()):
            for group in self.groups_by_word[lower]:
                k = bisect_right(raw_starts, i) - 1
                low = raw_starts[k] if group.before is None else max(raw_starts[k], i - group.before)
                high = ends[k] if group.after is None else min(ends[k], i + group.after + 1)
                known = stretches.get((group.index, k))
                if known is not None:
                    low, high = min(known[1], low), max(known[2], high)
                stretches[(group.index, k)] = (group.matcher, low, high)
        return [stretches[key] for key in sorted(stretches)]
