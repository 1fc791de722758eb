"""Hostile and unlucky input through `claims run`: no file stops a run, every good thread survives, every bad entry
is named in errors.csv; and random or mutated files of every format (hypothesis) do no worse."""

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.faces.cli import main

from hostile_cases import CASES, GOOD_FILES, GOOD_THREADS, SECRET, SNIPPETS, make_all

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="module")
def models(small_models):
    return small_models


def claims_run(folder: Path, out: Path, models) -> tuple[int, str]:
    model_dir, gold, threads = models
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(["run", "--input", str(folder), "--out", str(out), "--models", str(model_dir), "--jobs", "1",
                     "--train-input", str(threads), "--gold", str(gold), "--gold-threads", str(threads)])
    return code, stderr.getvalue()


def tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    answers = pd.read_csv(out / "answers.csv", dtype=str, keep_default_na=False)
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    return answers, errors


def good_folder(root: Path) -> Path:
    folder = root / "input"
    folder.mkdir()
    for name, text in GOOD_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_every_hostile_case_is_named_and_no_good_thread_is_lost(models, tmp_path):
    folder = good_folder(tmp_path)
    made = make_all(folder)
    code, stderr = claims_run(folder, tmp_path / "out", models)
    assert code == 1 and "Traceback" not in stderr and "internal error" not in stderr
    answers, errors = tables(tmp_path / "out")
    assert set(GOOD_THREADS) <= set(answers["thread_id"])
    named = {Path(source).name for source in errors["source"]}
    read = {Path(source).name for source in answers["source"]}
    for fmt, name, _, expect in made:
        if name == "t_unreadable.txt" and AS_ROOT:
            continue
        if expect == "error":
            assert name in named, f"{name} not in errors.csv"
        elif expect == "read":
            assert name in read, f"{name}: its threads are missing"
        else:
            assert name in named | read, f"{name} is neither read nor named"
    assert not answers["text"].str.contains(SECRET).any()  # a link out of the folder is not followed
    assert {"cb_big", "cb_good", "cq_good", "jm_good"} <= set(answers["thread_id"])  # the file's other threads stay
    assert not any(len(t) > 1000 for t in answers["thread_id"])


def test_named_problems_say_what_is_wrong(models, tmp_path):
    folder = good_folder(tmp_path)
    make_all(folder, [c for c in CASES if c[1] in {"t_folder.txt", "t_fifo.txt", "t_dangling.txt", "t_loop.txt",
                                                   "t_outside.txt", "j_surrogate_body.jsonl", "j_bigint.jsonl",
                                                   "j_long_id.jsonl"}])
    claims_run(folder, tmp_path / "out", models)
    _, errors = tables(tmp_path / "out")
    said = dict(zip(errors["source"].map(lambda s: Path(s).name), errors["error"]))
    assert said["t_folder.txt"].startswith("a folder") and said["t_fifo.txt"].startswith("a named pipe")
    assert said["t_dangling.txt"].startswith("a broken symbolic link")
    assert said["t_loop.txt"] == "a symbolic link loop"
    assert "outside the input folder" in said["t_outside.txt"] and "--follow-links" in said["t_outside.txt"]
    assert "lone surrogate" in said["j_surrogate_body.jsonl"]
    assert "4300" in said["j_bigint.jsonl"] or "digits" in said["j_bigint.jsonl"]
    assert "thread id of 1,000,000 characters" in said["j_long_id.jsonl"]


def test_follow_links_reads_a_link_out_of_the_folder(models, tmp_path):
    folder = tmp_path / "input"
    folder.mkdir()
    secret = tmp_path / "elsewhere.txt"
    secret.write_text(GOOD_FILES["g_page.txt"], encoding="utf-8")
    (folder / "linked.txt").symlink_to(secret)
    inside = folder / "inside.txt"
    (folder / "real.txt").write_text(GOOD_FILES["g_page.txt"].replace("Botox", "Dysport"), encoding="utf-8")
    inside.symlink_to(folder / "real.txt")  # a link within the folder is read as any file
    model_dir, gold, threads = models
    base = ["run", "--input", str(folder), "--models", str(model_dir), "--jobs", "1", "--train-input", str(threads),
            "--gold", str(gold), "--gold-threads", str(threads)]
    assert main([*base, "--out", str(tmp_path / "a")]) == 1
    assert set(tables(tmp_path / "a")[0]["thread_id"]) == {"inside", "real"}
    assert main([*base, "--out", str(tmp_path / "b"), "--follow-links"]) == 0
    assert set(tables(tmp_path / "b")[0]["thread_id"]) == {"inside", "linked", "real"}


