"""The output folder as one unit: tables switched in as a set (whatever the kill point), stale or edited tables
refused, a lock per folder, --out kept apart from --input, workers that die with their parent."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.config import DEFAULT_SETTINGS
from pipeline.io import outputs
from pipeline.runner import commands
from pipeline.io.files import InputError
from pipeline.io.outputs import OutputFolderError, read_csv

from conftest import held_elsewhere
from hostile_cases import GOOD_FILES

TABLES = ("answers.csv", "claims.csv", "summary.csv", "errors.csv")


def write_inputs(folder: Path, variant: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in GOOD_FILES.items():
        (folder / name).write_text(text.replace("3-4 months", variant), encoding="utf-8")
    return folder


def run(inputs: Path, out: Path, small_models, **settings):
    model_dir = small_models[0]
    return commands.run(inputs, out, model_dir, DEFAULT_SETTINGS.replace(chunk_threads=2, **settings), jobs=1)


def snapshot(out: Path) -> dict:
    """What a reader sees: each table as read through the manifest."""
    return {name: read_csv(out / name, "run").to_csv(index=False) for name in TABLES}


@pytest.fixture(scope="module")
def two_runs(small_models, tmp_path_factory):
    """The tables of the same folder after a run on input A and after one on input B."""
    root = tmp_path_factory.mktemp("two")
    a, b = write_inputs(root / "a", "3-4 months"), write_inputs(root / "b", "5 to 6 months")
    run(a, root / "out_a", small_models)
    run(b, root / "out_b", small_models)
    return a, b, snapshot(root / "out_a"), snapshot(root / "out_b")


@pytest.mark.slow
@pytest.mark.parametrize("when", ["before", "after"])
def test_a_run_killed_at_any_rename_leaves_one_whole_set(small_models, two_runs, tmp_path, monkeypatch, when):
    """Kill (KeyboardInterrupt, as Ctrl-C) before or after each rename of the second run: a reader sees the first
    run's tables or the second's, never a mixture; the next run completes."""
    a, b, old, new = two_runs
    real_replace = os.replace
    calls = {"n": 0, "kill_at": 0}

    def replace_then_maybe_die(src, dst, *args, **kwargs):
        calls["n"] += 1
        if when == "before" and calls["n"] == calls["kill_at"]:
            raise KeyboardInterrupt
        real_replace(src, dst, *args, **kwargs)
        if when == "after" and calls["n"] == calls["kill_at"]:
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace_then_maybe_die)
    points, seen = 0, set()
    for kill_at in range(1, 200):
        out = tmp_path / f"{when}{kill_at}"
        run(a, out, small_models)
        calls.update(n=0, kill_at=kill_at)
        try:
            run(b, out, small_models)
        except KeyboardInterrupt:
            points += 1
            state = snapshot(out)
            assert state in (old, new), f"kill {when} rename {kill_at}: a mixture of two runs"
            seen.add("old" if state == old else "new")
            calls["kill_at"] = 0
            run(b, out, small_models)
            assert snapshot(out) == new
            assert not list(out.glob(".*.next")), "staged tables left behind"
        else:
            break
    assert points >= 10 and seen == {"old", "new"}  # kill points both sides of the commit were tried


def test_a_table_made_stale_by_a_later_stage_is_refused(small_models, two_runs, tmp_path):
    a, b, _, _ = two_runs
    out = tmp_path / "out"
    run(a, out, small_models)
    commands.segment(b, out, force=True)  # a new answers.csv: claims.csv and summary.csv no longer go with it
    assert not (out / "claims.csv").exists() and not (out / "summary.csv").exists()
    with pytest.raises(InputError, match="missing; run the 'extract' stage"):
        read_csv(out / "claims.csv", "extract")
    (out / "claims.csv").write_bytes(b"claim_id\r\n")  # left by a writer killed just after its commit
    with pytest.raises(OutputFolderError, match="older than the other tables.*'claims extract'"):
        read_csv(out / "claims.csv", "extract")
    assert "g_page" in set(read_csv(out / "answers.csv", "segment")["thread_id"])


def test_a_table_edited_by_hand_is_refused_until_the_manifest_is_removed(small_models, two_runs, tmp_path):
    a, _, _, _ = two_runs
    out = tmp_path / "out"
    run(a, out, small_models)
    with open(out / "claims.csv", "a", encoding="utf-8") as handle:
        handle.write("extra,row\r\n")
    with pytest.raises(OutputFolderError, match="changed since 'run' wrote it"):
        read_csv(out / "claims.csv", "extract")
    assert not outputs.intact(out, ["claims.csv"])  # so the run is no longer up to date either
    (out / outputs.MANIFEST).unlink()
    assert len(read_csv(out / "claims.csv", "extract")) > 0


def test_a_table_edited_in_place_with_its_size_and_time_put_back_is_refused(small_models, two_runs, tmp_path):
    """Size, modification time and inode can all be restored by hand: only the sha256 decides."""
    a, _, _, _ = two_runs
    out = tmp_path / "out"
    run(a, out, small_models)
    path = out / "claims.csv"
    before, stat = path.read_bytes(), path.stat()
    edited = before.replace(b"True", b"Fals", 1) if b"True" in before else before[:-3] + b"x\r\n"
    assert len(edited) == len(before) and edited != before
    with open(path, "r+b") as handle:  # in place: the inode stays
        handle.write(edited)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_ino == stat.st_ino and path.stat().st_mtime_ns == stat.st_mtime_ns
    with pytest.raises(OutputFolderError, match="changed since"):
        read_csv(path, "extract")
    assert not outputs.intact(out, ["claims.csv"])


def test_a_reader_during_another_runs_switch_gets_one_whole_set(small_models, two_runs, tmp_path, monkeypatch):
    """The second run switches its tables in between the reader's first table and the rest: the reader reads the
    new set whole (one manifest pins the set; a table that changed under it is read again), never a mixture."""
    a, b, old, new = two_runs
    out = tmp_path / "out"
    run(a, out, small_models)
    real, calls = outputs._committed_bytes, {"n": 0}

    def switch_after_the_first(path, entry):
        data = real(path, entry)
        calls["n"] += 1
        if calls["n"] == 1:
            run(b, out, small_models)
        return data

    monkeypatch.setattr(outputs, "_committed_bytes", switch_after_the_first)
    tables = outputs.read_tables(out, TABLES)
    seen = {name: outputs.frame_of(data).to_csv(index=False) for name, data in tables.items()}
    assert seen == new


def test_a_planted_link_at_a_temporary_name_is_never_written_through(small_models, two_runs, tmp_path):
    a, _, _, _ = two_runs
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    for name in TABLES:  # the names a merge or a staged write once used
        (out / f".{name}.next.tmp").symlink_to(victim)
    run(a, out, small_models)
    assert victim.read_text() == "keep me"
    for name in TABLES:
        assert (out / name).is_file() and not (out / name).is_symlink()


def test_out_equal_to_input_is_refused(small_models, tmp_path):
    inputs = write_inputs(tmp_path / "in", "3 months")
    with pytest.raises(InputError, match="is the input folder"):
        run(inputs, inputs, small_models)
    assert not (inputs / "answers.csv").exists()
    run(inputs, inputs / "processed", small_models)  # a subfolder is never read: allowed


def test_a_second_writer_on_the_same_folder_is_refused_with_the_first_named(small_models, tmp_path):
    out = tmp_path / "out"
    with held_elsewhere(out, command="claims run --out busy") as pid:
        inputs = write_inputs(tmp_path / "in", "3 months")
        with pytest.raises(OutputFolderError, match=f"in use by another claims process \\(pid {pid} .*"
                                                     "claims run --out busy"):
            run(inputs, out, small_models)
    run(write_inputs(tmp_path / "in", "3 months"), out, small_models)  # the lock died with its holder


def test_deleting_every_file_of_the_folder_lets_no_second_writer_in(small_models, tmp_path):
    """The lock is the folder's own: no lock file exists whose deletion would release it."""
    out = tmp_path / "out"
    with held_elsewhere(out, command="claims run --out busy"):
        for path in out.iterdir():
            path.unlink()
        with pytest.raises(OutputFolderError, match="in use by another claims process"):
            run(write_inputs(tmp_path / "in", "3 months"), out, small_models)


