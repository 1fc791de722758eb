"""Gold files: quotes resolve to offsets in page order, bad files are refused with the file and element named."""

import copy
import csv
import hashlib
import json

import pytest

from pipeline import config
from pipeline.measuring.gold import (GoldError, PageSource, SplitMinimums, extend_split, hash_part, load_corpus_gold,
                                     load_gold, months, parse_gold, read_sources, read_split)

from conftest import FIXTURES

GOLD = FIXTURES / "gold"


@pytest.fixture
def mini():
    text = (GOLD / "mini-forum.txt").read_text(encoding="utf-8")
    return json.loads((GOLD / "mini-forum.json").read_text(encoding="utf-8")), text


def test_quotes_resolve_to_exact_offsets(mini):
    data, text = mini
    thread = parse_gold(data, text, "test", "mini")
    question, first, second = thread.segments
    assert text[slice(*question.title_span)] == data["question"]["title"]
    assert text[slice(*first.body_span)].startswith("Dysport does not stop")
    assert text[slice(*first.body_span)].endswith("with repeated injections.")
    assert second.title is None and text[slice(*second.body_span)].endswith("at very high doses.")
    for claim in thread.claims:
        assert text[claim.start:claim.end] == claim.text
    assert [c.role for c in thread.claims] == ["question", "question", "answer", "answer"]


def test_debris_lies_outside_every_content_span(mini):
    data, text = mini
    thread = parse_gold(data, text, "test", "mini")
    covered = "".join(text[s:e] for s, e in thread.content_spans())
    for debris in ("Home » Forums", "3 Answers", "Hi Jo_88,", "Good luck!", "Dr. Amira Costa", "4.9 out of 5",
                   "Dr. Ken Ito", "Thanks in advance!"):
        assert debris in text and debris not in covered


@pytest.mark.parametrize("value, expected", [
    ([3, 4, "months"], (3.0, 4.0)),
    ([None, 6, "months"], (None, 6.0)),
    ([9, None, "months"], (9.0, None)),
    ([12, 12, "weeks"], (2.76, 2.76)),
    ([1, 1, "years"], (12.0, 12.0)),
    ([90, 90, "days"], (2.96, 2.96)),
])
def test_durations_convert_to_months(value, expected):
    assert months(value, "x") == expected


@pytest.mark.parametrize("value", [[None, None, "months"], [4, 3, "months"], [3, 4, "fortnights"], [3, 4]])
def test_bad_durations_are_refused(value):
    with pytest.raises(GoldError, match="x: duration"):
        months(value, "x")


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["answers"][0].update(title="Dysport stops working"), "answer 1 title: 'Dysport stops working' not found"),
    (lambda d: d["claims"][2].update(sentence="Each treatment lasts 5 months."), "claim 3: 'Each treatment lasts 5 months.' not found"),
    (lambda d: d["claims"][0].update(types=["longevity"]), "claim 1: types must be"),
    (lambda d: d["claims"][1].update(negated=["atrophy"]), "claim 2: negated must be"),
    (lambda d: d["claims"][1].update(duration=[1, 2, "months"]), "claim 2: a duration figure needs"),
    (lambda d: d["answers"].reverse(), "occurs earlier: elements must be in page order"),
    (lambda d: d["answers"][0].update(stance="maybe"), "stance must be one of"),
    (lambda d: d["question"].update(kind="open"), "open question take no stance"),
    (lambda d: d["claims"].append(dict(d["claims"][0])), "listed twice"),
    (lambda d: d["answers"][1].update(author="Dr. Ito"), "unknown keys \\['author'\\]"),
])
def test_a_wrong_file_names_the_element(mini, edit, message):
    data, text = mini
    data = copy.deepcopy(data)
    edit(data)
    with pytest.raises(GoldError, match=message):
        parse_gold(data, text, "test", "mini.json")


