"""The analyst's report and the exploration notebook, on a small multi-thread corpus."""

import html
import json
import shutil

import pytest

from pipeline.io.outputs import read_csv
from pipeline.runner import commands
from pipeline.stages.report import build_report, median_range, stated_durations, thread_overview

from conftest import FIXTURES, SEED

HOSTILE = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from pipeline.faces.cli import main

    raw = tmp_path_factory.mktemp("raw")
    shutil.copy(SEED, raw)
    shutil.copy(FIXTURES / "masseter_training.txt", raw)
    for name in ("clinic_faq.txt", "count_signatures.txt"):
        shutil.copy(FIXTURES / "layouts" / name, raw)
    (raw / "hostile.jsonl").write_text(json.dumps({
        "id": "hostile", "question_title": f"Is it permanent? {HOSTILE}", "question_body": "Asking & wondering.",
        "answers": [{"title": "No <b>way</b>", "body": f"It lasts 3-4 months. {HOSTILE} It wears off."},
                    {"title": "Yes", "body": "With repeated use the muscles atrophy & you need less product."}]}) + "\n")
    models, out = tmp_path_factory.mktemp("models"), tmp_path_factory.mktemp("out")
    assert main(["run", "--input", str(raw), "--out", str(out), "--models", str(models)]) == 0
    return out, models


def write_report(out, report_dir):
    """`claims report`: the page and its figures into report_dir, (the page's path, the figures' paths)."""
    outcome = commands.report(out, report_dir, force=True)
    return [report_dir / "report.html", *(report_dir / name for name in outcome.artifacts["report"]
                                          if name.endswith(".png"))]


def test_report_counts_and_ranges_match_the_tables(run):
    out, _ = run
    answers, claims = read_csv(out / "answers.csv", "run"), read_csv(out / "claims.csv", "run")
    overview = thread_overview(answers)
    replies = answers[answers["role"] == "answer"]
    for row in overview.itertuples():
        mine = replies[replies["thread_id"] == row.thread_id]
        assert row.answers == len(mine)
        assert (row.favor, row.against, row.neutral) == tuple(int((mine["stance"] == s).sum())
                                                             for s in ("favor", "against", "neutral"))
        kind = answers.loc[(answers["thread_id"] == row.thread_id) & (answers["role"] == "question"), "question_kind"]
        if kind.eq("yes/no").all():
            assert row.consensus.startswith(f"{max(row.favor, row.against, row.neutral)} of {row.answers} answers")
        else:  # an open question, or none found: no answer takes a stance, and the overview says why
            assert row.consensus.startswith("no stance") and row.favor + row.against + row.neutral == 0
    assert list(overview["disagreement"]) == sorted(overview["disagreement"], reverse=True)
    experts, askers = claims[claims["role"] == "answer"], claims[claims["role"] == "question"]
    assert len(askers) and len(experts) + len(askers) == len(claims)  # the bundled threads' askers state claims
    durations = stated_durations(claims)
    with_figures = experts[experts[["duration_min_months", "duration_max_months"]].notna().any(axis=1)]
    assert len(durations) == len(with_figures)
    low, high = median_range(durations)
    assert low == with_figures["duration_min_months"].median() and high == with_figures["duration_max_months"].median()
    page, figures = build_report(answers, claims)
    effect = durations[durations["duration_kind"] == "effect"]
    assert f"{len(effect)} claims state how long the effect lasts" in page
    assert f"{len(durations) - len(effect)} claims state another length" in page  # intervals, recovery, onset apart
    assert page.count("<tr data-thread-id=") == len(experts)
    assert (f"{len(overview)} threads, {len(replies)} answers, {len(experts)} claims by the experts and "
            f"{len(askers)} by the askers (shown apart)") in page
    assert all(data[:8] == b"\x89PNG\r\n\x1a\n" for data in figures.values())


