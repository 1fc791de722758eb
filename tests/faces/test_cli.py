"""The command line as a new user meets it: a version, a closing summary, -q and -v, one-line errors."""

import json

import pandas as pd
import pytest

from pipeline.faces.cli import main
from pipeline.io.readers import estimate_threads
from pipeline.learning import shipped

PAGE = ("Is Botox permanent after years of use?\n\nDr. Smith\nNot permanent\n"
        "No. The effect wears off in 3-4 months, although the muscle may weaken with repeated treatment.\n")


@pytest.fixture
def project(small_models, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "page.txt").write_text(PAGE, encoding="utf-8")
    (inputs / "empty.txt").write_text("", encoding="utf-8")
    model_dir, gold, threads = small_models
    base = ["--models", str(model_dir), "--train-input", str(threads), "--gold", str(gold), "--gold-threads",
            str(threads)]
    return inputs, tmp_path, base


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("claims 0.")


def test_run_ends_with_what_it_produced_and_what_it_skipped(project, capsys):
    inputs, root, base = project
    assert main(["run", "--input", str(inputs), "--out", str(root / "out"), *base, "--jobs", "1"]) == 1
    said = capsys.readouterr().err
    summary = pd.read_csv(root / "out" / "summary.csv")
    claims = pd.read_csv(root / "out" / "claims.csv")
    assert (f"run: 1 threads, {summary['answers'].sum()} answers, {len(claims)} claims "
            f"({(claims['claim_type'] == 'duration').sum()} duration, ") in said
    assert f"run: 1 input item skipped: each is a row of {root / 'out' / 'errors.csv'}" in said
    assert " s -> " in said


def test_quiet_prints_nothing_and_verbose_names_the_model(project, capsys):
    inputs, root, base = project
    (inputs / "empty.txt").unlink()
    assert main(["run", "-q", "--input", str(inputs), "--out", str(root / "q"), *base]) == 0
    assert capsys.readouterr().err == ""
    assert main(["run", "--input", str(inputs), "--out", str(root / "n"), *base]) == 0
    normal = capsys.readouterr().err
    assert "run: 1 threads" in normal and "is up to date with the labels" not in normal
    assert main(["run", "-v", "--force", "--input", str(inputs), "--out", str(root / "n"), *base]) == 0
    assert "train: the current model" in capsys.readouterr().err


def test_an_out_that_is_a_file_is_one_line(project, capsys):
    inputs, root, base = project
    (root / "taken").write_text("mine")
    assert main(["run", "--input", str(inputs), "--out", str(root / "taken"), *base]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is a file, not a folder" in err and (root / "taken").read_text() == "mine"


def test_a_wrong_input_writes_nothing(project, capsys):
    _, root, base = project
    assert main(["run", "--input", str(root / "nowhere"), "--out", str(root / "out"), *base]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert not (root / "out").exists()


def test_the_progress_total_is_estimated_without_parsing(tmp_path):
    (tmp_path / "a.txt").write_text(PAGE)
    (tmp_path / "b.html").write_text("<p>Q?</p>")
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps({"id": str(k)}) for k in range(3)) + "\n")
    (tmp_path / "d.csv").write_text("thread_id,question_title\r\n" + "".join(f"t{k},Q\r\n" for k in range(4)))
    assert estimate_threads(tmp_path) == 2 + 3 + 4


