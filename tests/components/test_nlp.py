"""Claim typing, negation and hedging scope, sentence boundaries: sentence in, claims out."""

import copy
import json
import pickle

import pytest
import spacy

from pipeline.components.extensions import CLAIMS
from pipeline.components import RulesError, build_nlp, doc_text, load_claim_rules, pattern_anchor


def claims_of(nlp, text):
    return [(c.claim_type, c.negated, c.hedged) for c in nlp(text)._.get(CLAIMS)]


@pytest.mark.parametrize("text, expected", [
    # the negation belongs to the second clause only; a denied permanence asserts that the effect reverses
    ("Repeated injections can cause the muscle to atrophy, but it will not cause the muscle to become permanently still.",
     [("reversibility", False, False), ("atrophy", False, True)]),
    ("Botox results are not permanent", [("reversibility", False, False)]),
    ("Botox results are never permanent.", [("reversibility", False, False)]),
    # an asserted permanence is a negated reversibility claim
    ("The nerve damage is permanent.", [("reversibility", True, False)]),
    ("Botox doesn't last forever!", [("reversibility", False, False)]),
    # persistence or ending with a span is also a duration claim; an onset is not
    ("The droop should resolve in 4-6 weeks.", [("reversibility", False, True), ("duration", False, True)]),
    ("It usually clears up within a week or two.", [("reversibility", False, True), ("duration", False, True)]),
    ("You will see results within 3 to 5 days.", []),
    ("Results kick in after 3 days and wear off.", [("reversibility", False, False)]),
    ("Botox typically lasts 3-4 months.", [("duration", False, True)]),
    ("The treatment lasts 3-4 months.", [("duration", False, False)]),
    ("With regular use the muscles shrink and you need fewer injections.",
     [("atrophy", False, False), ("dose_reduction", False, False)]),
    ("After stopping, the muscle regains its bulk.", [("reversibility", False, False)]),
    ("The effect wears off and function returns.", [("reversibility", False, False)]),
    ("The dosing might lessen over the years.", [("dose_reduction", False, True)]),
    ("You no longer have to come in as often as before.", [("dose_reduction", False, False)]),
    # weakness counts as atrophy only with repeated or prolonged use in the sentence
    ("Botox causes weakness of the muscles that cause wrinkles.", []),
    ("Over time the muscles get weaker.", [("atrophy", False, False)]),
    # questions are not claims
    ("Are Botox results permanent after long-term use?", []),
    ("Will my muscles shrink?", []),
    ("I am not aware of any reports that find Botox effects are permanent.", [("reversibility", False, False)]),
    # a question-shaped line asks, with or without its question mark or after an aside
    ("Does Botox Last Forever", []),
    ("How Long Does a Droop Stick Around? (photo)", []),
    # hedges that were missing: should, probably, I would expect
    ("It should wear off in about 3 months.", [("reversibility", False, True), ("duration", False, True)]),
    ("I would expect the muscles to shrink with repeated use.", [("atrophy", False, True)]),
    ("Neurotoxin results are only temporary.", [("reversibility", False, False)]),
    ("The more the muscles go without moving the more they will atrophy.", [("atrophy", False, False)]),
])
def test_claim_types_and_flags(nlp, text, expected):
    assert sorted(claims_of(nlp, text)) == sorted(expected)


def test_newlines_and_list_items_are_sentence_boundaries(nlp):
    text = "The reasons are the following:\n\n1. Muscles atrophy with repeated use\n2. You may need less product\nIt lasts 3 months"
    doc = nlp(text)
    claims = doc._.get(CLAIMS)
    assert [c.text for c in claims] == ["Muscles atrophy with repeated use", "You may need less product", "It lasts 3 months"]
    assert [c.claim_type for c in claims] == ["atrophy", "dose_reduction", "duration"]
    for claim in claims:
        assert text[claim.start:claim.end] == claim.text


def test_one_row_per_type_even_with_two_cues(nlp):
    claims = nlp("It lasts 4 months and may last longer with regular use.")._.get(CLAIMS)
    assert [c.claim_type for c in claims] == ["duration"]
    assert claims[0].cue == "lasts"
    assert (claims[0].duration_min_months, claims[0].duration_max_months) == (4, 4)


