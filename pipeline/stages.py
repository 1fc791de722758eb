"""The stages as runnable steps: read inputs, call the stage's core function, write outputs.

A stage is skipped when its fingerprint (input files, upstream stage, settings,
code and rule files) matches the stamp it left last time and its outputs still
exist. Running a stage clears the stamps of the stages after it, so they run
again. Stamps live in ``<out>/.stamps/``; a trained model's fingerprint is kept
in its card.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from pipeline import config, dataset, durations, extensions, extract, files, labeling, nlp, readers, segment, stance
from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.files import InputError, read_csv, write_csv

ANSWERS_OUTPUT_COLUMNS = segment.ANSWER_COLUMNS + ["stance", "stance_score"]
ERROR_COLUMNS = ["source", "line", "error"]
DOWNSTREAM = {"segment": ("extract", "classify"), "extract": ("classify",), "classify": ()}
RULE_FILES = {
    "segment": [config.SEGMENT_LEXICON_FILE],
    "extract": [config.CLAIM_CUES_FILE, config.CONTEXT_TERMS_FILE, config.DURATION_LEXICON_FILE],
    "train": [config.LABELING_LEXICON_FILE],
}
CODE = {
    "segment": [config, files, readers, segment],
    "extract": [extensions, nlp, durations, extract],
    "train": [labeling, stance],
    "classify": [stance, dataset],
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class StageResult:
    stage: str
    ran: bool
    key: str
    errors: list[InputError] = field(default_factory=list)


def _digest(paths) -> list[tuple[str, str]]:
    return [(Path(p).name, files.sha256_file(p)) for p in paths]


def _code(stage_names) -> list[tuple[str, str]]:
    modules = {m.__name__: m for name in stage_names for m in CODE[name]}
    return _digest(sorted(Path(m.__file__) for m in modules.values())) + _digest(
        sorted(p for name in stage_names for p in RULE_FILES.get(name, [])))


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Stamps:
    def __init__(self, out: Path):
        self.folder = Path(out) / config.STAMPS_DIR

    def key(self, stage: str) -> str | None:
        path = self.folder / f"{stage}.json"
        return json.loads(path.read_text())["key"] if path.exists() else None

    def record(self, stage: str, key: str) -> None:
        files.atomic_write_bytes(self.folder / f"{stage}.json", json.dumps({"key": key}).encode())
        for later in DOWNSTREAM[stage]:
            (self.folder / f"{later}.json").unlink(missing_ok=True)

    def up_to_date(self, stage: str, key: str, outputs: list[Path]) -> bool:
        return self.key(stage) == key and all(p.exists() for p in outputs)


def _skip_message(stage: str) -> None:
    log(f"{stage}: up to date, skipped (inputs, settings, code and rules unchanged; --force re-runs it)")


def _progress(desc: str, total: int | None = None):
    return lambda iterable: tqdm(iterable, desc=desc, total=total, unit="doc", disable=None, leave=False)


def segment_source(thread: readers.ThreadSource, settings: Settings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """answers.csv rows for one thread: structured formats bring their segments, text is segmented."""
    segments = thread.segments or segment.segment_text(thread.text, thread.source, settings, thread.title_hints)
    return segment.answers_table(thread.thread_id, thread.text, segments, Path(thread.source).name, thread.line)


def run_segment(input_path: Path, out: Path, settings: Settings = DEFAULT_SETTINGS, force: bool = False) -> StageResult:
    paths = readers.discover_threads(input_path)
    key = fingerprint("segment", _digest(paths), _code(["segment"]), settings.as_dict())
    stamps, target = Stamps(out), Path(out) / config.ANSWERS_CSV
    errors_csv = Path(out) / "errors.csv"
    if not force and stamps.up_to_date("segment", key, [target, errors_csv]):
        _skip_message("segment")
        return StageResult("segment", False, key, _read_errors(errors_csv))
    frames, errors = [], []
    for item in tqdm(readers.iter_threads(input_path, settings), desc="segment", unit="thread", disable=None, leave=False):
        try:
            if isinstance(item, InputError):
                raise item
            frames.append(segment_source(item, settings))
        except InputError as err:
            errors.append(err)
            log(f"segment: skipped {err}")
    answers = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=segment.ANSWER_COLUMNS)
    answers["stance"], answers["stance_score"] = None, float("nan")
    write_csv(answers, target, ANSWERS_OUTPUT_COLUMNS)
    _write_errors(out, errors)
    stamps.record("segment", key)
    log(f"segment: {len(frames)} threads, {int((answers['role'] == 'answer').sum())} answers -> {target}")
    return StageResult("segment", True, key, errors)


def _read_errors(path: Path) -> list[InputError]:
    """The errors of the last segment run, so a skipped run still reports what it skipped."""
    frame = pd.read_csv(path, dtype={"source": str, "error": str}, keep_default_na=False)
    return [InputError(r["source"], r["error"], int(r["line"]) if str(r["line"]).strip() else None)
            for r in frame.to_dict("records")]


def _write_errors(out: Path, errors: list[InputError]) -> None:
    rows = [{"source": e.source, "line": e.line, "error": e.problem} for e in errors]
    frame = pd.DataFrame(rows, columns=ERROR_COLUMNS).astype({"line": "Int64"})
    write_csv(frame, Path(out) / "errors.csv", ERROR_COLUMNS)


def _thread_texts(input_path: Path, thread_ids, settings: Settings = DEFAULT_SETTINGS) -> dict[str, str]:
    """The text of each wanted thread, read again from the inputs."""
    wanted = set(thread_ids)
    texts = {item.thread_id: item.text for item in readers.iter_threads(input_path, settings)
             if isinstance(item, readers.ThreadSource) and item.thread_id in wanted}
    missing = sorted(wanted - set(texts))
    if missing:
        raise InputError(input_path, f"threads in answers.csv not found in the input: {missing[:5]}; "
                                     "run 'segment' on the same --input")
    return texts


def run_extract(input_path: Path, out: Path, settings: Settings = DEFAULT_SETTINGS, force: bool = False) -> StageResult:
    stamps, target = Stamps(out), Path(out) / config.CLAIMS_CSV
    upstream = stamps.key("segment")
    if upstream is None:
        raise InputError(Path(out) / config.ANSWERS_CSV, "no record of a segment run here; run 'claims segment' first")
    import spacy

    key = fingerprint("extract", upstream, _code(["extract"]), settings.as_dict(), spacy.__version__)
    if not force and stamps.up_to_date("extract", key, [target]):
        _skip_message("extract")
        return StageResult("extract", False, key)
    answers = read_csv(Path(out) / config.ANSWERS_CSV, "segment")
    claims = extract_from_answers(answers, _thread_texts(input_path, answers["thread_id"], settings), settings)
    write_csv(claims, target, extract.CLAIM_COLUMNS)
    stamps.record("extract", key)
    log(f"extract: {len(claims)} claims -> {target}")
    return StageResult("extract", True, key)


def extract_from_answers(answers: pd.DataFrame, texts: dict[str, str], settings: Settings = DEFAULT_SETTINGS) -> pd.DataFrame:
    pipeline_ = nlp.build_nlp(settings)
    units = int(answers["title"].fillna("").ne("").sum() + len(answers))
    return extract.extract_claims(pipeline_, answers, texts, settings, progress=_progress("extract", units))


def model_path_in(model_dir: Path) -> Path:
    return Path(model_dir) / f"{config.MODEL_NAME}.joblib"


def run_train(input_path: Path, labels_path: Path, model_dir: Path, out: Path,
              settings: Settings = DEFAULT_SETTINGS, force: bool = False) -> StageResult:
    """Train the stance model on the hand labels (plus weak labels) and write it with its card."""
    paths = readers.discover_threads(input_path)
    labels = stance.read_labels(labels_path)
    key = fingerprint("train", _digest(paths), _digest([labels_path]),
                      _code(["segment", "extract", "train"]), settings.as_dict())
    model_path = model_path_in(model_dir)
    report = Path(out) / config.LF_REPORT_CSV
    if not force and model_path.exists() and stance.card_path(model_path).exists() and report.exists():
        card = stance.load_card(model_path)
        if card.get("training_key") == key and card.get("model_sha256") == files.sha256_file(model_path):
            _skip_message("train")
            return StageResult("train", False, key)
    threads = []
    for item in readers.iter_threads(input_path, settings):
        if isinstance(item, InputError):
            raise item  # training data must be read whole
        threads.append(item)
    texts = {t.thread_id: t.text for t in threads}
    answers = pd.concat([segment_source(t, settings) for t in threads], ignore_index=True)
    claims = extract_from_answers(answers, texts, settings)
    training = training_table(claims, answers, labels, labels_path, settings)
    lf_report = labeling.analyse(training["lf_matrix"], training["gold"], claims["claim_id"])
    write_csv(lf_report, report, list(lf_report.columns))
    rows, y, weights, is_gold = training["rows"], training["y"], training["weights"], training["is_gold"]
    model = stance.build_model(settings)
    metrics = stance.cross_validate(model, rows, y, weights, is_gold, training["answer_labels"],
                                    answers[["answer_id", "title_start", "title_end"]], settings)
    model.fit(rows, y, classify__sample_weight=weights)
    table_bytes = rows.assign(label=y, weight=weights).to_csv(index=False, lineterminator="\n").encode()
    card = stance.save_model(model, model_path, {
        "training_key": key,
        "training_data_sha256": files.sha256_bytes(table_bytes),
        "training_rows": {"hand_labelled": int(is_gold.sum()), "weak_only": int((~is_gold).sum())},
        "labels_file": labels_path.name,
        "settings": settings.as_dict(),
        "metrics": metrics,
        "labeling_functions": lf_report.drop(columns=["wrong_examples"]).to_dict("records"),
    })
    log(f"train: {int(is_gold.sum())} hand-labelled and {int((~is_gold).sum())} weakly labelled claims -> {model_path}")
    log(format_metrics(card["metrics"]))
    return StageResult("train", True, key)


def training_table(claims: pd.DataFrame, answers: pd.DataFrame, labels: pd.DataFrame, labels_path: Path,
                   settings: Settings = DEFAULT_SETTINGS) -> dict:
    """Join hand labels to claims, add weak labels for the rest, and check every label found its row."""
    sentence_labels = labels[labels["level"] == "sentence"]
    known = set(zip(claims["answer_id"], claims["text"]))
    unmatched = [i for i, r in sentence_labels.iterrows() if (r["answer_id"], r["text"]) not in known]
    if unmatched:
        first = sentence_labels.loc[unmatched[0]]
        raise InputError(labels_path, f"{len(unmatched)} sentence labels match no claim, e.g. "
                                      f"{first['answer_id']}: {first['text'][:60]!r}", line=int(unmatched[0]) + 2)
    answer_labels = labels[labels["level"] == "answer"].set_index("answer_id")["label"]
    unknown_answers = sorted(set(answer_labels.index) - set(answers["answer_id"]))
    if unknown_answers:
        raise InputError(labels_path, f"answer labels for unknown answers {unknown_answers[:5]}")
    gold = stance.attach_labels(claims, labels)
    lf_matrix = labeling.apply_labeling_functions(claims)
    weak = labeling.majority_vote(lf_matrix)
    is_gold = gold.ne(labeling.ABSTAIN).to_numpy()
    use = is_gold | weak.ne(labeling.ABSTAIN).to_numpy()
    y = gold.where(is_gold, weak)
    return {
        "rows": claims[use].reset_index(drop=True),
        "y": y[use].reset_index(drop=True),
        "weights": pd.Series(is_gold[use]).map({True: 1.0, False: settings.weak_label_weight}).to_numpy(),
        "is_gold": is_gold[use],
        "gold": gold,
        "lf_matrix": lf_matrix,
        "answer_labels": answer_labels,
    }


def format_metrics(metrics: dict) -> str:
    if "error" in metrics:
        return f"cross-validation: {metrics['error']}"
    lines = [f"cross-validated over {metrics['folds']} folds grouped by {metrics['grouped_by']}:"]
    for level in ("claims", "answers"):
        if level not in metrics:
            continue
        m, base = metrics[level], metrics[f"{level}_majority_baseline"]
        per = ", ".join(f"{k} P={v['precision']:.2f} R={v['recall']:.2f} F1={v['f1']:.2f} (n={v['support']})"
                        for k, v in m["per_class"].items())
        lines.append(f"  {level}: macro-F1 {m['macro_f1']:.3f}, F_avg {m['f_avg']:.3f}, accuracy {m['accuracy']:.3f} "
                     f"(majority baseline: macro-F1 {base['macro_f1']:.3f}, F_avg {base['f_avg']:.3f}, "
                     f"accuracy {base['accuracy']:.3f}); {per}")
    return "\n".join(lines)


def run_classify(out: Path, model_dir: Path, settings: Settings = DEFAULT_SETTINGS, force: bool = False,
                 trust: bool = False) -> StageResult:
    stamps = Stamps(out)
    upstream = stamps.key("extract")
    if upstream is None:
        raise InputError(Path(out) / config.CLAIMS_CSV, "no record of an extract run here; run 'claims extract' first")
    model_path = model_path_in(model_dir)
    model, card = stance.load_model(model_path, trust=trust)
    key = fingerprint("classify", upstream, files.sha256_file(model_path),
                      _code(["classify"]), settings.as_dict())
    targets = [Path(out) / name for name in (config.ANSWERS_CSV, config.CLAIMS_CSV, config.SUMMARY_CSV)]
    if not force and stamps.up_to_date("classify", key, targets):
        _skip_message("classify")
        return StageResult("classify", False, key)
    answers = read_csv(targets[0], "segment")
    claims = read_csv(targets[1], "extract")
    answers, claims = dataset.classify(model, answers, claims, settings)
    summary = dataset.summarise(answers, claims)
    write_csv(claims, targets[1], extract.CLAIM_COLUMNS)
    write_csv(answers, targets[0], ANSWERS_OUTPUT_COLUMNS)
    write_csv(summary, targets[2], dataset.SUMMARY_COLUMNS)
    stamps.record("classify", key)
    log(f"classify: stance for {len(claims)} claims and {int((answers['role'] == 'answer').sum())} answers; "
        f"summary of {len(summary)} threads -> {targets[2]}")
    return StageResult("classify", True, key)
