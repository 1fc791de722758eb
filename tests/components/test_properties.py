"""Property-based: arbitrary text never crashes the segmenter or the extractor, and offsets stay exact."""

from dataclasses import replace
from functools import lru_cache

import pandas as pd
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.matcher import Matcher, PhraseMatcher
from spacy.pipeline.sentencizer import Sentencizer

from pipeline.config import DEFAULT_SETTINGS
from pipeline.components.extensions import CLAIMS
from pipeline.stages.extract import extract_claims
from pipeline.io.files import InputError
from pipeline.components import doc_text, load_claim_rules, sentence_bounds
from pipeline.stages.segment import answers_table, segment_text

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


# pieces of cue patterns, cut where a pattern's reach could be tested, and the words that break them
CUE_PIECES = ["will last", "usually last", "last", "lasts", "for", "about", "longer", "3", "three", "months", "works",
              "effective for", "up to", "every", "3 to 4", "few", "couple", "weeks", "dose", "doses", "units",
              "may", "decrease", "drop", "results", "the effect", "it", "and", "not", ".", "?", "\n", "1 .", ")", "-"]


@lru_cache(maxsize=1)
def reference_cue_matchers(nlp):
    """Every literal cue in one PhraseMatcher and every token pattern in one Matcher, as a SpanRuler would hold them."""
    phrases, tokens = PhraseMatcher(nlp.vocab, attr="LOWER"), Matcher(nlp.vocab)
    for rule in load_claim_rules().patterns:
        key = f"{rule['label']}|{rule['id']}"
        if isinstance(rule["pattern"], str):
            phrases.add(key, [nlp.make_doc(rule["pattern"])])
        else:
            tokens.add(key, [rule["pattern"]])
    return phrases, tokens


@given(st.lists(st.sampled_from(CUE_PIECES), max_size=30).map(" ".join))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_cue_matches_equal_plain_matchers_over_whole_sentences(nlp, text):
    doc = nlp(text)
    phrases, tokens = reference_cue_matchers(nlp)
    starts = [sent.start for sent in doc.sents]
    expected = set(phrases(doc)) | {(key, start + s, end + s) for s, e in zip(starts, starts[1:] + [len(doc)])
                                    for key, start, end in tokens(doc[s:e])}
    assert set(nlp.get_pipe("claim_cue_ruler").matches(doc)) == expected


@given(st.lists(st.sampled_from(CUE_PIECES + ["not permanent", "no longer", "permanent", "may", "shrink", "weaker",
                                              "muscle", "wears off", "wear off", "lower dose"]), max_size=30).map(" ".join))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_cue_rulers_choice_among_overlapping_cues_is_spacy_filter_spans(nlp, text):
    """The ruler filters its matches as tuples and makes a Span only for a kept cue: the cues that Spans for every
    match, pseudo cues dropped and spaCy's filter_spans per type, give."""
    from spacy.tokens import Span
    from spacy.util import filter_spans

    from pipeline.components.rules import CUES_KEY, PSEUDO

    ruler = nlp.get_pipe("claim_cue_ruler")
    doc = nlp.get_pipe("sentence_boundaries")(nlp.make_doc(text))
    strings = doc.vocab.strings
    spans = [Span(doc, start, end, label=strings[key].split("|", 1)[0], span_id=strings[key].split("|", 1)[1])
             for key, start, end in sorted(ruler.matches(doc), key=lambda m: (m[1], m[2], strings[m[0]]))]
    pseudo = [(span.start, span.end) for span in spans if span.label_ == PSEUDO]
    by_type: dict = {}
    for span in spans:
        if span.label_ != PSEUDO and not any(low <= span.start and span.end <= high for low, high in pseudo):
            by_type.setdefault(span.label_, []).append(span)
    expected = sorted((s for group in by_type.values() for s in filter_spans(group)), key=lambda s: (s.start, s.end, s.label_))
    got = ruler(doc).spans[CUES_KEY]
    assert [(s.start, s.end, s.label_, s.id_) for s in got] == [(s.start, s.end, s.label_, s.id_) for s in expected]


@FAST
@given(anything)
def test_sentence_bounds_agree_with_doc_sents(nlp, text):
    doc = nlp(text)
    bounds = sentence_bounds(doc)
    assert bounds.raw_starts == [sent.start for sent in doc.sents] or not len(doc)
    for start, end in zip(bounds.starts, bounds.ends):
        assert not doc[start].is_space and not doc[end - 1].is_space
        assert doc_text(doc)[doc[start].idx:doc[end - 1].idx + len(doc[end - 1])] == doc[start:end].text


@FAST
@given(anything)
def test_the_bounds_the_sentence_component_hands_over_are_those_read_from_the_doc_after_it(nlp, text):
    from pipeline.components.sentence_bounds import _compute_sentence_bounds

    doc = nlp.get_pipe("sentence_boundaries")(nlp.make_doc(text))
    assert sentence_bounds(doc) == _compute_sentence_bounds(doc)


@lru_cache(maxsize=1)
def _blank_english():
    return spacy.blank("en")


def reference_sentence_starts(text: str) -> list[bool]:
    """The Token-by-Token way: line starts set one token at a time, then spaCy's own Sentencizer."""
    doc = _blank_english().make_doc(text)
    for i in [0] + [t.i + 1 for t in doc if t.is_space and ("\n" in t.text or "\r" in t.text)]:
        while i < len(doc) and doc[i].is_space:
            i += 1
        if i < len(doc):
            doc[i].is_sent_start = True
            if i + 1 < len(doc) and doc[i].text.isdigit() and len(doc[i].text) <= 3 and doc[i + 1].text in ".)":
                for follower in doc[i + 1: i + 3]:
                    follower.is_sent_start = False
    doc = Sentencizer()(doc)
    return [bool(t.is_sent_start) for t in doc]


@FAST
@given(anything)
def test_array_sentence_boundaries_equal_spacy_sentencizer_after_line_starts(nlp, text):
    doc = nlp.get_pipe("sentence_boundaries")(nlp.make_doc(text))
    assert [bool(t.is_sent_start) for t in doc] == reference_sentence_starts(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # 3 builds
@given(st.lists(structured, min_size=1, max_size=3))
def test_pieces_joined_in_docs_give_the_claims_of_one_doc_per_piece(nlp, threads):
    """Joining a thread's titles and bodies into few docs is an optimisation: the claims must not change."""
    frames = []
    for k, text in enumerate(threads):
        try:
            segments = segment_text(text)
        except InputError:
            continue
        frames.append(answers_table(f"t{k}", text, segments))
    if not frames:
        return
    answers = pd.concat(frames, ignore_index=True)
    one_per_piece = extract_claims(nlp, answers, replace(DEFAULT_SETTINGS.extract, doc_chars=0))
    for doc_chars in (DEFAULT_SETTINGS.extract.doc_chars, 60):
        joined = extract_claims(nlp, answers, replace(DEFAULT_SETTINGS.extract, doc_chars=doc_chars))
        pd.testing.assert_frame_equal(joined, one_per_piece)
