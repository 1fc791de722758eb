"""The tables' columns have one home, which docs/data-dictionary.md describes and light modules can import."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import schemas

DICTIONARY = Path(__file__).resolve().parents[1] / "docs" / "data-dictionary.md"


def dictionary_columns(table: str) -> set[str]:
    """Column names in the first cells of the data dictionary's table for `table` (e.g. 'answers.csv')."""
    text = DICTIONARY.read_text(encoding="utf-8")
    section = text.split(f"## {table}", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| column") and not line.startswith("|---"):
            names |= {name.strip() for name in line.split("|")[1].split(",")}
    return names


@pytest.mark.parametrize("table, columns", [("answers.csv", schemas.ANSWERS_OUTPUT_COLUMNS),
                                            ("claims.csv", schemas.CLAIM_COLUMNS),
                                            ("summary.csv", schemas.SUMMARY_COLUMNS)])
def test_the_data_dictionary_describes_exactly_the_columns_written(table, columns):
    assert dictionary_columns(table) == set(columns)


def test_the_summary_columns_follow_the_claim_types_and_labels():
    assert [c for c in schemas.SUMMARY_COLUMNS if c.startswith("claims_")] == [f"claims_{t}" for t in schemas.CLAIM_TYPES]
    assert {c for c in schemas.SUMMARY_COLUMNS if re.fullmatch(r"answers_\w+", c)} == {
        f"answers_{s}" for s in schemas.STANCES}


def test_schemas_and_the_report_import_no_spacy():
    code = ("import sys; import pipeline.schemas, pipeline.stages.report; "
            "print(sorted(m for m in ('spacy', 'sklearn') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_every_column_of_every_table_has_a_kind():
    for table in (*schemas.TABLES.values(), schemas.LABEL_COLUMNS, schemas.EXPORT_COLUMNS):
        assert set(table) <= set(schemas.COLUMN_KINDS), set(table) - set(schemas.COLUMN_KINDS)


def test_text_columns_read_back_as_text_whatever_they_look_like(tmp_path):
    import pandas as pd

    from pipeline.io.files import write_csv
    from pipeline.io.outputs import read_csv

    frame = pd.DataFrame({"thread_id": ["0042"], "proposition": ["2024"], "question_kind": ["yes/no"],
                          "title": ["=1+1"], "char_start": [3]})
    write_csv(frame, tmp_path / "t.csv", list(frame.columns))
    back = read_csv(tmp_path / "t.csv", "test")
    assert back.loc[0, "thread_id"] == "0042" and back.loc[0, "proposition"] == "2024"
    assert back.loc[0, "title"] == "=1+1" and back.loc[0, "char_start"] == 3


def test_the_dictionarys_negation_examples_are_what_the_pipeline_gives():
    import re

    import pipeline

    row = next(line for line in DICTIONARY.read_text(encoding="utf-8").splitlines() if line.startswith("| negated |"))
    examples = re.findall(r'"([^"]+\.)" (?:asserts|denies) reversibility \(negated (True|False)\)', row)
    assert len(examples) == 2
    nlp = pipeline.load()
    for sentence, negated in examples:
        claims = [span._.claim for span in nlp(sentence)._.claims if span.label_ == "reversibility"]
        assert [claim.negated for claim in claims] == [negated == "True"], sentence
