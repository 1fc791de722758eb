"""`claims show`: a file's threads with their claims, as text and as displaCy's span view."""

import html
import re

import pandas as pd

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
