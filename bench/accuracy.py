"""Accuracy of segmentation and claim extraction on the hand-annotated real threads.

    python bench/accuracy.py                 # every gold thread: dev and test, pipeline beside the baseline,
                                             # overall, by layout class and by site (data/raw/corpus/SOURCES.csv)
    python bench/accuracy.py --errors        # and the pipeline's errors on the DEV part, to tune on
    python bench/accuracy.py --limit 3       # the first 3 threads of each part (a quick check)
    python bench/accuracy.py --segmenter learned   # the pipeline with the learned segmenter

Figures are defined in pipeline/measuring/accuracy.py; gold files in data/raw/labels/gold/
(GUIDELINE.md says how they were written). Errors are printed for the dev part
only: rules are tuned on dev errors, the test part gives the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pipeline import config
from pipeline.measuring import accuracy
from pipeline.measuring import gold
from pipeline.runner.execute import execute
from pipeline.runner.sinks import MemorySink, Source


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", type=Path, default=config.GOLD_DIR, help="folder of gold files")
    parser.add_argument("--corpus", type=Path, default=config.CORPUS_DIR, help="folder of the threads")
    parser.add_argument("--split", type=Path, default=config.CORPUS_SPLIT_FILE, help="thread_id,part file")
    parser.add_argument("--sources", type=Path, default=config.CORPUS_SOURCES_FILE,
                        help="file,address,site_kind,seed_site,added rows: figures by layout class and site")
    parser.add_argument("--segmenter", choices=("rules", "learned"), default=config.DEFAULT_SETTINGS.segment.segmenter,
                        help="the segmenter the pipeline runs with (the baseline is unchanged)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N threads of each part")
    parser.add_argument("--errors", action="store_true", help="print the pipeline's errors on the dev part")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    threads = gold.load_corpus_gold(args.gold, args.corpus, args.split)
    if args.limit is not None:
        threads = [t for part in gold.PARTS for t in [t for t in threads if t.part == part][: args.limit]]
    if not threads:
        print(f"no gold files in {args.gold}", file=sys.stderr)
        return 2
    # the corpus folder read the way `claims run` reads it; the gold threads' rows are scored
    settings = config.DEFAULT_SETTINGS.replace(segmenter=args.segmenter)
    tables = execute(["segment", "extract"], Source(threads=args.corpus), MemorySink(), settings).artifacts
    columns, scores = accuracy.evaluate_corpus(threads, tables)
    if args.errors:
        dev = [s for s in scores["pipeline"] if s.part == "dev"]
        print("\n".join(accuracy.error_lines(dev)))
        print()
    print(accuracy.figures_table(columns))
    if args.sources.exists():
        sources = gold.read_sources(args.sources)
        layout = {thread_id: source.layout for thread_id, source in sources.items()}
        site = {thread_id: "seed site" if source.seed_site else "other sites" for thread_id, source in sources.items()}
        print("\nby layout class (pipeline / baseline):")
        print(accuracy.grouped_table(scores, layout.get, gold.LAYOUT_CLASSES))
        print("\nby site (pipeline / baseline):")
        print(accuracy.grouped_table(scores, site.get, ("seed site", "other sites")))
    print(f"({len(threads)} threads scored in {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
