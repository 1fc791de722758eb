"""One executor for every stage: through the command line on a small corpus in a temporary folder, and in memory."""

import json
import shutil

import pandas as pd
import pytest

from pipeline import config
from pipeline.config import DEFAULT_SETTINGS
from pipeline.measuring.gold_sets import GoldCorpus
from pipeline.faces.cli import EXIT_ERROR, EXIT_OK, EXIT_SKIPPED_INPUT, main
from pipeline.io.outputs import read_csv
from pipeline.learning import registry
from pipeline.runner import commands, execute, graph

from conftest import FIXTURES, SEED

OUTPUTS = ("answers.csv", "claims.csv", "summary.csv")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw")
    shutil.copy(SEED, folder)
    shutil.copy(FIXTURES / "masseter_training.txt", folder)
    return folder


@pytest.fixture(scope="module")
def models(small_models):
    return small_models[0]


def run(corpus, out, models, *extra):
    return main(["run", "--input", str(corpus), "--out", str(out), "--models", str(models), *extra])


def test_run_writes_the_dataset(corpus, models, tmp_path):
    assert run(corpus, tmp_path, models) == EXIT_OK
    answers = pd.read_csv(tmp_path / "answers.csv")
    claims = pd.read_csv(tmp_path / "claims.csv")
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary["thread_id"]) == ["botox_permanence", "masseter_training"]
    assert list(summary["answers"]) == [10, 7]
    replies = answers[answers["role"] == "answer"]
    assert replies["stance"].isin(["favor", "against", "neutral"]).all()
    assert answers.loc[answers["role"] == "question", "stance"].isna().all()
    experts, asker = claims[claims["role"] == "answer"], claims[claims["role"] == "question"]
    assert experts["stance"].isin(["favor", "against", "neutral"]).all()
    assert experts["stance_score"].between(1 / 3, 1).all()
    assert asker["stance"].isna().all() and asker["stance_score"].isna().all()  # the asker's claims take none
    for thread_id, group in summary.groupby("thread_id"):
        thread_answers = replies[replies["thread_id"] == thread_id]
        row = group.iloc[0]
        assert row["answers_favor"] + row["answers_against"] + row["answers_neutral"] == len(thread_answers)
        assert row["claims"] == (claims["thread_id"] == thread_id).sum()
    texts = {p.stem: p.read_text(encoding="utf-8") for p in corpus.iterdir()}
    for row in claims.itertuples():
        assert texts[row.thread_id][row.char_start:row.char_end] == row.text
    for row in answers.itertuples():
        assert texts[row.thread_id][row.char_start:row.char_end] == row.text


