"""Accuracy of segmentation and claim extraction on the hand-annotated real threads.

    python bench/accuracy.py                 # every gold thread: dev and test, the pipeline (learned claim
                                             # detector) beside the rules alone and the keyword baseline,
                                             # overall, by layout class and by site (data/raw/corpus/SOURCES.csv)
    python bench/accuracy.py --errors        # and the pipeline's errors on the DEV part, to tune on
    python bench/accuracy.py --limit 3       # the first 3 threads of each part (a quick check)
    python bench/accuracy.py --segmenter learned   # the pipeline with the learned segmenter
    python bench/accuracy.py --curve PNG     # learning curves: the learned segmenter and claim detector trained on
                                             # 25, 50, 75 and 100% of the dev threads, scored on the test part;
                                             # tables, and figure to PNG

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


CURVE_SHARES = (0.25, 0.5, 0.75, 1.0)
CURVE_FIGURES = ("segmented exactly", "answers with the right text", "questions with the right text")
CLAIM_CURVE_FIGURES = ("precision", "recall", "F1")


def learning_curve(threads: list, png: Path) -> str:
    """Test-part figures of the learned components trained on growing shares of the development threads (nested
    slices in sha256 order of their ids, each share holding the smaller ones), beside the rules; figure to `png`.
    The segmenter is scored on whole pages; the claim detector on the candidate sentences of the gold's own
    question and answers (its thresholds chosen by grouped CV within each share). It says whether more annotated
    threads would still pay."""
    import hashlib

    from pipeline.io.figures import png_bytes, pyplot
    from pipeline.learning import claim_classifier, line_segmenter

    dev = sorted((t for t in threads if t.part == "dev"),
                 key=lambda t: hashlib.sha256(t.thread_id.encode()).hexdigest())
    test = [t for t in threads if t.part == "test"]
    examples = line_segmenter.examples(dev)
    if len(examples) < 4 * len(CURVE_SHARES) or not test:
        return f"a learning curve needs at least {4 * len(CURVE_SHARES)} development threads and a test part"
    sizes = [round(share * len(examples)) for share in CURVE_SHARES]
    segmenting, claiming = [], []
    test_claims = claim_classifier.examples(test)
    for share, size in zip(CURVE_SHARES, sizes):
        crf = line_segmenter.fit(examples[:size])
        figures = accuracy.summarise([accuracy.segmentation_score(t, line_segmenter.predict_segments(crf, t.text)) for t in test])
        name = f"{share:.0%} of dev ({size} threads)"
        segmenting.append((name, [figures[f] for f in CURVE_FIGURES]))
        train = claim_classifier.examples(dev[:size])
        thresholds = claim_classifier.choose_thresholds(train.Y, claim_classifier.out_of_fold(train))
        model = claim_classifier.ClaimClassifier(thresholds=thresholds).fit(train.records, train.Y)
        claiming.append((name, claim_classifier.prf(test_claims.Y.ravel(), model.predict(test_claims.records).ravel())))
    segmenting.append(("rules", [accuracy.summarise([accuracy.segmentation_score(t, accuracy.rule_segments(t.text))
                                                     for t in test])[f] for f in CURVE_FIGURES]))
    claiming.append(("rules", claim_classifier.prf(test_claims.Y.ravel(), test_claims.rule_Y.ravel())))
    width = max(len(name) for name, _ in segmenting) + 2
    lines = ["learned segmenter on the test part (%d threads), by share of the development threads it learns from"
             % len(test), "".ljust(width) + "".join(f"{f:>32}" for f in CURVE_FIGURES)]
    lines += [name.ljust(width) + "".join(f"{v:>32.3f}" if v is not None else f"{'n/a':>32}" for v in values)
              for name, values in segmenting]
    lines += ["", "learned claim detector on the test part's candidate sentences (%d, of the gold's question and "
              "answers), by share of the development threads it learns from" % len(test_claims.records),
              "".ljust(width) + "".join(f"{f:>12}" for f in CLAIM_CURVE_FIGURES)]
    lines += [name.ljust(width) + "".join(f"{v:>12.3f}" for v in values) for name, values in claiming]
    plt = pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for axes, rows, names, title in ((left, segmenting, CURVE_FIGURES, "Segmentation"),
                                     (right, claiming, CLAIM_CURVE_FIGURES, "Claim detection (candidates)")):
        for k, name in enumerate(names):
            line, = axes.plot(sizes, [values[k] for _, values in rows[:-1]], marker="o", label=name)
            axes.axhline(rows[-1][1][k], color=line.get_color(), linestyle=":", linewidth=1)
        axes.set_xlabel("development threads learnt from")
        axes.set_ylabel("test part")
        axes.set_ylim(0, 1)
        axes.set_title(f"{title} (dotted: the rules)", fontsize=10)
        axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    Path(png).write_bytes(png_bytes(figure))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", type=Path, default=config.GOLD_DIR, help="folder of gold files")
    parser.add_argument("--corpus", type=Path, default=config.CORPUS_DIR, help="folder of the threads")
    parser.add_argument("--split", type=Path, default=config.CORPUS_SPLIT_FILE, help="thread_id,part file")
    parser.add_argument("--sources", type=Path, default=config.CORPUS_SOURCES_FILE,
                        help="file,address,site_kind,seed_site,added rows: figures by layout class and site")
    parser.add_argument("--segmenter", choices=("combined", "learned", "rules"), default=config.DEFAULT_SETTINGS.segment.segmenter,
                        help="the segmenter the pipeline runs with (the baseline is unchanged)")
    parser.add_argument("--claim-detector", choices=("learned", "rules"),
                        default=config.DEFAULT_SETTINGS.extract.claim_detector,
                        help="how the pipeline decides claims (the learned detector's dev figures are in-sample: it "
                             "was trained there; its grouped-CV dev figures come from 'python -m "
                             "pipeline.learning.claim_classifier')")
    parser.add_argument("--curve", type=Path, metavar="PNG",
                        help="print the learning curve of the learned segmenter and save its figure there")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N threads of each part")
    parser.add_argument("--errors", action="store_true", help="print the pipeline's errors on the dev part")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.curve:
        if args.limit is not None or args.errors:
            parser.error("--curve trains on the whole development part: it takes no --limit or --errors")
        print(learning_curve(gold.load_corpus_gold(args.gold, args.corpus, args.split), args.curve))
        print(f"({time.perf_counter() - started:.1f} s)")
        return 0
    threads = gold.load_corpus_gold(args.gold, args.corpus, args.split)
    if args.limit is not None:
        threads = [t for part in gold.PARTS for t in [t for t in threads if t.part == part][: args.limit]]
    if not threads:
        print(f"no gold files in {args.gold}", file=sys.stderr)
        return 2
    # the corpus folder read the way `claims run` reads it; the gold threads' rows are scored
    settings = config.DEFAULT_SETTINGS.replace(segmenter=args.segmenter, claim_detector=args.claim_detector)
    tables = execute(["segment", "extract"], Source(threads=args.corpus), MemorySink(), settings).artifacts
    others = {}
    if args.claim_detector == "learned":  # today's rules beside the learned detector, run the same way
        others["rules"] = execute(["segment", "extract"], Source(threads=args.corpus), MemorySink(),
                                  settings.replace(claim_detector="rules")).artifacts
    columns, scores = accuracy.evaluate_corpus(threads, tables, others)
    if args.errors:
        dev = [s for s in scores["pipeline"] if s.part == "dev"]
        print("\n".join(accuracy.error_lines(dev)))
        print()
    print(accuracy.figures_table(columns))
    if args.sources.exists():
        sources = gold.read_sources(args.sources)
        layout = {thread_id: source.layout for thread_id, source in sources.items()}
        site = {thread_id: "seed site" if source.seed_site else "other sites" for thread_id, source in sources.items()}
        print(f"\nby layout class ({' / '.join(scores)}):")
        print(accuracy.grouped_table(scores, layout.get, gold.LAYOUT_CLASSES))
        print(f"\nby site ({' / '.join(scores)}):")
        print(accuracy.grouped_table(scores, site.get, ("seed site", "other sites")))
    print(f"({len(threads)} threads scored in {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
