"""Model versions in the models folder, and which one is current.

Each training run writes ``stance-NNNN.joblib`` beside ``stance-NNNN.card.json``;
``current.json`` names the version that ``classify`` and ``label export`` use.
A version is loaded only when its file's sha256 matches its card (see
stance.load_model).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pipeline.config import MODEL_NAME
from pipeline.files import atomic_write_bytes
from pipeline.stance import ModelTrustError, card_path, load_card

CURRENT_FILE = "current.json"
_VERSION = re.compile(rf"^{MODEL_NAME}-(\d{{4,}})$")


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


def current_version(model_dir: Path) -> str | None:
    path = Path(model_dir) / CURRENT_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))["version"]


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