def test_unreadable_input_is_a_row_not_a_traceback(models, tmp_path, monkeypatch):
    """An input that cannot be opened (as root, permissions do not stop reading: simulate the OSError)."""
    from pipeline.io import files

    folder = good_folder(tmp_path)
    (folder / "locked.txt").write_text(GOOD_FILES["g_page.txt"], encoding="utf-8")
    real_sha, real_read = files.sha256_file, Path.read_bytes

    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(files, "sha256_file", lambda p: refuse(p) if Path(p).name == "locked.txt" else real_sha(p))
    monkeypatch.setattr(Path, "read_bytes", lambda p: refuse(p) if p.name == "locked.txt" else real_read(p))
    code, stderr = claims_run(folder, tmp_path / "out", models)
    assert code == 1 and "Traceback" not in stderr
    answers, errors = tables(tmp_path / "out")
    assert "locked.txt" in {Path(s).name for s in errors["source"]} and set(GOOD_THREADS) <= set(answers["thread_id"])


def test_a_thread_whose_extraction_fails_is_skipped_and_named(models, tmp_path, monkeypatch):
    from pipeline.stages import extract

    folder = good_folder(tmp_path)
    real = extract.extract_claims

    def failing(nlp, answers, *args, **kwargs):
        if "g_jsonl" in set(answers["thread_id"]):
            raise RuntimeError("a rule no test foresaw")
        return real(nlp, answers, *args, **kwargs)

    monkeypatch.setattr(extract, "extract_claims", failing)
    code, stderr = claims_run(folder, tmp_path / "out", models)
    assert code == 1 and "Traceback" not in stderr
    answers, errors = tables(tmp_path / "out")
    assert set(answers["thread_id"]) == set(GOOD_THREADS) - {"g_jsonl"}
    assert errors["error"].str.contains("'g_jsonl': claim extraction failed").any()
    claims = pd.read_csv(tmp_path / "out" / "claims.csv", dtype=str)
    assert {"g_page", "g_csv"} <= set(claims["thread_id"])




@st.composite
def mutated(draw):
    """A good file of some format, then mangled: cut, a byte flipped, a hostile snippet put in, or noise."""
    name = draw(st.sampled_from(sorted(GOOD_FILES)))
    data = bytearray(GOOD_FILES[name].encode("utf-8"))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["cut", "flip", "snippet", "noise"]))
        if how == "cut":
            data = data[:at]
        elif how == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif how == "snippet":
            data[at:at] = draw(st.sampled_from(SNIPPETS))
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
    return "m_" + name, bytes(data)


@pytest.mark.slow  # 25 runs of `claims run` end to end
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(mutated(), min_size=1, max_size=3, unique_by=lambda f: f[0]))
def test_mutated_files_of_every_format_never_stop_a_run(models, files):
    root = Path(tempfile.mkdtemp(prefix="hostile-"))
    try:
        folder = root / "input"
        folder.mkdir()
        (folder / "g_page.txt").write_text(GOOD_FILES["g_page.txt"], encoding="utf-8")
        for name, data in files:
            (folder / name).write_bytes(data)
        code, stderr = claims_run(folder, root / "out", models)
        assert code in (0, 1) and "Traceback" not in stderr and "internal error" not in stderr
        answers, errors = tables(root / "out")
        assert "g_page" in set(answers["thread_id"])
        accounted = {Path(s).name for s in errors["source"]} | {Path(s).name for s in answers["source"]}
        assert {name for name, _ in files} <= accounted
    finally:
        shutil.rmtree(root, ignore_errors=True)
