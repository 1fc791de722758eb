"""The ``medical_claims`` component: every claim step as one, for a pipeline of one's own."""

from __future__ import annotations

from pathlib import Path

from spacy import util
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.components.build import claim_steps, has_sentences
from pipeline.components.pipes import ClaimComponent, RuleBackedComponent
from pipeline.components.rules import RuleFiles
from pipeline.config import DEFAULT_SETTINGS


def _declared(steps: list[tuple[str, str, dict]]) -> tuple[list[str], list[str]]:
    """What the steps assign, and what they require that no earlier step assigns: read off their factories."""
    assigns: dict[str, None] = {}
    requires: dict[str, None] = {}
    for factory, _, _ in steps:
        meta = Language.get_factory_meta(factory)
        requires.update(dict.fromkeys(r for r in meta.requires if r not in assigns))
        assigns.update(dict.fromkeys(meta.assigns))
    return list(assigns), list(requires)


_ASSIGNS, _REQUIRES = _declared(claim_steps(punctuation=True))


@Language.factory("medical_claims", assigns=_ASSIGNS, requires=_REQUIRES,
                  default_config={"detector": DEFAULT_SETTINGS.extract.claim_detector})
class MedicalClaims(ClaimComponent):
    """All the claim components as one, for a pipeline of your own: ``nlp.add_pipe("medical_claims")``.

    Runs the components build_nlp adds, in the same order, on your docs
    (batch by batch), so ``doc._.claims`` holds the claims as spans. Claims
    are decided as ``claims run`` decides them (``detector``: "learned", the
    default, or "rules": ``add_pipe("medical_claims", config={"detector": "rules"})``). The rules
    are the bundled files unless given with ``use_rules(RuleFiles(...))``; each
    step saves its own in a folder of this component's. A pipeline with a
    parser or senter keeps its own sentence splits within lines.
    """

    def __init__(self, nlp: Language, name: str, detector: str = DEFAULT_SETTINGS.extract.claim_detector):
        super().__init__(nlp, name)
        self.steps = {step: nlp.create_pipe(factory, name=f"{name}.{step}", config=config)
                      for factory, step, config in claim_steps(not has_sentences(nlp), detector)}

    def __call__(self, doc: Doc) -> Doc:
        for step in self.steps.values():
            doc = step(doc)
        return doc

    def pipe(self, docs, batch_size: int = 64):
        for step in self.steps.values():
            docs = step.pipe(docs, batch_size=batch_size)
        yield from docs

    def _with_rules(self) -> dict[str, RuleBackedComponent]:
        return {name: step for name, step in self.steps.items() if isinstance(step, RuleBackedComponent)}

    def use_rules(self, files: RuleFiles) -> None:
        for step in self._with_rules().values():
            step.use_rules(files)

    def initialize(self, get_examples=None, *, nlp=None, rule_files=None) -> None:
        """As RuleBackedComponent.initialize, for every step."""
        for step in self._with_rules().values():
            step.initialize(rule_files=rule_files)

    def to_disk(self, path: str | Path, *, exclude=()) -> None:
        """Each step's rules in a folder of its own, named after the step."""
        writers = {name: (lambda p, step=step: step.to_disk(p)) for name, step in self._with_rules().items()}
        util.to_disk(path, writers, exclude)

    def from_disk(self, path: str | Path, *, exclude=()):
        readers = {name: (lambda p, step=step: step.from_disk(p)) for name, step in self._with_rules().items()}
        util.from_disk(path, readers, exclude)
        return self

    def to_bytes(self, *, exclude=()) -> bytes:
        return util.to_bytes({name: step.to_bytes for name, step in self._with_rules().items()}, exclude)

    def from_bytes(self, data: bytes, *, exclude=()):
        util.from_bytes(data, {name: step.from_bytes for name, step in self._with_rules().items()}, exclude)
        return self
