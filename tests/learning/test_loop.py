"""The retraining loop from the README, through the command line: run, export, label, import, train, compare.

End to end, training four models: marked slow (the README's test command and CI run them; -m "not slow" does not).
"""

import shutil

import pandas as pd
import pytest

from pipeline import config
from pipeline.learning import registry
from pipeline.faces.cli import EXIT_ERROR, EXIT_OK, main

from conftest import FIXTURES, SEED


@pytest.fixture
def project(tmp_path, small_models):
    """Threads, a labels file, a small annotated corpus and a models folder holding a model trained on it."""
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SEED, raw)
    shutil.copy(FIXTURES / "masseter_training.txt", raw)
    shutil.copy(config.LABELS_FILE, tmp_path / "labels.csv")
    models, gold, threads = small_models
    for folder, name in ((models, "models"), (gold, "gold"), (threads, "gold_threads")):
        shutil.copytree(folder, tmp_path / name)
    return tmp_path


def cli(project, *args):
    paths = {"--out": project / "out", "--models": project / "models", "--labels": project / "labels.csv",
             "--gold": project / "gold", "--gold-threads": project / "gold_threads",
             "--train-input": project / "raw", "--input": project / "raw"}
    command = list(args)
    accepted = {
        "run": ("--input", "--out", "--models", "--labels", "--gold", "--gold-threads", "--train-input"),
        "train": ("--input", "--out", "--models", "--labels", "--gold", "--gold-threads"),
        "classify": ("--out", "--models"),
        "export": ("--out", "--models", "--labels"),
        "import": ("--out", "--labels"),
        "evaluate": ("--models", "--gold", "--gold-threads"),
        "list": ("--models",),
        "use": ("--models",),
        "compare": ("--models", "--gold", "--gold-threads"),
    }[args[1] if args[0] in ("label", "models") else args[0]]
    for flag in accepted:
        if flag not in command:
            command += [flag, str(paths[flag])]
    return main(command)


@pytest.mark.slow
def test_the_whole_loop(project, capsys):
    shutil.rmtree(project / "models")  # the first run trains on these labels, so relabelling shows in the next model
    assert cli(project, "run") == EXIT_OK
    assert registry.current_version(project / "models") == "stance-0001"
    before = pd.read_csv(project / "out" / "claims.csv")

    assert cli(project, "label", "export", "--n", "20") == EXIT_OK
    exported = pd.read_csv(project / "out" / "to_label.csv", dtype="string", keep_default_na=False)  # as documented
    assert len(exported) == 20 and (exported["label"] == "").all()
    exported.loc[0, "label"] = "favor"  # an empty column read as float64 once made this a TypeError
    exported.loc[0, "label"] = ""
    labels = pd.read_csv(project / "labels.csv")
    labelled = set(zip(labels["answer_id"], labels["text"]))
    assert not labelled & set(zip(exported["answer_id"], exported["text"]))  # labelled sentences are not offered
    assert "masseter_training" in set(exported["thread_id"])
    for _, picks in exported.groupby("thread_id", sort=False):  # round robin over threads, least sure first in each
        assert picks["uncertainty"].astype(float).is_monotonic_decreasing
    for column in ("question", "proposition", "answer_title", "text", "claim_type", "prediction", "score"):
        assert (exported[column] != "").all(), column

    # the analyst's spreadsheet: everything they were shown is, in their view, neutral
    exported["label"] = "neutral"
    exported.to_csv(project / "filled.csv", index=False)
    broken = exported.copy()
    broken.loc[3, "text"] = "edited by hand"
    broken.loc[5, "label"] = "maybe"
    broken.to_csv(project / "broken.csv", index=False)
    labels_before = (project / "labels.csv").read_bytes()
    capsys.readouterr()
    assert cli(project, "label", "import", str(project / "broken.csv")) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "row 5: text differs" in err and "row 7: unknown label 'maybe'" in err and "nothing imported" in err
    assert (project / "labels.csv").read_bytes() == labels_before

    assert cli(project, "label", "import", str(project / "filled.csv"), "--annotator", "tester") == EXIT_OK
    labels = pd.read_csv(project / "labels.csv", keep_default_na=False)
    mine = labels[labels["source"] == "filled.csv"]
    assert len(mine) == 20 and set(mine["annotator"]) == {"tester"} and set(mine["label"]) == {"neutral"}

    assert cli(project, "train") == EXIT_OK
    capsys.readouterr()
    assert cli(project, "models", "use", "stance-0002") == EXIT_OK
    assert cli(project, "models", "list") == EXIT_OK
    listing = capsys.readouterr().out
    assert "stance-0001" in listing and "stance-0002" in listing
    assert cli(project, "models", "compare", "stance-0001", "stance-0002") == EXIT_OK
    comparison = capsys.readouterr().out
    assert "claims macro-F1" in comparison and "change their predicted stance" in comparison

    assert cli(project, "run") == EXIT_OK  # the current model changed, so the run is redone
    # and `run` never replaces the version chosen by hand, nor trains a new one
    assert registry.current_version(project / "models") == "stance-0002"
    assert registry.versions(project / "models") == ["stance-0001", "stance-0002"]
    after = pd.read_csv(project / "out" / "claims.csv")
    masseter = lambda frame: frame[frame["thread_id"] == "masseter_training"]
    assert (masseter(after)["stance"] == "neutral").sum() > (masseter(before)["stance"] == "neutral").sum()

    assert cli(project, "evaluate", "--out", str(project / "report")) == EXIT_OK
    for name in ("metrics.json", "metrics.txt", "confusion_matrix.png", "reliability.png"):
        assert (project / "report" / name).stat().st_size > 0


@pytest.mark.slow
def test_train_keeps_a_worse_model_out_of_current(project, capsys):
    assert cli(project, "run") == EXIT_OK
    labels = pd.read_csv(project / "labels.csv", keep_default_na=False)
    trainable = labels["level"] == "sentence"
    flipped = labels["label"].map({"favor": "against", "against": "favor", "neutral": "neutral"})
    labels.loc[trainable, "label"] = flipped[trainable]  # a deliberately wrong relabelling
    labels.to_csv(project / "labels.csv", index=False)
    capsys.readouterr()
    assert cli(project, "train") == EXIT_OK
    err = capsys.readouterr().err
    assert "stance-0002 kept but not made current" in err
    assert registry.current_version(project / "models") == "stance-0001"
    assert cli(project, "train", "--promote", "--force") == EXIT_OK
    assert registry.current_version(project / "models") == "stance-0003"
