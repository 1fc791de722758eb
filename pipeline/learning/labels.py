"""The hand labels file (data/raw/labels/stance_labels.csv): read, checked, and joined to claims."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from pipeline.io.files import InputError, restore
from pipeline.schemas import ABSTAIN, LABEL_COLUMNS, STANCES

LEVELS = ("sentence", "answer")


def read_labels(path: Path | str) -> pd.DataFrame:
    """The hand-label file, checked: known levels and labels only, no conflicting duplicates."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "labels file not found")
    try:
        labels = pd.read_csv(path, dtype=str, keep_default_na=False).map(restore)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as err:
        raise InputError(path, f"cannot be read as CSV in UTF-8 ({err})") from None
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise InputError(path, f"missing columns {missing}")
    for column, allowed in (("level", LEVELS), ("label", STANCES)):
        bad = labels.index[~labels[column].isin(allowed)]
        if len(bad):
            raise InputError(path, f"unknown {column} {labels.at[bad[0], column]!r}; expected one of {allowed}",
                             line=int(bad[0]) + 2)
    key = ["level", "answer_id", "text"]
    clash = labels.groupby(key)["label"].nunique()
    if (clash > 1).any():
        level, answer_id, text = clash[clash > 1].index[0]
        raise InputError(path, f"conflicting labels for {level} {answer_id}: {text[:60]!r}")
    return labels.drop_duplicates(key)


def attach_labels(claims: pd.DataFrame, labels: pd.DataFrame) -> pd.Series:
    """Hand label per claim row, matched on answer and sentence text; '' where unlabelled."""
    sentence_labels = labels[labels["level"] == "sentence"].set_index(["answer_id", "text"])["label"]
    keys = pd.MultiIndex.from_frame(claims[["answer_id", "text"]])
    return pd.Series(sentence_labels.reindex(keys).fillna(ABSTAIN).to_numpy(), index=claims.index)
