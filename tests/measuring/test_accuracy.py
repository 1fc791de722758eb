"""The accuracy figures: exact segmentation, leaks, claim matching, durations and flags, and the command on a slice."""

import json
import runpy
import sys

import pandas as pd
import pytest

from pipeline import config
from pipeline.measuring.accuracy import Prediction, gold_as_prediction, grouped_table, score_thread, summarise
from pipeline.measuring.gold import parse_gold

from conftest import FIXTURES

GOLD = FIXTURES / "gold"


@pytest.fixture
def thread():
    text = (GOLD / "mini-forum.txt").read_text(encoding="utf-8")
    return parse_gold(json.loads((GOLD / "mini-forum.json").read_text(encoding="utf-8")), text, "test", "mini")


def answers_like(thread, spans=None):
    """answers rows exactly as the gold has them (gold_as_prediction), with some body spans replaced."""
    answers = gold_as_prediction(thread).answers
    for position, (start, end) in (spans or {}).items():
        answers.loc[answers["position"] == position, ["char_start", "char_end"]] = [start, end]
    return answers


def claims_like(thread, change=lambda claim, row: row):
    """claims rows exactly as the gold has them, each passed through `change` with its gold claim."""
    by_start = {claim.start: claim for claim in thread.claims}
    rows = [change(by_start[row["char_start"]], row) for row in gold_as_prediction(thread).claims.to_dict("records")]
    return pd.DataFrame(rows)


def test_a_perfect_prediction_scores_one_everywhere(thread):
    figures = summarise([score_thread(thread, Prediction(answers_like(thread), claims_like(thread)))])
    assert figures["segmented exactly"] == figures["answers with the right text"] == 1.0
    assert figures["boilerplate leaks (count)"] == 0
    assert figures["claims precision"] == figures["claims recall"] == 1.0
    assert figures["gold claims (sentence, type)"] == 7
    assert figures["durations exactly right"] == figures["negated right"] == figures["hedged right"] == 1.0


def test_a_signature_kept_in_an_answer_is_one_leak_and_a_wrong_text(thread):
    first = thread.segments[1]
    signature_end = thread.text.index("41 reviews") + len("41 reviews")
    score = score_thread(thread, Prediction(answers_like(thread, {1: (first.body_span[0], signature_end)}),
                                            claims_like(thread)))
    assert len(score.leaks) == 1 and "Dr. Amira Costa" in score.leaks[0][2] and "Good luck!" in score.leaks[0][2]
    assert score.exact and score.answers_right == 1


def test_a_title_read_as_body_breaks_exactness(thread):
    answers = answers_like(thread)
    answers.loc[1, ["title", "title_end"]] = ["", answers.loc[1, "title_start"]]
    assert not score_thread(thread, Prediction(answers, claims_like(thread))).exact


def test_a_sentence_cut_at_etc_does_not_match(thread):
    def cut(claim, row):
        if "etc." in claim.text:  # "The effect wears off after about 12 weeks, and antibodies ... unusual, etc."
            row["char_end"] = claim.start + claim.text.index("etc.") + len("etc.")
        return row
    figures = summarise([score_thread(thread, Prediction(answers_like(thread), claims_like(thread, cut)))])
    assert figures["claims recall"] == pytest.approx(5 / 7)
    assert figures["claims precision"] == pytest.approx(5 / 7)


def test_a_wrong_figure_or_flag_is_counted(thread):
    def wrong(claim, row):
        if claim.months == (3.0, 4.0) and row["claim_type"] == "duration":
            row["duration_min_months"], row["duration_max_months"] = 3.0, None
        if row["claim_type"] == "dose_reduction":
            row["hedged"] = not row["hedged"]
        return row
    figures = summarise([score_thread(thread, Prediction(answers_like(thread), claims_like(thread, wrong)))])
    assert figures["durations exactly right"] == pytest.approx(2 / 3)
    assert figures["hedged right"] == pytest.approx(5 / 7)  # both dose_reduction claims flipped
    assert figures["claims recall"] == 1.0


def test_a_rejected_file_with_answers_misses_everything(thread):
    figures = summarise([score_thread(thread, Prediction(None, pd.DataFrame(columns=["claim_type"]), "no answers"))])
    assert figures["files rejected with answers"] == 1
    assert figures["claims recall"] == 0.0 and figures["answers with the right text"] == 0.0


def test_the_accuracy_command_runs_on_a_slice(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["accuracy.py", "--limit", "1"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(config.PROJECT_ROOT / "bench" / "accuracy.py"), run_name="__main__")
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for figure in ("segmented exactly", "boilerplate leaks", "claims precision", "durations exactly right",
                   "dev pipeline", "dev baseline", "test pipeline", "test baseline", "by layout class", "by site"):
        assert figure in out


def test_the_grouped_table_has_a_row_per_group_and_part_with_each_system(thread):
    perfect = score_thread(thread, Prediction(answers_like(thread), claims_like(thread)))
    missing = score_thread(thread, Prediction(None, pd.DataFrame(columns=["claim_type"]), "not read"))
    scores = {"pipeline": [perfect], "baseline": [missing]}
    table = grouped_table(scores, {thread.thread_id: "forum"}.get, ("qa_thread", "forum"))
    rows = [line for line in table.splitlines() if line.startswith(("forum", "qa_thread"))]
    assert len(rows) == 1 and rows[0].split()[:3] == ["forum", "test", "1"]  # a group without threads is left out
    assert "1.00 / 0.00" in rows[0]  # segmented exactly: pipeline / baseline
    assert "pipeline / baseline" in table


@pytest.mark.slow
def test_the_learning_curve_prints_each_share_beside_the_rules_and_saves_its_figure(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", ["accuracy.py", "--curve", str(tmp_path / "curve.png")])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(config.PROJECT_ROOT / "bench" / "accuracy.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    shares = [line.split(" of dev")[0] for line in out.splitlines() if " of dev (" in line]
    assert shares == ["25%", "50%", "75%", "100%"] * 2  # the segmenter's curve, then the claim detector's
    assert "learned claim detector" in out and "rules" in out and (tmp_path / "curve.png").read_bytes().startswith(b"\x89PNG")


def test_a_segmenter_that_reads_nothing_misses_every_answer_and_the_rules_read_the_page(thread):
    from pipeline.measuring.accuracy import rule_segments, segmentation_score

    assert rule_segments("   \n") == []
    missed = segmentation_score(thread, [])
    assert not missed.exact and missed.answers == len(thread.answers) and missed.answers_right == 0
    read = segmentation_score(thread, rule_segments(thread.text))
    assert read.answers_right >= 1
