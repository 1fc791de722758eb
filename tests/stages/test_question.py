"""Reading a thread's question into a proposition, its kind and its polarity (pipeline.question)."""

import json

import pytest

from pipeline.stages import question
from pipeline.faces.cli import main
from pipeline.io.outputs import read_csv
from pipeline.stages.question import LASTING, NONE, OPEN, OTHER, PASSING, YES_NO, read_question, thread_question


@pytest.fixture(scope="module")
def lexicon():
    return question.load_lexicon()


@pytest.mark.parametrize("title, body, kind, polarity, proposition", [
    # plain yes/no titles; the auxiliary goes, the rest is the statement a yes affirms
    ("Will my forehead lines get worse if I stop Xeomin?", "", YES_NO, LASTING,
     "my forehead lines get worse if I stop Xeomin"),
    ("Can the frozen look wear off early?", "", YES_NO, PASSING, "the frozen look wear off early"),
    ("Won't my jaw muscles just shrink for good?", "", YES_NO, LASTING, "my jaw muscles just shrink for good"),
    ("Is a heavy brow after Daxxify normal?", "", YES_NO, PASSING, "a heavy brow after Daxxify normal"),
    ("Did the injector hit a nerve?", "", YES_NO, OTHER, "the injector hit a nerve"),
    # open questions, also after a lead phrase, a dash or inside a polite request
    ("How long will the smile asymmetry go on?", "", OPEN, OTHER, None),
    ("Lopsided smile after lip flip - when does it settle?", "", OPEN, OTHER, None),
    ("Numb lip, swollen cheek, what now?", "", OPEN, OTHER, None),
    ("Brow heaviness", "Could you tell me how many weeks this usually takes?", OPEN, OTHER, None),
    # an open question joined to a yes/no one is read as the yes/no one
    ("How long does this last & is it permanent?", "", YES_NO, LASTING, "it permanent"),
    # a title that asks nothing: the body's question is the one
    ("Eyelid droop, 3 weeks post injection", "I had 20 units in March. Will the lid open back up by itself? Thanks!",
     YES_NO, PASSING, "the lid open back up by itself"),
    # a relative clause in a statement asks nothing
    ("", "My brow dropped, which worried me. Is this going to last for months?", YES_NO, LASTING,
     "this going to last for months"),
])
def test_question_reading(lexicon, title, body, kind, polarity, proposition):
    read = read_question(title, body, lexicon)
    assert (read.question_kind, read.proposition_polarity, read.question_source) == (kind, polarity, "page")
    if proposition is not None:
        assert read.proposition == proposition


def test_a_page_without_a_question_is_read_from_its_slug_or_left_without_one(lexicon):
    slug = read_question("", "", lexicon, "4411-will-masseter-botox-shrink-the-muscle-permanently")
    assert (slug.question_kind, slug.proposition_polarity, slug.question_source) == (YES_NO, LASTING, "thread id")
    assert read_question("", "", lexicon, "thread-0042").question_kind == NONE
    assert read_question("", "", lexicon, "x_how-long-does-dysport-last").question_kind == OPEN


def test_a_proposition_given_by_hand_replaces_the_reading(lexicon):
    given = thread_question("How long does it last?", "", "t", "Botox results become permanent", lexicon=lexicon)
    assert given.as_row() == {"proposition": "Botox results become permanent", "question_kind": YES_NO,
                              "proposition_polarity": LASTING, "question_source": "given",
                              "proposition_kind": LASTING}
    kept_open = thread_question("Will it last?", "", "t", question_kind=OPEN, lexicon=lexicon)
    assert (kept_open.question_kind, kept_open.proposition_polarity) == (OPEN, OTHER)
    with pytest.raises(ValueError, match="question_kind"):
        thread_question("Will it last?", "", "t", question_kind="maybe", lexicon=lexicon)


def test_lexicon_errors_name_the_file(tmp_path):
    bad = tmp_path / "q.json"
    bad.write_text(json.dumps({"open_openers": "how"}))
    with pytest.raises(ValueError, match="q.json.*open_openers"):
        question.load_lexicon(bad)


def thread(thread_id, title, answers, **extra):
    return {"id": thread_id, "question_title": title, "question_body": "", **extra,
            "answers": [{"title": t, "body": b} for t, b in answers]}


