"""Learn segmentation from the annotated corpus: per-line labels derived from the gold, a linear-chain CRF over them.

The labels come from the gold's spans (pipeline.stages.line_labels.LABELS): a line
inside the question's title or body, an answer's title, the first line of an
untitled answer's body, a further body line, or none of them. The CRF
(sklearn-crfsuite) is trained on the development part only; `cross_validate`
scores it with folds grouped by thread, as the stance model is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sklearn.model_selection import GroupKFold

from pipeline import config
from pipeline.measuring.gold import GoldThread, load_corpus_gold
from pipeline.stages import line_labels
from pipeline.stages.line_labels import (ANSWER_BODY, ANSWER_START, ANSWER_TITLE, OUTSIDE, QUESTION_BODY,
                                         QUESTION_TITLE, Line)


def _inside(line: Line, span: tuple[int, int] | None) -> bool:
    return bool(span) and line.start < span[1] and line.end > span[0]


def gold_labels(thread: GoldThread, lines: list[Line]) -> list[str]:
    """Each line's label as the gold reads the page."""
    labels = []
    for line in lines:
        label = OUTSIDE
        for seg in thread.segments:
            question = seg.position == 0
            if _inside(line, seg.title_span):
                label = QUESTION_TITLE if question else ANSWER_TITLE
                break
            if _inside(line, seg.body_span):
                label = QUESTION_BODY if question else (
                    ANSWER_START if not seg.title_span and line.start <= seg.body_span[0] else ANSWER_BODY)
                break
        labels.append(label)
    return labels


@dataclass
class Example:
    thread: GoldThread
    lines: list[Line]
    features: list[dict]
    labels: list[str]


def examples(threads: list[GoldThread]) -> list[Example]:
    """Lines, features and gold labels of each thread."""
    out = []
    for thread in threads:
        lines = line_labels.page_lines(thread.text)
        out.append(Example(thread, lines, line_labels.line_features(thread.text, lines), gold_labels(thread, lines)))
    return out


def build_crf(c1: float = 0.0, c2: float = 1.0, max_iterations: int = 200):
    """A linear-chain CRF (L-BFGS, L2 only: c1 0, c2 1.0 scored best of nine settings in grouped CV on dev), the same
    model for the same data."""
    import sklearn_crfsuite

    return sklearn_crfsuite.CRF(algorithm="lbfgs", c1=c1, c2=c2, max_iterations=max_iterations,
                                all_possible_transitions=True)


def fit(train: list[Example], **params):
    crf = build_crf(**params)
    crf.fit([e.features for e in train], [e.labels for e in train])
    return crf


def predict_segments(crf, text: str):
    """The question and answers of a page, as the trained CRF labels its lines."""
    lines = line_labels.page_lines(text)
    if not lines:
        return []
    labels = crf.predict_single(line_labels.line_features(text, lines))
    return line_labels.decode(text, lines, labels)


def cross_validate(dev: list[Example], folds: int = 5, **params) -> dict[str, list]:
    """Out-of-fold segments for every development thread, folds grouped by thread: thread_id -> segments."""
    out = {}
    groups = [e.thread.thread_id for e in dev]
    for train_index, test_index in GroupKFold(n_splits=folds).split(dev, groups=groups):
        crf = fit([dev[i] for i in train_index], **params)
        for i in test_index:
            example = dev[i]
            labels = crf.predict_single(example.features)
            out[example.thread.thread_id] = line_labels.decode(example.thread.text, example.lines, labels)
    return out


def write_model(path: Path = config.LINE_SEGMENTER_FILE, threads: list[GoldThread] | None = None) -> Path:
    """Train the CRF on the annotated corpus's development part (never the test part) and write it in crfsuite's
    own format (data, not a pickle) to `path`, through a temporary file so a reader never sees half a model."""
    import os

    import pycrfsuite

    threads = [t for t in (threads if threads is not None else load_corpus_gold()) if t.part == "dev"]
    train = examples(threads)
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    crf = build_crf()
    trainer.set_params({"c1": crf.c1, "c2": crf.c2, "max_iterations": crf.max_iterations,
                        "feature.possible_transitions": True})
    for example in train:
        trainer.append(example.features, example.labels)
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    trainer.train(str(partial))
    os.replace(partial, path)
    return path


def main(argv: list[str] | None = None) -> int:
    """`python -m pipeline.learning.line_segmenter [PATH]`: write the learned segmenter (default: the package's)."""
    import sys

    args = argv if argv is not None else sys.argv[1:]
    path = write_model(Path(args[0]) if args else config.LINE_SEGMENTER_FILE)
    print(f"wrote {path} ({path.stat().st_size:,} bytes), trained on the annotated corpus's development part")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
