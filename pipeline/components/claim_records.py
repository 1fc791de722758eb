"""The claim records: chosen by ``claim_detector``, completed with negation and hedging by ``claim_flags``."""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Span

from pipeline.components.extensions import HEDGED, NEGATED


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
    duration_kind: str | None = None  # of a duration claim: what its length measures (schemas.DURATION_KINDS)


@dataclass(frozen=True)
class PendingClaim:
    """A claim chosen before its cue's negation and hedging are known: Doc._.claim_records between the two."""

    index: int
    sentence: Span
    sentence_text: str
    cue: Span
    inverse: bool  # the cue states the opposite of the claim's type ("permanent"): its negation is flipped
    duration: object  # the sentence's first duration figure (durations.Duration) for a duration claim, else None
    claim_type: str
    duration_kind: str | None = None  # of a duration claim: what its length measures (durations.duration_kind)

    def completed(self) -> Claim:
        """The Claim, with the negation and hedging now set on its cue."""
        sentence, duration = self.sentence, self.duration
        return Claim(
            claim_type=self.claim_type,
            sentence_index=self.index,
            start=sentence.start_char,
            end=sentence.end_char,
            text=self.sentence_text,
            cue=self.sentence_text[self.cue.start_char - sentence.start_char:self.cue.end_char - sentence.start_char],
            cue_id=self.cue.id_,
            # "doesn't last longer than 4 months" states a maximum: the "not" makes the bound, it denies no duration
            negated=(bool(self.cue._.get(NEGATED)) != self.inverse) and not getattr(duration, "bound", False),
            hedged=bool(self.cue._.get(HEDGED)),
            duration_min_months=duration.min_months if duration else None,
            duration_max_months=duration.max_months if duration else None,
            duration_kind=self.duration_kind,
        )
