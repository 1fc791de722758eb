"""The labelling loop with plain CSV files: export what the model is least sure of, import labels.

Export ranks claims by *margin* (top probability minus the runner-up; small
is unsure) or *entropy* (high is unsure), which look at the whole
distribution rather than at the top probability alone, and spreads the picks
across threads (round robin, each thread's most uncertain first). Claims that
already carry a hand label are left out, and so are the asker's own
sentences (claims with role "question"): they take no stance, so there is
nothing to label.

Import validates the whole file first and changes nothing if any row is bad.
"""

from __future__ import annotations

import csv
import datetime as dt
import getpass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.io.files import InputError, log, restore, sweep_temporaries, write_csv
from pipeline.io.outputs import frame_of, locked, read_tables
from pipeline.learning import labels as hand_labels
from pipeline.learning import registry
from pipeline.schemas import EXPORT_COLUMNS, LABEL_COLUMNS, STANCES, table_file
from pipeline.stages.classify import by_experts, takes_stance, with_question
from pipeline.stages.stance_model import aligned_proba, answer_probabilities

STRATEGIES = ("margin", "entropy")
MAX_PROBLEMS_SHOWN = 20  # a label file with a million bad rows lists the first ones, then says how many more


def uncertainty(probabilities: np.ndarray, strategy: str) -> np.ndarray:
    """Larger is less sure, for either strategy."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {STRATEGIES}")
    if strategy == "margin":
        top2 = np.sort(probabilities, axis=1)[:, -2:]
        return 1.0 - (top2[:, 1] - top2[:, 0])
    clipped = np.clip(probabilities, 1e-12, 1)
    return -(clipped * np.log(clipped)).sum(axis=1)


def spread_across_threads(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """Round robin over threads, most uncertain first within each; threads ordered by their top uncertainty."""
    ordered = frame.sort_values(["uncertainty", "key"], ascending=[False, True], kind="mergesort")
    ordered = ordered.assign(rank=ordered.groupby("thread_id", sort=False).cumcount())
    thread_order = {t: i for i, t in enumerate(ordered["thread_id"].drop_duplicates())}
    ordered = ordered.assign(thread_rank=ordered["thread_id"].map(thread_order))
    return ordered.sort_values(["rank", "thread_rank"], kind="mergesort").head(n)


def export_uncertain(model, answers: pd.DataFrame, claims: pd.DataFrame, labels: pd.DataFrame, n: int,
                     strategy: str = "margin", include_answers: bool = False) -> pd.DataFrame:
    """The `n` claims (and answers) the model is least sure of, with context and an empty label column.

    The asker's own claims (role "question") are never picked, nor do they
    count in an answer's uncertainty.
    """
    claims = claims[by_experts(claims)]
    sentence_labels = labels[labels["level"] == "sentence"]
    labelled = set(zip(sentence_labels["answer_id"], sentence_labels["text"]))
    heads = answers[answers["role"] == "question"].drop_duplicates("thread_id").set_index("thread_id")
    questions = heads["title"]
    propositions = heads["proposition"] if "proposition" in heads else pd.Series("", index=heads.index)
    titles = answers.set_index("answer_id")["title"]
    rows = []
    if len(claims):
        probabilities = aligned_proba(model, claims)
        claim_rows = claims.assign(
            level="sentence", key=claims["claim_id"], uncertainty=uncertainty(probabilities, strategy),
            prediction=np.asarray(STANCES, dtype=object)[probabilities.argmax(axis=1)],
            score=probabilities.max(axis=1).round(4))
        keep = [(a, t) not in labelled for a, t in zip(claim_rows["answer_id"], claim_rows["text"])]
        # one row per sentence: the label is for the sentence, whatever its claim types
        rows.append(claim_rows[keep].sort_values("uncertainty", ascending=False, kind="mergesort")
                    .drop_duplicates(["answer_id", "text"]))
        if include_answers:
            answer_proba = _answer_probabilities(claims, probabilities, answers[answers["role"] == "answer"], strategy)
            answer_rows = answer_proba[~answer_proba["answer_id"].isin(labels.loc[labels["level"] == "answer", "answer_id"])]
            rows.append(answer_rows.assign(level="answer", key=answer_rows["answer_id"], claim_id="", claim_type=""))
    if not rows:
        return pd.DataFrame(columns=EXPORT_COLUMNS)
    pool = pd.concat(rows, ignore_index=True)
    picked = spread_across_threads(pool, n)
    picked = picked.assign(question=picked["thread_id"].map(questions),
                           proposition=picked["thread_id"].map(propositions), answer_title=picked["answer_id"].map(titles),
                           uncertainty=picked["uncertainty"].round(4), label="", annotator="", notes="")
    return picked[EXPORT_COLUMNS].reset_index(drop=True)


def _answer_probabilities(claims: pd.DataFrame, probabilities: np.ndarray, answers: pd.DataFrame,
                          strategy: str) -> pd.DataFrame:
    """Uncertainty of each answer's stance (answers only, never the question), by the same measure as claims."""
    keep = claims["answer_id"].isin(answers["answer_id"]).to_numpy()
    table = answer_probabilities(claims[keep].reset_index(drop=True), probabilities[keep], STANCES,
                                 answers[["answer_id", "title_start", "title_end"]])
    proba = table.to_numpy()
    first = answers.drop_duplicates("answer_id").set_index("answer_id")
    return pd.DataFrame({
        "answer_id": table.index, "thread_id": first.loc[table.index, "thread_id"].to_numpy(),
        "text": first.loc[table.index, "text"].to_numpy(), "uncertainty": uncertainty(proba, strategy),
        "prediction": np.asarray(STANCES, dtype=object)[proba.argmax(axis=1)], "score": proba.max(axis=1).round(4),
    })


