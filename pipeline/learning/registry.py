"""Model versions in the models folder: their files and cards, which one is current, and loading one safely.

Each training run writes ``stance-NNNN.joblib`` beside ``stance-NNNN.card.json``;
``current.json`` names the version that ``classify`` and ``label export`` use.
A version is loaded only when its file's sha256 matches its card and is
trusted here (pipeline.io.trust): loading a joblib file runs code.
"""

from __future__ import annotations

import io
import json
import os
import platform
import re
import stat
import sys
from pathlib import Path
from typing import NamedTuple

from pipeline.config import MODEL_NAME
from pipeline.io import trust
from pipeline.io.files import atomic_write_bytes, sha256_bytes
from pipeline.schemas import STANCES

CURRENT_FILE = "current.json"
_VERSION = re.compile(rf"^{MODEL_NAME}-(\d{{4,}})$")


class LoadedModel(NamedTuple):
    """A model and its card, as loaded (unpacks as `model, card`)."""

    estimator: object
    card: dict


class ModelTrustError(RuntimeError):
    """A model file that may not be loaded (no card, a hash that does not match it, not trusted); the message says why."""


def versions(model_dir: Path) -> list[str]:
    """Versions with a card, oldest first."""
    found = []
    for card in Path(model_dir).glob(f"{MODEL_NAME}-*.card.json"):
        name = card.name[: -len(".card.json")]
        if _VERSION.match(name):
            found.append(name)
    return sorted(found, key=lambda v: int(_VERSION.match(v).group(1)))


def next_version(model_dir: Path) -> str:
    existing = versions(model_dir)
    number = int(_VERSION.match(existing[-1]).group(1)) + 1 if existing else 1
    return f"{MODEL_NAME}-{number:04d}"


def model_file(model_dir: Path, version: str) -> Path:
    return Path(model_dir) / f"{version}.joblib"


def card_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".card.json")


