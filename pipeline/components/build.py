"""The claim pipeline's steps, declared once, and ``build_nlp``, which adds them to a blank or trained pipeline.

It runs on a blank English pipeline (no model download). Patterns match on
LOWER, TEXT and LIKE_NUM only, which a blank pipeline fills in; LEMMA or POS
patterns would silently match nothing there. The steps, in order:

- ``sentence_boundaries``: a newline starts a sentence, a list marker does not end one;
- ``claim_cue_ruler``: claim cues from resources/claim_cues.jsonl into doc.spans["claim_cues"];
- ``cue_triggers``: token-pattern cues narrowed to their trigger word;
- ``claim_detector``: one claim per declarative sentence and claim type, the cue's context requirements checked;
- ``negation`` and ``hedging`` (``cue_negation``, ``cue_hedging``): negspacy's NegEx on each claim cue's clause;
- ``claim_flags``: the claims completed with their cue's negation and hedging.

The tokenizer is wrapped to keep each doc's input string (``doc_text``), and
every component reads integer arrays and that string rather than building a
Python Token or ``Span.text`` per token: that is where the time went.
"""

from __future__ import annotations

from pathlib import Path

import spacy
from spacy.language import Language

# importing the component modules registers their factories with spaCy
from pipeline.components import claim_detector, claim_flags, cue_context, cue_ruler, cue_triggers  # noqa: F401
from pipeline.components import sentence_boundaries  # noqa: F401
from pipeline.components.extensions import register_extensions
from pipeline.components.pipes import RuleBackedComponent
from pipeline.components.rules import RuleFiles
from pipeline.components.text import TextKeepingTokenizer
from pipeline.config import CLAIM_CUES_FILE, CONTEXT_TERMS_FILE

BLANK_MODEL = "blank:en"


def claim_steps(punctuation: bool, detector: str = "rules") -> list[tuple[str, str, dict]]:
    """(factory, name, config) of each component, in order: the one list build_nlp and medical_claims share.

    ``punctuation``: whether sentence_boundaries splits within lines (off when a parser or senter does);
    ``detector``: "rules" or "learned" (claim_detector).
    """
    return [
        ("sentence_boundaries", "sentence_boundaries", {"punctuation": punctuation}),
        ("claim_cue_ruler", "claim_cue_ruler", {}),
        ("cue_triggers", "cue_triggers", {}),
        ("claim_detector", "claim_detector", {"detector": detector}),
        ("cue_negation", "negation", {}),
        ("cue_hedging", "hedging", {}),
        ("claim_flags", "claim_flags", {}),
    ]


def has_sentences(nlp: Language) -> bool:
    """Whether the pipeline brings its own sentence splitter (a trained parser or senter)."""
    return any(name in nlp.pipe_names for name in ("parser", "senter"))


def build_nlp(settings=None, claim_cues: Path = CLAIM_CUES_FILE, context_terms: Path = CONTEXT_TERMS_FILE) -> Language:
    """A fresh pipeline; rule files are read now, so edits take effect on the next build.

    Of ``settings`` only ``spacy_model`` ("blank:en", the default, or the name
    of an installed trained pipeline) and ``claim_detector`` are read; None is
    "blank:en" with the rules alone. Rule files other
    than the bundled ones are checked before anything is built, and the
    components keep their rules, so ``nlp.to_disk`` saves them with the pipeline.
    """
    register_extensions()
    rule_files = RuleFiles(Path(claim_cues), Path(context_terms))
    bundled = rule_files == RuleFiles()
    if not bundled:
        rule_files.checked()
    model = BLANK_MODEL if settings is None else settings.spacy_model
    if model.startswith("blank:"):
        nlp = spacy.blank(model.split(":", 1)[1])
    else:
        nlp = spacy.load(model, exclude=["ner", "lemmatizer", "attribute_ruler"])
    nlp.tokenizer = TextKeepingTokenizer(nlp.tokenizer)
    first = nlp.pipe_names[0] if nlp.pipe_names else None
    detector = getattr(settings, "claim_detector", "rules")  # None: the rules alone
    for position, (factory, name, config) in enumerate(claim_steps(not has_sentences(nlp), detector)):
        placed = {"before": first} if position == 0 and first else {}
        pipe = nlp.add_pipe(factory, name=name, config=config, **placed)
        if not bundled and isinstance(pipe, RuleBackedComponent):
            pipe.use_rules(rule_files)
    return nlp
