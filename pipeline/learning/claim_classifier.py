"""Learn claim detection from the annotated corpus: per sentence and claim type, a classifier with the rules as features.

The rules (claim_detector's cues and their contexts) decide well where a cue
names the claim; they miss wordings no cue lists and claim where a cue word is
used otherwise. Here each candidate sentence (one holding any cue, or a duration
figure) is described by what the rules say of it (per type: whether they claim
it, which cues of which types it holds, whether it has a figure), its lemmas
(word unigrams and bigrams, spacy-lookups-data's lookup table) and its
characters (3- to 5-grams within words), and one logistic regression per type
decides, at a threshold per type chosen by cross-validation grouped by thread on
the development part (never the test part). A sentence is featurised once,
whatever the number of types.

Training reads the gold's own question and answers, not a segmenter's, so what
is learned is claim detection, not segmentation errors. The model is package
data (resources/claim_classifier.joblib with its card), rebuilt by
`python -m pipeline.learning.claim_classifier`; the component loads it only if
its sha256 matches its card and the installed scikit-learn wrote it.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from pipeline import config
from pipeline.components.claim_model import ClaimClassifier, candidate_record, card_file
from pipeline.measuring.accuracy import MIN_OVERLAP, span_overlap  # a candidate is a gold claim as scored
from pipeline.schemas import CLAIM_TYPES

THRESHOLD_GRID = tuple(round(t, 3) for t in np.arange(0.2, 0.901, 0.025))


@dataclass
class Examples:
    """Candidate sentences of gold threads: their records, gold types (0/1 per type) and thread ids."""

    records: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    threads: list = field(default_factory=list)
    rules: list = field(default_factory=list)  # per record, 0/1 per type: what the rules alone claim

    @property
    def Y(self) -> np.ndarray:
        return np.array(self.labels, dtype=int).reshape(-1, len(CLAIM_TYPES))

    @property
    def rule_Y(self) -> np.ndarray:
        return np.array(self.rules, dtype=int).reshape(-1, len(CLAIM_TYPES))


def _gold_answers(thread) -> pd.DataFrame:
    """The gold's question and answers as answers.csv rows (only what extract reads)."""
    rows = []
    for seg in thread.segments:
        body = seg.body_span or (0, 0)
        title = seg.title_span
        rows.append({"thread_id": thread.thread_id, "answer_id": f"{thread.thread_id}:{seg.position}",
                     "role": "question" if seg.position == 0 else "answer", "source_line": pd.NA,
                     "title": thread.text[title[0]:title[1]] if title else None,
                     "title_start": title[0] if title else body[0], "text": thread.text[body[0]:body[1]],
                     "char_start": body[0]})
    return pd.DataFrame(rows)


def examples(threads, nlp=None) -> Examples:
    """Every candidate sentence of the threads' gold question and answers, labelled from the gold claims."""
    from pipeline.components import build_nlp
    from pipeline.stages.extract import documents

    nlp = nlp or build_nlp()
    detector = nlp.get_pipe("claim_detector")
    before = nlp.pipe_names[:nlp.pipe_names.index("claim_detector")]
    found = Examples()
    for thread in threads:
        gold = {t: [(g.start, g.end) for g in thread.claims if t in g.types] for t in CLAIM_TYPES}
        for text, (_, pieces) in documents(_gold_answers(thread), 10 ** 9):
            doc = nlp.make_doc(text)
            for name in before:
                doc = nlp.get_pipe(name)(doc)
            starts = [p.doc_start for p in pieces]
            for candidate in detector.candidates(doc, figures=True):
                k = int(np.searchsorted(starts, candidate.sentence.start_char, side="right")) - 1
                shift = pieces[k].thread_start - pieces[k].doc_start
                span = (candidate.sentence.start_char + shift, candidate.sentence.end_char + shift)
                found.records.append(candidate_record(candidate))
                found.labels.append([int(any(span_overlap(span, g) >= MIN_OVERLAP for g in gold[t])) for t in CLAIM_TYPES])
                found.rules.append([int(t in candidate.by_type) for t in CLAIM_TYPES])
                found.threads.append(thread.thread_id)
    return found


def out_of_fold(data: Examples, folds: int = 5, **params) -> np.ndarray:
    """Probabilities for every example from a model that did not see its thread (folds grouped by thread)."""
    probabilities = np.zeros(data.Y.shape)
    for train, test in GroupKFold(n_splits=folds).split(data.records, groups=data.threads):
        model = ClaimClassifier(**params).fit([data.records[i] for i in train], data.Y[train])
        probabilities[test] = model.predict_proba([data.records[i] for i in test])
    return probabilities