def test_duration_claim_without_figures_leaves_them_empty(nlp):
    [claim] = nlp("It may last a shorter period of time.")._.get(CLAIMS)
    assert claim.claim_type == "duration"
    assert claim.duration_min_months is None and claim.duration_max_months is None


def test_rules_file_rejects_unknown_keys(tmp_path):
    bad = tmp_path / "cues.jsonl"
    bad.write_text(json.dumps({"label": "atrophy", "id": "x", "pattern": "shrink", "colour": "red"}) + "\n")
    with pytest.raises(RulesError, match="cues.jsonl:1"):
        load_claim_rules(bad)


def test_rules_file_rejects_unknown_claim_type(tmp_path):
    bad = tmp_path / "cues.jsonl"
    bad.write_text(json.dumps({"label": "cost", "id": "x", "pattern": "price"}) + "\n")
    with pytest.raises(RulesError, match="unknown claim type"):
        load_claim_rules(bad)


def test_rules_are_data_an_added_cue_takes_effect(tmp_path):
    from pipeline.config import CLAIM_CUES_FILE

    cues = tmp_path / "cues.jsonl"
    cues.write_text(CLAIM_CUES_FILE.read_text() + json.dumps({"label": "atrophy", "id": "deflate", "pattern": "deflates"}) + "\n")
    custom = build_nlp(claim_cues=cues)
    assert [c.claim_type for c in custom("The muscle deflates.")._.get(CLAIMS)] == ["atrophy"]


@pytest.mark.parametrize("text, expected", [
    ("Movement comes back gradually.", [("reversibility", False, False)]),
    ("Come back in two weeks for a touch-up.", []),  # a pseudo phrase: a visit, not the effect coming back
    ("The droop improved over a month.", [("reversibility", False, False), ("duration", False, False)]),
    ("Fillers can improve this area.", []),
])
def test_pseudo_phrases_cancel_cues_and_also_gives_a_second_type(nlp, text, expected):
    assert sorted(claims_of(nlp, text)) == sorted(expected)


@pytest.mark.parametrize("rule, message", [
    ({"label": "atrophy", "id": "x", "pattern": "shrinks", "also": {"label": "cost"}}, "'also' must be"),
    ({"label": "atrophy", "id": "x", "pattern": "shrinks", "inverse": True}, "inverse in one rule and not in another"),
])
def test_rules_file_checks_also_and_inverse(tmp_path, rule, message):
    bad = tmp_path / "cues.jsonl"
    bad.write_text(json.dumps({"label": "atrophy", "id": "x", "pattern": "shrink"}) + "\n" + json.dumps(rule) + "\n")
    with pytest.raises(RulesError, match=message):
        load_claim_rules(bad)


def test_carriage_returns_are_sentence_boundaries_too(nlp):
    text = "It lasts 3 months\rMuscles atrophy with repeated use\r\nYou may need less product"
    claims = nlp(text)._.get(CLAIMS)
    assert [c.text for c in claims] == ["It lasts 3 months", "Muscles atrophy with repeated use", "You may need less product"]


@pytest.mark.parametrize("pattern, words, before, after", [
    ([{"LOWER": "last"}, {"LIKE_NUM": True}], ("last",), 0, 1),
    ([{"LOWER": {"IN": ["will", "may"]}}, {"LOWER": "last"}], ("last",), 1, 0),  # common words are not anchors
    ([{"LOWER": "dose"}, {"OP": "{0,3}"}, {"LOWER": "drops"}], ("dose",), 0, 4),
    ([{"LOWER": "work"}, {"LOWER": "for"}, {"LOWER": "about", "OP": "*"}, {"LIKE_NUM": True}], ("work",), 0, None),
    ([{"LOWER": "really", "OP": "{0,2}"}, {"LOWER": "lasting"}], ("lasting",), 2, 0),  # an optional word is no anchor
    ([{"LOWER": "every", "OP": "+"}, {"LOWER": "month"}], ("month",), None, 0),
    ([{"LOWER": "very", "OP": "+"}], ("very",), None, None),  # a repeating anchor reaches without bound
    ([{"LIKE_NUM": True}, {"IS_PUNCT": True}], None, None, None),
])
def test_pattern_anchor_and_reach(pattern, words, before, after):
    anchor = pattern_anchor(pattern)
    if words is None:
        assert anchor is None
    else:
        assert (anchor.words, anchor.before, anchor.after) == (words, before, after)


