"""What the claim components share: extensions registered on construction, batched ``pipe``, rules kept as data."""

from __future__ import annotations

from pathlib import Path

import srsly
from spacy import util
from spacy.language import Language
from spacy.util import minibatch

from pipeline.components.extensions import register_extensions
from pipeline.components.rules import RuleFiles


class ClaimComponent:
    """The base of every claim component: the extensions registered when it is made, ``pipe`` by batches.

    Registering on construction means a pipeline loaded with spacy.load has the
    extensions too. ``pipe`` goes a batch at a time, as spaCy's trainable
    components do: without it, each doc goes through every component before the
    next doc starts; a batch through one component keeps that component's code
    and data warm (about 10% faster over the whole pipeline, measured on bench/synthetic.py).
    """

    def __init__(self, nlp: Language, name: str):
        register_extensions()
        self.name = name

    def pipe(self, docs, batch_size: int = 64):
        for batch in minibatch(docs, size=batch_size):
            yield from [self(doc) for doc in batch]


class RuleBackedComponent(ClaimComponent):
    """A component whose patterns or lexicons are data, handled as spaCy's SpanRuler handles its patterns.

    It takes its share of the rule files (``rules_from``) when it is made (the
    bundled files) or through ``use_rules`` / ``initialize`` (other files), and
    ``nlp.to_disk`` saves that share in the component's folder, where
    ``spacy.load`` finds it: the rules travel with the pipeline, and config.cfg
    keeps only settings. Subclasses keep the JSON-able share in ``self.rules``.
    """

    rules_file = "rules.json"  # in the component's folder; a ".jsonl" name is written one item a line

    def __init__(self, nlp: Language, name: str):
        super().__init__(nlp, name)
        self.nlp = nlp
        self.use_rules(RuleFiles())

    def rules_from(self, files: RuleFiles):
        """This component's share of the rule files, as JSON-able data."""
        raise NotImplementedError

    def set_rules(self, rules) -> None:
        """Check and compile ``rules`` (as ``rules_from`` gives them), and keep them in ``self.rules``."""
        raise NotImplementedError

    def use_rules(self, files: RuleFiles) -> None:
        self.set_rules(self.rules_from(files))

    def initialize(self, get_examples=None, *, nlp=None, rule_files=None) -> None:
        """spaCy's set-up hook: ``rule_files`` (a RuleFiles) replace the rules; without them, ``nlp.initialize()``
        keeps the rules the component has (bundled, given or loaded), so it never drops rules of one's own.

        ``rule_files`` has no annotation: spaCy checks initialize's arguments with
        pydantic, which cannot resolve a postponed one.
        """
        if rule_files is not None:
            self.use_rules(rule_files)

    def to_disk(self, path: str | Path, *, exclude=()) -> None:
        util.to_disk(path, {self.rules_file: lambda p: _write(p, self.rules)}, exclude)

    def from_disk(self, path: str | Path, *, exclude=()):
        util.from_disk(path, {self.rules_file: lambda p: self.set_rules(_read(p))}, exclude)
        return self

    def to_bytes(self, *, exclude=()) -> bytes:
        return util.to_bytes({"rules": lambda: srsly.json_dumps(self.rules)}, exclude)

    def from_bytes(self, data: bytes, *, exclude=()):
        util.from_bytes(data, {"rules": lambda b: self.set_rules(srsly.json_loads(b))}, exclude)
        return self


def _write(path: Path, rules) -> None:
    if path.suffix == ".jsonl":
        srsly.write_jsonl(path, rules)
    else:
        srsly.write_json(path, rules)


def _read(path: Path):
    return list(srsly.read_jsonl(path)) if path.suffix == ".jsonl" else srsly.read_json(path)
