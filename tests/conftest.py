import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pipeline import config
from pipeline.components import build_nlp
from pipeline.io.trust import STORE_ENV

# models trained by the tests are trusted in a store of the test session's own, never in the user's
os.environ[STORE_ENV] = str(Path(tempfile.mkdtemp(prefix="claims-trust-")) / "trusted_models.json")

FIXTURES = Path(__file__).parent / "fixtures"


def mini_forum_threads():
    """Two small gold threads (the mini forum page, and a copy with another name), both in the dev part."""
    import json

    from pipeline.measuring.gold import parse_gold

    text = (FIXTURES / "gold" / "mini-forum.txt").read_text(encoding="utf-8")
    data = json.loads((FIXTURES / "gold" / "mini-forum.json").read_text(encoding="utf-8"))
    first = parse_gold(data, text, "dev", "a")
    second = parse_gold({**data, "thread_id": "mini-2"}, text.replace("Jo_88", "Pat"), "dev", "b")
    return [first, second]
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
    from pipeline.measuring.gold import copy_slice

    return copy_slice(tmp_path_factory.mktemp("gold"), dev=10, test=4)


@pytest.fixture(scope="session")
def small_models(small_gold, tmp_path_factory):
    """A model folder trained on small_gold: (models folder, gold files, their threads), for runs end to end."""
    from pipeline.faces.cli import main

    folder = tmp_path_factory.mktemp("models")
    gold, threads = small_gold
    assert main(["train", "--input", str(threads), "--out", str(tmp_path_factory.mktemp("o")), "--models",
                 str(folder), "--gold", str(gold), "--gold-threads", str(threads)]) == 0
    return folder, gold, threads


@contextlib.contextmanager
def held_elsewhere(folder: Path, **how):
    """Another process holding the folder's lock (`outputs.locked(folder, **how)`) until the block ends: its pid."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time\nfrom pipeline.io import outputs\n"
        f"with outputs.locked({str(folder)!r}, **{how!r}):\n"
        "    print('held', flush=True)\n    time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()
