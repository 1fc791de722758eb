"""Agreement between two readers of the same corpus threads (the gold files and a second reader's).

    python bench/agreement.py data/raw/labels/second_reader

Each thread the second reader annotated is scored as if the second reader were
a system and the first reader's gold the truth (pipeline/measuring/accuracy.py: exact
segmentation, answer text, claims per (sentence, type), durations, flags), and
stance is compared on the answers and claims both readers marked alike, with
Cohen's kappa.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

from pipeline import config
from pipeline.measuring import accuracy
from pipeline.measuring import gold


def stance_pairs(first: gold.GoldThread, second: gold.GoldThread) -> tuple[list, list]:
    """(answer pairs, claim pairs) of (first reader's stance, second reader's, what) on shared items."""
    bodies = {seg.body_span: seg.stance for seg in second.answers}
    answers = [(seg.stance or "none", bodies[seg.body_span] or "none", f"answer {seg.position}")
               for seg in first.answers if seg.body_span in bodies]
    predicted = accuracy.gold_as_prediction(second).claims
    claims = []
    for claim_type in gold.CLAIM_TYPES:
        matched, _, _ = accuracy.match_claims(first.claims, predicted, claim_type)
        claims += [(g.stance or "none", row["stance"] or "none", f"{claim_type} claim '{g.text[:70]}'")
                   for g, row in matched]
    return answers, claims


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("second", type=Path, help="folder of the second reader's gold files")
    args = parser.parse_args(argv)
    split = gold.read_split()
    firsts, scores, answer_pairs, claim_pairs, stance_differences = [], [], [], [], []
    for path in sorted(args.second.glob("*.json")):
        second = gold.load_gold(path, split=split)
        first = gold.load_gold(config.GOLD_DIR / path.name, split=split)
        firsts.append(first)
        scores.append(accuracy.score_thread(first, accuracy.gold_as_prediction(second)))
        answers, claims = stance_pairs(first, second)
        answer_pairs += [pair[:2] for pair in answers]
        claim_pairs += [pair[:2] for pair in claims]
        stance_differences += [f"{first.thread_id}: stance: {what}: first {a}, second {b}"
                               for a, b, what in answers + claims if a != b]
    figures = accuracy.summarise(scores)
    for name, pairs in (("answer", answer_pairs), ("claim", claim_pairs)):
        figures[f"{name} stance agreement (n={len(pairs)})"] = (
            sum(a == b for a, b in pairs) / len(pairs) if pairs else None)
        figures[f"{name} stance Cohen's kappa"] = cohen_kappa_score(*zip(*pairs)) if len(pairs) > 1 else None
    print(accuracy.figures_table({"second vs first reader": figures}))
    print("\n".join(accuracy.error_lines(scores) + stance_differences))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
