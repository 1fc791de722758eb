"""The spaCy components that find claims, and the pipeline that runs them (build_nlp).

Other floors import from here, not from the component modules.
"""

from pipeline.components.language import (Claim, ClaimRules, RulesError, SentenceBounds, asks, build_nlp,  # noqa: F401
                                           claim_steps, doc_text, literal_expansions, load_claim_rules,
                                           load_context_terms, pattern_anchor, sentence_bounds)