def test_runs_share_a_models_folder_that_training_may_not_change_meanwhile(small_models, tmp_path):
    """Reading a model takes the models folder's shared lock: runs with other --out folders proceed while another
    process reads it; writing it (train, models use) is refused, naming the folder, until the readers are done."""
    model_dir = tmp_path / "models"
    shutil.copytree(small_models[0], model_dir)
    with held_elsewhere(model_dir, shared=True):
        inputs = write_inputs(tmp_path / "in", "3 months")
        assert run(inputs, tmp_path / "out", (model_dir,)).ran  # a second reader
        with pytest.raises(OutputFolderError, match="being read by another claims process"):
            with outputs.locked(model_dir):
                pass
        from pipeline.faces.cli import EXIT_ERROR, main

        assert main(["models", "use", "stance-0001", "--models", str(model_dir)]) == EXIT_ERROR
    with outputs.locked(model_dir):  # the shared lock died with its holder
        pass


@pytest.mark.slow
def test_two_concurrent_runs_give_the_same_tables_or_a_clear_refusal(small_models, tmp_path):
    model_dir, gold, threads = small_models
    inputs = write_inputs(tmp_path / "in", "3 months")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(inputs), "--out", str(out), "--models",
               str(model_dir), "--train-input", str(threads), "--gold", str(gold), "--gold-threads", str(threads),
               "--jobs", "1"]
    both = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(), p.stderr.read()) for p in both]
    for code, stderr in results:
        assert code == 0 or (code == 2 and "in use by another claims process" in stderr), stderr
    assert any(code == 0 for code, _ in results)
    alone = tmp_path / "alone"
    run(inputs, alone, small_models)
    assert all((out / name).read_bytes() == (alone / name).read_bytes() for name in TABLES)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="forked workers and prctl are Linux only")
def test_forked_workers_die_with_a_killed_run(small_models, tmp_path):
    model_dir = small_models[0]
    inputs = tmp_path / "in"
    inputs.mkdir()
    text = GOOD_FILES["g_page.txt"]
    for k in range(400):
        (inputs / f"t{k:03d}.txt").write_text(text, encoding="utf-8")
    script = ("from pipeline.runner import commands\nfrom pipeline.config import DEFAULT_SETTINGS\n"
              f"commands.run({str(inputs)!r}, {str(tmp_path / 'out')!r}, {str(model_dir)!r}, "
              "DEFAULT_SETTINGS.replace(chunk_threads=1), jobs=2)\n")
    main = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.DEVNULL)
    children = []
    deadline = time.time() + 60
    while time.time() < deadline and len(children) < 2:
        time.sleep(0.2)
        children = _children(main.pid)
    assert len(children) >= 2, "the run started no workers"
    main.send_signal(signal.SIGKILL)
    main.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has died; only its parent's reaping is left


def test_a_wrong_input_creates_no_output_folder(small_models, tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        run(tmp_path / "missing", tmp_path / "out", small_models)
    assert not (tmp_path / "out").exists()
