"""Every custom spaCy attribute the pipeline sets, registered once, in one place."""

from spacy.tokens import Doc, Span

NEGATED = "negated"  # Span._.negated, set by the negspacy component named "negation"
HEDGED = "hedged"  # Span._.hedged, set by the negspacy component named "hedging"
CLAIMS = "claim_records"  # Doc._.claim_records: list[Claim], set by "claim_detector", completed by "claim_flags"
CLAIM_SPANS = "claims"  # Doc._.claims: the claims as Spans, label_ the claim type, each with its record in Span._.claim
CLAIM = "claim"  # Span._.claim: the Claim of a span of Doc._.claims (type, negated, hedged, cue, duration range)
SOURCE_TEXT = "source_text"  # Doc._.source_text: the string the doc was made from, set by text.TextKeepingTokenizer
SENTENCE_BOUNDS = "sentence_bounds"  # Doc._.sentence_bounds: SentenceBounds, set on first use after the sentencizer


def claim_spans(doc: Doc) -> list[Span]:
    """Doc._.claims: one Span per claim (its sentence), labelled with the claim type."""
    spans = []
    for record in doc._.get(CLAIMS) or []:
        span = doc.char_span(record.start, record.end, label=record.claim_type, alignment_mode="expand")
        if span is not None:
            spans.append(span)
    return spans


def claim_of(span: Span):
    """Span._.claim: the claim record a span of Doc._.claims stands for (None for any other span)."""
    for record in span.doc._.get(CLAIMS) or []:
        if (record.start, record.end, record.claim_type) == (span.start_char, span.end_char, span.label_):
            return record
    return None


def register_extensions() -> None:
    """Idempotent: a second call changes nothing. Every component calls it, so a pipeline loaded from disk has them."""
    for name in (NEGATED, HEDGED):
        if not Span.has_extension(name):
            Span.set_extension(name, default=False)
    for name in (CLAIMS, SOURCE_TEXT, SENTENCE_BOUNDS):
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)
    if not Doc.has_extension(CLAIM_SPANS):
        Doc.set_extension(CLAIM_SPANS, getter=claim_spans)
    if not Span.has_extension(CLAIM):
        Span.set_extension(CLAIM, getter=claim_of)