def read_label_file(path: Path) -> pd.DataFrame:
    try:  # the delimiter is sniffed: spreadsheets in many locales save CSV with semicolons
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=None, engine="python", encoding="utf-8-sig")
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(path, f"cannot be read as CSV ({err}); save it as CSV in UTF-8") from err
    missing = [c for c in ("level", "claim_id", "answer_id", "text", "label") if c not in frame.columns]
    if missing:
        raise InputError(path, f"missing columns {missing}; export a file with 'claims label export' and fill in 'label'")
    return frame.map(restore)


def validate_labels(frame: pd.DataFrame, claims: pd.DataFrame, answers: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The labelled rows as label-file rows, and every problem found (row numbers as in a spreadsheet)."""
    problems = []
    claim_text = claims.drop_duplicates("claim_id").set_index("claim_id")[["answer_id", "text", "thread_id"]]
    askers = set(claims.loc[~by_experts(claims), "claim_id"])
    answer_info = answers[answers["role"] == "answer"].set_index("answer_id")[["thread_id", "title"]]
    accepted, seen = [], {}
    for index, row in frame.iterrows():
        line = index + 2
        label = row["label"].strip().lower()
        if not label:
            continue  # not labelled yet
        if label not in STANCES:
            problems.append(f"row {line}: unknown label {row['label']!r}; expected one of {', '.join(STANCES)}")
            continue
        level = row["level"].strip().lower() or "sentence"
        if level == "sentence":
            if row["claim_id"] not in claim_text.index:
                problems.append(f"row {line}: no claim {row['claim_id']!r} in claims.csv")
                continue
            if row["claim_id"] in askers:
                problems.append(f"row {line}: claim {row['claim_id']!r} is the asker's own sentence "
                                "(the asker's claims take no stance)")
                continue
            known = claim_text.loc[row["claim_id"]]
            if known["text"] != row["text"]:
                problems.append(f"row {line}: text differs from claim {row['claim_id']!r}; was the file edited?")
                continue
            key = ("sentence", known["answer_id"], known["text"])
            record = {"thread_id": known["thread_id"], "level": "sentence", "answer_id": known["answer_id"],
                      "text": known["text"]}
        elif level == "answer":
            if row["answer_id"] not in answer_info.index:
                problems.append(f"row {line}: no answer {row['answer_id']!r} in answers.csv (questions take no stance)")
                continue
            info = answer_info.loc[row["answer_id"]]
            key = ("answer", row["answer_id"], "")
            record = {"thread_id": info["thread_id"], "level": "answer", "answer_id": row["answer_id"],
                      "text": "" if pd.isna(info["title"]) else info["title"]}
        else:
            problems.append(f"row {line}: unknown level {level!r}; expected sentence or answer")
            continue
        if key in seen:
            first_line, first_label = seen[key]
            if first_label != label:
                problems.append(f"rows {first_line} and {line}: conflicting labels {first_label!r} and {label!r} "
                                f"for the same {level}")
            else:
                problems.append(f"rows {first_line} and {line}: the same {level} twice")
            continue
        seen[key] = (line, label)
        accepted.append({**record, "label": label, "annotator": (row.get("annotator") or "").strip()})
    return pd.DataFrame(accepted, columns=["thread_id", "level", "answer_id", "text", "label", "annotator"]), problems


def merge_labels(labels: pd.DataFrame, new: pd.DataFrame, annotator: str | None, source: str,
                 today: dt.date | None = None) -> tuple[pd.DataFrame, int, int]:
    """Labels with `new` merged in (a new label for a known item replaces it): (merged, added, changed)."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    # an explicit annotator wins; else the file's column; else the user's name
    new = new.assign(annotator=annotator if annotator else new["annotator"].where(new["annotator"].ne(""), getpass.getuser()),
                     labelled_at=today.isoformat(), source=source)
    key = lambda frame: frame["level"] + "\x1f" + frame["answer_id"] + "\x1f" + frame["text"].where(frame["level"] == "sentence", "")
    old_keys = dict(zip(key(labels), labels["label"]))
    new_keys = key(new)
    added = int((~new_keys.isin(old_keys)).sum())
    changed = int(sum(1 for k, label in zip(new_keys, new["label"]) if k in old_keys and old_keys[k] != label))
    merged = pd.concat([labels[~key(labels).isin(set(new_keys))], new[LABEL_COLUMNS]], ignore_index=True)
    return merged[LABEL_COLUMNS], added, changed


def import_labels(path: Path, labels_path: Path, labels: pd.DataFrame, claims: pd.DataFrame, answers: pd.DataFrame,
                  annotator: str | None = None) -> tuple[int, int, int]:
    """Validate `path` and merge it into `labels_path`; returns (labelled rows, added, changed)."""
    frame = read_label_file(path)
    accepted, problems = validate_labels(frame, claims, answers, path)
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise InputError(path, f"{len(problems)} problem(s), nothing imported:\n  " + "\n  ".join(shown) + more)
    if accepted.empty:
        return 0, 0, 0
    merged, added, changed = merge_labels(labels, accepted, annotator, Path(path).name)
    write_csv(merged, labels_path, LABEL_COLUMNS)
    return len(accepted), added, changed


def run_tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """answers.csv and claims.csv of a run as one set (see pipeline.io.outputs.read_tables)."""
    names = [table_file("answers"), table_file("claims")]
    data = read_tables(Path(out), names, "run")
    return frame_of(data[names[0]]), frame_of(data[names[1]])


def label_export(out: Path, model_dir: Path, labels_path: Path, n: int, strategy: str = "margin",
                 include_answers: bool = False, target: Path | None = None) -> Path:
    model, _ = registry.load_model(registry.resolve(model_dir))
    answers, claims = run_tables(out)
    labels = hand_labels.read_labels(labels_path)
    # only the experts' claims of yes/no threads take a stance; the model reads each against its thread's proposition
    claims = with_question(claims, answers)[takes_stance(claims, answers).to_numpy()]
    picked = export_uncertain(model, answers, claims, labels, n, strategy, include_answers)
    target = Path(target or Path(out) / "to_label.csv")
    write_csv(picked, target, EXPORT_COLUMNS)
    log(f"label export: {len(picked)} items from {picked['thread_id'].nunique()} threads, least sure first "
        f"by {strategy} -> {target}")
    return target


def label_import(path: Path, out: Path, labels_path: Path, annotator: str | None = None) -> tuple[int, int, int]:
    """Merge a filled-in file into the labels file, holding the lock of the labels file's folder: two imports at
    once would each merge into the file as it was, and one's rows would be lost."""
    answers, claims = run_tables(out)
    labels_path = Path(labels_path)
    with locked(labels_path.parent, "claims label import", record_owner=False):
        sweep_temporaries(labels_path.parent)  # what an import killed before it finished left behind
        labels = hand_labels.read_labels(labels_path)
        counts = import_labels(Path(path), labels_path, labels, claims, answers, annotator)
    log(f"label import: {counts[0]} labelled rows: {counts[1]} new, {counts[2]} changed -> {labels_path}")
    return counts