def test_same_input_and_model_give_byte_identical_files(corpus, models, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert run(corpus, first, models) == EXIT_OK
    assert run(corpus, second, models, "--force") == EXIT_OK
    for name in OUTPUTS:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


@pytest.mark.slow
def test_training_is_reproducible_across_processes(tmp_path):
    import subprocess
    import sys

    for name in ("a", "b"):
        subprocess.run([sys.executable, "-m", "pipeline", "train", "--out", str(tmp_path / f"out_{name}"),
                        "--models", str(tmp_path / name)], check=True, capture_output=True)
    assert (tmp_path / "a" / "stance-0001.joblib").read_bytes() == (tmp_path / "b" / "stance-0001.joblib").read_bytes()
    shipped = registry.model_file(config.MODELS_DIR, registry.current_version(config.MODELS_DIR))
    if registry.written_here(registry.load_card(shipped)):  # the shipped model is what training here makes
        assert (tmp_path / "a" / "stance-0001.joblib").read_bytes() == shipped.read_bytes(), (
            "training no longer makes the shipped model: ship it again (pipeline/learning/shipped.py)")
    card = json.loads((tmp_path / "a" / "stance-0001.card.json").read_text())
    other = json.loads((tmp_path / "b" / "stance-0001.card.json").read_text())
    assert card.pop("trained_at") and other.pop("trained_at")
    assert card == other
    assert card["labels"] == ["against", "favor", "neutral"]
    by_thread = card["cross_validation"]["by_thread"]
    assert by_thread["grouped_by"] == "thread_id" and by_thread["folds"] == 5
    for level in ("claims", "answers"):
        assert 0 <= by_thread[level]["f_avg"] <= 1
        assert "accuracy" in by_thread[f"{level}_majority_baseline"]
    # the frozen set is the corpus's test part: every system on it, with thread-bootstrap intervals
    systems = card["frozen_systems"]
    assert {"this model", "majority baseline", "keyword baseline", "question-blind, same rows"} <= set(systems)
    for entry in systems.values():
        low, high = entry["claims"]["macro_f1_interval"]
        assert low <= entry["claims"]["macro_f1"] <= high
    assert card["frozen_evaluation"] == systems["this model"]
    assert 0 <= card["frozen_questions"]["open_recognised"] <= 1  # a figure (docs/accuracy.md), not a behaviour
    assert len(card["training_data_sha256"]) == 64


def stage(name, corpus, out, models=None, *extra):
    args = [name, "--out", str(out)]
    if name == "segment":
        args += ["--input", str(corpus)]
    if models is not None:
        args += ["--models", str(models)]
    return main(args + list(extra))


def test_unchanged_stages_are_skipped_and_force_reruns(corpus, models, tmp_path, capsys):
    for name in ("segment", "extract", "classify"):
        assert stage(name, corpus, tmp_path, models if name == "classify" else None) == EXIT_OK
    capsys.readouterr()
    for name in ("segment", "extract", "classify"):
        assert stage(name, corpus, tmp_path, models if name == "classify" else None) == EXIT_OK
    assert capsys.readouterr().err.count("up to date, skipped") == 3
    assert stage("extract", corpus, tmp_path, None, "--force") == EXIT_OK
    assert "extract: up to date" not in capsys.readouterr().err
    # extract re-ran, so classify must run again to put the stance back
    assert stage("classify", corpus, tmp_path, models) == EXIT_OK
    assert "classify: up to date" not in capsys.readouterr().err
    classified = pd.read_csv(tmp_path / "claims.csv")
    assert classified.loc[classified["role"] == "answer", "stance"].notna().all()  # the experts' claims
    # `run` is the same three stages: after the single stages, each is up to date
    assert run(corpus, tmp_path, models) == EXIT_OK
    assert capsys.readouterr().err.count("up to date, skipped") == 3
    assert run(corpus, tmp_path, models, "--force") == EXIT_OK
    assert stage("classify", corpus, tmp_path, models) == EXIT_OK
    assert "classify: up to date, skipped" in capsys.readouterr().err


def test_single_stages_and_run_write_the_same_bytes(corpus, models, tmp_path):
    folder = tmp_path / "raw"
    shutil.copytree(corpus, folder)
    for name in ("threads.jsonl", "answers.csv"):  # structured input: a source line in every row
        shutil.copy(FIXTURES / "formats" / name, folder)
    for name in ("segment", "extract", "classify"):
        assert stage(name, folder, tmp_path / "stages", models if name == "classify" else None) == EXIT_OK
    assert run(folder, tmp_path / "run", models) == EXIT_OK
    for name in OUTPUTS + ("errors.csv",):
        assert (tmp_path / "stages" / name).read_bytes() == (tmp_path / "run" / name).read_bytes(), name


def test_extract_reads_no_thread_file(corpus, models, tmp_path, monkeypatch):
    """answers.csv carries every piece extract reads: the thread files may be gone, and no reader is called."""
    folder = tmp_path / "raw"
    shutil.copytree(corpus, folder)
    assert stage("segment", folder, tmp_path / "out") == EXIT_OK
    shutil.rmtree(folder)
    from pipeline.io import readers

    def no_reading(*args, **kwargs):
        raise AssertionError("extract read a thread file")

    for name in ("iter_threads", "read_path", "discover_threads", "read_text_file"):
        monkeypatch.setattr(readers, name, no_reading)
    assert stage("extract", folder, tmp_path / "out") == EXIT_OK
    monkeypatch.undo()
    assert run(corpus, tmp_path / "run", models) == EXIT_OK
    claims = pd.read_csv(tmp_path / "out" / "claims.csv", dtype=str, keep_default_na=False)
    expected = pd.read_csv(tmp_path / "run" / "claims.csv", dtype=str, keep_default_na=False)
    assert claims.drop(columns=["stance", "stance_score"]).equals(expected.drop(columns=["stance", "stance_score"]))


def test_a_stage_fingerprint_holds_only_the_settings_it_reads(corpus, small_models, tmp_path, capsys):
    """The stance model's regularisation re-runs training and classify, never segmentation or extraction; a
    segmentation setting re-runs all three; classify's own setting re-runs classify alone."""
    models, gold, threads = small_models
    model_dir = tmp_path / "models"
    shutil.copytree(models, model_dir)
    out = tmp_path / "out"

    def ran(settings):
        capsys.readouterr()
        commands.run(corpus, out, model_dir, settings, jobs=1)
        err = capsys.readouterr().err
        return [name for name in graph.THREAD_STAGES if f"{name}: up to date" not in err]

    assert ran(DEFAULT_SETTINGS) == ["segment", "extract", "classify"]
    assert ran(DEFAULT_SETTINGS) == []
    stiffer = DEFAULT_SETTINGS.replace(stance_c=0.25)
    trained = commands.train(threads, config.LABELS_FILE, model_dir, tmp_path / "train", stiffer, promote=True,
                             gold=GoldCorpus(gold, threads))
    assert trained.ran == ["train"]
    progress = capsys.readouterr().err  # each phase as it starts, then two lines; the full figures with -v
    assert [f"train: {k}/5" in progress for k in range(1, 6)] == [True] * 5
    assert "frozen set claim macro-F1" in progress and "confusion" not in progress
    assert ran(stiffer) == ["classify"]
    assert ran(stiffer.replace(title_weight=3.0)) == ["classify"]
    assert ran(stiffer.replace(title_weight=3.0, max_title_words=5)) == ["segment", "extract", "classify"]


@pytest.mark.parametrize("edit", ["pipeline/runner/execute.py", "pipeline/runner/chunked.py",
                                  "pipeline/resources/claim_cues.jsonl", "pipeline/resources/question_lexicon.json"])
def test_editing_any_code_or_rule_file_reruns_the_stages(corpus, models, tmp_path, capsys, monkeypatch, edit):
    """Fingerprints cover the whole package, so no module a stage runs can be left out (a hand-kept list once was)."""
    package = tmp_path / "package"
    shutil.copytree(execute.PACKAGE_DIR, package / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(execute, "PACKAGE_DIR", package / "pipeline")
    out = tmp_path / "out"
    assert stage("segment", corpus, out) == EXIT_OK
    assert run(corpus, tmp_path / "run", models) == EXIT_OK
    capsys.readouterr()
    assert stage("segment", corpus, out) == EXIT_OK and run(corpus, tmp_path / "run", models) == EXIT_OK
    assert capsys.readouterr().err.count("up to date, skipped") == 4
    edited = package / edit
    if edited.suffix == ".py":  # a function body changes (a comment would do too: the digest is of the bytes)
        edited.write_text(edited.read_text().replace("    return", "    x = 1\n    return", 1))
    else:
        edited.write_bytes(edited.read_bytes() + b"\n")
    assert stage("segment", corpus, out) == EXIT_OK and run(corpus, tmp_path / "run", models) == EXIT_OK
    assert "up to date" not in capsys.readouterr().err


def test_speed_settings_rerun_nothing_and_output_settings_rerun(corpus, models, tmp_path, capsys):
    out = tmp_path / "out"
    assert commands.run(corpus, out, models, DEFAULT_SETTINGS, jobs=1).ran
    before = {name: (out / name).read_bytes() for name in OUTPUTS}
    faster = DEFAULT_SETTINGS.replace(chunk_threads=1, batch_size=7, doc_chars=5_000)
    assert not commands.run(corpus, out, models, faster, jobs=1).ran
    assert commands.run(corpus, out, models, faster, jobs=1, force=True).ran
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before  # and they are indeed speed only
    assert commands.run(corpus, out, models, DEFAULT_SETTINGS.replace(max_title_words=5), jobs=1).ran


def test_a_new_thread_file_reruns_everything(corpus, models, tmp_path, capsys):
    folder = tmp_path / "raw"
    shutil.copytree(corpus, folder)
    assert run(folder, tmp_path / "out", models) == EXIT_OK
    (folder / "botox_permanence.txt").write_text(SEED.read_text(encoding="utf-8") + "\nExtra answer\n\nIt lasts 5 months.\n")
    capsys.readouterr()
    assert run(folder, tmp_path / "out", models) == EXIT_OK
    assert "segment: up to date" not in capsys.readouterr().err
    assert "It lasts 5 months." in set(pd.read_csv(tmp_path / "out" / "claims.csv")["text"])


def test_bad_files_are_listed_and_the_rest_is_processed(corpus, models, tmp_path):
    folder = tmp_path / "raw"
    shutil.copytree(corpus, folder)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "latin.txt").write_bytes("Caf\u00e9?\n\nQuestion body\n\nAnswer\n\nBody".encode("latin-1"))
    assert run(folder, tmp_path / "out", models) == EXIT_SKIPPED_INPUT
    errors = pd.read_csv(tmp_path / "out" / "errors.csv")
    assert sorted(errors["source"].map(lambda s: s.rsplit("/", 1)[-1])) == ["empty.txt", "latin.txt"]
    assert errors["error"].str.contains("empty|UTF-8").all()
    assert set(pd.read_csv(tmp_path / "out" / "summary.csv")["thread_id"]) == {"botox_permanence", "masseter_training"}
    # a second run skips every stage but still reports the skipped files
    assert run(folder, tmp_path / "out", models) == EXIT_SKIPPED_INPUT


def test_a_thread_without_claims_is_classified_neutral(models, tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "quiet.txt").write_text("Hello?\n\nQuestion body.\n\nGreat question here\n\nPlease see a doctor near you.\n")
    assert run(folder, tmp_path / "out", models) == EXIT_OK
    answers = pd.read_csv(tmp_path / "out" / "answers.csv")
    assert list(answers["stance"].fillna("")) == ["", "neutral"]
    assert pd.read_csv(tmp_path / "out" / "summary.csv")["claims"].tolist() == [0]


def test_missing_labels_file_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--labels", str(tmp_path / "none.csv"), "--out", str(tmp_path), "--models", str(tmp_path)]) == EXIT_ERROR
    assert "labels file not found" in capsys.readouterr().err


def test_classify_refuses_a_tampered_model(corpus, models, tmp_path, capsys):
    for name in ("segment", "extract", "classify"):
        assert stage(name, corpus, tmp_path / "out", models if name == "classify" else None) == EXIT_OK
    tampered = tmp_path / "models"
    shutil.copytree(models, tampered)
    model_file = registry.resolve(tampered)
    model_file.write_bytes(model_file.read_bytes()[:-1] + b"\x01")
    before = (tmp_path / "out" / "claims.csv").read_bytes()
    assert main(["classify", "--out", str(tmp_path / "out"), "--models", str(tampered), "--force"]) == EXIT_ERROR
    assert "does not match its card" in capsys.readouterr().err
    assert (tmp_path / "out" / "claims.csv").read_bytes() == before


def test_python_dash_m_and_help():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "pipeline", "run", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--input" in result.stdout and "--force" in result.stdout


def test_a_mixed_folder_with_broken_files_runs_to_completion(models, tmp_path):
    from pipeline.io.readers import iter_threads
    from pipeline.threads import ThreadSource

    folder = tmp_path / "mixed"
    shutil.copytree(FIXTURES / "formats", folder, ignore=shutil.ignore_patterns("*.json"))
    for path in (FIXTURES / "layouts").glob("*.txt"):
        shutil.copy(path, folder)
    shutil.copy(SEED, folder)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (folder / "latin1.txt").write_bytes("Caf\u00e9 au lait?\n\nIs it permanent?\n\nNo\n\nIt wears off.\n".encode("latin-1"))
    (folder / "unanswered.txt").write_text("Does it last forever?\n\nI have wondered about this for a while now.\n")
    (folder / "broken.jsonl").write_text('{"id": "fine", "question_title": "Is it permanent?", "question_body": "Q", '
                                         '"answers": [{"title": "No", "body": "It wears off in 3 months."}]}\n'
                                         '{"id": "cut off", "question_title": \n'
                                         '{"id": "no-answers", "question_title": "Q?", "question_body": "Q"}\n')
    with open(folder / "huge.txt", "wb") as handle:
        handle.truncate(50 * 2**20)
    (folder / "oneline.txt").write_text("y" * 2**20)
    out = tmp_path / "out"
    assert run(folder, out, models) == EXIT_SKIPPED_INPUT
    errors = pd.read_csv(out / "errors.csv")
    errors["file"] = errors["source"].map(lambda s: s.rsplit("/", 1)[-1])
    assert sorted(errors["file"]) == sorted(["empty.txt", "binary.txt", "latin1.txt",
                                             "broken.jsonl", "broken.jsonl", "huge.txt", "oneline.txt"])
    assert sorted(errors.loc[errors["file"] == "broken.jsonl", "line"]) == [2, 3]
    good = {t.thread_id: t.text for t in iter_threads(folder) if isinstance(t, ThreadSource)}
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["thread_id"]) == set(good) and {"unanswered", "fine", "botox_permanence"} <= set(good)
    # a question nobody answered has no structure to read: its text is one answer, and the run says so
    answers = read_csv(out / "answers.csv", "segment")
    assert answers.loc[answers["thread_id"] == "unanswered", "role"].tolist() == ["question", "answer"]
    # a page whose copy starts with the answers: no question, flagged in the summary
    found = summary.set_index("thread_id")["question_found"]
    assert not found["answers_only"] and found["botox_permanence"]
    claims = read_csv(out / "claims.csv", "extract")
    assert len(claims) > 100
    for row in claims.itertuples():
        assert good[row.thread_id][row.char_start:row.char_end] == row.text


