"""The ``cue_triggers`` component: a token-pattern cue narrowed to the words that are the cue itself."""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.components.pipes import RuleBackedComponent
from pipeline.components.rules import CUES_KEY, RuleFiles


@Language.factory("cue_triggers", assigns=["doc.spans"], requires=["doc.spans"])
class CueTriggers(RuleBackedComponent):
    """Narrow each cue span to its trigger words (the ``trigger`` of claim_cues.jsonl), so context words matched
    around a cue ("will" in "will last") are not scoped by negation and hedging as if they were the cue."""

    rules_file = "triggers.json"

    def rules_from(self, files: RuleFiles) -> dict:
        return {"triggers": dict(files.cues.triggers)}

    def set_rules(self, rules: dict) -> None:
        self.rules = rules
        self.triggers = {cue_id: frozenset(words) for cue_id, words in rules["triggers"].items()}

    def __call__(self, doc: Doc) -> Doc:
        narrowed = []
        for cue in doc.spans.get(CUES_KEY, []):
            words = self.triggers.get(cue.id_)
            if words:
                hit = next((t for t in cue if t.lower_ in words), None)
                if hit is not None:
                    cue = Span(doc, hit.i, hit.i + 1, label=cue.label, span_id=cue.id)
            narrowed.append(cue)
        doc.spans[CUES_KEY] = narrowed
        return doc