def test_open_threads_take_no_stance_and_overrides_work_from_input_and_table(tmp_path, capsys):
    raw, out, models = tmp_path / "raw", tmp_path / "out", tmp_path / "models"
    raw.mkdir()
    answers = [("Not permanent", "Botox wears off after 3-4 months and the muscles recover."),
               ("Yes, weaker", "With years of use the muscles atrophy and you need less product.")]
    lines = [thread("asks", "Are Botox results permanent?", answers),
             thread("open", "How long does Botox last?", answers),
             thread("given", "How long does Botox last?", answers, proposition="Botox results become permanent")]
    (raw / "threads.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    table = tmp_path / "propositions.csv"
    table.write_text("thread_id,proposition,question_kind\nasks,Botox results become permanent,yes/no\n")
    assert main(["run", "--input", str(raw), "--out", str(out), "--models", str(models),
                 "--propositions", str(table)]) == 0
    rows = read_csv(out / "answers.csv", "run")
    heads = rows[rows["role"] == "question"].set_index("thread_id")
    assert heads.loc["open", "question_kind"] == OPEN and heads.loc["given", "question_source"] == "given"
    assert heads.loc["asks", "question_source"] == "given"  # the table wins over the page
    replies = rows[rows["role"] == "answer"]
    assert replies.loc[replies["thread_id"] == "open", "stance"].isna().all()
    assert replies.loc[replies["thread_id"] != "open", "stance"].notna().all()
    claims = read_csv(out / "claims.csv", "run")
    assert claims.loc[claims["thread_id"] == "open", "stance"].isna().all()
    summary = read_csv(out / "summary.csv", "run").set_index("thread_id")
    assert summary.loc["open", "question_kind"] == OPEN and summary.loc["open", ["answers_favor", "answers_against",
                                                                                 "answers_neutral"]].sum() == 0
    assert summary.loc["given", "proposition"] == "Botox results become permanent"


def test_a_bad_question_kind_is_an_error_naming_the_file(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "t.jsonl").write_text(json.dumps(thread("t", "Will it last?", [("A", "It lasts 3 months.")],
                                                   question_kind="sometimes")) + "\n")
    assert main(["segment", "--input", str(raw), "--out", str(tmp_path / "out")]) == 1
    assert "t.jsonl" in capsys.readouterr().err
    table = tmp_path / "p.csv"
    table.write_text("thread_id,question_kind\nt,open\n")
    assert main(["segment", "--input", str(raw), "--out", str(tmp_path / "out"), "--propositions", str(table)]) == 2
    assert "p.csv" in capsys.readouterr().err


@pytest.mark.parametrize("title, text, stance", [
    ("Yes, with years of use", "The muscles get smaller.", "favor"),
    ("", "In short -- YES. The brow can recover once the toxin wears off.", "favor"),
    ("", "Absolutely not. Nothing suggests that.", "against"),
    ("No.", "Botox wears off in three months.", "against"),
    ("Highly unlikely", "", "against"),
    ("Not permanent", "No, it is not.", ""),  # a title that is no plain yes or no decides: nothing
    ("", "Nobody can promise that.", ""),
    ("", "No doubt the muscle shrinks with use.", ""),
    ("", "Yes not", ""),
])
def test_direct_answers(lexicon, title, text, stance):
    assert question.direct_answer(title, text, lexicon) == stance


@pytest.mark.parametrize("question, kind", [
    ("Are Botox results permanent after long use?", "lasting"),
    ("Will my masseter stay smaller after years of injections?", "lasting"),
    ("Do you need less Botox over time?", "lasting"),
    ("Will my forehead muscles grow back to normal?", "passing"),
    ("Is the frozen look reversible?", "passing"),
    ("Can you become immune to Dysport?", "resistance"),
    ("Does Botox stop working after a few years?", "resistance"),
    ("Will my wrinkles be worse if I stop getting Botox?", "worse_after_stopping"),
    ("Do lines come back deeper once you quit injections?", "worse_after_stopping"),
    ("Will my droopy eyelid go away?", "side_effect_duration"),
    ("Is the ptosis from Botox permanent?", "side_effect_duration"),
    ("Is Botox safe for someone my age?", "other"),
])
def test_the_proposition_kind_says_which_axis_a_yes_lies_on(lexicon, question, kind):
    reading = read_question(question, "", lexicon)
    assert (reading.question_kind, reading.proposition_kind) == (YES_NO, kind)


def test_an_open_question_has_no_proposition_kind(lexicon):
    assert read_question("How long does Botox last?", "", lexicon).proposition_kind == ""


def test_a_page_that_asks_nothing_is_read_from_a_title_that_states_a_proposition(lexicon):
    stated = read_question("Toxin Results Last Longer With Repeated Treatment", "A clinic's notes.", lexicon, "x-1")
    assert (stated.question_kind, stated.proposition_polarity, stated.question_source) == (YES_NO, LASTING, "title")
    assert stated.proposition == "Toxin Results Last Longer With Repeated Treatment"
    assert read_question("My Clinic Diary", "Nothing asked here.", lexicon, "x-2").question_kind == NONE