def test_a_crashed_run_resumes_at_the_first_unfinished_chunk(corpus, models, tmp_path, monkeypatch, capsys):
    from pipeline.runner import chunked

    folder = tmp_path / "raw"
    shutil.copytree(corpus, folder)
    for path in (FIXTURES / "layouts").glob("*.txt"):
        shutil.copy(path, folder)
    settings = DEFAULT_SETTINGS.replace(chunk_threads=2)
    whole = tmp_path / "whole"
    commands.run(folder, whole, models, settings, jobs=1)

    real = chunked.process_chunk
    done = []

    def crash_on_third(index, *args):
        if index == 2:
            raise KeyboardInterrupt
        done.append(index)
        return real(index, *args)

    monkeypatch.setattr(chunked, "process_chunk", crash_on_third)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        commands.run(folder, out, models, settings, jobs=1)
    assert done == [0, 1] and not (out / "claims.csv").exists()
    monkeypatch.undo()
    capsys.readouterr()
    commands.run(folder, out, models, settings, jobs=1)
    assert "2 of them resumed" in capsys.readouterr().err
    for table in ("answers", "claims", "summary", "errors"):
        assert (out / f"{table}.csv").read_bytes() == (whole / f"{table}.csv").read_bytes(), table
    assert not (out / ".parts").exists() or not any((out / ".parts").iterdir())


