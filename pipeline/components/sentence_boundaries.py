"""The ``sentence_boundaries`` component: lines and list items first, then spaCy's sentencizer rule."""

from __future__ import annotations

import numpy as np
from spacy.attrs import IS_PUNCT, IS_SPACE, LOWER, ORTH, SENT_START
from spacy.language import Language
from spacy.pipeline.sentencizer import Sentencizer
from spacy.tokens import Doc

from pipeline.components.extensions import SENTENCE_BOUNDS
from pipeline.components.pipes import RuleBackedComponent
from pipeline.components.rules import RuleFiles
from pipeline.components.sentence_bounds import is_list_marker


@Language.factory("sentence_boundaries", default_config={"punctuation": True},
                  assigns=["token.is_sent_start", "doc._.sentence_bounds"])
class SentenceBoundaries(RuleBackedComponent):
    """Newlines start sentences, list markers at a line start stay with their item, and (``punctuation``)
    spaCy's Sentencizer rule splits the rest.

    spaCy's sentencizer gets both lines and list markers wrong. The punctuation
    rule is the Sentencizer's, with its punctuation list, computed on integer
    arrays instead of a Python Token per token, and all boundaries are written
    with one ``Doc.from_array``. Lines win over punctuation and over boundaries
    set before, and the punctuation rule fills only undecided tokens, as when
    the Sentencizer runs after line boundaries are set. With a trained parser or
    senter, ``punctuation`` is off and the parser splits within lines. Its
    rules: the abbreviations whose full stop ends no sentence (context_terms.json).
    """

    rules_file = "abbreviations.json"

    def __init__(self, nlp: Language, name: str, punctuation: bool):
        self.punctuation = punctuation
        self.strings = nlp.vocab.strings
        self.punct_ids = frozenset(self.strings.add(c) for c in Sentencizer.default_punct_chars)
        self.period = self.strings.add(".")
        self._holds_newline: dict[int, bool] = {}
        super().__init__(nlp, name)

    def rules_from(self, files: RuleFiles) -> dict:
        return {"abbreviations": list(files.terms.get("abbreviations", []))}

    def set_rules(self, rules: dict) -> None:
        self.rules = rules
        self.abbreviations = frozenset(self.strings.add(a.lower()) for a in rules["abbreviations"])

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
                if is_list_marker(self.strings, orths, i):
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