def test_init_lays_out_a_project_that_the_defaults_then_use(tmp_path, monkeypatch, capsys):
    project = tmp_path / "my-study"
    assert main(["init", str(project)]) == 0
    for sub in ("data/raw", "data/raw/labels", "data/processed", "models"):
        assert (project / sub).is_dir(), sub
    header = (project / "data/raw/labels/stance_labels.csv").read_text()
    assert header.startswith("thread_id,level,answer_id")
    assert main(["init", str(project)]) == 0 and "already laid out" in capsys.readouterr().err  # nothing overwritten
    (project / "data/raw/page.txt").write_text(PAGE, encoding="utf-8")
    monkeypatch.chdir(project)
    capsys.readouterr()
    assert main(["run", "--jobs", "1"]) == 0
    # no labels of its own yet: the project takes the shipped model instead of training for minutes
    err = capsys.readouterr().err
    version = shipped.listed()["current"]
    assert f"using {version}, the model shipped with the package" in err and "train: 1/5" not in err
    assert (project / "data/processed/claims.csv").exists() and (project / f"models/{version}.joblib").exists()
    assert "page" in set(pd.read_csv(project / "data/processed/answers.csv")["thread_id"])
    assert pd.read_csv(project / "data/processed/claims.csv")["stance"].notna().any()