def test_ctrl_c_is_reported_not_a_traceback(corpus, models, tmp_path, monkeypatch, capsys):
    from pipeline.runner import chunked

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(chunked, "process_chunk", interrupted)
    assert run(corpus, tmp_path, models, "--jobs", "1") == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "resumes" in err and "Traceback" not in err


def test_what_a_run_invalidates_follows_from_the_declared_graph():
    assert graph.downstream(["segment"]) == {"extract", "classify", "report"}
    assert graph.downstream(["train"]) == {"classify", "evaluate", "report"}
    assert graph.downstream(["classify"]) == {"report"}
    assert graph.stale_tables(["segment"]) == ["claims", "summary"]
    assert graph.stale_tables(["extract"]) == ["summary"]  # extract rewrites answers and errors itself
    assert graph.stale_tables(list(graph.THREAD_STAGES)) == []
    assert graph.producers("answers", "classify") == ["extract", "segment"]
    assert graph.producers("model", "classify") == ["train"]
    for stage in graph.GRAPH.values():  # the declaration order is a topological one: what a stage reads is a
        for artifact in stage.inputs:  # source input (no stage writes it) or written by a stage before it
            writers = [s.name for s in graph.GRAPH.values() if artifact in s.outputs]
            assert not writers or graph.producers(artifact, stage.name), (stage.name, artifact)


