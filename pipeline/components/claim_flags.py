"""The ``claim_flags`` component: the claims completed once their cues' negation and hedging are set."""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from pipeline.components.extensions import CLAIMS, HEDGED, NEGATED
from pipeline.components.pipes import ClaimComponent


@Language.factory("claim_flags", assigns=[f"doc._.{CLAIMS}"],
                  requires=[f"doc._.{CLAIMS}", f"span._.{NEGATED}", f"span._.{HEDGED}"])
class ClaimFlags(ClaimComponent):
    """Complete the claims with the negation and hedging that the two NegEx components set on their cues
    (inverted for a cue that states the opposite of its type, "permanent"); Doc._.claims reads them."""

    def __call__(self, doc: Doc) -> Doc:
        doc._.set(CLAIMS, [pending.completed() for pending in doc._.get(CLAIMS) or []])
        return doc
