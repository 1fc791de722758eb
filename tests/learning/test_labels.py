"""The hand labels file: checked as it is read."""

import pandas as pd
import pytest

from pipeline.learning.labels import read_labels
from pipeline.schemas import STANCES


@pytest.mark.parametrize("content, problem", [
    ("thread_id,level,answer_id,text,label,annotator,labelled_at,source\nt,sentence,t:1,x,maybe,me,2026,hand\n",
     "unknown label"),
    ("thread_id,level,answer_id,text,label,annotator,labelled_at,source\nt,sentence,t:1,x,favor,me,2026,hand\n"
     "t,sentence,t:1,x,against,me,2026,hand\n", "conflicting"),
    ("thread_id,answer_id,text,label\n", "missing columns"),
])
def test_bad_labels_files_are_refused(tmp_path, content, problem):
    path = tmp_path / "labels.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=problem):
        read_labels(path)


def test_bundled_labels_file_is_valid():
    from pipeline.config import LABELS_FILE

    labels = read_labels(LABELS_FILE)
    assert set(labels["label"]) == set(STANCES)
    assert (labels["level"] == "answer").sum() == 10
    assert labels["text"].str.strip().ne("").all()


def test_every_bundled_sentence_label_is_a_claim_the_pipeline_extracts():
    """A label on a sentence the pipeline does not make a claim of is never used, and a first run warns of it."""
    import pipeline
    from pipeline.config import LABELS_FILE, PROJECT_ROOT

    labels = read_labels(LABELS_FILE)
    sentences = labels[labels["level"] == "sentence"]
    claims = pd.concat([pipeline.process(PROJECT_ROOT / "data" / "raw" / f"{thread}.txt", model_dir=None)["claims"]
                        for thread in sorted(set(sentences["thread_id"]))])
    extracted = set(zip(claims["answer_id"], claims["text"]))
    unmatched = [(r.answer_id, r.text) for r in sentences.itertuples() if (r.answer_id, r.text) not in extracted]
    assert unmatched == []
