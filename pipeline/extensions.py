"""Every custom spaCy attribute the pipeline sets, registered once, in one place."""

from spacy.tokens import Doc, Span

NEGATED = "negated"  # Span._.negated, set by the negspacy component named "negation"
HEDGED = "hedged"  # Span._.hedged, set by the negspacy component named "hedging"
CLAIMS = "claims"  # Doc._.claims: list[Claim], set by the "claim_detector" component
SOURCE_TEXT = "source_text"  # Doc._.source_text: the string the doc was made from, set by nlp.TextKeepingTokenizer
SENTENCE_BOUNDS = "sentence_bounds"  # Doc._.sentence_bounds: nlp.SentenceBounds, set on first use after the sentencizer


def register_extensions() -> None:
    """Idempotent: a second call changes nothing."""
    for name in (NEGATED, HEDGED):
        if not Span.has_extension(name):
            Span.set_extension(name, default=False)
    for name in (CLAIMS, SOURCE_TEXT, SENTENCE_BOUNDS):
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)
