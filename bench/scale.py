"""Throughput and memory of the whole pipeline on a synthetic corpus.

    python bench/scale.py                      # speed on 10,000 threads, peak RSS at 10,000 and 100,000
    python bench/scale.py --threads 1000 --rss 1000 10000   # quicker

Prints, in one run: threads/s and words/s of `claims run` at --jobs 1 and 2;
the time per stage of one process (extract also with the rules alone deciding
claims, beside the learned claim detector a run uses);
a spaCy blank-English tokenizer pass over the same texts, and the ratio of the
pipeline's speed to it; peak resident memory of a one-process run at each
--rss size (each in a fresh process) and the ratio of the largest to the
smallest. The corpus comes from bench/synthetic.py: by default the annotated
corpus's questions and answers with every sentence varied (numbers, products,
synonyms, names, an opener, a filler word, clause order), so that about as few
sentences repeat as in the corpus itself (97% distinct over 2,000 threads,
against 98.6% in the corpus); nothing may be cached by text across threads.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_corpus, write_varied_corpus  # noqa: E402

from pipeline import config  # noqa: E402
from pipeline.io.readers import iter_threads  # noqa: E402
from pipeline.learning import registry  # noqa: E402
from pipeline.runner import commands  # noqa: E402
from pipeline.runner.chunked import fewer_collections  # noqa: E402
from pipeline.threads import ThreadSource  # noqa: E402

# Peak RSS is read from /proc/self/status (VmHWM, this process image only). ru_maxrss is no good in a
# child: on Linux it keeps the high-water mark of the parent it was forked from, across exec.
CHILD = """
import json, re, resource, sys, time
from pathlib import Path
from pipeline.runner import commands
start = time.perf_counter()
commands.run(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), jobs=1, force=True)
try:
    peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024
except OSError:  # not Linux: the parent's memory may be counted too
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": time.perf_counter() - start, "peak_rss_mib": peak}))
"""


def timed_run(corpus: Path, out: Path, models: Path, jobs: int) -> float:
    start = time.perf_counter()
    commands.run(corpus, out, models, jobs=jobs, force=True)
    return time.perf_counter() - start


def tokenizer_seconds(corpus: Path) -> float:
    texts = [t.text for t in iter_threads(corpus) if isinstance(t, ThreadSource)]
    tokenizer = spacy_tokenizer()
    start = time.perf_counter()
    for _ in tokenizer.pipe(texts, batch_size=256):
        pass
    return time.perf_counter() - start


RULES_EXTRACT = "(extract, rules deciding: beside)"  # not part of a run: today's rules, timed on the same chunks


def stage_breakdown(corpus: Path, models: Path, n_threads: int) -> list[tuple[str, float]]:
    """Seconds per stage of one process over the first `n_threads` threads, each stage's function timed on each
    chunk as the chunked runner calls it (with its garbage-collector setting), next to a tokenizer pass over the
    same texts."""
    from pipeline.components import build_nlp
    from pipeline.config import DEFAULT_SETTINGS as settings
    from pipeline.io.files import csv_bytes
    from pipeline.schemas import TABLES
    from pipeline.stages.classify import classify_threads
    from pipeline.stages.extract import extract_threads
    from pipeline.stages.segment import segment_threads

    items = [t for t in islice(iter_threads(corpus), n_threads) if isinstance(t, ThreadSource)]
    language, (model, _) = build_nlp(settings.extract), registry.load_model(registry.resolve(models))
    rules_only = build_nlp(settings.replace(claim_detector="rules").extract)  # the same extract, the rules deciding
    for nlp in (language, rules_only):
        nlp(items[0].text)  # build the tokenizer's caches and load the claim model, as a run's first thread does
    seconds: dict[str, float] = {}

    def timed(name: str, work, *args):
        start = time.perf_counter()
        result = work(*args)
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
        return result

    tokenizer, texts = spacy_tokenizer(), [t.text for t in items]
    timed("tokenizer only (same texts)", lambda: list(tokenizer.pipe(texts, batch_size=256)))
    size = settings.run.chunk_threads
    for first in range(0, len(items), size):
        with fewer_collections():  # as the runner runs each chunk
            answers, _ = timed("segment", segment_threads, items[first:first + size], settings.segment)
            timed(RULES_EXTRACT, extract_threads, rules_only, answers, settings.extract)
            answers, claims, _ = timed("extract (spaCy pipeline)", extract_threads, language, answers,
                                       settings.extract)
            answers, claims, summary = timed("classify and summarise", classify_threads, model, answers, claims,
                                             settings.classify)
            timed("write CSV bytes", lambda: [csv_bytes(f.reindex(columns=TABLES[n]), TABLES[n]) for f, n in
                                              ((answers, "answers"), (claims, "claims"), (summary, "summary"))])
    return list(seconds.items())


def spacy_tokenizer():
    import spacy

    return spacy.blank("en").tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=10_000, help="corpus size for the speed figures")
    parser.add_argument("--rss", type=int, nargs="*", default=[10_000, 100_000], help="corpus sizes for peak RSS")
    parser.add_argument("--breakdown", type=int, default=2_000, help="threads for the per-stage breakdown (0: none)")
    parser.add_argument("--corpus", choices=("varied", "recombined"), default="varied",
                        help="'varied' (default): the annotated corpus's questions and answers with every sentence "
                             "varied, so that few repeat (about as few as in the corpus itself); 'recombined': the "
                             "bundled threads recombined, which repeats most sentences")
    parser.add_argument("--models", type=Path, default=config.MODELS_DIR,
                        help="models folder (default: the package's, with the model it ships)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        models = args.models
        if registry.current_version(models) is None:
            models = tmp / "models"
            commands.train(config.RAW_DIR, config.LABELS_FILE, models, tmp / "train")
        corpus = tmp / "speed.jsonl"
        if args.corpus == "varied":
            threads, words, distinct = write_varied_corpus(corpus, args.threads)
            kind = f"varied; {distinct:.1%} of its sentences distinct"
        else:
            (threads, words), kind = write_corpus(corpus, args.threads), "recombined: most sentences repeat"
        print(f"\ncorpus: {threads:,} threads, {words:,} words (JSON Lines, {kind})\n")
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
        if args.breakdown:
            stages_timed = stage_breakdown(corpus, models, args.breakdown)
            tokenizer_pass = stages_timed[0][1]
            print(f"\nwhere one process spends its time, first {args.breakdown:,} threads:")
            print(f"{'stage':<36} {'seconds':>8} {'x tokenizer':>12}")
            for name, seconds in stages_timed:
                print(f"{name:<36} {seconds:>8.2f} {seconds / tokenizer_pass:>12.2f}")
            total = sum(seconds for name, seconds in stages_timed[1:] if name != RULES_EXTRACT)
            print(f"{'all stages':<36} {total:>8.2f} {total / tokenizer_pass:>12.2f}")
        peaks = {}
        for size in args.rss:
            rss_corpus = tmp / f"rss{size}.jsonl"
            (write_varied_corpus if args.corpus == "varied" else write_corpus)(rss_corpus, size, seed=1)
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
