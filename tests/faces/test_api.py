"""The Python API: the spaCy pipeline and its component, claims from a string, tables from threads, typed tables."""

import contextlib
import io
import subprocess
import sys
import pandas as pd
import pytest
import spacy

import pipeline
from pipeline import config
from pipeline.io.files import InputError
from pipeline.schemas import CLAIM_COLUMNS, COLUMN_KINDS, TABLES

from conftest import SEED

PAGE = ("Is Botox permanent after years of use?\n\nDr. Smith\nNot permanent\n"
        "No. The effect wears off in 3-4 months, although the muscle may weaken with repeated treatment.\n")
RECORD = {"id": "0042", "question_title": "Does the muscle shrink with Botox?", "question_body": "",
          "answers": [{"title": "Yes", "body": "The muscle atrophies with repeated use."}]}


def claims_of(doc):
    return [(s.label_, s.start_char, s.end_char, s._.claim.negated, s._.claim.hedged, s._.claim.duration_min_months,
             s._.claim.duration_max_months) for s in doc._.claims]


def test_load_gives_claims_as_spans_with_type_flags_and_durations():
    doc = pipeline.load()("It is not permanent. The effect may last 3-4 months.")
    found = {(s.label_, s.text, s._.claim.negated, s._.claim.hedged, s._.claim.duration_min_months,
              s._.claim.duration_max_months) for s in doc._.claims}
    assert ("duration", "The effect may last 3-4 months.", False, True, 3.0, 4.0) in found
    assert any(label == "reversibility" and text == "It is not permanent." for label, text, *_ in found)
    assert all(s._.claim is not None for s in doc._.claims)


def test_the_component_works_in_a_pipeline_of_your_own(seed_text):
    """(Saved and loaded by spacy.load in a fresh interpreter: tests/components/test_saving.py.)"""
    reference = claims_of(pipeline.load()(seed_text))
    own = spacy.blank("en")
    own.add_pipe("medical_claims")
    assert claims_of(own(seed_text)) == reference
    assert [claims_of(d) for d in own.pipe([seed_text, PAGE], batch_size=1)][0] == reference


def test_extract_claims_from_a_string_has_the_csv_columns_and_dtypes():
    claims = pipeline.extract_claims(PAGE)
    assert list(claims.columns) == CLAIM_COLUMNS
    assert set(claims["claim_type"]) >= {"duration", "reversibility"}
    assert str(claims["claim_id"].dtype) == "string" and str(claims["char_start"].dtype) == "Int64"
    assert str(claims["negated"].dtype) == "boolean" and claims["stance"].isna().all()
    row = claims[claims["claim_type"] == "duration"].iloc[0]
    assert PAGE[row["char_start"]:row["char_end"]] == row["text"] and row["duration_max_months"] == 4.0
    with pytest.raises(InputError, match="empty"):
        pipeline.extract_claims("   ")


PLAIN = ["Botox is not permanent and the effect wears off in 3 months.",  # a short line: "no answers recognised"
         ("Over many years of clinical use, Botox is not permanent and the effect wears off in 3 months for nearly "
          "every patient seen in clinic each week, whatever the dose or the muscle that was treated.")]  # a long one:
# "the page's copy has no question"


@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_given_to_the_api_is_one_answer_silently(text, capsys, caplog):
    claims = pipeline.extract_claims(text)
    tables = pipeline.process(text, model_dir=None)
    said = capsys.readouterr()
    assert said.err == "" and said.out == "" and caplog.records == []
    assert {"duration", "reversibility"} <= set(claims["claim_type"])
    duration = claims[claims["claim_type"] == "duration"].iloc[0]
    assert duration["duration_min_months"] == 3.0 and text[duration["char_start"]:duration["char_end"]] == duration["text"]
    answers = tables["answers"]
    assert answers["role"].tolist() == ["question", "answer"] and answers["text"].tolist() == ["", text]
    assert tables["claims"]["claim_id"].tolist() == claims["claim_id"].tolist()


