"""The analyst's report and the exploration notebook, on a small multi-thread corpus."""

import html
import json
import shutil

import pytest

from pipeline.outputs import read_csv
from pipeline.report import build_report, median_range, stated_durations, thread_overview, write_report

from conftest import FIXTURES, SEED

HOSTILE = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from pipeline.cli import main

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
    assert f"{len(durations)} claims state a duration" in page
    assert page.count("<tr data-thread-id=") == len(claims)
    assert f"{len(overview)} threads, {len(replies)} answers, {len(claims)} claims" in page
    assert all(data[:8] == b"\x89PNG\r\n\x1a\n" for data in figures.values())


def test_report_escapes_every_piece_of_input_text(run, tmp_path):
    out, _ = run
    paths = write_report(out, tmp_path)
    page = paths[0].read_text(encoding="utf-8")
    assert HOSTILE not in page and "<b>way</b>" not in page
    assert html.escape(HOSTILE) in page and "No &lt;b&gt;way&lt;/b&gt;" in page
    assert page.count("<script>") == 1  # the report's own filter script
    assert "<mark>It lasts 3-4 months.</mark>" in page
    assert {p.name for p in paths} >= {"report.html", "durations.png", "claim_types.png", "answers_by_stance.png"}


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
    from pipeline import report

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


def test_a_million_character_thread_id_is_shown_short_and_kept_whole_in_the_csvs(run, tmp_path):
    """Ids are refused over 200 characters at reading, but a table edited by hand can hold any; such an id once
    made the report run minutes and take gigabytes (figure titles and tick labels that long)."""
    from pipeline import report

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
