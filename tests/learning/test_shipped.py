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


def test_the_shipped_model_is_trusted_by_the_package_not_the_store_and_loads(tmp_path, monkeypatch):
    monkeypatch.setenv(trust.STORE_ENV, str(tmp_path / "empty" / "trusted_models.json"))  # a user who trusts nothing
    version = shipped.shipped_version()
    path = registry.model_file(config.MODELS_DIR, version)
    card = registry.load_card(path)
    assert card["shipped"] is True and card["model_sha256"] in trust.shipped()
    assert trust.trusted() == {}
    model, _ = registry.load_model(path)
    assert hasattr(model, "predict_proba")


def test_the_shipped_model_is_taken_only_where_training_would_learn_no_more(tmp_path):
    from pipeline.config import DEFAULT_SETTINGS

    empty = tmp_path / "labels.csv"
    shutil.copy(config.LABELS_FILE, empty)
    empty.write_text(empty.read_text().splitlines()[0] + "\n")
    assert shipped.better_start(config.LABELS_FILE, GoldCorpus(), DEFAULT_SETTINGS)
    assert shipped.better_start(empty, GoldCorpus(), DEFAULT_SETTINGS)  # no labels of one's own
    assert not shipped.better_start(_own_labels(tmp_path), GoldCorpus(), DEFAULT_SETTINGS)  # labels of one's own
    assert not shipped.better_start(config.LABELS_FILE, GoldCorpus(tmp_path, tmp_path), DEFAULT_SETTINGS)
    assert not shipped.better_start(empty, GoldCorpus(), DEFAULT_SETTINGS.replace(stance_c=0.5))  # other settings
    assert shipped.better_start(empty, GoldCorpus(), DEFAULT_SETTINGS.replace(follow_links=True))  # reading only


def _own_labels(tmp_path):
    path = tmp_path / "own.csv"
    shutil.copy(config.LABELS_FILE, path)
    return path


def test_an_empty_models_folder_takes_a_copy_instead_of_training(tmp_path, capsys):
    models = tmp_path / "models"
    commands.ensure_model(config.RAW_DIR, config.LABELS_FILE, models, tmp_path / "out")
    err = capsys.readouterr().err
    version = shipped.listed()["current"]
    assert f"using {version}, the model shipped with the package" in err and "train:" not in err
    assert registry.current_version(models) == version
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


def test_a_project_keeps_its_copy_of_the_shipped_model_when_the_package_ships_another(tmp_path, monkeypatch):
    """The copy is trusted in the user's own store, so a later package listing only its new model still loads it."""
    models = tmp_path / "models"
    shipped.adopt(models)
    other = tmp_path / "shipped_models.json"
    other.write_text(json.dumps({"current": "stance-0002", "models": {"0" * 64: {"file": "stance-0002.joblib"}}}))
    monkeypatch.setattr(config, "SHIPPED_MODELS_FILE", other)
    monkeypatch.setattr(trust, "SHIPPED_MODELS_FILE", other)
    assert registry.load_card(registry.resolve(models))["model_sha256"] not in trust.shipped()
    registry.load_model(registry.resolve(models))


def test_a_second_run_outside_any_project_needs_no_training_data(tmp_path, monkeypatch, capsys):
    """No data/raw or labels file where `claims run` is started: the first run takes the shipped model, the second
    uses it (whether it is up to date with training data that is not there is not asked)."""
    from pipeline.faces.cli import main

    threads = tmp_path / "threads"
    threads.mkdir()
    shutil.copy(config.RAW_DIR / "botox_permanence.txt", threads)
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert main(["run", "--input", str(threads), "--out", "out", "--jobs", "1"]) == 0
    assert (tmp_path / "models" / "current.json").exists()


def test_the_list_of_shipped_models_is_no_part_of_any_stage_key():
    from pipeline.runner.execute import code_digest

    assert "resources/shipped_models.json" not in {name for name, _ in code_digest()}
