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
from pipeline.components.sentence_bounds import bounds_from_arrays, is_list_marker
from pipeline.components.token_arrays import is_in, sorted_ids


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
        self.punct_ids = sorted_ids(self.strings.add(c) for c in Sentencizer.default_punct_chars)
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
        starts = np.array(starts, dtype=np.int64)
        if self.punctuation:
            guesses = self._punctuation_starts(columns[:, 0], columns[:, 2].astype(bool), columns[:, 4], orths)
            undecided = starts == 0
            starts[undecided] = np.where(guesses[undecided], 1, -1)
        doc.from_array([SENT_START], starts.astype(np.uint64).reshape(-1, 1))
        # bounds computed from earlier boundaries are stale now; when every token is decided, these arrays give
        # the new ones at once (else a parser decides the rest, and they are read after it)
        doc._.set(SENTENCE_BOUNDS, bounds_from_arrays(starts == 1, spaces, orths, self.strings)
                  if self.punctuation else None)
        return doc

    def _newline(self, orth: int) -> bool:
        holds = self._holds_newline.get(orth)
        if holds is None:
            text = self.strings[orth]
            holds = self._holds_newline[orth] = "\n" in text or "\r" in text
        return holds

    def _punctuation_starts(self, orths: np.ndarray, is_punct: np.ndarray, lowers: np.ndarray,
                            orth_list: list[int]) -> np.ndarray:
        """Sentencizer.predict for one doc, on the token arrays: a sentence starts at the doc's first token and at
        the first token after a stop that is neither punctuation nor a stop itself.

        One exception: the full stop of an abbreviation ("etc.", "approx.",
        "mos.") before a word in lower case or a number ends no sentence.
        """
        stops = is_in(orths, self.punct_ids)
        for i in np.flatnonzero(stops & (orths == self.period)).tolist():
            if self._abbreviation_stop(orth_list, lowers, i):
                stops[i] = False
        words = np.flatnonzero(~is_punct & ~stops)  # where a sentence may start
        after_stops = np.searchsorted(words, np.flatnonzero(stops), side="right")  # the first word after each stop
        guesses = np.zeros(len(orths), dtype=bool)
        guesses[0] = True
        guesses[words[after_stops[after_stops < len(words)]]] = True
        return guesses

    def _abbreviation_stop(self, orths: list[int], lowers: list[int], i: int) -> bool:
        if i == 0 or int(lowers[i - 1]) not in self.abbreviations:
            return False
        following = next((self.strings[o] for o in orths[i + 1:] if not self.strings[o].isspace()), "")
        return not following or not (following[0].isupper() or following[0] in "\"'“‘")