def test_an_out_folder_that_cannot_be_written_is_one_line(project, capsys, monkeypatch):
    """As root every folder is writable, so the refusal of the system is simulated."""
    import os

    inputs, root, base = project
    (root / "locked").mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if str(path).endswith("locked")
                        else real_access(path, mode, **kw))
    assert main(["run", "--input", str(inputs), "--out", str(root / "locked"), *base]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"cannot write in {root / 'locked'}: permission denied" in err


@pytest.mark.parametrize("damage", ["{", "[]", '{"version": 7}'])
def test_a_damaged_record_of_the_current_model_or_card_is_one_line(project, tmp_path, capsys, damage):
    import shutil

    inputs, root, base = project
    assert main(["run", "--input", str(inputs), "--out", str(root / "out"), *base]) == 1  # empty.txt is skipped
    capsys.readouterr()
    models = tmp_path / "damaged"
    shutil.copytree(base[1], models)
    (models / "current.json").write_text(damage)
    assert main(["run", "--input", str(inputs), "--out", str(root / "out"), "--models", str(models)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "current.json" in err and "Traceback" not in err
    (models / "current.json").write_text('{"version": "stance-0001"}')
    (models / "stance-0001.card.json").write_text(damage)
    assert main(["classify", "--out", str(root / "out"), "--models", str(models)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "stance-0001" in err and "Traceback" not in err


@pytest.mark.parametrize("content", [b"thread_id,level,answer_id,text,label,annotator,labelled_at,source\n"
                                     b"t,sentence,t:1,Caf\xe9,favor,me,2026,hand\n",
                                     b"thread_id,level,answer_id,text,label,annotator,labelled_at,source\n"
                                     b't,sentence,t:1,"never closed,favor,me,2026,hand\n'])
def test_a_labels_file_that_is_not_utf8_csv_is_one_line_in_train_and_import(project, tmp_path, capsys, content):
    inputs, root, base = project
    labels = tmp_path / "labels.csv"
    labels.write_bytes(content)
    assert main(["train", "--input", str(inputs), "--out", str(root / "t"), "--labels", str(labels), *base[:2]]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "labels.csv: cannot be read as CSV in UTF-8" in err
    assert main(["run", "--input", str(inputs), "--out", str(root / "out"), *base]) == 1
    filled = tmp_path / "filled.csv"
    filled.write_text("level,claim_id,answer_id,text,label\n")
    capsys.readouterr()
    assert main(["label", "import", str(filled), "--out", str(root / "out"), "--labels", str(labels)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "labels.csv: cannot be read as CSV in UTF-8" in err


def test_a_run_with_a_current_model_needs_no_training_input_or_labels(project, tmp_path):
    inputs, root, base = project
    assert main(["run", "--input", str(inputs), "--out", str(root / "out"), "--models", base[1],
                 "--train-input", str(tmp_path / "gone"), "--labels", str(tmp_path / "gone.csv")]) == 1  # empty.txt


@pytest.mark.parametrize("argv, level", [
    (["-q", "run"], 0), (["run", "-q"], 0), (["--quiet", "run"], 0), (["-v", "run"], 2), (["run", "--verbose"], 2),
    (["-v", "run", "-v"], 2), (["run"], None), (["-q", "models", "list"], 0), (["models", "-q", "list"], 0),
    (["models", "list", "-v"], 2), (["-v", "label", "export"], 2), (["label", "-v", "export"], 2)])
def test_quiet_and_verbose_are_read_before_or_after_the_command(argv, level):
    from pipeline.faces.cli import build_parser, verbosity_of

    parser = build_parser()
    assert verbosity_of(parser, parser.parse_args(argv)) == level


def test_quiet_before_and_verbose_after_the_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["-q", "run", "-v"])
    assert exit_.value.code == 2 and "-q and -v together" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_and_verbose_work_before_the_command_as_after_it(project, capsys, where):
    inputs, root, base = project
    (inputs / "empty.txt").unlink()

    def run(flag, *more):
        rest = ["--input", str(inputs), "--out", str(root / "out"), *base, "--jobs", "1", *more]
        return main([flag, "run", *rest] if where == "before" else ["run", flag, *rest])

    assert run("-q") == 0
    assert capsys.readouterr().err == ""
    assert run("-v", "--force") == 0
    said = capsys.readouterr().err
    assert "train: the current model" in said and "run: 1 chunk of up to" in said  # both said only with -v


def _run_twice_in(fmt, run, capsys):
    """Two identical runs in `fmt`; what the second said."""
    run(fmt)
    capsys.readouterr()
    run(fmt)
    return capsys.readouterr().err


def _verbose_run(project, fmt):
    """`claims run -v --format fmt` of the project's inputs into its "out" folder (empty.txt is skipped: exit 1)."""
    inputs, root, base = project
    assert main(["run", "-v", "--format", fmt, "--input", str(inputs), "--out", str(root / "out"), *base,
                 "--jobs", "1"]) == 1


def test_a_parquet_run_is_up_to_date_when_nothing_changed_as_a_csv_run_is(project, capsys):
    pytest.importorskip("pyarrow", reason="the optional parquet extra is not installed")
    import pipeline

    out = project[1] / "out"

    def run(fmt):
        _verbose_run(project, fmt)

    skipped = [f"{stage}: up to date, skipped" for stage in ("segment", "extract", "classify")]
    for fmt in ("csv", "parquet"):
        said = _run_twice_in(fmt, run, capsys)
        assert "is up to date with the labels" in said and "changed since it was trained" not in said, fmt
        assert all(line in said for line in skipped) and "run: 1 chunk" not in said, fmt
    parquet = {p.name: p.read_bytes() for p in out.glob("*.parquet")}
    assert sorted(parquet) == ["answers.parquet", "claims.parquet", "errors.parquet", "summary.parquet"]
    from_csv, from_parquet = pipeline.read_outputs(out), pipeline.read_outputs(out, "parquet")
    for name, frame in from_csv.items():
        pd.testing.assert_frame_equal(frame, from_parquet[name])


def test_switching_format_converts_or_drops_the_parquet_copies_without_running_again(project, capsys):
    pytest.importorskip("pyarrow", reason="the optional parquet extra is not installed")
    import pipeline

    out = project[1] / "out"

    def run(fmt):
        _verbose_run(project, fmt)
        return capsys.readouterr().err

    run("csv")
    csv_tables = {p.name: p.read_bytes() for p in out.glob("*.csv")}
    said = run("parquet")  # the CSVs are up to date: only their Parquet copies are made
    assert "classify: up to date, skipped" in said and "run: 1 chunk" not in said
    assert {p.name: p.read_bytes() for p in out.glob("*.csv")} == csv_tables
    from_csv, from_parquet = pipeline.read_outputs(out), pipeline.read_outputs(out, "parquet")
    for name, frame in from_csv.items():
        pd.testing.assert_frame_equal(frame, from_parquet[name])
    said = run("csv")  # back to CSV only: the Parquet set leaves, whole, and nothing runs again
    assert "classify: up to date, skipped" in said and not list(out.glob("*.parquet"))
    with pytest.raises(Exception, match="no parquet tables here"):
        pipeline.read_outputs(out, "parquet")


def _arguments(parser, name="claims"):
    """(command, argument, its action) of every argument of every command, nested ones too."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, subparser in action.choices.items():
                yield from _arguments(subparser, f"{name} {sub}")
        elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            yield name, "/".join(action.option_strings) or action.dest, action


def test_every_argument_is_explained_and_every_default_shown_in_help():
    import argparse

    from pipeline.faces.cli import build_parser

    missing = []
    for command, name, action in _arguments(build_parser()):
        if action.help == argparse.SUPPRESS:
            continue
        has_default = action.default not in (None, False, argparse.SUPPRESS)
        if not action.help or (has_default and "default" not in action.help):
            missing.append(f"{command} {name}")
    assert missing == []


def test_help_names_the_files_and_folders_a_new_user_asks_about(capsys):
    for argv, said in [(["evaluate"], "(default: data/processed/evaluation)"),
                       (["label", "import"], "the filled-in CSV"),
                       (["label", "import"], "(default: data/processed)"),
                       (["models", "compare"], "minus FIRST's")]:
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        assert said in " ".join(capsys.readouterr().out.split()), argv


def test_evaluate_writes_its_figures_in_a_folder_of_its_own(small_models, tmp_path, monkeypatch, capsys):
    model_dir, gold, threads = small_models
    monkeypatch.chdir(tmp_path)
    argv = ["evaluate", "--models", str(model_dir), "--gold", str(gold), "--gold-threads", str(threads)]
    assert main(argv) == 0
    first = capsys.readouterr()
    folder = tmp_path / "data" / "processed" / "evaluation"
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "confusion_matrix.png", "manifest.json", "metrics.json", "metrics.txt", "reliability.png"]
    assert not (tmp_path / "data" / "processed" / "metrics.txt").exists()  # not among a run's tables
    assert main(argv) == 0  # nothing changed: skipped, the same figures printed
    second = capsys.readouterr()
    assert "evaluate: up to date, skipped" in second.err and second.out == first.out


def test_show_piped_into_a_reader_that_stops_early_says_nothing_more(tmp_path):
    import shlex
    import subprocess
    import sys

    page = tmp_path / "long.txt"  # far more than a pipe holds, so the writer meets the closed pipe
    page.write_text("Does Botox wear off?\n\n" + "\n\n".join(
        f"Answer {k}\nThe effect usually lasts 3-4 months and it is not permanent, doctor {k} says." for k in range(400)))
    command = (f"{shlex.quote(sys.executable)} -c 'from pipeline.faces.cli import main; raise SystemExit(main())' "
               f"show {shlex.quote(str(page))} --no-stance | head -1")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, cwd=tmp_path,
                          env={**__import__("os").environ, "CLAIMS_TRUST_STORE": str(tmp_path / "trust.json")})
    assert done.stdout.startswith("long:") and done.stdout.count("\n") == 1
    assert done.stderr == "" and done.returncode == 0


def test_a_wrong_path_to_show_is_said_before_spacy_or_scikit_learn_is_imported(tmp_path):
    """`claims show` checks its file first: a typo is answered at once (0.4 s here, not the 2 s that importing
    spaCy, pandas and scikit-learn takes), and the same way as the readers say it."""
    import subprocess
    import sys

    probe = ("import sys; from pipeline.faces import cli; rc = cli.main(['show', sys.argv[1]]); "
             "print(rc, 'spacy' in sys.modules, 'sklearn' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "missing.txt")], capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["2", "False", "False"]
    assert f"claims show: error: {tmp_path / 'missing.txt'}: no such file or folder" in result.stderr


def test_a_folders_notes_are_named_once_a_run(project, capsys):
    inputs, root, base = project
    (inputs / "SOURCES.csv").write_text("file,url\n", encoding="utf-8")
    main(["run", "-v", "--input", str(inputs), "--out", str(root / "out"), *base])
    said = capsys.readouterr()
    assert (said.out + said.err).count("SOURCES.csv: a folder's notes, not read as threads") == 1