def test_the_thread_stages_in_memory_give_the_tables_a_folder_run_gives(corpus, models, tmp_path):
    assert run(corpus, tmp_path / "run", models) == EXIT_OK
    outcome = execute.execute(list(graph.THREAD_STAGES), execute.Source(threads=corpus, model_dir=models))
    from pipeline.io.files import csv_bytes
    from pipeline.runner.sinks import as_table
    from pipeline.schemas import TABLES

    for name, columns in TABLES.items():
        frame = as_table(name, outcome.artifacts[name])
        assert csv_bytes(frame.reindex(columns=columns), columns) == (tmp_path / "run" / f"{name}.csv").read_bytes()


def test_a_stage_without_its_upstream_names_the_command_to_run_and_makes_nothing(tmp_path, capsys):
    for command, writer in (("extract", "segment"), ("classify", "segment"), ("report", "segment")):
        assert main([command, "--out", str(tmp_path / "typo")]) == EXIT_ERROR
        assert f"no record of a {writer} run here; run 'claims {writer}' first" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("jobs", ["-1", "0", "two"])
def test_a_bad_jobs_value_is_a_usage_error(jobs, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["run", "--jobs", jobs])
    assert raised.value.code == 2 and "--jobs" in capsys.readouterr().err


def test_the_learned_segmenter_is_a_setting_that_reruns_segment_and_keeps_offsets_exact(corpus, tmp_path, capsys):
    assert stage("segment", corpus, tmp_path) == EXIT_OK
    rules = pd.read_csv(tmp_path / "answers.csv")
    capsys.readouterr()
    assert stage("segment", corpus, tmp_path, None, "--segmenter", "learned") == EXIT_OK
    assert "segment: up to date" not in capsys.readouterr().err  # another setting, another key
    learned = pd.read_csv(tmp_path / "answers.csv", keep_default_na=False)
    assert set(learned["thread_id"]) == set(rules["thread_id"])
    texts = {p.stem: p.read_text(encoding="utf-8") for p in corpus.glob("*.txt")}
    for row in learned.itertuples():
        assert texts[row.thread_id][row.char_start:row.char_end] == row.text
    assert stage("segment", corpus, tmp_path, None, "--segmenter", "learned") == EXIT_OK
    assert "segment: up to date" in capsys.readouterr().err
