"""The model the package ships, so that a fresh clone's first `claims run` classifies at once instead of training.

models/ in the repository holds a trained stance model (`stance-NNNN.joblib`)
with its card and its labelling-function report. resources/shipped_models.json
lists the sha256 of every model the package has shipped and names the current
one; the trust store honours that list (pipeline.io.trust): those bytes are as
trusted as the package's own code. A models folder of one's own with no model
yet takes a copy of it (recorded in the user's trust store, so the copy stays
trusted when a later version of the package ships another) when that is the
better start: training there would use the bundled annotated corpus, the
default settings and no labels but the bundled ones, so the shipped model is
what it would make or, with no labels at all, a model trained on more. With
labels of one's own, or other settings, it trains.

A pickled model is tied to the scikit-learn that wrote it: where another one is
installed, the shipped model is not loaded (learning.registry says why) and
`claims run` trains a model instead, once.

Maintainers make it again when what training learns has changed:

    claims train --models models --promote    # a new version in the repository's models/
    claims models ship                          # lists it as shipped, marks its card

then commit the new version's three files (`git add -f models/stance-NNNN.*`: models/ is
otherwise ignored), models/current.json and pipeline/resources/shipped_models.json.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipeline import config
from pipeline.io import trust
from pipeline.io.files import atomic_write_bytes
from pipeline.learning import registry
from pipeline.learning.labels import read_labels


def listed() -> dict:
    """resources/shipped_models.json: {"current": version, "models": {sha256: {...}}} (empty if none is shipped)."""
    if not config.SHIPPED_MODELS_FILE.exists():
        return {"current": None, "models": {}}
    return json.loads(config.SHIPPED_MODELS_FILE.read_text(encoding="utf-8"))


def shipped_version() -> str | None:
    """The version the package ships now, if its file is there, is the one listed and loads with this scikit-learn."""
    version = listed().get("current")
    if version is None:
        return None
    path = registry.model_file(config.MODELS_DIR, version)
    if not registry.card_path(path).exists():
        return None
    card = registry.load_card(path)
    return version if card.get("model_sha256") in listed()["models"] and registry.written_here(card) else None


def better_start(labels_path: Path, gold, settings) -> bool:
    """Whether a models folder without a model should take the shipped one rather than train: training would use
    the bundled annotated corpus and the default settings, and no labels but the bundled ones (with none, the
    shipped model learnt from more; its card and the message say what it was trained on)."""
    from pipeline.config import DEFAULT_SETTINGS
    from pipeline.measuring.gold_sets import GoldCorpus

    labels_path = Path(labels_path)
    bundled_labels = labels_path.resolve() == config.LABELS_FILE.resolve()
    no_labels = not labels_path.exists() or len(read_labels(labels_path)) == 0
    learns = ("segment", "extract", "train", "classify")  # what training reads, but which threads to read
    return ((bundled_labels or no_labels) and gold == GoldCorpus()
            and settings.fingerprint(learns) == DEFAULT_SETTINGS.fingerprint(learns))


def adopt(model_dir: Path) -> str:
    """Copy the shipped model (file, card, labelling-function report) into `model_dir`, trust the copy in the
    user's store, and make it current there."""
    version = shipped_version()
    source = registry.model_file(config.MODELS_DIR, version)
    Path(model_dir).mkdir(parents=True, exist_ok=True)
    if Path(model_dir).resolve() != config.MODELS_DIR.resolve():
        for path in (source, registry.card_path(source), source.with_suffix(".labeling_functions.csv")):
            if path.exists():
                shutil.copyfile(path, Path(model_dir) / path.name)
    copy = registry.model_file(model_dir, version)
    trust.add(registry.load_card(copy)["model_sha256"], copy, trust.SHIPPED_COPY)
    registry.set_current(model_dir, version)
    return version


def ship(model_dir: Path = config.MODELS_DIR) -> str:
    """Record the current version of the repository's models/ as the one the package ships: its sha256 added to
    resources/shipped_models.json (earlier ones stay listed, so copies of them stay trusted) and named current
    there, `"shipped": true` in its card. Returns the version."""
    version = registry.current_version(model_dir)
    if version is None:
        raise registry.ModelTrustError(f"{model_dir}: no current model to ship; run 'claims train' first")
    path = registry.model_file(model_dir, version)
    card = registry.load_card(path)
    registry.load_model(path)  # its bytes match its card and it loads here
    models = {**listed()["models"],
              card["model_sha256"]: {"file": path.name, "version": version, "trained_at": card.get("trained_at")}}
    body = {"current": version, "models": models}
    atomic_write_bytes(config.SHIPPED_MODELS_FILE, (json.dumps(body, indent=2) + "\n").encode())
    card["shipped"] = True
    atomic_write_bytes(registry.card_path(path), (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return version
