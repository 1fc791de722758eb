"""Hostile input, kill points and concurrent runs, measured (issue 13).

    python bench/hostile.py                 # everything, about 10 minutes on 2 cores
    python bench/hostile.py --mutations 20  # fewer random files per format

Prints, in one run:
- per format, the hostile cases of tests/hostile_cases.py and random
  mutations of a good file: how many were named in errors.csv, how many were
  read, and how many stopped a run (an exit code of 2, a traceback, or a good
  thread lost beside them; target 0);
- kill points during the merge of `claims run` (an interrupt before and
  after every rename) and during `claims train` (an interrupt at every file
  written), and real SIGKILLs of a `claims run` at spread-out moments: after
  each, whether the folder reads as one whole set of tables (or the models
  folder loads its current model) and whether the next run completes;
- two `claims run` started at once on one --out, several times: identical
  tables or a clear refusal;
- the hostile conditions of issue 20 that are no input file (bench/hostile_conditions.py): a model swapped for a
  pipe, markup in a thread id, the Dask cluster's HTTP, planted temporary links, a reader during a switch, two
  label imports, a deleted lock, a table edited in place, escape sequences, an open trust store, damaged records
  and labels, a run without training input, a killed import's leftovers: each held or failed (target: 0 failed).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_cases import CASES, FORMATS, GOOD_FILES, GOOD_THREADS, SNIPPETS, make_all  # noqa: E402
from hostile_conditions import conditions  # noqa: E402

from pipeline.io import outputs
from pipeline.learning import registry
from pipeline.runner import commands

from pipeline.faces.cli import main  # noqa: E402
from pipeline.config import DEFAULT_SETTINGS  # noqa: E402
from pipeline.measuring.gold import copy_slice  # noqa: E402

TABLES = ("answers.csv", "claims.csv", "summary.csv", "errors.csv")
SUFFIX = {"txt": "g_page.txt", "html": "g_html.html", "jsonl": "g_corpus.jsonl", "csv": "g_corpus.csv"}


class Bench:
    def __init__(self, root: Path):
        self.root = root
        self.gold, self.threads = copy_slice(root / "labels", dev=12, test=4)
        self.models = root / "models"
        code = self.cli("train", "--input", self.threads, "--out", root / "train-out", "--models", self.models,
                        "--gold", self.gold, "--gold-threads", self.threads)
        assert code == 0, "training failed"

    def cli(self, *args) -> int:
        with contextlib.redirect_stderr(io.StringIO()) as stderr:
            code = main([str(a) for a in args])
        self.last_stderr = stderr.getvalue()
        return code

    def run(self, folder: Path, out: Path, *extra) -> int:
        return self.cli("run", "--input", folder, "--out", out, "--models", self.models, "--jobs", "1",
                        "--train-input", self.threads, "--gold", self.gold, "--gold-threads", self.threads, *extra)

    def good_folder(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True)
        for file, text in GOOD_FILES.items():
            (folder / file).write_text(text, encoding="utf-8")
        return folder


def outcome(bench: Bench, folder: Path, out: Path, names: list[str]) -> tuple[str, dict]:
    """'stopped' if the run failed or lost a good thread; else how each named entry was accounted for."""
    import pandas as pd

    code = bench.run(folder, out)
    if code == 2 or "Traceback" in bench.last_stderr or "internal error" in bench.last_stderr:
        return "stopped", {}
    answers = pd.read_csv(out / "answers.csv", dtype=str, keep_default_na=False)
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    if not set(GOOD_THREADS) <= set(answers["thread_id"]):
        return "stopped", {}
    named = {Path(s).name for s in errors["source"]}
    read = {Path(s).name for s in answers["source"]}
    return "ok", {n: "named" if n in named else "read" if n in read else "lost" for n in names}


def mutate(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(0, len(data))
        how = rng.choice(["cut", "flip", "snippet", "noise"])
        if how == "cut":
            data = data[:at]
        elif how == "flip" and at < len(data):
            data[at] ^= rng.randint(1, 255)
        elif how == "snippet":
            data[at:at] = rng.choice(SNIPPETS)
        else:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(data)


def hostile(bench: Bench, mutations: int) -> None:
    print("\nHostile input, per format (each case run beside one good file of every format):")
    print(f"{'format':<7}{'cases':>7}{'named':>7}{'read':>6}{'lost':>6}{'stopped a run':>15}")
    rng = random.Random(0)
    for fmt in FORMATS:
        tally = Counter()
        cases = [c for c in CASES if c[0] == fmt]
        for k, case in enumerate(cases):
            folder = bench.good_folder(f"h-{fmt}-{k}")
            made = make_all(folder, [case])
            result, how = outcome(bench, folder, bench.root / f"h-{fmt}-{k}-out", [c[1] for c in made])
            tally["cases"] += 1
            tally.update(how.values() if result == "ok" else ["stopped"])
        for k in range(mutations):
            folder = bench.good_folder(f"m-{fmt}-{k}")
            name = f"m_{k}{Path(SUFFIX[fmt]).suffix}"
            (folder / name).write_bytes(mutate(GOOD_FILES[SUFFIX[fmt]].encode(), rng))
            result, how = outcome(bench, folder, bench.root / f"m-{fmt}-{k}-out", [name])
            tally["cases"] += 1
            tally.update(how.values() if result == "ok" else ["stopped"])
        print(f"{fmt:<7}{tally['cases']:>7}{tally['named']:>7}{tally['read']:>6}{tally['lost']:>6}"
              f"{tally['stopped']:>15}")


def snapshot(out: Path) -> dict | None:
    try:
        return {name: outputs.read_csv(out / name, "run").to_csv(index=False) for name in TABLES}
    except Exception as err:  # noqa: BLE001 - a refusal counts as inconsistent here
        return {"refused": str(err)}


def merge_kill_points(bench: Bench) -> None:
    a, b = bench.good_folder("k-a"), bench.good_folder("k-b")
    for path in b.iterdir():
        path.write_text(path.read_text(encoding="utf-8").replace("3-4 months", "5 to 6 months"), encoding="utf-8")
    settings = DEFAULT_SETTINGS.replace(chunk_threads=2)

    def run(folder, out):
        with contextlib.redirect_stderr(io.StringIO()):
            return commands.run(folder, out, bench.models, settings, jobs=1)

    run(a, bench.root / "k-old")
    run(b, bench.root / "k-new")
    old, new = snapshot(bench.root / "k-old"), snapshot(bench.root / "k-new")
    real_replace, calls = os.replace, {"n": 0, "at": 0, "when": ""}

    def replace_(src, dst, *args, **kwargs):
        calls["n"] += 1
        if calls["when"] == "before" and calls["n"] == calls["at"]:
            raise KeyboardInterrupt
        real_replace(src, dst, *args, **kwargs)
        if calls["when"] == "after" and calls["n"] == calls["at"]:
            raise KeyboardInterrupt

    tried = consistent = completed = 0
    os.replace = replace_
    try:
        for when in ("before", "after"):
            for at in range(1, 500):
                out = bench.root / f"k-{when}-{at}"
                run(a, out)
                calls.update(n=0, at=at, when=when)
                try:
                    run(b, out)
                except KeyboardInterrupt:
                    tried += 1
                    consistent += snapshot(out) in (old, new)
                    calls["when"] = ""
                    run(b, out)
                    completed += snapshot(out) == new
                    continue
                finally:
                    calls["when"] = ""
                break
    finally:
        os.replace = real_replace
    print(f"\nKill points in `claims run` (an interrupt before or after each rename): {tried} tried, "
          f"{consistent} left one whole set of tables, {completed} completed on the next run")


def training_kill_points(bench: Bench) -> None:
    real_replace, calls = os.replace, {"n": 0, "at": 0}

    def replace_(src, dst, *args, **kwargs):  # every file training writes is written whole, then renamed
        calls["n"] += 1
        if calls["n"] == calls["at"]:
            raise KeyboardInterrupt
        real_replace(src, dst, *args, **kwargs)

    tried = loads = trains = 0
    for at in range(1, 100):
        models = bench.root / f"t-models-{at}"
        shutil.copytree(bench.models, models)
        calls.update(n=0, at=at)
        os.replace = replace_
        try:
            code = bench.cli("train", "--force", "--promote", "--input", bench.threads, "--out",
                             bench.root / f"t-out-{at}", "--models", models, "--gold", bench.gold,
                             "--gold-threads", bench.threads)
        finally:
            os.replace = real_replace
        if code != 130:  # not interrupted: every write point has been tried
            break
        tried += 1
        try:
            registry.load_model(registry.resolve(models))
            registry.cards(models)
            loads += 1
        except Exception as err:  # noqa: BLE001
            print(f"  kill at rename {at}: {err}")
        trains += bench.cli("train", "--force", "--input", bench.threads, "--out", bench.root / f"t-out-{at}",
                            "--models", models, "--gold", bench.gold, "--gold-threads", bench.threads) == 0
    print(f"Kill points in `claims train` (an interrupt before each rename of a file it writes): {tried} tried, "
          f"{loads} left a models folder whose current model loads, {trains} trained again after")


def sigkill_runs(bench: Bench, trials: int) -> None:
    corpus = bench.root / "s-in"
    corpus.mkdir()
    for k in range(300):
        (corpus / f"t{k:03d}.txt").write_text(GOOD_FILES["g_page.txt"].replace("3-4", f"{k % 9 + 1}-{k % 9 + 2}"),
                                              encoding="utf-8")
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(corpus), "--models", str(bench.models),
               "--train-input", str(bench.threads), "--gold", str(bench.gold), "--gold-threads", str(bench.threads),
               "--jobs", "2"]
    reference = bench.root / "s-ref"
    subprocess.run([*command, "--out", str(reference)], check=True, capture_output=True)
    new = snapshot(reference)
    consistent = completed = 0
    for k in range(trials):
        out = bench.root / f"s-{k}"
        process = subprocess.Popen([*command, "--out", str(out)], stderr=subprocess.DEVNULL)
        time.sleep(2 + 10 * k / max(trials - 1, 1))
        process.send_signal(signal.SIGKILL)
        process.wait()
        state = snapshot(out) if (out / "answers.csv").exists() or (out / outputs.MANIFEST).exists() else None
        consistent += state is None or state == new
        subprocess.run([*command, "--out", str(out)], capture_output=True)
        completed += snapshot(out) == new
    print(f"SIGKILL of `claims run --jobs 2` on 300 threads at {trials} moments from 2 s to 12 s: {consistent} left "
          f"no tables or one whole set, {completed} completed on the next run")


def concurrent(bench: Bench, trials: int) -> None:
    folder = bench.good_folder("c-in")
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(folder), "--models", str(bench.models),
               "--train-input", str(bench.threads), "--gold", str(bench.gold), "--gold-threads", str(bench.threads),
               "--jobs", "1"]
    reference = bench.root / "c-ref"
    subprocess.run([*command, "--out", str(reference)], capture_output=True)
    outcomes = Counter()
    for k in range(trials):
        out = bench.root / f"c-{k}"
        both = [subprocess.Popen([*command, "--out", str(out)], stderr=subprocess.PIPE, text=True) for _ in range(2)]
        codes = [(p.wait(), p.stderr.read()) for p in both]
        refused = sum(code == 2 and "in use by another claims process" in err for code, err in codes)
        same = all((out / t).read_bytes() == (reference / t).read_bytes() for t in TABLES)
        outcomes["one refused, tables identical" if refused == 1 and same else
                 "both ran, tables identical" if refused == 0 and same else "other"] += 1
    print(f"Two `claims run` at once on one --out, {trials} times: " + ", ".join(f"{n} {what}"
                                                                                for what, n in outcomes.items()))


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=50, help="random mutated files per format")
    parser.add_argument("--kills", type=int, default=6, help="SIGKILLs of a run")
    parser.add_argument("--concurrent", type=int, default=5, help="pairs of runs started at once")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hostile-bench-"))
    os.environ.setdefault("CLAIMS_TRUST_STORE", str(root / "trusted_models.json"))
    try:
        bench = Bench(root)
        hostile(bench, args.mutations)
        merge_kill_points(bench)
        training_kill_points(bench)
        sigkill_runs(bench, args.kills)
        concurrent(bench, args.concurrent)
        conditions(bench)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main_()
