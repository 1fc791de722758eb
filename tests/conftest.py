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


@pytest.fixture(scope="session")
def small_gold(tmp_path_factory):
    """A slice of the annotated corpus (gold files and their threads): enough to train and freeze, quick to run."""
    import json
    import shutil

    from pipeline.gold import read_split

    split = read_split()
    folder = tmp_path_factory.mktemp("gold")
    gold, threads = folder / "gold", folder / "threads"
    gold.mkdir()
    threads.mkdir()
    picked = {"dev": 0, "test": 0}
    for path in sorted(config.GOLD_DIR.glob("*.json")):
        part, kind = split[path.stem], json.loads(path.read_text())["question"]["kind"]
        if kind == "yes/no" and picked[part] < {"dev": 10, "test": 4}[part]:
            picked[part] += 1
            shutil.copy(path, gold)
            shutil.copy(config.CORPUS_DIR / f"{path.stem}.txt", threads)
    return gold, threads
