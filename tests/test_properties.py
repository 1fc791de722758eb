"""Property-based: arbitrary text never crashes the segmenter or the extractor, and offsets stay exact."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.extensions import CLAIMS
from pipeline.files import InputError
from pipeline.segment import segment_text

WORDS = ["Botox", "lasts", "3-4", "months", "not", "permanent", "muscles", "atrophy", "may", "less", "product",
         "wears", "off", "returns", "Hi", "Sam,", "Good", "luck!", "Jane", "Roe,", "MD", "{{", "x", "}}", "1.",
         "?", ".", "Helpful", "twice", "a", "day", "\u00a0", "\t", "=", "-"]
SEPARATORS = ["\n", "\n\n", "\r\n", "\r\n\r\n", "\n \n", "\n\u00a0\n", " "]

lines = st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join)
structured = st.lists(st.tuples(lines, st.sampled_from(SEPARATORS)), max_size=25).map(
    lambda parts: "".join(line + sep for line, sep in parts))
anything = st.one_of(structured, st.text(max_size=400))
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(anything)
def test_segmenter_offsets_point_at_their_text(text):
    try:
        segments = segment_text(text)
    except InputError:
        return
    assert segments[0].role == "question" and len(segments) >= 2
    previous_end = 0
    for segment in segments:
        assert 0 <= segment.title_start <= segment.title_end <= len(text)
        assert 0 <= segment.char_start <= segment.char_end <= len(text)
        assert text[segment.title_start:segment.title_end] == segment.title
        assert segment.char_start >= previous_end
        previous_end = segment.char_end
        body = text[segment.char_start:segment.char_end]
        assert body == body.strip()


@FAST
@given(anything)
def test_extractor_offsets_point_at_their_text(nlp, text):
    for claim in nlp(text)._.get(CLAIMS):
        assert text[claim.start:claim.end] == claim.text
        assert claim.text and not claim.text.endswith("?")
        assert claim.claim_type in {"duration", "atrophy", "dose_reduction", "reversibility"}
        low, high = claim.duration_min_months, claim.duration_max_months
        assert low is None or high is None or low <= high
