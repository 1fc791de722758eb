"""Hostile conditions that are not one input file (issue 20): each tried once, held or failed.

Called by bench/hostile.py with its Bench (a trained small models folder and
good thread files). Each function makes the condition, runs what a user would
run, and returns True when the tool held: the attack did nothing, the
condition is named in a one-line error, the set of tables stayed whole.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import time
from pathlib import Path

from conftest import held_elsewhere  # noqa: E402 (tests/ is on the path: bench/hostile.py puts it there)

from pipeline.io import outputs, trust
from pipeline.io.outputs import OutputFolderError
from pipeline.learning import registry


def one_line_error(bench, *args) -> bool:
    return bench.cli(*args) == 2 and bench.last_stderr.strip().count("\n") == 0 and "Traceback" not in \
        bench.last_stderr


def model_swapped_for_a_pipe(bench, root: Path) -> bool:
    models = root / "fifo-models"
    shutil.copytree(bench.models, models)
    path = registry.resolve(models)
    path.unlink()
    os.mkfifo(path)
    try:
        registry.load_model(path)
    except registry.ModelTrustError as err:
        return "not a regular file" in str(err)
    return False


def markup_in_a_thread_id(bench, root: Path) -> bool:
    source = root / "markup.jsonl"
    source.write_text(json.dumps({"id": "<img src=x onerror=alert(1)>", "question_title": "Is it permanent?",
                                  "question_body": "", "answers": [{"title": "No", "body": "It wears off."}]}) + "\n")
    with contextlib.redirect_stdout(io.StringIO()):
        bench.cli("show", source, "--html", root / "markup.html", "--no-stance")
    return "<img" not in (root / "markup.html").read_text(encoding="utf-8")


def dask_http(bench, root: Path) -> bool | None:
    try:
        import psutil

        from pipeline.runner.chunked import local_cluster
    except ImportError:
        return None
    from distributed import Client

    with local_cluster(1) as cluster, Client(cluster) as client:
        pids = {os.getpid(), *client.run(os.getpid).values()}
        ports = set()
        for pid in pids:
            process = psutil.Process(pid)
            listing = getattr(process, "net_connections", None) or process.connections
            ports |= {c.laddr.port for c in listing("tcp") if c.status == psutil.CONN_LISTEN}
        for port in ports:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                    conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    if conn.recv(16).startswith(b"HTTP/"):
                        return False
            except OSError:
                continue
    return True


def planted_temporary_link(bench, root: Path) -> bool:
    out, victim = root / "planted", root / "victim.txt"
    out.mkdir()
    victim.write_text("keep me")
    for name in ("answers.csv", "claims.csv", "summary.csv", "errors.csv"):
        (out / f".{name}.next.tmp").symlink_to(victim)
    bench.run(bench.good_folder("planted-in"), out)
    return victim.read_text() == "keep me" and not (out / "answers.csv").is_symlink()


def reader_during_a_switch(bench, root: Path) -> bool:
    a, b = bench.good_folder("switch-a"), bench.good_folder("switch-b")
    for path in b.iterdir():
        path.write_text(path.read_text(encoding="utf-8").replace("3-4 months", "5 to 6 months"), encoding="utf-8")
    out = root / "switch"
    bench.run(a, out)
    real, calls = outputs._committed_bytes, {"n": 0}

    def switching(path, entry):
        data = real(path, entry)
        calls["n"] += 1
        if calls["n"] == 1:
            bench.run(b, out)
        return data

    outputs._committed_bytes = switching
    try:
        got = outputs.read_tables(out, ["answers.csv", "claims.csv"])
    finally:
        outputs._committed_bytes = real
    claims = got["claims.csv"].decode("utf-8")
    return "5 to 6 months" in claims and "3-4 months" not in claims


def labels_imported_twice_at_once(bench, root: Path) -> bool:
    labels = root / "labels-twice" / "stance_labels.csv"
    labels.parent.mkdir()
    labels.write_text("thread_id,level,answer_id,text,label,annotator,labelled_at,source\n")
    out = root / "labels-run"
    bench.run(bench.good_folder("labels-in"), out)
    filled = root / "filled.csv"
    filled.write_text("level,claim_id,answer_id,text,label\n")
    with held_elsewhere(labels.parent, record_owner=False):
        refused = one_line_error(bench, "label", "import", filled, "--out", out, "--labels", labels)
    return refused and "in use by another claims process" in bench.last_stderr


def lock_files_deleted(bench, root: Path) -> bool:
    out = root / "deleted-lock"
    with held_elsewhere(out, command="claims run"):
        for path in out.iterdir():
            path.unlink()
        try:
            with outputs.locked(out):
                return False
        except OutputFolderError:
            return True


def table_edited_in_place(bench, root: Path) -> bool:
    out = root / "edited"
    bench.run(bench.good_folder("edited-in"), out)
    path = out / "claims.csv"
    data, info = path.read_bytes(), path.stat()
    with open(path, "r+b") as handle:
        handle.write(data.replace(b"True", b"Fals", 1) if b"True" in data else data[:-3] + b"x\r\n")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    return one_line_error(bench, "report", "--out", out)


def escapes_in_a_file_name(bench, root: Path) -> bool:
    folder = root / "escapes"
    folder.mkdir()
    (folder / "page\x1b]0;owned\x07.txt").write_text("Is it permanent? \x1b[2J\n\nNo\n\nIt wears off in 3 months.\n")
    bench.cli("segment", "--input", folder, "--out", root / "escapes-out")
    return "\x1b" not in bench.last_stderr


def open_trust_store(bench, root: Path) -> bool:
    folder = root / "open-store"
    folder.mkdir()
    os.chmod(folder, 0o777)
    out = root / "store-run"
    bench.run(bench.good_folder("store-in"), out)
    before = os.environ.get(trust.STORE_ENV)
    os.environ[trust.STORE_ENV] = str(folder / "trusted_models.json")
    try:
        return one_line_error(bench, "classify", "--out", out, "--models", bench.models, "--force") and \
            "writable by anyone" in bench.last_stderr
    finally:
        if before is None:
            del os.environ[trust.STORE_ENV]
        else:
            os.environ[trust.STORE_ENV] = before


def damaged_model_records(bench, root: Path) -> list[bool]:
    held = []
    out = root / "damaged-run"
    bench.run(bench.good_folder("damaged-in"), out)
    for damage in ("{", "[]"):
        for name in ("current.json", "stance-0001.card.json"):
            models = root / f"damaged-{len(held)}"
            shutil.copytree(bench.models, models)
            (models / name).write_text(damage)
            held.append(one_line_error(bench, "classify", "--out", out, "--models", models, "--force"))
    return held


def damaged_labels(bench, root: Path) -> list[bool]:
    held = []
    header = b"thread_id,level,answer_id,text,label,annotator,labelled_at,source\n"
    for row in (b"t,sentence,t:1,Caf\xe9,favor,me,2026,hand\n", b't,sentence,t:1,"never closed,favor,me,2026,hand\n'):
        labels = root / f"labels-{len(held)}.csv"
        labels.write_bytes(header + row)
        held.append(one_line_error(bench, "train", "--input", bench.threads, "--out", root / "t", "--labels", labels,
                                   "--models", root / "unused-models"))
    return held


def run_without_training_input(bench, root: Path) -> bool:
    return bench.cli("run", "--input", bench.good_folder("no-train-in"), "--out", root / "no-train-out", "--models",
                     bench.models, "--train-input", root / "gone", "--labels", root / "gone.csv") == 0


def killed_import_leftovers(bench, root: Path) -> bool:
    labels = root / "leftover" / "stance_labels.csv"
    labels.parent.mkdir()
    labels.write_text("thread_id,level,answer_id,text,label,annotator,labelled_at,source\n")
    leftover = labels.parent / ".stance_labels.csv.abc.tmp"
    leftover.write_text("half")
    old = time.time() - 7200
    os.utime(leftover, (old, old))
    filled = root / "filled-leftover.csv"
    filled.write_text("level,claim_id,answer_id,text,label\n")
    bench.cli("label", "import", filled, "--out", root / "labels-run", "--labels", labels)
    return not leftover.exists()


def conditions(bench) -> None:
    root = bench.root / "conditions"
    root.mkdir()
    results: dict[str, list] = {}
    for check in (model_swapped_for_a_pipe, markup_in_a_thread_id, dask_http, planted_temporary_link,
                  reader_during_a_switch, labels_imported_twice_at_once, lock_files_deleted, table_edited_in_place,
                  escapes_in_a_file_name, open_trust_store, damaged_model_records, damaged_labels,
                  run_without_training_input, killed_import_leftovers):
        try:
            held = check(bench, root)
        except Exception as err:  # noqa: BLE001 - a condition that crashed the tool did not hold
            print(f"  {check.__name__}: {type(err).__name__}: {err}")
            held = False
        results[check.__name__] = held if isinstance(held, list) else [held]
    tried = [h for hs in results.values() for h in hs if h is not None]
    print(f"\nHostile conditions that are no input file (issue 20): {len(tried)} tried, {sum(tried)} held, "
          f"{len(tried) - sum(tried)} failed")
    for name, held in results.items():
        shown = "skipped (optional extra missing)" if held == [None] else \
            ("held" if all(held) else f"FAILED {held.count(False)} of {len(held)}")
        print(f"  {name.replace('_', ' ')}: {shown}")