def _json_object(path: Path, what: str, needs: tuple[str, ...] = ()) -> dict:
    """A JSON object this tool wrote; a damaged one is an error naming the file, not a traceback."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ModelTrustError(f"{path}: the {what} cannot be read ({err}); {REPAIR}") from None
    if not isinstance(value, dict) or any(not isinstance(value.get(key), str) for key in needs):
        raise ModelTrustError(f"{path}: the {what} is damaged (expected an object with {', '.join(needs) or 'keys'}); "
                              f"{REPAIR}")
    return value


REPAIR = "'claims models use VERSION' or 'claims train' writes a new one"


def current_version(model_dir: Path) -> str | None:
    path = Path(model_dir) / CURRENT_FILE
    if not path.exists():
        return None
    return _json_object(path, "record of the current model", ("version",))["version"]


def set_current(model_dir: Path, version: str) -> None:
    if not card_path(model_file(model_dir, version)).exists():
        raise ModelTrustError(f"{model_dir}: no version {version!r}")
    atomic_write_bytes(Path(model_dir) / CURRENT_FILE, (json.dumps({"version": version}) + "\n").encode())


def resolve(model_dir: Path, name: str | None = None) -> Path:
    """The model file for a version name, 'current' (the default), or a path to a .joblib file."""
    if name and name.endswith(".joblib"):
        return Path(name)
    version = current_version(model_dir) if name in (None, "current") else name
    if version is None:
        raise ModelTrustError(f"{model_dir}: no current model; run 'claims train' first")
    path = model_file(model_dir, version)
    if not card_path(path).exists():
        known = ", ".join(versions(model_dir)) or "none"
        raise ModelTrustError(f"{model_dir}: no model version {version!r} (known: {known})")
    return path


def cards(model_dir: Path) -> list[tuple[str, dict]]:
    return [(v, load_card(model_file(model_dir, v))) for v in versions(model_dir)]


def library_versions() -> dict:
    """What a card records of the software that wrote the model (a pickle is tied to its scikit-learn)."""
    import joblib
    import numpy as np
    import pandas as pd
    import sklearn
    import spacy

    from pipeline import __version__

    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "spacy": spacy.__version__,
            "pandas": pd.__version__, "numpy": np.__version__, "joblib": joblib.__version__, "pipeline": __version__}


def written_here(card: dict) -> bool:
    """Whether the scikit-learn that wrote the model is the one installed (a pickle is tied to its version)."""
    import sklearn

    return card.get("versions", {}).get("scikit-learn", sklearn.__version__) == sklearn.__version__


def _vectorizers(model) -> list:
    from sklearn.feature_extraction.text import TfidfVectorizer

    features = model.named_steps["features"]
    features = getattr(features, "features_", features)
    return [t for _, t, _ in getattr(features, "transformers_", []) if isinstance(t, TfidfVectorizer)]


def model_bytes(model) -> bytes:
    """The model as joblib bytes, the same bytes for the same fitted model in any process."""
    import joblib

    for step in _vectorizers(model):
        if hasattr(step, "_stop_words_id"):  # an id() cache: differs per process, so the bytes would too
            del step._stop_words_id
    _intern_strings(model, {})
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def _intern_strings(value, seen: dict):
    """Every plain string in the model's object graph made the interned one, in place, and returned.

    Pickle writes a string once and refers back to it wherever the same object recurs, so the bytes depend on
    which equal strings happen to be one object, and that depends on what the process did before (unpickling
    another model interns its attribute names). Interned, equal strings are always one object. `seen` maps the id
    of each object visited to what replaces it, so an object met twice is replaced by the same one both times."""
    import numpy as np

    if type(value) is str:
        return sys.intern(value)
    if isinstance(value, (int, float, bool, bytes, str, type(None))):  # numbers, and str subclasses (np.str_)
        return value
    if id(value) in seen:
        return seen[id(value)]
    seen[id(value)] = value
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            for index, item in np.ndenumerate(value):
                value[index] = _intern_strings(item, seen)
    elif isinstance(value, list):
        value[:] = [_intern_strings(item, seen) for item in value]
    elif isinstance(value, dict):
        items = [(_intern_strings(k, seen), _intern_strings(v, seen)) for k, v in value.items()]
        value.clear()
        value.update(items)
    elif isinstance(value, tuple):
        items = [_intern_strings(item, seen) for item in value]
        seen[id(value)] = type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    elif isinstance(value, (set, frozenset)):
        seen[id(value)] = type(value)(_intern_strings(item, seen) for item in value)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        _intern_strings(vars(value), seen)
    return seen[id(value)]


def save_model(model, model_path: Path, card: dict) -> dict:
    """joblib file plus a JSON card that records the file's sha256 (written last); the sha256 is trusted here."""
    data = model_bytes(model)
    atomic_write_bytes(model_path, data)
    trust.add(sha256_bytes(data), model_path, trust.TRAINED_HERE)  # before the card: a version is whole once it has one
    card = {**card, "model_file": Path(model_path).name, "model_sha256": sha256_bytes(data),
            "labels": list(STANCES), "versions": library_versions()}
    atomic_write_bytes(card_path(model_path), (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return card


def load_card(model_path: Path) -> dict:
    path = card_path(model_path)
    if not path.exists():
        raise ModelTrustError(f"{model_path}: no model card {path.name} beside it; run 'claims train'")
    return _json_object(path, "model card")


def read_model_bytes(model_path: Path) -> bytes:
    """The file's bytes, read once through one descriptor that must be a regular file (not a pipe or a device):
    the bytes hashed are the bytes unpickled, so a file swapped between the two cannot slip through."""
    try:
        handle = os.open(model_path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ModelTrustError(f"{model_path}: no model file; run 'claims train' first") from None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise ModelTrustError(f"{model_path}: not a regular file; refusing to read a model from it")
        with os.fdopen(handle, "rb", closefd=False) as stream:
            return stream.read()
    finally:
        os.close(handle)


def load_model(model_path: Path | str) -> LoadedModel:
    """Load a model only if its sha256 matches its card and is trusted here (see pipeline.io.trust).

    The card catches a damaged file; the trust store, outside the models
    folder, catches a crafted one with a crafted card: loading a joblib file
    runs code, so only files trained here, shipped with the package or trusted
    by hand are loaded.
    """
    import joblib

    model_path = Path(model_path)
    card = load_card(model_path)
    data = read_model_bytes(model_path)
    actual = sha256_bytes(data)
    if card.get("model_sha256") != actual:
        raise ModelTrustError(
            f"{model_path}: sha256 {actual[:12]}... does not match its card ({str(card.get('model_sha256'))[:12]}...); "
            "refusing to load it, since loading a joblib file runs code. Retrain with 'claims train'.")
    if not trust.is_trusted(actual):
        raise ModelTrustError(
            f"{model_path}: not trusted here: this installation did not train it (sha256 {actual[:12]}... is not "
            f"in {trust.store_path()}). Loading a joblib file runs code; if you know where this file comes from, "
            f"run 'claims models trust {model_path}' first.")
    if not written_here(card):
        raise ModelTrustError(f"{model_path}: written by scikit-learn {card['versions']['scikit-learn']}, and a "
                              "pickled model loads only in the version that wrote it; 'claims train' makes one here")
    try:
        return LoadedModel(joblib.load(io.BytesIO(data)), card)
    except (ModuleNotFoundError, AttributeError) as err:  # a class the package no longer has where the pickle says
        raise ModelTrustError(f"{model_path}: written by another version of this package ({err}); "
                              "'claims train' makes a new one") from None