def test_unknown_pattern_operator_is_a_rules_error():
    with pytest.raises(RulesError, match="operator"):
        pattern_anchor([{"LOWER": "last", "OP": "{x}"}])


def test_without_punctuation_rule_only_lines_are_decided(nlp):
    """With a trained parser or senter the parser splits within lines; line starts are still fixed."""
    blank = spacy.blank("en")
    boundaries = blank.add_pipe("sentence_boundaries", config={"punctuation": False})
    doc = boundaries(blank.make_doc("It lasts. Really.\n2. Next item here"))
    assert [t.text for t in doc if t.is_sent_start] == ["It", "2"]
    assert doc[3].is_sent_start is None  # "Really": left to the parser
    assert doc[7].is_sent_start is False and doc[8].is_sent_start is False  # the list marker stays with its item


def test_user_token_patterns_with_negated_or_non_list_words(tmp_path):
    """'!' consumes one token; NOT_IN / REGEX words are never anchors (no crash, same matches as spaCy's Matcher)."""
    cues = tmp_path / "cues.jsonl"
    rules = [
        {"label": "duration", "id": "bare_last", "pattern": [{"LOWER": "not", "OP": "!"}, {"LOWER": "last"}]},
        {"label": "atrophy", "id": "odd_shrink", "pattern": [{"LOWER": {"NOT_IN": ["never"]}},
                                                             {"LOWER": {"REGEX": "^shrinks?$"}}]},
    ]
    cues.write_text("".join(json.dumps(rule) + "\n" for rule in rules))
    custom = build_nlp(claim_cues=cues)
    assert [c.cue for c in custom("They last.")._.get(CLAIMS)] == ["They last"]
    assert [c.claim_type for c in custom("The muscle shrinks.")._.get(CLAIMS)] == ["atrophy"]


def test_a_cue_pattern_never_spans_two_sentences(nlp):
    """A dose word in one sentence no longer joins a verb in the next: both sentences keep their own cues."""
    doc = nlp("Higher doses shrink muscles. Lower doses are fine for most patients.")
    assert sorted((c.claim_type, c.text) for c in doc._.get(CLAIMS)) == [
        ("atrophy", "Higher doses shrink muscles."), ("dose_reduction", "Lower doses are fine for most patients.")]


def test_tokenizer_wrapper_pickles_and_copies(nlp):
    for clone in (pickle.loads(pickle.dumps(nlp.tokenizer)), copy.deepcopy(nlp.tokenizer)):
        doc = clone("It lasts 3 months.")
        assert doc_text(doc) == "It lasts 3 months." and len(doc) == 5


def test_sentence_starts_set_before_are_kept(nlp):
    doc = nlp.make_doc("It lasts three months and then wears off")
    doc[3].is_sent_start = True
    doc = nlp.get_pipe("sentence_boundaries")(doc)
    assert [t.text for t in doc if t.is_sent_start] == ["It", "months"]


@pytest.mark.parametrize("sentence, expected", [
    # a person coming back is a visit, not the effect returning
    ("Patients now come back every 5 or 6 months.", {"duration": (False, False)}),
    ("Your wrinkles will come back gradually.", {"reversibility": (False, False)}),
    # the name of the treatment is not atrophy; how long it lasts is a duration
    ("Masseter reduction lasts roughly six months.", {"duration": (False, False)}),
    # a rare case is not a general claim
    ("In rare cases the effect lasts 1 year.", {"duration": (False, True)}),
    # a type stated twice: the concluding statement decides its flags, as it decides the stance
    ("I don't think the muscle atrophies permanently, but it can shrink a bit.",
     {"atrophy": (False, True), "reversibility": (False, True)}),
    ("It can shrink a little, but it does not atrophy.", {"atrophy": (True, False)}),
])
def test_claim_types_and_flags_of_failure_classes(sentence, expected):
    import pipeline

    rows = pipeline.extract_claims(sentence)
    found = {row.claim_type: (bool(row.negated), bool(row.hedged)) for row in rows.itertuples()}
    assert found == expected
