"""The spaCy components that find claims, one a module, and the pipeline that runs them (build_nlp).

Other floors import from here, not from the component modules.
"""

from pipeline.components.build import build_nlp, claim_steps  # noqa: F401
from pipeline.components.claim_detector import asks  # noqa: F401
from pipeline.components.claim_records import Claim  # noqa: F401
from pipeline.components.cue_patterns import literal_expansions, pattern_anchor  # noqa: F401
from pipeline.components.medical_claims import MedicalClaims  # noqa: F401  (registers the "medical_claims" factory)
from pipeline.components.rules import (ClaimRules, RuleFiles, RulesError, load_claim_rules,  # noqa: F401
                                       load_context_terms)
from pipeline.components.sentence_bounds import SentenceBounds, sentence_bounds  # noqa: F401
from pipeline.components.text import doc_text  # noqa: F401
