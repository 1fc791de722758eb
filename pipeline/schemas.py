"""The tables' columns and the label sets, in one place that imports nothing heavy.

Writers, readers, the report and the tests take columns from here; the
data dictionary (docs/data-dictionary.md) describes them (tests/test_schemas.py checks that it
names every column of every table). Importing this module does not import
spaCy, scikit-learn or pandas.
"""

from __future__ import annotations

CLAIM_TYPES = ("duration", "atrophy", "dose_reduction", "reversibility")
# what a duration measures: how long the effect (or a side effect) lasts, recovery after stopping treatment, the
# interval between treatments, the time until it starts working, or something else (GUIDELINE.md, "Duration kinds")
DURATION_KINDS = ("effect", "recovery", "interval", "onset", "other")
FAVOR, AGAINST, NEUTRAL, ABSTAIN = "favor", "against", "neutral", ""
STANCES = (AGAINST, FAVOR, NEUTRAL)
ASKER = "question"  # the role of the asker's own rows and claims: they take no stance
YES_NO, OPEN, NONE = "yes/no", "open", "none"  # what a thread's question asks (pipeline.stages.question)
QUESTION_KINDS = (YES_NO, OPEN, NONE)
LASTING, PASSING, OTHER = "lasting", "passing", "other"  # which way a yes points
POLARITIES = (LASTING, PASSING, OTHER)
# what a yes/no question's proposition is about (GUIDELINE.md, "Proposition kinds"): the effect lasting or building up,
# the effect passing, the treatment stopping working, things coming back worse after stopping, a side effect lasting
RESISTANCE, WORSE_AFTER_STOPPING, SIDE_EFFECT_DURATION = "resistance", "worse_after_stopping", "side_effect_duration"
PROPOSITION_KINDS = (LASTING, PASSING, RESISTANCE, WORSE_AFTER_STOPPING, SIDE_EFFECT_DURATION, OTHER)

QUESTION_COLUMNS = ["proposition", "question_kind", "proposition_polarity", "question_source",
                    "proposition_kind"]  # question row only
ANSWER_COLUMNS = [
    "thread_id", "answer_id", "position", "role", "title", "text",
    "char_start", "char_end", "title_start", "title_end", "source", "source_line",
    *QUESTION_COLUMNS,
]
ANSWERS_OUTPUT_COLUMNS = ANSWER_COLUMNS + ["stance", "stance_score"]
CLAIM_COLUMNS = [
    "claim_id", "thread_id", "answer_id", "role", "sentence_id", "claim_type", "text", "char_start", "char_end",
    "negated", "hedged", "cue", "duration_min_months", "duration_max_months", "duration_kind", "stance", "stance_score",
]
SUMMARY_COLUMNS = (
    ["thread_id", "question", "question_found", *QUESTION_COLUMNS, "answers"] + [f"answers_{s}" for s in STANCES]
    + ["claims"] + [f"claims_{t}" for t in CLAIM_TYPES]
    + ["durations_stated", "duration_min_months", "duration_max_months", "duration_open_ended"]
)
ERROR_COLUMNS = ["source", "line", "error"]
LABEL_COLUMNS = ["thread_id", "level", "answer_id", "text", "label", "annotator", "labelled_at", "source"]
EXPORT_COLUMNS = ["level", "claim_id", "answer_id", "thread_id", "question", "proposition", "answer_title", "text",
                  "claim_type", "prediction", "score", "uncertainty", "label", "annotator", "notes"]

# What each column holds; a name means the same thing in every table. Text columns are read as text even
# when a value looks like a number (a title "2024", a thread id "0042"); what each column means is in
# docs/data-dictionary.md.
TEXT, INTEGER, NUMBER, FLAG = "text", "integer", "number", "flag"
COLUMN_KINDS = {
    **dict.fromkeys(["thread_id", "answer_id", "sentence_id", "claim_id", "role", "title", "text", "claim_type", "cue",
                     "stance", "source", "question", "error", *QUESTION_COLUMNS, "level", "label", "annotator", "duration_kind",
                     "labelled_at", "answer_title", "prediction", "notes"], TEXT),
    **dict.fromkeys(["position", "char_start", "char_end", "title_start", "title_end", "source_line", "line",
                     "answers", *(f"answers_{s}" for s in STANCES), "claims", *(f"claims_{t}" for t in CLAIM_TYPES),
                     "durations_stated"], INTEGER),
    **dict.fromkeys(["stance_score", "duration_min_months", "duration_max_months", "score", "uncertainty"], NUMBER),
    **dict.fromkeys(["negated", "hedged", "question_found", "duration_open_ended"], FLAG),
}
TEXT_COLUMNS = tuple(column for column, kind in COLUMN_KINDS.items() if kind == TEXT)

# the tables of a run, by name: answers.csv and so on (answers.parquet beside it with --format parquet)
TABLES = {"answers": ANSWERS_OUTPUT_COLUMNS, "claims": CLAIM_COLUMNS, "summary": SUMMARY_COLUMNS,
          "errors": ERROR_COLUMNS}
TABLE_FORMATS = ("csv", "parquet")


def table_file(name: str, suffix: str = "csv") -> str:
    """The file name of a table of a run."""
    return f"{name}.{suffix}"


TABLE_FILES = tuple(table_file(name, suffix) for suffix in TABLE_FORMATS for name in TABLES)