def test_report_escapes_every_piece_of_input_text(run, tmp_path):
    out, _ = run
    paths = write_report(out, tmp_path)
    assert len(paths) > 3 and all(path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for path in paths[1:])
    assert "report: up to date, skipped" in _second_report(out, tmp_path)
    page = paths[0].read_text(encoding="utf-8")
    assert HOSTILE not in page and "<b>way</b>" not in page
    assert html.escape(HOSTILE) in page and "No &lt;b&gt;way&lt;/b&gt;" in page
    assert page.count("<script>") == 1  # the report's own filter script
    assert "<mark>It lasts 3-4 months.</mark>" in page
    assert {p.name for p in paths} >= {"report.html", "durations.png", "claim_types.png", "answers_by_stance.png"}


def _second_report(out, report_dir) -> str:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        commands.report(out, report_dir)
    return err.getvalue()


@pytest.mark.slow
def test_notebook_runs_top_to_bottom(run, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    from pipeline.config import PROJECT_ROOT

    out, models = run
    monkeypatch.setenv("CLAIMS_OUT", str(out))
    monkeypatch.setenv("CLAIMS_MODELS", str(models))
    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "1.0-explore-claims.ipynb", as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3").execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "threads" in text and "claims state a duration" in text


def test_figure_names_never_come_from_thread_ids_and_limits_hold(run, tmp_path, monkeypatch):
    from pipeline.stages import report

    out, _ = run
    answers, claims = read_csv(out / "answers.csv", "run"), read_csv(out / "claims.csv", "run")
    answers = answers.assign(thread_id=answers["thread_id"].radd("../../x/$300 "))
    claims = claims.assign(thread_id=claims["thread_id"].radd("../../x/$300 "))
    monkeypatch.setattr(report, "MAX_EVIDENCE_ROWS", 10)
    monkeypatch.setattr(report, "MAX_THREAD_FIGURES", 2)
    page, figures = report.build_report(answers, claims)
    assert all("/" not in name and "$" not in name for name in figures)
    assert sum(name.startswith("durations_thread_") for name in figures) <= 2
    assert page.count("<tr data-thread-id=") == 10
    assert f"The 10 of {int((claims['role'] == 'answer').sum()):,} claims" in page  # the experts' claims


def test_flag_cells_edited_by_hand_are_escaped_too(run, tmp_path):
    """negated and hedged are the tool's own booleans, but a table edited in a spreadsheet can hold anything."""
    out, _ = run
    answers, claims = read_csv(out / "answers.csv", "run"), read_csv(out / "claims.csv", "run")
    claims = claims.astype({"negated": object, "hedged": object})
    claims.loc[claims.index[0], ["negated", "hedged"]] = [HOSTILE, "<b>maybe</b>"]
    page, _ = build_report(answers, claims)
    assert HOSTILE not in page and "<b>maybe</b>" not in page and html.escape(HOSTILE) in page


@pytest.mark.slow  # a stress test: a report of a million-character id
def test_a_million_character_thread_id_is_shown_short_and_kept_whole_in_the_csvs(run, tmp_path):
    """Ids are refused over 200 characters at reading, but a table edited by hand can hold any; such an id once
    made the report run minutes and take gigabytes (figure titles and tick labels that long)."""
    from pipeline.stages import report

    out, _ = run
    answers, claims = read_csv(out / "answers.csv", "run"), read_csv(out / "claims.csv", "run")
    first = answers["thread_id"].iloc[0]
    huge = "t" * 1_000_000

    def lengthen(frame):
        return frame.assign(**{c: frame[c].str.replace(first, huge, regex=False)
                               for c in ("thread_id", "answer_id", "claim_id") if c in frame})

    page, figures = report.build_report(lengthen(answers), lengthen(claims))
    assert huge not in page and len(page) < 3_000_000
    assert report.shown_id(huge) in page and len(report.shown_id(huge)) < 120
    assert report.shown_id(huge) != report.shown_id(huge + "x")  # shortened ids stay apart


SCORE, DURATION, KIND = 8, 3, 4  # columns of the evidence table
CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)


