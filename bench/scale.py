"""Throughput and memory of the whole pipeline on a synthetic corpus.

    python bench/scale.py                      # speed on 10,000 threads, peak RSS at 10,000 and 100,000
    python bench/scale.py --threads 1000 --rss 1000 10000   # quicker

Prints, in one run: threads/s and words/s of `claims run` at --jobs 1 and 2;
a spaCy blank-English tokenizer pass over the same texts, and the ratio of the
pipeline's speed to it; peak resident memory of a one-process run at each
--rss size (each in a fresh process) and the ratio of the largest to the
smallest. The corpus comes from bench/synthetic.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_corpus  # noqa: E402

from pipeline import config, registry, stages  # noqa: E402
from pipeline.readers import ThreadSource, iter_threads  # noqa: E402

CHILD = """
import json, resource, sys, time
from pathlib import Path
from pipeline import stages
start = time.perf_counter()
stages.run_pipeline(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), jobs=1, force=True)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def timed_run(corpus: Path, out: Path, models: Path, jobs: int) -> float:
    start = time.perf_counter()
    stages.run_pipeline(corpus, out, models, jobs=jobs, force=True)
    return time.perf_counter() - start


def tokenizer_seconds(corpus: Path) -> float:
    import spacy

    texts = [t.text for t in iter_threads(corpus) if isinstance(t, ThreadSource)]
    tokenizer = spacy.blank("en").tokenizer
    start = time.perf_counter()
    for _ in tokenizer.pipe(texts, batch_size=256):
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=10_000, help="corpus size for the speed figures")
    parser.add_argument("--rss", type=int, nargs="*", default=[10_000, 100_000], help="corpus sizes for peak RSS")
    parser.add_argument("--models", type=Path, default=None, help="models folder (default: train one in a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        models = args.models
        if models is None or registry.current_version(models) is None:
            models = tmp / "models"
            stages.run_train(config.RAW_DIR, config.LABELS_FILE, models, tmp / "train", frozen_path=config.FROZEN_EVAL_FILE)
        corpus = tmp / "speed.jsonl"
        threads, words = write_corpus(corpus, args.threads)
        print(f"\ncorpus: {threads:,} threads, {words:,} words (JSON Lines)\n")
        tok = tokenizer_seconds(corpus)
        rows = [("spaCy blank-English tokenizer only", tok)]
        for jobs in (1, 2):
            rows.append((f"claims run --jobs {jobs}", timed_run(corpus, tmp / f"out{jobs}", models, jobs)))
        print(f"{'what':<36} {'seconds':>8} {'threads/s':>10} {'words/s':>10} {'vs tokenizer':>13}")
        for name, seconds in rows:
            print(f"{name:<36} {seconds:>8.2f} {threads / seconds:>10,.1f} {words / seconds:>10,.0f} "
                  f"{tok / seconds:>13.3f}")
        one, two = rows[1][1], rows[2][1]
        print(f"\n--jobs 2 is {one / two:.2f} times as fast as --jobs 1; "
              f"outputs identical: {all((tmp / 'out1' / f).read_bytes() == (tmp / 'out2' / f).read_bytes() for f in ('answers.csv', 'claims.csv', 'summary.csv'))}")
        peaks = {}
        for size in args.rss:
            rss_corpus = tmp / f"rss{size}.jsonl"
            write_corpus(rss_corpus, size, seed=1)
            result = subprocess.run([sys.executable, "-c", CHILD, str(rss_corpus), str(tmp / f"rss_out{size}"),
                                     str(models)], capture_output=True, text=True, check=True)
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            peaks[size] = figures["peak_rss_mib"]
            print(f"peak RSS, one process, {size:>7,} threads: {figures['peak_rss_mib']:8.1f} MiB "
                  f"({figures['seconds']:.0f} s, {size / figures['seconds']:.0f} threads/s)")
            rss_corpus.unlink()
        if len(peaks) > 1:
            small, large = min(peaks), max(peaks)
            print(f"peak RSS at {large:,} threads is {peaks[large] / peaks[small]:.2f} times that at {small:,}")


if __name__ == "__main__":
    main()
