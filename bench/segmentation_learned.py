"""Segmentation learned as line labelling (a CRF over lines, the rules as features) beside the rules, one run.

    python bench/segmentation_learned.py              # dev (5-fold CV grouped by thread) and test, overall and by site
    python bench/segmentation_learned.py --by-class   # and by layout class
    python bench/segmentation_learned.py --dev-only   # the development part only: what tuning may look at

The CRF is chosen and tuned on the development part's cross-validation only; it is fitted on the whole
development part and then scored once on the test part. Figures are those of pipeline/measuring/accuracy.py.
"""

from __future__ import annotations

import argparse
import time

from pipeline.learning import line_segmenter
from pipeline.measuring import accuracy, gold

FIGURES = ("segmented exactly", "answers with the right text", "questions with the right text",
           "boilerplate leaks (count)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--by-class", action="store_true", help="also print the figures by layout class")
    parser.add_argument("--dev-only", action="store_true", help="score the development part only (for tuning)")
    parser.add_argument("--c1", type=float, default=0.0)
    parser.add_argument("--c2", type=float, default=1.0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    threads = [t for t in gold.load_corpus_gold() if not args.dev_only or t.part == "dev"]
    dev = line_segmenter.examples([t for t in threads if t.part == "dev"])
    test = line_segmenter.examples([t for t in threads if t.part == "test"])
    params = {"c1": args.c1, "c2": args.c2}
    out_of_fold = line_segmenter.cross_validate(dev, **params)
    crf = line_segmenter.fit(dev, **params)
    learned = {**out_of_fold, **{e.thread.thread_id: line_segmenter.predict_segments(crf, e.thread.text) for e in test}}
    scores = {"CRF": [], "rules": []}
    for thread in threads:
        scores["CRF"].append(accuracy.segmentation_score(thread, learned[thread.thread_id]))
        scores["rules"].append(accuracy.segmentation_score(thread, accuracy.rule_segments(thread.text)))
    columns = {f"{part} {name}": accuracy.summarise([s for s in scores[name] if s.part == part])
               for part in gold.PARTS if any(t.part == part for t in threads) for name in scores}
    print("dev: out-of-fold (5 folds grouped by thread); test: fitted on all of dev\n")
    width = max(map(len, FIGURES)) + 2
    print("".ljust(width) + "".join(f"{c:>14}" for c in columns))
    for figure in ("threads",) + FIGURES:
        cells = [columns[c][figure] for c in columns]
        print(figure.ljust(width) + "".join(f"{v:>14.3f}" if isinstance(v, float) else f"{v!s:>14}" for v in cells))
    sources = gold.read_sources()
    site = {t: "seed site" if s.seed_site else "other sites" for t, s in sources.items()}
    print("\nby site (CRF / rules):")
    print(accuracy.grouped_table(scores, site.get, ("seed site", "other sites")))
    if args.by_class:
        layout = {t: s.layout for t, s in sources.items()}
        print("\nby layout class (CRF / rules):")
        print(accuracy.grouped_table(scores, layout.get, gold.LAYOUT_CLASSES))
    print(f"\n({len(threads)} threads in {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
