import datetime as dt
import getpass

import numpy as np
import pandas as pd
import pytest

from pipeline.learning.annotate import merge_labels, spread_across_threads, uncertainty, validate_labels
from pipeline.schemas import LABEL_COLUMNS


def test_margin_and_entropy_rank_the_flattest_distribution_least_sure():
    proba = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.5, 0.5, 0.0]])
    margin = uncertainty(proba, "margin")
    entropy = uncertainty(proba, "entropy")
    assert margin.argmax() == 2 and margin.argmin() == 0  # a tie between two classes is the least sure
    assert entropy.argmax() == 1 and entropy.argmin() == 0  # entropy looks at all three classes
    with pytest.raises(ValueError):
        uncertainty(proba, "lowest")


def test_picks_are_spread_across_threads():
    frame = pd.DataFrame({"thread_id": ["a"] * 5 + ["b"] * 2, "key": list("abcdefg"),
                          "uncertainty": [0.9, 0.8, 0.7, 0.6, 0.5, 0.65, 0.1]})
    picked = spread_across_threads(frame, 4)
    assert list(picked["thread_id"]) == ["a", "b", "a", "b"]
    assert list(picked["key"]) == ["a", "f", "b", "g"]


CLAIMS = pd.DataFrame({"claim_id": ["t:1:0:duration", "t:1:1:atrophy"], "answer_id": ["t:1", "t:1"],
                       "thread_id": ["t", "t"], "text": ["It lasts 3 months.", "Muscles atrophy."]})
ANSWERS = pd.DataFrame({"answer_id": ["t:0", "t:1"], "thread_id": ["t", "t"], "title": ["Q?", "No"],
                        "role": ["question", "answer"]})


def label_file(*rows):
    return pd.DataFrame([dict(zip(["level", "claim_id", "answer_id", "text", "label", "annotator"], r)) for r in rows])


def test_valid_rows_become_label_rows_and_blank_labels_are_skipped(tmp_path):
    frame = label_file(("sentence", "t:1:0:duration", "t:1", "It lasts 3 months.", " Against ", "ann"),
                       ("sentence", "t:1:1:atrophy", "t:1", "Muscles atrophy.", "", ""),
                       ("answer", "", "t:1", "No", "against", ""))
    accepted, problems = validate_labels(frame, CLAIMS, ANSWERS, tmp_path / "f.csv")
    assert problems == []
    assert accepted[["level", "answer_id", "text", "label"]].values.tolist() == [
        ["sentence", "t:1", "It lasts 3 months.", "against"], ["answer", "t:1", "No", "against"]]


@pytest.mark.parametrize("rows, problem", [
    ([("sentence", "t:1:0:duration", "t:1", "It lasts 3 months.", "maybe", "")], "row 2: unknown label 'maybe'"),
    ([("sentence", "t:9:0:duration", "t:9", "x", "favor", "")], "row 2: no claim"),
    ([("sentence", "t:1:0:duration", "t:1", "It lasts 4 months.", "favor", "")], "row 2: text differs"),
    ([("sentence", "t:1:0:duration", "t:1", "It lasts 3 months.", "favor", ""),
      ("sentence", "t:1:0:duration", "t:1", "It lasts 3 months.", "against", "")], "rows 2 and 3: conflicting"),
    ([("sentence", "t:1:0:duration", "t:1", "It lasts 3 months.", "favor", ""),
      ("sentence", "t:1:0:duration", "t:1", "It lasts 3 months.", "favor", "")], "rows 2 and 3: the same sentence twice"),
    ([("answer", "", "t:7", "x", "favor", "")], "row 2: no answer"),
    ([("answer", "", "t:0", "Q?", "favor", "")], "row 2: no answer 't:0'"),  # the question takes no stance
])
def test_problems_are_reported_with_their_rows(tmp_path, rows, problem):
    _, problems = validate_labels(label_file(*rows), CLAIMS, ANSWERS, tmp_path / "f.csv")
    assert any(problem in p for p in problems), problems


def test_merge_adds_new_and_replaces_changed_labels_keeping_provenance():
    old = pd.DataFrame([{"thread_id": "t", "level": "sentence", "answer_id": "t:1", "text": "It lasts 3 months.",
                         "label": "favor", "annotator": "a", "labelled_at": "2026-01-01", "source": "hand"}])
    new = pd.DataFrame([{"thread_id": "t", "level": "sentence", "answer_id": "t:1", "text": "It lasts 3 months.",
                         "label": "against", "annotator": ""},
                        {"thread_id": "t", "level": "sentence", "answer_id": "t:1", "text": "Muscles atrophy.",
                         "label": "favor", "annotator": "b"}])
    merged, added, changed = merge_labels(old, new, None, "batch.csv", today=dt.date(2026, 11, 26))
    assert (added, changed) == (1, 1)
    assert list(merged.columns) == LABEL_COLUMNS
    assert merged[["text", "label", "annotator", "labelled_at", "source"]].values.tolist() == [
        ["It lasts 3 months.", "against", getpass.getuser(), "2026-11-26", "batch.csv"],
        ["Muscles atrophy.", "favor", "b", "2026-11-26", "batch.csv"]]
    explicit, _, _ = merge_labels(old, new, "carol", "batch.csv", today=dt.date(2026, 11, 26))
    assert set(explicit["annotator"]) == {"carol"}  # an explicit --annotator wins over the file's column


def test_semicolon_files_from_spreadsheets_are_read(tmp_path):
    from pipeline.learning.annotate import read_label_file

    path = tmp_path / "f.csv"
    path.write_bytes("\ufefflevel;claim_id;answer_id;text;label\nSentence;t:1:0:duration;t:1;It lasts 3 months.;favor\n"
                     .encode("utf-8"))
    frame = read_label_file(path)
    accepted, problems = validate_labels(frame, CLAIMS, ANSWERS, path)
    assert problems == [] and accepted["label"].tolist() == ["favor"]


