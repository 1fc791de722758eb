"""The model the package ships, so that a fresh clone's first `claims run` classifies at once instead of training.

models/ in the repository holds a trained stance model (`stance-NNNN.joblib`)
with its card and its labelling-function report, and names it in
`current.json`. Its sha256 is listed in resources/shipped_models.json, which
the trust store honours (pipeline.io.trust): those bytes are as trusted as the
package's own code. A models folder of one's own with no model yet takes a copy
of it when training there would learn what it learnt (the bundled annotated
corpus, and the bundled labels or none), so a `claims init` project starts in
seconds too; with labels of its own, it trains.

A pickled model is tied to the scikit-learn that wrote it: where another one is
installed, the shipped model is not loaded (learning.registry says why) and
`claims run` trains a model instead, once.

Maintainers make it again when what training learns has changed:

    claims train --models models --promote    # a new version in the repository's models/
    claims models ship                          # lists it as shipped, marks its card

then commit models/ and pipeline/resources/shipped_models.json.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipeline import config
from pipeline.io.files import atomic_write_bytes
from pipeline.learning import registry
from pipeline.learning.labels import read_labels


def shipped_version() -> str | None:
    """The version the package ships (the current one of its models/ folder), if it ships one that loads here."""
    version = registry.current_version(config.MODELS_DIR)
    if version is None:
        return None
    card = registry.load_card(registry.model_file(config.MODELS_DIR, version))
    return version if registry.written_here(card) else None


def trains_like_shipped(labels_path: Path, gold) -> bool:
    """Whether training would learn what the shipped model learnt: the bundled annotated corpus, and the bundled
    labels or none of one's own."""
    from pipeline.measuring.gold_sets import GoldCorpus

    labels_path = Path(labels_path)
    bundled_labels = labels_path.resolve() == config.LABELS_FILE.resolve()
    no_labels = not labels_path.exists() or len(read_labels(labels_path)) == 0
    return (bundled_labels or no_labels) and gold == GoldCorpus()


def adopt(model_dir: Path) -> str:
    """Copy the shipped model (file, card, labelling-function report) into `model_dir` and make it current there."""
    version = shipped_version()
    source = registry.model_file(config.MODELS_DIR, version)
    Path(model_dir).mkdir(parents=True, exist_ok=True)
    if Path(model_dir).resolve() != config.MODELS_DIR.resolve():
        for path in (source, registry.card_path(source), source.with_suffix(".labeling_functions.csv")):
            if path.exists():
                shutil.copyfile(path, Path(model_dir) / path.name)
    registry.set_current(model_dir, version)
    return version


def ship(model_dir: Path = config.MODELS_DIR) -> str:
    """Record the current version of the repository's models/ as the one the package ships: its sha256 into
    resources/shipped_models.json, `"shipped": true` into its card. Returns the version."""
    version = registry.current_version(model_dir)
    if version is None:
        raise registry.ModelTrustError(f"{model_dir}: no current model to ship; run 'claims train' first")
    path = registry.model_file(model_dir, version)
    card = registry.load_card(path)
    registry.load_model(path)  # its bytes match its card and it loads here
    listed = {card["model_sha256"]: {"file": path.name, "version": version, "trained_at": card.get("trained_at")}}
    atomic_write_bytes(config.SHIPPED_MODELS_FILE, (json.dumps({"models": listed}, indent=2) + "\n").encode())
    card["shipped"] = True
    atomic_write_bytes(registry.card_path(path), (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return version