def browse(page, fragment: str = "", query: str = "") -> str:
    """The report's DOM after its script ran in headless Chromium, with the address's query and fragment given."""
    import subprocess

    address = page.as_uri() + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")
    result = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             f"--user-data-dir={page.parent / 'browser'}", "--dump-dom", address],
                            capture_output=True, text=True, timeout=180)
    assert "<table id=\"evidence\">" in result.stdout, result.stderr[-1000:]
    return result.stdout


def evidence(dom: str) -> list[dict]:
    """The evidence table's rows: their attributes, whether shown, their cells' text and the cells' sort keys."""
    import re

    rows = []
    body = re.split(r"<table id=[\"']evidence[\"']>", dom, maxsplit=1)[1].split("</table>", 1)[0]
    for attributes, cells in re.findall(r"<tr (data-[^>]*)>(.*?)</tr>", body, re.S):
        found = {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', attributes)}
        found["visible"] = "display: none" not in found.get("style", "")
        cells = re.findall(r"<td([^>]*)>(.*?)</td>", cells, re.S)
        found["cells"] = [html.unescape(re.sub(r"<[^>]+>", "", c)) for _, c in cells]
        found["sort_keys"] = [(re.findall(r'data-sort="([^"]*)"', a) or [None])[0] for a, _ in cells]
        rows.append(found)
    return rows


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs a browser: apt-get install chromium (Debian's package)")
def test_search_filters_and_sorting_work_in_a_real_browser(run, tmp_path):
    out, _ = run
    page = write_report(out, tmp_path / "report")[0]
    claims = read_csv(out / "claims.csv", "run")
    claims = claims[claims["role"] == "answer"]  # the evidence is the experts' claims; the asker's are apart
    everything = evidence(browse(page, ""))
    assert len(everything) == len(claims) and all(r["visible"] for r in everything)

    dom = browse(page, "claimType=duration")
    rows = evidence(dom)
    visible = [r for r in rows if r["visible"]]
    assert len(visible) == (claims["claim_type"] == "duration").sum() > 0
    assert all(r["data-claim-type"] == "duration" for r in visible)
    assert f"{len(visible)} of {len(claims)} claims shown" in dom

    dom = browse(page, "search=atrophy%20%26")  # the words of the hostile thread's answer, typed in the search box
    visible = [r for r in evidence(dom) if r["visible"]]
    assert visible and all("atrophy &" in " ".join(r["cells"]).lower() for r in visible)

    rows = evidence(browse(page, "sort=-score"))
    scores = [float(r["cells"][SCORE]) for r in rows if r["cells"][SCORE]]
    assert scores == sorted(scores, reverse=True) and len(scores) > 10


def test_skipped_input_and_readable_durations_are_in_the_report(run, tmp_path):
    out, _ = run
    answers, claims = read_csv(out / "answers.csv", "run"), read_csv(out / "claims.csv", "run")
    errors = read_csv(out / "errors.csv", "run")
    page, _ = build_report(answers, claims, errors.iloc[:0])
    assert "Every input file was read." in page and "-0.0" not in page
    bad = errors.iloc[:0].reindex(range(2)).assign(source=["a.txt", "b.jsonl"], line=[None, 3], error=["empty", "x"])
    page, _ = build_report(answers, claims, bad)
    assert "2 input items could not be read" in page and "<td>b.jsonl</td><td>3</td>" in page
    durations = page.split("<table id='durations'>", 1)[1].split("</table>", 1)[0]
    others = page.split("<table id='other-durations'>", 1)[1].split("</table>", 1)[0]
    experts = claims[claims["role"] == "answer"]  # the asker's own durations are shown apart
    stated = experts[experts["duration_min_months"].notna() | experts["duration_max_months"].notna()]
    effect = stated[stated["duration_kind"] == "effect"]
    assert durations.count("<tr title=") == len(effect) and others.count("<tr title=") == len(stated) - len(effect)
    assert len(effect) and len(stated) > len(effect)  # the bundled threads state intervals as well
    first = effect.iloc[0]
    assert f'title="{html.escape(first["text"])}"' in durations  # the sentence on hover
    assert "<td>interval</td>" in others and "<td>interval</td>" not in durations


# ---- the address keeps the view (issue 24, item 3) ---------------------------------------------------------

# Appended to a copy of the report: does what `?act=` lists as a reader would (a filter chosen, words typed, a
# column header clicked), through the DOM events the page listens to, then writes the address and the controls'
# state into <body>, where --dump-dom shows them. Without `?act=` it only writes them.
PROBE = """<script>(function(){const act=new URLSearchParams(location.search).get('act');
for(const step of act?JSON.parse(act):[]){
if(step.select!==undefined){const s=document.querySelector('.filters select[name="'+step.select+'"]');
s.value=step.value;s.dispatchEvent(new Event('change'));}
if(step.search!==undefined){const s=document.getElementById('search');s.value=step.search;
s.dispatchEvent(new Event('input'));}
if(step.click!==undefined)
[...document.querySelectorAll('#evidence th')].find(h=>h.textContent.trim()===step.click).click();}
document.body.setAttribute('data-address',location.href);
document.body.setAttribute('data-state',JSON.stringify({search:document.getElementById('search').value,
filters:[...document.querySelectorAll('.filters select')].map(s=>s.name+'='+s.value),
sort:[...document.querySelectorAll('#evidence th')].map(h=>h.getAttribute('aria-sort')),
shown:document.getElementById('shown').textContent}));})();</script>"""


def probed(page):
    """A copy of the report beside it with PROBE appended: the report's own script runs first, unchanged."""
    text = page.read_text(encoding="utf-8")
    assert text.endswith("</body></html>")
    copy = page.with_name("probe.html")
    copy.write_text(text[:-len("</body></html>")] + PROBE + "</body></html>", encoding="utf-8")
    return copy


def view(page, steps=None, fragment: str = "") -> tuple[str, dict, list[dict]]:
    """Open the page (doing `steps` first, if any): the address it ends at, its controls' state and its rows."""
    from urllib.parse import quote

    dom = browse(page, fragment, "act=" + quote(json.dumps(steps)) if steps else "")
    body = dom.split("<body", 1)[1].split(">", 1)[0]
    address = html.unescape(body.split('data-address="', 1)[1].split('"', 1)[0])
    state = json.loads(html.unescape(body.split('data-state="', 1)[1].split('"', 1)[0]))
    return address, state, evidence(dom)


def fragment_of(address: str) -> dict:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(address).fragment))


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs a browser: apt-get install chromium (Debian's package)")
def test_the_address_follows_filters_search_and_sort_and_reopens_the_same_view(run, tmp_path):
    out, _ = run
    page = probed(write_report(out, tmp_path / "report")[0])
    claims = read_csv(out / "claims.csv", "run")
    untouched_address, untouched, everything = view(page)
    assert "#" not in untouched_address and all(r["visible"] for r in everything)

    steps = [{"select": "claimType", "value": "duration"}, {"search": "months"},
             {"click": "duration"}, {"click": "duration"}]  # twice: longest first
    address, state, rows = view(page, steps)
    assert fragment_of(address) == {"claimType": "duration", "search": "months", "sort": "-duration"}
    assert "?act=" in address  # the rest of the address is left as it was
    visible = [r for r in rows if r["visible"]]
    assert 0 < len(visible) < (claims["claim_type"] == "duration").sum() < len(claims)
    assert all(r["data-claim-type"] == "duration" and "months" in " ".join(r["cells"]).lower() for r in visible)
    keys = [r["sort_keys"][DURATION] for r in rows]
    stated = [float(k) for k in keys if k]
    assert stated == sorted(stated, reverse=True) and len(set(stated)) > 2
    assert keys == [k for k in keys if k] + [""] * keys.count("")  # claims without a figure last
    assert state["sort"][DURATION] == "descending" and state["filters"][1] == "claimType=duration"

    reopened_address, reopened, rows_again = view(page, fragment=address.split("#", 1)[1])  # shared: opened anew
    assert reopened == state and fragment_of(reopened_address) == fragment_of(address)
    assert [(r["title"], r["visible"]) for r in rows_again] == [(r["title"], r["visible"]) for r in rows]
    assert [(r["title"], r["visible"]) for r in rows] != [(r["title"], r["visible"]) for r in everything]

    # a view opened from an address and changed keeps what the address said; back to "all", the address is bare
    address, _, _ = view(page, [{"select": "stance", "value": "favor"}, {"click": "score"}], "claimType=duration")
    assert fragment_of(address) == {"claimType": "duration", "stance": "favor", "sort": "score"}
    address, state, rows = view(page, [{"select": "stance", "value": "favor"}, {"select": "stance", "value": ""}])
    assert "#" not in address and state == untouched
    assert [(r["title"], r["visible"]) for r in rows] == [(r["title"], r["visible"]) for r in everything]


# ---- counts, ties, untitled answers, durations in the evidence (issue 24, item 4) ------------------------------

def toy_run(threads: dict, kinds: dict | None = None):
    """answers and claims as a run writes them, from {thread_id: (question, [(title, body, stance, claims)])}.

    A claim is (claim_type, sentence in the body, min months, max months, kind, stance). Written by hand, so each
    test says exactly which threads tie and which answers lack a title.
    """
    import numpy as np
    import pandas as pd

    from pipeline.schemas import ANSWERS_OUTPUT_COLUMNS, CLAIM_COLUMNS

    answers, claims, offset = [], [], 0
    for thread_id, (question, replies) in threads.items():
        posts = [(question, "", None, [])] + list(replies)
        for position, (title, body, stance, stated) in enumerate(posts):
            answer_id, title_start = f"{thread_id}:{position}", offset
            title_end = title_start + len(title or "")
            start = title_end + 1
            answers.append({"thread_id": thread_id, "answer_id": answer_id, "position": position,
                            "role": "answer" if position else "question", "title": title, "text": body,
                            "char_start": start, "char_end": start + len(body), "title_start": title_start,
                            "title_end": title_end, "source": f"{thread_id}.txt",
                            "question_kind": (kinds or {}).get(thread_id, "yes/no") if not position else np.nan,
                            "stance": stance})
            for k, (claim_type, sentence, low, high, kind, claim_stance) in enumerate(stated):
                at = start + body.index(sentence)
                claims.append({"claim_id": f"{answer_id}:{k}:{claim_type}", "thread_id": thread_id,
                               "answer_id": answer_id, "role": "answer", "sentence_id": f"{answer_id}:{k}",
                               "claim_type": claim_type, "text": sentence, "char_start": at,
                               "char_end": at + len(sentence), "negated": False, "hedged": False, "cue": "",
                               "duration_min_months": low, "duration_max_months": high, "duration_kind": kind,
                               "stance": claim_stance, "stance_score": 0.75})
            offset = start + len(body) + 2
    return (pd.DataFrame(answers).reindex(columns=ANSWERS_OUTPUT_COLUMNS),
            pd.DataFrame(claims).reindex(columns=CLAIM_COLUMNS))


def atrophy(sentence="Muscles atrophy.", stance="favor"):
    return ("atrophy", sentence, None, None, None, stance)


def lasting(sentence, low, high, kind="effect", stance="against"):
    return ("duration", sentence, low, high, kind, stance)


def visible_text(page: str) -> str:
    import re

    page = page.split("<body>", 1)[1].split("<script>", 1)[0]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.mark.parametrize("n, noun, expected", [(0, "claim", "0 claims"), (1, "thread", "1 thread"),
                                                (2, "answer", "2 answers"), (1200, "claim", "1,200 claims")])
def test_counted_agrees_with_its_number(n, noun, expected):
    from pipeline.stages.report import counted

    assert counted(n, noun) == expected


ONE = {"t-one": ("Is it permanent?", [("No", "It lasts 1 month.", "against",
                                       [lasting("It lasts 1 month.", 1, 1)])])}


def test_every_count_agrees_with_its_noun():
    import re

    page, _ = build_report(*toy_run(ONE))
    text = visible_text(page)
    assert "1 thread, 1 answer, 1 claim." in text
    assert "1 claim states how long the effect lasts" in text and "0 claims state another length" in text
    assert "1 of 1 answer: against (no)" in text and "Median range: 1 month;" in text
    assert not re.search(r"\b1 (threads|answers|claims|months|items|have|ask|state)\b", text), text

    two = {**ONE, "t-open": ("How long does it last?", [("Months", "About 3-4 months.", None,
                                                         [lasting("About 3-4 months.", 3, 4, "recovery", None)])])}
    text = visible_text(build_report(*toy_run(two, kinds={"t-open": "open"}))[0])
    assert "2 threads, 2 answers, 2 claims." in text
    assert "1 thread asks an open question" in text and "0 have no question" in text
    assert "1 claim states another length" in text and "3\u20134 months" in text


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs a browser: apt-get install chromium (Debian's package)")
def test_the_live_count_of_one_claim_is_singular_in_a_real_browser(tmp_path):
    page, _ = build_report(*toy_run(ONE))
    (tmp_path / "report.html").write_text(page, encoding="utf-8")
    assert "<span id=\"shown\" class=\"muted\">1 of 1 claim shown</span>" in browse(tmp_path / "report.html")
    assert "0 of 1 claim shown" in browse(tmp_path / "report.html", "stance=favor")


def test_threads_tied_on_disagreement_come_by_claims_then_thread_id():
    from pipeline.stages.report import report_files, thread_overview

    split = [("Yes", "Muscles atrophy.", "favor", [atrophy()]), ("No", "It wears off.", "against", [])]
    threads = {  # t-a, t-b and t-c tie (one answer for, one against); t-z is split three ways
        "t-c": ("Is it permanent?", split[:1] + [split[1][:3] + ([atrophy("It wears off.", "against")] * 2,)]),
        "t-a": ("Is it permanent?", split),
        "t-b": ("Is it permanent?", [split[0][:3] + ([atrophy(), atrophy(), atrophy()],), split[1]]),
        "t-z": ("Is it permanent?", split + [("Maybe", "Who knows.", "neutral", [])]),
    }
    answers, claims = toy_run(threads)
    expected = ["t-z", "t-b", "t-c", "t-a"]  # t-b: 3 claims, t-c: 3 claims, t-a: 1
    overview = thread_overview(answers, claims)
    assert list(overview["thread_id"]) == expected and list(overview["claims"]) == [1, 3, 3, 1]
    assert overview["disagreement"].iloc[1] == overview["disagreement"].iloc[3] < overview["disagreement"].iloc[0]
    assert list(thread_overview(answers)["thread_id"]) == ["t-z", "t-a", "t-b", "t-c"]  # without claims: by id

    files = report_files(answers, claims)
    assert [t["thread_id"] for t in json.loads(files["threads.json"])] == expected
    page = files["report.html"].decode()
    assert "Threads tied on it come by their number of claims, most first, then by thread id." in page
    table = page.split("<h2>Threads, most disputed first</h2>", 1)[1].split("</table>", 1)[0]
    assert [table.index(f"<td>{t}</td>") for t in expected] == sorted(table.index(f"<td>{t}</td>") for t in expected)
    rows = evidence(page)
    assert [r["data-thread-id"] for r in rows] == sorted((r["data-thread-id"] for r in rows), key=expected.index)
    assert report_files(answers, claims) == files  # same input, same bytes


def test_an_answer_without_a_title_is_named_by_its_position(monkeypatch):
    from pipeline.stages import report

    threads = {"t-a": ("Is it permanent?", [
        ("It wears off", "It lasts 3-4 months.", "against", [lasting("It lasts 3-4 months.", 3, 4)]),
        (None, "Mine lasted 6 months.", "against", [lasting("Mine lasted 6 months.", 6, 6)]),
        ("  ", "Up to 5 months here.", "against", [lasting("Up to 5 months here.", None, 5)])])}
    answers, claims = toy_run(threads)
    labels = []
    drawn = report.durations_figure
    monkeypatch.setattr(report, "durations_figure",
                        lambda durations, title: labels.append(list(durations["label"])) or drawn(durations, title))
    page, _ = report.build_report(answers, claims)
    assert labels[0] == ["t-a \u00b7 It wears off", "t-a \u00b7 answer 2", "t-a \u00b7 answer 3"]
    assert "thread \u00b7" not in page and "\u00b7 <" not in page
    durations = page.split("<table id='durations'>", 1)[1].split("</table>", 1)[0]
    assert "<td>answer 2</td><td>6 months</td>" in durations and "<td>answer 3</td><td>up to 5 months</td>" in durations
    assert "<b class='muted'>answer 2</b>" in page and "<b>It wears off</b>" in page
    assert list(report.answer_names(answers)) == ["Is it permanent?", "It wears off", "answer 2", "answer 3"]


@pytest.mark.parametrize("low, high, expected", [
    (3, 4, "3\u20134 months"), (1, 1, "1 month"), (0.5, 0.5, "0.5 months"), (1, 2, "1\u20132 months"),
    (6, None, "6 months or more"), (1, None, "1 month or more"), (None, 4, "up to 4 months"),
    (None, 1, "up to 1 month"), (2.76, 3.22, "2.76\u20133.22 months"), (None, None, ""), (float("nan"), None, "")])
def test_a_duration_reads_as_months(low, high, expected):
    from pipeline.stages.report import duration_text

    assert duration_text(low, high) == expected


def test_the_evidence_shows_each_claims_duration_and_its_kind(run):
    import pandas as pd

    from pipeline.stages.report import duration_text

    out, _ = run
    answers, claims = read_csv(out / "answers.csv", "run"), read_csv(out / "claims.csv", "run")
    page, _ = build_report(answers, claims)
    assert "<th>duration</th><th>kind</th>" in page
    by_id = claims.set_index("claim_id")
    rows = evidence(page)
    assert len(rows) == int((claims["role"] == "answer").sum())  # the experts' claims; the asker's are apart
    for row in rows:
        claim = by_id.loc[row["title"]]
        assert row["cells"][DURATION] == duration_text(claim["duration_min_months"], claim["duration_max_months"])
        assert row["cells"][KIND] == ("" if pd.isna(claim["duration_kind"]) else claim["duration_kind"])
    shown = {(r["cells"][DURATION], r["cells"][KIND]) for r in rows}
    assert ("3\u20134 months", "effect") in shown  # the hostile thread's "It lasts 3-4 months."
    assert {kind for _, kind in shown} >= {"effect", "interval", ""}
    assert any(kind and not months for months, kind in shown)  # a kind stated without a figure is still shown
    assert any(months.endswith("or more") for months, _ in shown) and any(m.startswith("up to") for m, _ in shown)


# ---- the asker's own claims apart (issue 23) ----------------------------------------------------------------------

def asker_report_tables():
    """The asker thread (tests/asker_thread.py) through segment, extract and classify, with a stub model."""
    from pipeline.stages.classify import classify_threads

    from asker_thread import RecordingModel, asker_tables

    tables = asker_tables()
    answers, claims, _ = classify_threads(RecordingModel(), tables["answers"], tables["claims"])
    return answers, claims


def test_the_asker_s_claims_are_apart_from_the_experts_charts_and_tables(monkeypatch):
    from pipeline.stages import report

    from asker_thread import ASKER_ATROPHY, ASKER_DURATION

    answers, claims = asker_report_tables()
    experts = claims[claims["role"] == "answer"]
    drawn = []
    figure = report.durations_figure
    monkeypatch.setattr(report, "durations_figure",
                        lambda durations, title: drawn.append(set(durations["text"])) or figure(durations, title))
    page, _ = report.build_report(answers, claims)
    text = visible_text(page)
    # the charts and the experts' tables: 3-4 and about 4 months, not the asker's 9
    assert drawn and all(ASKER_DURATION not in texts for texts in drawn)
    durations = page.split("<table id='durations'>", 1)[1].split("</table>", 1)[0]
    assert "9 months" not in durations and "3\u20134 months" in durations and "4 months" in durations
    # median of the lower bounds (3, 4) and of the upper ones (4, 4); with the asker's 9 it would be 4-4
    assert "2 claims state how long the effect lasts. Median range: 3.5\u20134 months" in text
    types = report.types_by_answer(claims).set_index("claim_type")
    assert types.loc["atrophy", "claims"] == 0 and types["claims"].sum() == len(experts)
    rows = evidence(page)
    assert len(rows) == len(experts) and not any(ASKER_DURATION in r["cells"][1] for r in rows)
    assert f"1 thread, 2 answers, {len(experts)} claims by the experts and 2 by the askers (shown apart)." in text
    # shown apart: in the thread table's own column and in the askers' table, with the asker's duration
    overview = report.thread_overview(answers, claims)
    assert overview.loc[0, "claims"] == len(experts)
    assert overview.loc[0, "asker_says"] == f"{ASKER_DURATION} / {ASKER_ATROPHY}"
    threads = page.split("<h2>Threads, most disputed first</h2>", 1)[1].split("</table>", 1)[0]
    assert "<th>the asker says</th>" in threads and html.escape(f"{ASKER_DURATION} / {ASKER_ATROPHY}") in threads
    askers = page.split("<table id='askers'>", 1)[1].split("</table>", 1)[0]
    assert askers.count("<tr><td>asker-says</td>") == 2
    assert f"<td>{ASKER_DURATION}</td><td>duration</td><td>9 months</td><td>effect</td>" in askers
    assert f"<td>{ASKER_ATROPHY}</td><td>atrophy</td><td></td><td></td>" in askers
    assert "2 claims in 1 thread are the askers' own sentences, not the experts'." in text
    assert report.report_files(answers, claims) == report.report_files(answers, claims)  # same input, same bytes


def test_a_run_whose_askers_state_nothing_has_no_askers_column_nor_section():
    page, _ = build_report(*toy_run(ONE))
    assert "the asker says" not in page and "What the askers say" not in page and "by the askers" not in page
    answers, claims = asker_report_tables()
    experts_only = claims[claims["role"] == "answer"]
    assert "the asker says" not in build_report(answers, experts_only)[0]


def test_the_asker_s_column_is_short_and_the_askers_table_keeps_every_claim():
    import numpy as np
    import pandas as pd

    from pipeline.stages import report

    answers, claims = asker_report_tables()
    asker = claims[claims["role"] == "question"].iloc[0]
    long = "I was told " + "very " * 60 + "often that it lasts for years."
    many = pd.DataFrame([{**asker.to_dict(), "claim_id": f"{asker['answer_id']}:{9 + k}:duration",
                          "sentence_id": f"{asker['answer_id']}:{9 + k}", "char_start": 1000 + k,
                          "text": long if k == 0 else f"Sentence {k} of mine.", "duration_min_months": np.nan,
                          "duration_max_months": np.nan, "duration_kind": np.nan} for k in range(4)])
    claims = pd.concat([claims, many], ignore_index=True)
    says = report.thread_overview(answers, claims).loc[0, "asker_says"]
    assert says.count(" / ") == report.MAX_ASKER_SENTENCES - 1 and says.endswith("(and 3 more)")
    page, _ = report.build_report(answers, claims)
    askers = page.split("<table id='askers'>", 1)[1].split("</table>", 1)[0]
    assert askers.count("<tr><td>") == 6 and html.escape(long) in askers  # every claim whole in the askers' table