def test_a_file_of_many_bad_rows_lists_the_first_and_counts_the_rest(tmp_path):
    from pipeline.learning.annotate import MAX_PROBLEMS_SHOWN, import_labels
    from pipeline.io.files import InputError

    bad = label_file(*[("sentence", "t:1:0:duration", "t:1", "It lasts 3 months.", f"maybe{k}", "")
                       for k in range(500)])
    path = tmp_path / "filled.csv"
    bad.to_csv(path, index=False)
    labels = pd.DataFrame(columns=LABEL_COLUMNS)
    with pytest.raises(InputError) as raised:
        import_labels(path, tmp_path / "labels.csv", labels, CLAIMS, ANSWERS)
    message = str(raised.value)
    assert message.count("unknown label") == MAX_PROBLEMS_SHOWN and "and 480 more" in message
    assert not (tmp_path / "labels.csv").exists()


def test_two_imports_at_once_lose_no_rows_and_a_killed_ones_leftovers_are_swept(tmp_path, capsys):
    """An import holds the labels file's folder while it merges: a second one is refused (not merged into a copy
    that the first then overwrites), and what an import killed midway left behind is removed by the next."""
    import os
    import time

    from pipeline.io.outputs import OutputFolderError
    from pipeline.learning.annotate import label_import

    from conftest import held_elsewhere

    labels = tmp_path / "labels" / "stance_labels.csv"
    labels.parent.mkdir()
    labels.write_text(",".join(LABEL_COLUMNS) + "\n")
    leftover = labels.parent / ".stance_labels.csv.abc123.tmp"
    leftover.write_text("half")
    old = time.time() - 2 * 3600
    os.utime(leftover, (old, old))
    filled = tmp_path / "filled.csv"
    filled.write_text("level,claim_id,answer_id,text,label\n")
    out = tmp_path / "out"
    out.mkdir()
    from pipeline.schemas import TABLES

    for name in ("answers", "claims"):
        (out / f"{name}.csv").write_text(",".join(TABLES[name]) + "\n")
    with held_elsewhere(labels.parent, record_owner=False):
        with pytest.raises(OutputFolderError, match="in use by another claims process"):
            label_import(filled, out, labels)
    assert leftover.exists()
    label_import(filled, out, labels)
    assert not leftover.exists()


# ---- the asker's own claims take no stance: never offered, never accepted (issue 23) ---------------------------

@pytest.fixture(scope="module")
def asker_run():
    from asker_thread import asker_tables

    tables = asker_tables()
    return tables["answers"], tables["claims"]


def test_label_export_never_offers_the_asker_s_own_claims(asker_run, tmp_path, monkeypatch):
    from pipeline.io.outputs import read_csv
    from pipeline.learning import annotate

    from asker_thread import ASKER_SENTENCES, RecordingModel

    answers, claims = asker_run
    model = RecordingModel()
    monkeypatch.setattr(annotate.registry, "resolve", lambda folder: folder)
    monkeypatch.setattr(annotate.registry, "load_model", lambda path: (model, {}))
    monkeypatch.setattr(annotate, "run_tables", lambda out: (answers, claims))
    labels = tmp_path / "labels.csv"
    pd.DataFrame(columns=LABEL_COLUMNS).to_csv(labels, index=False)
    target = annotate.label_export(tmp_path, tmp_path, labels, n=50, include_answers=True)
    exported = read_csv(target, "to_label")
    experts = claims[claims["role"] == "answer"]
    assert not ASKER_SENTENCES & set(exported["text"]) and not ASKER_SENTENCES & set(model.seen)
    assert set(exported.loc[exported["level"] == "sentence", "text"]) == set(experts["text"])  # every expert sentence
    assert set(exported.loc[exported["level"] == "answer", "answer_id"]) == set(experts["answer_id"])


def test_export_leaves_the_asker_out_even_when_handed_every_claim(asker_run):
    from pipeline.learning.annotate import export_uncertain
    from pipeline.stages.classify import with_question

    from asker_thread import ASKER_SENTENCES, RecordingModel

    answers, claims = asker_run
    model = RecordingModel()
    labels = pd.DataFrame(columns=LABEL_COLUMNS)
    picked = export_uncertain(model, answers, with_question(claims, answers), labels, 50, include_answers=True)
    assert not ASKER_SENTENCES & set(picked["text"]) and not ASKER_SENTENCES & set(model.seen)
    # an asker's claim filed under an answer (a misread page) counts in neither the picks nor the answer's doubt
    misfiled = claims.assign(answer_id=claims["answer_id"].where(claims["role"] == "answer", "asker-says:1"))
    again = export_uncertain(RecordingModel(), answers, with_question(misfiled, answers), labels, 50,
                             include_answers=True)
    pd.testing.assert_frame_equal(again, picked)


def test_a_label_for_the_asker_s_own_claim_is_refused(asker_run, tmp_path):
    from asker_thread import ASKER_DURATION

    answers, claims = asker_run
    asker = claims[claims["text"] == ASKER_DURATION].iloc[0]
    expert = claims[claims["role"] == "answer"].iloc[0]
    frame = label_file(("sentence", asker["claim_id"], asker["answer_id"], ASKER_DURATION, "favor", ""),
                       ("sentence", expert["claim_id"], expert["answer_id"], expert["text"], "against", ""))
    accepted, problems = validate_labels(frame, claims, answers, tmp_path / "f.csv")
    assert problems == [f"row 2: claim {asker['claim_id']!r} is the asker's own sentence (the asker's claims take "
                        "no stance)"]
    assert accepted["text"].tolist() == [expert["text"]]