def prf(y: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    tp = int((y & predicted).sum())
    fp, fn = int(((1 - y) & predicted).sum()), int((y & (1 - predicted)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def choose_thresholds(Y: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Per type, the threshold on out-of-fold probabilities with the best F1 (the lowest of ties)."""
    chosen = {}
    for k, claim_type in enumerate(CLAIM_TYPES):
        scores = [(prf(Y[:, k], (probabilities[:, k] >= t).astype(int))[2], -t) for t in THRESHOLD_GRID]
        chosen[claim_type] = float(-max(scores)[1])
    return chosen


def cross_validated_figures(data: Examples, probabilities: np.ndarray, thresholds: dict) -> dict:
    """Precision, recall and F1 per type and overall, of the classifier (out of fold) and the rules alone, on the
    candidate sentences (a gold claim in no candidate sentence is missed by both and not counted here)."""
    predicted = np.column_stack([(probabilities[:, k] >= thresholds[t]).astype(int)
                                 for k, t in enumerate(CLAIM_TYPES)])
    figures = {}
    for name, chosen in (("learned", predicted), ("rules", data.rule_Y)):
        for k, claim_type in enumerate(CLAIM_TYPES):
            figures[f"{name} {claim_type}"] = prf(data.Y[:, k], chosen[:, k])
        figures[f"{name} all"] = prf(data.Y.ravel(), chosen.ravel())
    return figures


def train(threads=None, folds: int = 5) -> tuple[ClaimClassifier, dict]:
    """The classifier trained on the development part's candidates, thresholds from grouped CV there; and its card
    (thresholds, cross-validated figures beside the rules', counts)."""
    from pipeline.measuring.gold import load_corpus_gold

    dev = [t for t in (threads if threads is not None else load_corpus_gold()) if t.part == "dev"]
    data = examples(dev)
    probabilities = out_of_fold(data, folds)
    thresholds = choose_thresholds(data.Y, probabilities)
    model = ClaimClassifier(thresholds=thresholds).fit(data.records, data.Y)
    figures = cross_validated_figures(data, probabilities, thresholds)
    card = {"trained_on": f"{len(dev)} development threads of the annotated corpus (never the test part)",
            "candidates": len(data.records), "positives": dict(zip(CLAIM_TYPES, data.Y.sum(axis=0).tolist())),
            "thresholds": thresholds, "C": model.C, "cv_folds": folds,
            "cross_validated": {name: [round(v, 4) for v in values] for name, values in figures.items()}}
    return model, card


def model_bytes(model: ClaimClassifier) -> bytes:
    """The model as joblib bytes, the same for the same fitted model in any process."""
    import joblib

    from pipeline.learning.registry import _intern_strings

    for vectorizer in (model.words_, model.chars_):
        if vectorizer is not None and hasattr(vectorizer, "_stop_words_id"):  # an id() cache: differs per process, so the bytes would too
            del vectorizer._stop_words_id
    _intern_strings(model, {})
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def write_model(path: Path = config.CLAIM_CLASSIFIER_FILE, threads=None) -> tuple[Path, dict]:
    """Train on the development part and write the model and its card (sha256, versions, thresholds, figures)."""
    from pipeline.io.files import atomic_write_bytes, sha256_bytes
    from pipeline.learning.registry import library_versions

    model, card = train(threads)
    data = model_bytes(model)
    card = {**card, "model_file": Path(path).name, "model_sha256": sha256_bytes(data), "versions": library_versions()}
    atomic_write_bytes(Path(path), data)
    atomic_write_bytes(card_file(path), (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return Path(path), card


def main(argv: list[str] | None = None) -> int:
    """`python -m pipeline.learning.claim_classifier [PATH]`: train and write the learned claim detector (default:
    the package's), and print its cross-validated figures beside the rules'."""
    import sys

    args = argv if argv is not None else sys.argv[1:]
    path, card = write_model(Path(args[0]) if args else config.CLAIM_CLASSIFIER_FILE)
    print(f"wrote {path} ({path.stat().st_size:,} bytes): {card['trained_on']}, {card['candidates']} candidate "
          f"sentences; thresholds {card['thresholds']}")
    print(f"{'dev, grouped CV':<28}{'precision':>10}{'recall':>10}{'F1':>10}")
    for name, (p, r, f) in card["cross_validated"].items():
        print(f"{name:<28}{p:>10.3f}{r:>10.3f}{f:>10.3f}")
    return 0


if __name__ == "__main__":  # through the package's module, so the pickle names it, not __main__
    from pipeline.learning import claim_classifier

    raise SystemExit(claim_classifier.main())