def test_the_same_plain_text_in_a_file_is_still_said_to_have_no_answers(tmp_path, capsys):
    """A file is a page: one the rules read as a single answer may be a page they misread, so it is said."""
    (tmp_path / "page.txt").write_text(PLAIN[0], encoding="utf-8")
    from_file = pipeline.process(tmp_path / "page.txt", model_dir=None)
    assert "no answers recognised; the whole text is read as one answer" in capsys.readouterr().err
    assert from_file["claims"]["text"].tolist() == pipeline.extract_claims(PLAIN[0])["text"].tolist()


def test_process_takes_texts_records_and_paths_and_names_bad_ones(small_models, seed_text):
    tables = pipeline.process([PAGE, RECORD, {"id": "x"}], model_dir=small_models[0])
    assert set(tables) == set(TABLES)
    assert list(tables["answers"].columns) == list(TABLES["answers"])
    assert tables["answers"]["thread_id"].tolist()[:1] == ["text-1"] and "0042" in set(tables["answers"]["thread_id"])
    assert tables["errors"]["error"].str.contains("lacks the field 'answers'").any()
    assert tables["answers"].loc[tables["answers"]["role"] == "answer", "stance"].notna().any()
    from_file = pipeline.process(SEED, model_dir=None)
    from_text = pipeline.process(seed_text, model_dir=None)
    assert from_file["claims"]["text"].tolist() == from_text["claims"]["text"].tolist()
    assert from_file["answers"]["stance"].isna().all()


def test_read_outputs_gives_every_column_its_documented_dtype(small_models, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "threads.jsonl").write_text(__import__("json").dumps(RECORD) + "\n", encoding="utf-8")
    (inputs / "page.txt").write_text(PAGE, encoding="utf-8")
    from pipeline.runner import commands

    commands.run(inputs, tmp_path / "out", small_models[0], jobs=1)
    tables = pipeline.read_outputs(tmp_path / "out")
    expected = {"text": "string", "integer": "Int64", "number": "float64", "flag": "boolean"}
    for name, frame in tables.items():
        for column in frame.columns:
            assert str(frame[column].dtype) == expected[COLUMN_KINDS[column]], (name, column)
    assert "0042" in set(tables["answers"]["thread_id"])  # an id that looks like a number stays text
    with pytest.raises(InputError, match="no csv tables here"):
        pipeline.read_outputs(tmp_path / "in")


def test_import_pipeline_stays_light():
    out = subprocess.run([sys.executable, "-c", "import sys, pipeline; print('spacy' in sys.modules, "
                          "'sklearn' in sys.modules)"], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_readme_example_runs():
    readme = (config.PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("## From Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, "README.md", "exec"), {"__name__": "__main__"})
    assert "duration The effect may last 3-4 months. False True 3.0 4.0" in printed.getvalue()
    assert "['dose_reduction']" in printed.getvalue()


def test_parquet_output_has_the_same_columns_and_dtypes_as_the_csvs(small_models, tmp_path):
    pytest.importorskip("pyarrow", reason="the optional parquet extra is not installed")
    import pyarrow.parquet as pq

    from pipeline.faces.cli import main

    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "page.txt").write_text(PAGE, encoding="utf-8")
    (inputs / "threads.jsonl").write_text(__import__("json").dumps(RECORD) + "\n", encoding="utf-8")
    (inputs / "bad.jsonl").write_text("{", encoding="utf-8")
    model_dir, gold, threads = small_models
    common = ["--input", str(inputs), "--models", str(model_dir), "--train-input", str(threads), "--gold", str(gold),
              "--gold-threads", str(threads), "--jobs", "1"]
    out = tmp_path / "out"
    assert main(["run", *common, "--out", str(out), "--format", "parquet"]) == 1
    from_csv, from_parquet = pipeline.read_outputs(out), pipeline.read_outputs(out, "parquet")
    for name in TABLES:
        pd.testing.assert_frame_equal(from_csv[name], from_parquet[name])
        kinds = {field.name: str(field.type) for field in pq.read_schema(out / f"{name}.parquet")}
        expected = {"text": "string", "integer": "int64", "number": "double", "flag": "bool"}
        assert kinds == {c: expected[COLUMN_KINDS[c]] for c in TABLES[name]}
    assert "0042" in set(from_parquet["answers"]["thread_id"])
    assert main(["run", *common, "--out", str(out)]) == 1  # back to CSV only: the Parquet files would be stale
    assert not list(out.glob("*.parquet"))
