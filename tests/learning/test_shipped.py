"""The model the package ships: trusted by the sha256 the package lists, taken by a models folder without a model
when training would learn the same, refused (and replaced by training) where another scikit-learn is installed."""

import json
import shutil

import pytest

from pipeline import config
from pipeline.io import trust
from pipeline.learning import registry, shipped
from pipeline.measuring.gold_sets import GoldCorpus
from pipeline.runner import commands


def test_the_shipped_model_is_trusted_by_the_package_not_the_store_and_loads():
    version = shipped.shipped_version()
    path = registry.model_file(config.MODELS_DIR, version)
    card = registry.load_card(path)
    assert card["shipped"] is True and card["model_sha256"] in trust.shipped()
    assert card["model_sha256"] not in trust.trusted()  # the test session's own store never saw it
    model, _ = registry.load_model(path)
    assert hasattr(model, "predict_proba")


def test_training_would_learn_the_same_only_from_the_bundled_corpus_and_labels(tmp_path):
    empty = tmp_path / "labels.csv"
    shutil.copy(config.LABELS_FILE, empty)
    empty.write_text(empty.read_text().splitlines()[0] + "\n")
    assert shipped.trains_like_shipped(config.LABELS_FILE, GoldCorpus())
    assert shipped.trains_like_shipped(empty, GoldCorpus())  # no labels of one's own
    assert not shipped.trains_like_shipped(_own_labels(tmp_path), GoldCorpus())  # labels of one's own
    assert not shipped.trains_like_shipped(config.LABELS_FILE, GoldCorpus(tmp_path, tmp_path))


def _own_labels(tmp_path):
    path = tmp_path / "own.csv"
    shutil.copy(config.LABELS_FILE, path)
    return path


def test_an_empty_models_folder_takes_a_copy_instead_of_training(tmp_path, capsys):
    models = tmp_path / "models"
    commands.ensure_model(config.RAW_DIR, config.LABELS_FILE, models, tmp_path / "out")
    err = capsys.readouterr().err
    assert "using stance-0001, the model shipped with the package" in err and "train:" not in err
    assert registry.current_version(models) == "stance-0001"
    assert registry.load_model(registry.resolve(models)).card["shipped"] is True


def test_a_model_written_by_another_scikit_learn_is_refused_and_run_trains_one(small_models, tmp_path, capsys):
    model_dir, gold, threads = small_models
    models = tmp_path / "models"
    shutil.copytree(model_dir, models)
    card_file = registry.card_path(registry.resolve(models))
    card = json.loads(card_file.read_text())
    card["versions"]["scikit-learn"] = "0.1.0"
    card_file.write_text(json.dumps(card))
    with pytest.raises(registry.ModelTrustError, match="written by scikit-learn 0.1.0"):
        registry.load_model(registry.resolve(models))
    capsys.readouterr()
    commands.ensure_model(threads, config.LABELS_FILE, models, tmp_path / "out", gold=GoldCorpus(gold, threads))
    err = capsys.readouterr().err
    assert "written by scikit-learn 0.1.0" in err and "train: 5/5 saving" in err
    assert registry.current_version(models) == "stance-0002"
    registry.load_model(registry.resolve(models))
