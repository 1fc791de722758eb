"""The learned segmenter: labels from gold, a CRF fitted on them, folds grouped by thread."""

import runpy
import sys

import pytest

from pipeline import config
from pipeline.learning import line_segmenter

from conftest import mini_forum_threads as threads


def test_a_crf_fitted_on_threads_labels_them_back_and_is_the_same_model_twice():
    examples = line_segmenter.examples(threads())
    crf = line_segmenter.fit(examples)
    assert [list(labels) for labels in crf.predict([e.features for e in examples])] == [e.labels for e in examples]
    segments = line_segmenter.predict_segments(crf, examples[0].thread.text)
    assert [(s.char_start, s.char_end) for s in segments] == [seg.body_span for seg in examples[0].thread.segments]
    again = line_segmenter.fit(examples)
    assert again.state_features_ == crf.state_features_


def test_cross_validation_scores_every_thread_out_of_fold():
    examples = line_segmenter.examples(threads())
    out = line_segmenter.cross_validate(examples, folds=2)
    assert set(out) == {e.thread.thread_id for e in examples}


@pytest.mark.slow
def test_the_bench_scores_the_crf_beside_the_rules_on_the_development_part(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["segmentation_learned.py", "--dev-only"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(config.PROJECT_ROOT / "bench" / "segmentation_learned.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and "dev CRF" in out and "dev rules" in out and "test CRF" not in out


@pytest.mark.slow
def test_the_shipped_learned_segmenter_is_what_training_on_the_dev_part_makes(tmp_path):
    written = line_segmenter.write_model(tmp_path / "segmenter.crfsuite")
    assert written.read_bytes() == config.LINE_SEGMENTER_FILE.read_bytes(), (
        "training no longer makes the shipped segmenter: write it again (python -m pipeline.learning.line_segmenter)")
