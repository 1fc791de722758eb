import json
from pathlib import Path

import sys

import pytest

from pipeline.io.files import sha256_file
from pipeline.learning import registry
from pipeline.learning.registry import ModelTrustError, load_model, save_model
from pipeline.stages.stance_model import build_model

from toy_claims import toy_claims


def make_version(folder, name):
    (folder / f"{name}.joblib").write_bytes(b"x")
    (folder / f"{name}.card.json").write_text("{}")


def test_versions_are_numbered_and_current_is_chosen(tmp_path):
    assert registry.versions(tmp_path) == [] and registry.next_version(tmp_path) == "stance-0001"
    for name in ("stance-0002", "stance-0010", "stance-0001", "other-0003"):
        make_version(tmp_path, name)
    assert registry.versions(tmp_path) == ["stance-0001", "stance-0002", "stance-0010"]
    assert registry.next_version(tmp_path) == "stance-0011"
    with pytest.raises(ModelTrustError, match="no current model"):
        registry.resolve(tmp_path)
    registry.set_current(tmp_path, "stance-0002")
    assert registry.resolve(tmp_path) == tmp_path / "stance-0002.joblib"
    assert registry.resolve(tmp_path, "stance-0010") == tmp_path / "stance-0010.joblib"
    with pytest.raises(ModelTrustError, match="known: stance-0001"):
        registry.resolve(tmp_path, "stance-0042")
    with pytest.raises(ModelTrustError):
        registry.set_current(tmp_path, "stance-0042")


def test_saved_model_loads_and_tampered_model_is_refused(tmp_path):
    claims, y = toy_claims()
    model = build_model().fit(claims, y)
    path = tmp_path / "stance.joblib"
    card = save_model(model, path, {"metrics": {}})
    loaded, loaded_card = load_model(path)
    assert loaded_card["model_sha256"] == card["model_sha256"]
    assert set(card["versions"]) >= {"scikit-learn", "spacy", "python"}
    assert list(loaded.predict(claims)) == list(model.predict(claims))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ModelTrustError, match="does not match"):
        load_model(path)


class Payload:
    """What a crafted joblib file does on load: here, leave a file behind."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "ran"))


def test_crafted_model_with_a_matching_card_is_not_loaded_until_trusted(tmp_path):
    import joblib

    from pipeline.io import trust
    from pipeline.faces.cli import main

    marker = tmp_path / "payload-ran"
    path = tmp_path / "stance-0001.joblib"
    joblib.dump(Payload(marker), path)  # whoever can write the models folder can write a card to match
    path.with_suffix(".card.json").write_text(json.dumps({"model_sha256": sha256_file(path)}))
    with pytest.raises(ModelTrustError, match="not trusted here.*claims models trust"):
        load_model(path)
    assert not marker.exists()
    assert main(["models", "trust", str(path)]) == 0  # said by someone who knows where the file comes from
    assert trust.trusted()[sha256_file(path)]["how"] == trust.TRUSTED_BY_HAND
    load_model(path)
    assert marker.read_text() == "ran"


def test_trust_store_lives_outside_the_models_folder_and_records_each_training(tmp_path):
    from pipeline.io import trust

    claims, y = toy_claims()
    path = tmp_path / "models" / "stance.joblib"
    path.parent.mkdir()
    card = save_model(build_model().fit(claims, y), path, {})
    assert trust.trusted()[card["model_sha256"]]["how"] == trust.TRAINED_HERE
    assert tmp_path not in trust.store_path().parents


def test_model_without_card_is_refused(tmp_path):
    claims, y = toy_claims()
    path = tmp_path / "stance.joblib"
    save_model(build_model().fit(claims, y), path, {})
    path.with_suffix(".card.json").unlink()
    with pytest.raises(ModelTrustError, match="no model card"):
        load_model(path)


def test_a_model_that_is_not_a_regular_file_is_refused_unread(tmp_path):
    """A named pipe where the model was would serve one stream to the hash and another to the unpickler."""
    import os

    claims, y = toy_claims()
    path = tmp_path / "stance.joblib"
    save_model(build_model().fit(claims, y), path, {})
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(ModelTrustError, match="not a regular file"):
        load_model(path)


def test_model_bytes_do_not_depend_on_which_equal_strings_are_one_object():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    def encoder(handle_unknown):
        step = OneHotEncoder(handle_unknown=handle_unknown, categories=[["a", "b"]])
        return Pipeline([("features", step)]).fit([["a"], ["b"]])

    shared = "ignore"
    one = encoder(shared)
    one.note = [shared, shared]
    other = encoder("".join(["ign", "ore"]))  # equal, but another object
    other.note = ["".join(["ign", "ore"]), "".join(["ign", "ore"])]
    assert registry.model_bytes(one) == registry.model_bytes(other)


def test_interning_leaves_string_subclasses_and_keeps_shared_containers_shared():
    import numpy as np

    shared = ("a", "b")
    graph = {"np": [np.str_("x")], "set": {"".join(["s", "t"])}, "one": shared, "two": shared}
    out = registry._intern_strings(graph, {})
    assert out["one"] is out["two"] and out["one"] == ("a", "b")
    assert type(out["np"][0]) is np.str_ and next(iter(out["set"])) is sys.intern("st")
