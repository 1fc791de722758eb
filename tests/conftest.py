from pathlib import Path

import pytest

from pipeline import config
from pipeline.nlp import build_nlp

FIXTURES = Path(__file__).parent / "fixtures"
SEED = config.RAW_DIR / "botox_permanence.txt"


@pytest.fixture(scope="session")
def nlp():
    return build_nlp()


@pytest.fixture(scope="session")
def seed_text():
    return SEED.read_text(encoding="utf-8")
