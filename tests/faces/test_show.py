"""`claims show`: a file's threads with their claims, as text and as displaCy's span view."""

import html
import re
import shutil

import pandas as pd
import pytest

from pipeline.faces.cli import main

from conftest import FIXTURES


def test_show_marks_every_claim_of_every_thread(tmp_path, capsys, small_models):
    source = next((FIXTURES / "formats").glob("*.jsonl"))
    page = tmp_path / "view.html"
    assert main(["show", str(source), "--html", str(page), "--models", str(small_models[0])]) == 0
    text = capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["run", "--input", str(source), "--out", str(out), "--models", str(small_models[0]),
                 "--train-input", str(small_models[2]), "--gold", str(small_models[1]),
                 "--gold-threads", str(small_models[2]), "--jobs", "1"]) in (0, 1)
    claims = pd.read_csv(out / "claims.csv", keep_default_na=False)
    for thread_id, rows in claims.groupby("thread_id"):
        assert f"{thread_id}: {len(rows)} claims" in text
    first = claims.iloc[0]
    assert f"[{first['claim_type']}" in text and f"({first['char_start']}-{first['char_end']})" in text
    view = page.read_text(encoding="utf-8")
    labels = [html.unescape(x) for x in re.findall(r'font-size: 0\.6em[^>]*>([^<]+)</span>', view)]  # one a span
    assert len(labels) == len(claims)
    assert sorted(label.split(" \u00b7 ")[0] for label in labels) == sorted(claims["claim_type"])
    assert "<script" not in view.lower()


def test_show_without_stance_needs_no_model(tmp_path, capsys):
    page = FIXTURES / "formats"
    source = next(page.glob("*.txt"), None) or next(page.glob("*.html"))
    assert main(["show", str(source), "--no-stance", "--models", str(tmp_path / "none")]) == 0
    assert " claims" in capsys.readouterr().out


CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
HOSTILE_ID = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"


def markup_page(tmp_path):
    """`claims show --html` of a thread whose id is markup that would run a script: the page written."""
    import json

    source = tmp_path / "threads.jsonl"
    source.write_text(json.dumps({"id": HOSTILE_ID, "question_title": "Is Botox permanent?", "question_body": "",
                                  "answers": [{"title": "No", "body": "It wears off in 3-4 months."}]}) + "\n")
    page = tmp_path / "view.html"
    assert main(["show", str(source), "--html", str(page), "--no-stance"]) == 0
    return page


def test_a_thread_id_that_is_markup_is_shown_as_text(tmp_path, capsys):
    """displaCy puts a page's title into its HTML unescaped: every value handed to it is escaped first."""
    view = markup_page(tmp_path).read_text(encoding="utf-8")
    assert "<img" not in view and html.escape(HOSTILE_ID) in view


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs a browser: apt-get install chromium (Debian's package)")
def test_a_thread_id_that_is_markup_runs_nothing_in_a_real_browser(tmp_path, capsys):
    dom = dump_dom(markup_page(tmp_path))
    assert "wears" in dom  # the page rendered
    assert 'data-pwned="1"' not in dom  # and its markup stayed text: it ran nothing


def test_escape_sequences_in_a_thread_or_a_file_name_never_reach_the_terminal_raw(tmp_path, capsys):
    escape = "\x1b]0;owned\x07\x1b[2J"
    folder = tmp_path / "in"
    folder.mkdir()
    page = folder / f"page{escape}.txt"
    page.write_text(f"Is Botox permanent? {escape}\n\nNo {escape}\n\nIt wears off in 3 months. {escape}\n")
    assert main(["show", str(page), "--no-stance"]) == 0
    shown = capsys.readouterr()
    assert "\x1b" not in shown.out + shown.err and "\\x1b]0;owned\\x07" in shown.out
    assert main(["segment", "--input", str(folder), "--out", str(tmp_path / "out")]) in (0, 1)
    assert "\x1b" not in capsys.readouterr().err


def dump_dom(page):
    """The page's DOM after its scripts ran in headless Chromium."""
    import subprocess

    result = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             f"--user-data-dir={page.parent / 'browser'}", "--dump-dom", page.as_uri()],
                            capture_output=True, text=True, timeout=60)
    return result.stdout
