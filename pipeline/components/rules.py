"""The two rule files the claim components read, checked line by line.

``resources/claim_cues.jsonl`` holds the cues (one rule a line) and
``resources/context_terms.json`` the cue lists of negation and hedging, the
phrases a cue may require, abbreviations and question openers. Both are data:
a component takes its share of them (``RuleFiles``) and saves that share in its
own folder, never in config.cfg.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import CLAIM_CUES_FILE, CONTEXT_TERMS_FILE
from pipeline.io.files import reread_when_changed
from pipeline.schemas import CLAIM_TYPES

CUES_KEY = "claim_cues"  # doc.spans[CUES_KEY]: the cues, from the ruler to negation and hedging
PSEUDO = "pseudo"  # a rule label: a phrase holding a cue word that is no cue ("come back in two weeks")
NEGSPACY_KEYS = ("pseudo_negations", "preceding_negations", "following_negations", "termination")
_RULE_KEYS = {"label", "id", "pattern", "requires", "trigger", "inverse", "also"}


class RulesError(ValueError):
    """A rules file that does not have the expected shape; the message names the file."""


@dataclass(frozen=True)
class ClaimRules:
    """Cue patterns (SpanRuler's format), and per cue id the context it requires, the words it narrows to
    and whether it states the opposite of its type."""

    patterns: list
    requires: dict
    triggers: dict
    inverse: frozenset = frozenset()
    also: dict = field(default_factory=dict)  # cue id -> [second type, the context it requires for it]


@reread_when_changed
def load_claim_rules(path: Path = CLAIM_CUES_FILE) -> ClaimRules:
    """Read resources/claim_cues.jsonl: one rule a line, unknown keys rejected.

    ``requires`` names a context (see context_terms.json) the sentence must
    contain; ``trigger`` lists the words of a token pattern that are the cue
    itself, so context tokens matched around it ("will" in "will last") do not
    count as part of the cue when negation and hedging are scoped.
    ``inverse`` marks a cue that states the opposite of its type ("permanent"
    denies that the effect reverses): its claim is negated unless a negation
    governs it ("not permanent" asserts reversibility). ``also`` gives a second
    type the cue makes a claim of when the sentence has a context
    (``{"label": "duration", "requires": "time_span"}``: "resolves in 4-6 weeks").
    Read once per version of the file: the components of one build share it.
    """
    patterns, requires, triggers, inverse, also = [], {}, {}, {}, {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rule = json.loads(line)
            except json.JSONDecodeError as err:
                raise RulesError(f"{path}:{number}: not JSON ({err.msg})") from err
            unknown = set(rule) - _RULE_KEYS
            if unknown or not {"label", "id", "pattern"} <= set(rule):
                raise RulesError(f"{path}:{number}: expected keys label, id, pattern[, requires, trigger]; "
                                 f"got {sorted(rule)}")
            if rule["label"] not in CLAIM_TYPES + (PSEUDO,):
                raise RulesError(f"{path}:{number}: unknown claim type {rule['label']!r}; expected one of "
                                 f"{CLAIM_TYPES + (PSEUDO,)}")
            needed = rule.get("requires")
            if requires.setdefault(rule["id"], needed) != needed:
                raise RulesError(f"{path}:{number}: cue id {rule['id']!r} has two different 'requires'")
            if inverse.setdefault(rule["id"], bool(rule.get("inverse"))) != bool(rule.get("inverse")):
                raise RulesError(f"{path}:{number}: cue id {rule['id']!r} is inverse in one rule and not in another")
            if "trigger" in rule:
                triggers[rule["id"]] = sorted(set(triggers.get(rule["id"], [])) | set(rule["trigger"]))
            second = rule.get("also")
            if second is not None and (not isinstance(second, dict) or set(second) != {"label", "requires"}
                                       or second["label"] not in CLAIM_TYPES):
                raise RulesError(f"{path}:{number}: 'also' must be {{\"label\": one of {CLAIM_TYPES}, \"requires\": a context}}")
            if also.setdefault(rule["id"], second) != second:
                raise RulesError(f"{path}:{number}: cue id {rule['id']!r} has two different 'also'")
            patterns.append({k: rule[k] for k in ("label", "id", "pattern")})
    return ClaimRules(patterns, requires, triggers, frozenset(k for k, v in inverse.items() if v),
                      {k: [v["label"], v["requires"]] for k, v in also.items() if v})


@reread_when_changed
def load_context_terms(path: Path = CONTEXT_TERMS_FILE) -> dict:
    """Read resources/context_terms.json, checking that both negspacy categories have all their cue lists."""
    with open(path, encoding="utf-8") as handle:
        terms = json.load(handle)
    for category in ("negated", "hedged"):
        missing = [k for k in NEGSPACY_KEYS if k not in terms.get(category, {})]
        if missing:
            raise RulesError(f"{path}: category {category!r} lacks {missing}")
    return terms


@dataclass(frozen=True)
class RuleFiles:
    """The rule files of one pipeline; each component reads only the file it needs (the bundled ones by default).

    A file is read and checked on first use; components must copy, not change, what they take from it.
    """

    claim_cues: Path = CLAIM_CUES_FILE
    context_terms: Path = CONTEXT_TERMS_FILE

    @property
    def cues(self) -> ClaimRules:
        return load_claim_rules(self.claim_cues)

    @property
    def terms(self) -> dict:
        return load_context_terms(self.context_terms)

    def checked(self) -> RuleFiles:
        """The same files, both read and checked now, so that a RulesError (naming file and line) comes first."""
        load_claim_rules(self.claim_cues)
        load_context_terms(self.context_terms)
        return self
