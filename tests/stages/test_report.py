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
    durations = stated_durations(claims)
    with_figures = claims[claims[["duration_min_months", "duration_max_months"]].notna().any(axis=1)]
    assert len(durations) == len(with_figures)
    low, high = median_range(durations)
    assert low == with_figures["duration_min_months"].median() and high == with_figures["duration_max_months"].median()
    page, figures = build_report(answers, claims)
    effect = durations[durations["duration_kind"] == "effect"]
    assert f"{len(effect)} claims state how long the effect lasts" in page
    assert f"{len(durations) - len(effect)} claims state another length" in page  # intervals, recovery, onset apart
    assert page.count("<tr data-thread-id=") == len(claims)
    assert f"{len(overview)} threads, {len(replies)} answers, {len(claims)} claims" in page
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
    assert f"The 10 of {len(claims):,} claims" in page


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


CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)


def browse(page, fragment: str) -> str:
    """The report's DOM after its script ran in headless Chromium, with the address fragment given."""
    import subprocess

    result = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                             f"{page.as_uri()}#{fragment}"], capture_output=True, text=True, timeout=180)
    assert "<table id=\"evidence\">" in result.stdout, result.stderr[-1000:]
    return result.stdout


def evidence(dom: str) -> list[dict]:
    import re

    rows = []
    body = dom.split('<table id="evidence">', 1)[1].split("</table>", 1)[0]
    for attributes, cells in re.findall(r"<tr (data-[^>]*)>(.*?)</tr>", body, re.S):
        found = dict(re.findall(r'([\w-]+)="([^"]*)"', attributes))
        found["visible"] = "display: none" not in found.get("style", "")
        found["cells"] = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td>(.*?)</td>", cells, re.S)]
        rows.append(found)
    return rows


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs a browser: apt-get install chromium (Debian's package)")
def test_search_filters_and_sorting_work_in_a_real_browser(run, tmp_path):
    out, _ = run
    page = write_report(out, tmp_path / "report")[0]
    claims = read_csv(out / "claims.csv", "run")
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
    scores = [float(r["cells"][6]) for r in rows if r["cells"][6]]
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
    stated = claims[claims["duration_min_months"].notna() | claims["duration_max_months"].notna()]
    effect = stated[stated["duration_kind"] == "effect"]
    assert durations.count("<tr title=") == len(effect) and others.count("<tr title=") == len(stated) - len(effect)
    assert len(effect) and len(stated) > len(effect)  # the bundled threads state intervals as well
    first = effect.iloc[0]
    assert f'title="{html.escape(first["text"])}"' in durations  # the sentence on hover
    assert "<td>interval</td>" in others and "<td>interval</td>" not in durations
