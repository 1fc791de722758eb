"""What each component declares: spaCy's analyze_pipes reads assigns and requires off the factories."""

import spacy
from spacy.language import Language

from pipeline.components import build_nlp, claim_steps

EXPECTED = {
    "sentence_boundaries": ({"token.is_sent_start", "doc._.sentence_bounds"}, set()),
    "claim_cue_ruler": ({"doc.spans"}, {"token.is_sent_start"}),
    "cue_triggers": ({"doc.spans"}, {"doc.spans"}),
    "claim_detector": ({"doc._.claim_records", "doc.spans"}, {"doc.spans", "token.is_sent_start"}),
    "negation": ({"span._.negated"}, {"doc.spans", "token.is_sent_start"}),
    "hedging": ({"span._.hedged"}, {"doc.spans", "token.is_sent_start"}),
    "claim_flags": ({"doc._.claim_records"}, {"doc._.claim_records", "span._.negated", "span._.hedged"}),
}


def test_every_component_declares_what_it_assigns_and_requires_and_nothing_is_missing(nlp):
    analysis = nlp.analyze_pipes()
    summary = {name: (set(row["assigns"]), set(row["requires"])) for name, row in analysis["summary"].items()}
    assert summary == EXPECTED
    assert all(problems == [] for problems in analysis["problems"].values())


def test_a_step_out_of_order_is_reported():
    """The declarations are what spaCy checks: flags before the NegEx components lack their flags."""
    blank = spacy.blank("en")
    for factory, name, config in claim_steps(punctuation=True):
        if name != "claim_flags":
            blank.add_pipe(factory, name=name, config=config)
    blank.add_pipe("claim_flags", before="negation")
    problems = blank.analyze_pipes()["problems"]
    assert set(problems["claim_flags"]) == {"span._.negated", "span._.hedged"}


def test_medical_claims_declares_what_its_steps_assign_and_needs_nothing_before_it():
    own = spacy.blank("en")
    own.add_pipe("medical_claims")
    analysis = own.analyze_pipes()
    assert set(analysis["summary"]["medical_claims"]["assigns"]) == set().union(*(a for a, _ in EXPECTED.values()))
    assert analysis["summary"]["medical_claims"]["requires"] == [] and analysis["problems"]["medical_claims"] == []


def test_build_nlp_reads_only_the_model_name_of_its_settings():
    class OnlyModel:
        spacy_model = "blank:en"

    assert build_nlp(OnlyModel()).pipe_names == build_nlp(None).pipe_names == [name for _, name, _ in claim_steps(True)]
    assert Language.get_factory_meta("cue_negation").assigns == ["span._.negated"]
