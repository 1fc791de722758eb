"""Stance rows from the annotated corpus: the experts' claims only, as the classify stage scores them."""

from pipeline.measuring.gold_sets import answer_rows, claim_rows
from pipeline.stages import question

from conftest import mini_forum_threads


def test_the_asker_s_own_claims_are_neither_trained_nor_scored_on():
    threads = mini_forum_threads()
    lexicon = question.load_lexicon()
    askers = [c for c in threads[0].claims if c.role == "question"]
    assert [c.text for c in askers] == ["I've had Dysport every 4 months since 2019.",
                                        "My injector says I need fewer units now."]
    assert all(c.stance for c in askers)  # the gold file gives them a stance, which no model is taught or judged on
    for reading in ("gold", "pipeline"):  # the training rows, and the frozen set's
        rows = claim_rows(threads, lexicon, reading)
        experts = [c for t in threads for c in t.claims if c.role == "answer"]
        assert len(rows) == sum(len(c.types) for c in experts) == 10
        assert set(rows["role"]) == {"answer"} and not {c.text for c in askers} & set(rows["text"])
        assert not rows["answer_id"].str.endswith(":0").any()
    assert len(answer_rows(threads, lexicon)) == 4  # answers keep their rows: the question row never had one