def test_the_file_name_must_be_the_thread_id(tmp_path, mini):
    data, text = mini
    (tmp_path / "mini-forum.txt").write_text(text, encoding="utf-8")
    (tmp_path / "other.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(GoldError, match="does not match the file name"):
        load_gold(tmp_path / "other.json", tmp_path, {"mini-forum": "dev"})


def test_hash_part_is_stable_and_about_a_third():
    ids = [f"thread-{i}" for i in range(300)]
    parts = [hash_part(i) for i in ids]
    assert parts == [hash_part(i) for i in ids]
    assert 70 <= parts.count("test") <= 130


def test_the_corpus_split_was_drawn_by_the_hash_and_its_minimums_hold():
    split = read_split(config.CORPUS_SPLIT_FILE)
    sources = read_sources()
    assert sorted(split) == sorted(p.stem for p in config.CORPUS_DIR.glob("*.txt")) == sorted(sources)
    with open(config.CORPUS_SPLIT_FILE, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        thread_id, part, how = row["thread_id"], row["part"], row["assigned_by"]
        assert how in ("hash", "hash-topup", "written-here"), row
        assert sources[thread_id].written_here == (how == "written-here"), row
        assert part == {"hash": hash_part(thread_id), "hash-topup": "test", "written-here": "dev"}[how], row
    # the threads added on one day are exactly what extend_split gives them, from the split before that day
    last_day = max(source.added for source in sources.values())
    earlier = {t: part for t, part in split.items() if sources[t].added < last_day}
    added = {row["thread_id"]: (row["part"], row["assigned_by"]) for row in rows if row["thread_id"] not in earlier}
    assert extend_split(earlier, sources) == added
    test = [t for t, part in split.items() if part == "test"]
    assert len(test) >= 120 and sum(not sources[t].seed_site for t in test) >= 40
    assert sum(part == "dev" for part in split.values()) >= 200
    assert not any(sources[t].written_here for t in test)


def test_extend_split_tops_up_the_test_part_by_hash_order_and_says_when_it_cannot():
    def source(thread_id, layout="qa_thread", seed=True, address="https://example.org/x"):
        return PageSource(thread_id, address, layout, seed, "2026-01-01")

    ids = [f"t{k}" for k in range(12)]
    sources = {t: source(t, layout="faq_page" if t in ("t1", "t2", "t3", "t4") else "qa_thread") for t in ids}
    sources["w"] = source("w", layout="forum", address="written here")
    minimums = SplitMinimums(test_threads=5, test_other_sites=0, test_per_layout=2, dev_threads=3)
    parts = extend_split({}, sources, minimums)
    assert parts["w"] == ("dev", "written-here")  # and forum, with no real page, asks for no test thread
    test = [t for t, (part, _) in parts.items() if part == "test"]
    assert len(test) >= 5 and sum(sources[t].layout == "faq_page" for t in test) >= 2
    by_hash = [t for t in ids if hash_part(t) == "test"]
    assert all(parts[t] == ("test", "hash") for t in by_hash)
    # the top-up takes the dev threads with the smallest sha256 first
    digest = {t: int(hashlib.sha256(t.encode()).hexdigest(), 16) for t in ids}
    topped_ids = {t for t, (_, how) in parts.items() if how == "hash-topup"}
    left_in_dev = [t for t in ids if parts[t][0] == "dev"]
    assert max(digest[t] for t in topped_ids if sources[t].layout == "qa_thread") < min(
        [digest[t] for t in left_in_dev if sources[t].layout == "qa_thread"] or [float("inf")]) or not [
        t for t in topped_ids if sources[t].layout == "qa_thread"]
    topped = [t for t, (_, how) in parts.items() if how == "hash-topup"]
    assert topped and all(parts[t][0] == "test" and hash_part(t) == "dev" for t in topped)
    with pytest.raises(GoldError, match="cannot meet"):
        extend_split({}, sources, SplitMinimums(test_threads=12, test_other_sites=0, test_per_layout=0, dev_threads=3))


def test_a_bad_source_row_names_the_file_and_line(tmp_path):
    path = tmp_path / "SOURCES.csv"
    path.write_text("file,address,site_kind,seed_site,added\nt.txt,https://x.org,blog,no,2026-12-06\n", encoding="utf-8")
    with pytest.raises(GoldError, match=r"SOURCES.csv:2: site_kind must be one of"):
        read_sources(path)


def test_every_bundled_gold_file_fits_its_thread():
    threads = load_corpus_gold()
    assert {t.thread_id for t in threads} <= set(read_split(config.CORPUS_SPLIT_FILE))
    for thread in threads:  # a page with no answer (a video page's summary alone) has its claims in the question
        assert thread.answers or all(claim.position == 0 for claim in thread.claims), thread.thread_id
    assert sum(not thread.answers for thread in threads) <= len(threads) // 50, "answerless threads are rare pages"


def test_a_title_is_found_as_its_own_line_and_quotes_at_word_boundaries():
    text = ("Home » FAQ » Will Botox become permanent?\nWill Botox become permanent?\n\nNope.\n\n"
            "No\n\nIt wears off in 3 months.\n")
    data = {"thread_id": "t", "claims": [],
            "question": {"title": "Will Botox become permanent?", "body": None, "proposition": "p", "kind": "yes/no"},
            "answers": [{"title": None, "body": {"first": "Nope.", "last": "Nope."}, "stance": "against"},
                        {"title": "No", "body": {"first": "It wears off", "last": "in 3 months."}, "stance": "against"}]}
    thread = parse_gold(data, text, "dev", "t")
    assert thread.segments[0].title_span[0] == text.index("\nWill") + 1
    assert text[slice(*thread.segments[2].title_span)] == "No" and thread.segments[2].title_span[0] == text.index("\nNo\n") + 1


def test_a_duration_kind_is_checked_and_read(mini):
    data, text = mini
    duration = next(c for c in data["claims"] if "duration" in c["types"])
    good = copy.deepcopy(data)
    next(c for c in good["claims"] if c["sentence"] == duration["sentence"])["duration_kind"] = "interval"
    thread = parse_gold(good, text, "dev", "mini")
    assert {c.duration_kind for c in thread.claims if "duration" in c.types} >= {"interval"}
    bad = copy.deepcopy(data)
    next(c for c in bad["claims"] if c["sentence"] == duration["sentence"])["duration_kind"] = "lifetime"
    with pytest.raises(GoldError, match="duration_kind is one of"):
        parse_gold(bad, text, "dev", "mini")


def test_the_first_pages_of_a_new_layout_do_not_block_the_split():
    sources = {f"t{k}": PageSource(f"t{k}", "https://example.org", "qa_thread", True, "2026-01-01") for k in range(12)}
    sources["new"] = PageSource("new", "https://example.org/f", "forum", False, "2026-01-02")
    parts = extend_split({}, sources, SplitMinimums(test_threads=4, test_other_sites=0, test_per_layout=2,
                                                    dev_threads=3))
    assert set(parts) == set(sources)


def test_a_source_row_with_a_bad_date_or_extra_fields_is_refused(tmp_path):
    path = tmp_path / "SOURCES.csv"
    header = "file,address,site_kind,seed_site,added\n"
    path.write_text(header + "t.txt,https://x.org,qa_thread,no,2026/12/06\n", encoding="utf-8")
    with pytest.raises(GoldError, match=r"SOURCES.csv:2: added must be a date"):
        read_sources(path)
    path.write_text(header + "t.txt,https://x.org,qa_thread,no,2026-12-06,extra\n", encoding="utf-8")
    with pytest.raises(GoldError, match="more fields than columns"):
        read_sources(path)
