"""Which model files this installation may load: a trust store outside the models folder.

A joblib file is a pickle, and loading a pickle runs whatever code it names.
The card beside a model records its sha256, which catches a damaged file but
not a crafted one: whoever can write the model can write its card too. So the
sha256 of every model trained here is also recorded in a store in the user's
data folder (``$XDG_DATA_HOME/claims-pipeline/trusted_models.json``, or the
file named by ``CLAIMS_TRUST_STORE``), and a model is loaded only if it is
there, or if the package itself lists it as a model it ships
(``resources/shipped_models.json``: the sha256 of models/stance-NNNN.joblib as
committed, as trusted as the package's code). A model copied in from elsewhere
needs ``claims models trust FILE``, said by a person who knows where it came from.

Why not skops: the model holds estimators of our own (PairedFeatures,
TemperatureCalibrated) and scikit-learn internals that skops would each need
listed as trusted types, a list to keep by hand with every change of the
model or of scikit-learn; a store of hashes keeps joblib's exact, byte-stable
files and trusts by origin, which is the question that matters.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

from pipeline.config import SHIPPED_MODELS_FILE
from pipeline.io import files

STORE_ENV = "CLAIMS_TRUST_STORE"
TRAINED_HERE, TRUSTED_BY_HAND = "trained here", "trusted by hand"
SHIPPED_COPY = "a copy of a model the package shipped"


def store_path() -> Path:
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV])
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        base = Path(os.environ["APPDATA"])
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "claims-pipeline" / "trusted_models.json"


def unsafe(path: Path) -> str | None:
    """Why the store at `path` cannot be trusted, or None: a store anyone could write, or plant before us, would
    trust anyone's models. Its folder (and a link's target's folder) may not be writable by others unless sticky
    (as /tmp is), and the file may not be writable by others nor belong to another user."""
    if not hasattr(os, "getuid"):  # Windows: the user's profile folder is the protection
        return None
    real = path.resolve()
    for folder in dict.fromkeys((path.parent, real.parent)):
        if folder.exists():
            mode = folder.stat().st_mode
            if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
                return f"its folder {folder} is writable by anyone"
    if real.exists():
        info = real.stat()
        if info.st_mode & stat.S_IWOTH:
            return f"{real} is writable by anyone"
        if info.st_uid not in (os.getuid(), 0):
            return f"{real} belongs to another user"
    return None


def _checked(path: Path) -> Path:
    problem = unsafe(path)
    if problem:
        raise OSError(f"{path}: refusing this trust store: {problem}; give {STORE_ENV} a file of your own in a "
                      "folder only you can write")
    return path


def trusted() -> dict[str, dict]:
    """sha256 -> how it came to be trusted (and the file it was first seen as)."""
    path = _checked(store_path())
    if not path.exists():
        return {}
    try:
        store = json.loads(path.read_text(encoding="utf-8"))
        return dict(store["models"])
    except (ValueError, KeyError, TypeError) as err:
        raise OSError(f"{path}: the trust store is damaged ({err}); remove it and run 'claims models trust FILE' "
                      "for each model you trust") from err


def shipped() -> dict[str, dict]:
    """sha256 -> the model file the package ships in models/ (trusted as the package's own code is)."""
    if not SHIPPED_MODELS_FILE.exists():
        return {}
    return dict(json.loads(SHIPPED_MODELS_FILE.read_text(encoding="utf-8"))["models"])


def is_trusted(sha256: str) -> bool:
    return sha256 in shipped() or sha256 in trusted()


def add(sha256: str, model_file: Path | str, how: str) -> None:
    """Record a model's sha256 as trusted; the store is locked while it is rewritten (trainings may run at once)."""
    from filelock import FileLock

    path = _checked(store_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.with_name(path.name + ".lock"))):
        models = trusted()
        if sha256 not in models:
            models[sha256] = {"file": str(model_file), "how": how, "added": time.strftime("%Y-%m-%d %H:%M:%S")}
            files.atomic_write_bytes(path, (json.dumps({"models": models}, indent=2, sort_keys=True) + "\n").encode())


def trust_file(model_file: Path | str) -> str:
    """`claims models trust FILE`: trust the bytes FILE holds now; returns their sha256."""
    model_file = Path(model_file)
    if not model_file.is_file():
        raise FileNotFoundError(f"{model_file}: no such model file")
    sha256 = files.sha256_file(model_file)
    add(sha256, model_file.resolve(), TRUSTED_BY_HAND)
    return sha256
