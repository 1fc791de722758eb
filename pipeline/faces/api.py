"""The pipeline from Python, without files: claims from a string, the tables from threads, typed tables from a run.

    import pipeline
    nlp = pipeline.load()                      # spaCy Language; doc._.claims are spans
    claims = pipeline.extract_claims("Is Botox permanent?\n\nNo. It wears off in 3-4 months.")
    tables = pipeline.process(["...", {...}])  # answers, claims, summary, errors, as in the CSVs
    tables = pipeline.read_outputs("data/processed")

Every table comes with the dtypes its columns are documented with
(docs/data-dictionary.md): text as pandas' string dtype (ids stay text, "0042"
stays "0042"), counts and offsets as nullable integers, flags as nullable
booleans, scores and months as floats.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pandas as pd

from pipeline import config, schemas
from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.io.files import InputError
from pipeline.io.outputs import typed

STRING_SOURCE = "<string>"


def load(settings: Settings = DEFAULT_SETTINGS):
    """The spaCy pipeline with the claim components: ``nlp(text)._.claims`` are spans labelled with the claim type,
    each with ``span._.claim`` (negated, hedged, cue, duration_min_months, duration_max_months)."""
    from pipeline.components import build_nlp

    return build_nlp(settings.extract)


def as_thread(item, position: int = 1, settings: Settings = DEFAULT_SETTINGS):
    """A ThreadSource from page text (a str), a JSONL-shaped dict, or a ThreadSource."""
    from pipeline.io.readers import _checked, thread_from_record
    from pipeline.threads import ThreadSource

    if isinstance(item, ThreadSource):
        return item
    if isinstance(item, str):
        if not item.strip():
            raise InputError(STRING_SOURCE, "the text is empty", line=position)
        return _one_answer_if_plain(_checked(ThreadSource(f"text-{position}", STRING_SOURCE, position, item),
                                             settings.read), settings)
    if isinstance(item, dict):
        return thread_from_record(item, STRING_SOURCE, position, settings.read)
    raise TypeError(f"a thread is page text (str), a dict like a JSONL line or a ThreadSource, not {type(item).__name__}")


def _one_answer_if_plain(thread, settings: Settings):
    """Text given here with no question and no answers the rules recognise (a sentence, a paragraph) is one
    answer, silently: the segment stage says so of a file, where it may be a page the rules misread, but a plain
    string is the usual input of the API. The segments are given with the thread (the stage would find the same
    ones), except those of other text the rules have a note on: the segment stage finds them again and warns, as
    it does for a file."""
    from dataclasses import replace

    from pipeline.stages.segment import segment_text

    if settings.segment.segmenter == "learned":  # the CRF alone says nothing of a page it reads as one answer
        return thread
    notes: list[str] = []
    try:
        segments = segment_text(thread.text, thread.source, settings.segment, thread.title_hints, notes)
    except InputError:  # only boilerplate: the segment stage names it in errors
        return thread
    question, answers = segments[0], segments[1:]
    plain = not question.title and question.char_start == question.char_end and len(answers) == 1
    return replace(thread, segments=tuple(segments)) if plain or not notes else thread


def _items(threads, settings: Settings) -> Iterable:
    """ThreadSources and InputErrors from a Path (file or folder), one thread, or an iterable of threads.

    A str is always page text, never a path: pass a Path to read files.
    """
    from pipeline.io import readers

    if isinstance(threads, Path):
        yield from readers.iter_threads(threads, settings.read)
        return
    if isinstance(threads, (str, dict, readers.ThreadSource)):
        threads = [threads]
    for position, item in enumerate(threads, 1):
        try:
            yield as_thread(item, position, settings)
        except InputError as err:
            yield err


def process(threads, model_dir: Path | str | None = config.MODELS_DIR, settings: Settings = DEFAULT_SETTINGS,
            nlp=None) -> dict[str, pd.DataFrame]:
    """answers, claims, summary and errors for `threads`, typed, with stance from the current model of
    `model_dir` if it has one (None: no stance). `threads` is a Path (a thread file or folder), one thread, or an
    iterable of threads (page text, JSONL-shaped dicts); bad ones become rows of errors. `nlp`: a pipeline from
    load() to use instead of building one (repeated calls keep theirs anyway)."""
    from pipeline.learning import registry
    from pipeline.runner.execute import execute
    from pipeline.runner.graph import THREAD_STAGES, Context
    from pipeline.runner.sinks import MemorySink, Source, as_table

    items = list(_items(threads, settings))
    has_model = model_dir is not None and registry.current_version(model_dir) is not None
    context = Context(nlp, settings.extract) if nlp is not None else shared_context()
    outcome = execute(list(THREAD_STAGES), Source(threads=items, model_dir=Path(model_dir) if has_model else None),
                      MemorySink(), settings, context=context)
    return {name: typed(as_table(name, outcome.artifacts[name]).reindex(columns=list(schemas.TABLES[name])))
            for name in schemas.TABLES}


@lru_cache(maxsize=1)
def shared_context():
    """One Context for every call: the spaCy pipeline one call builds serves the next (keyed by its settings)."""
    from pipeline.runner.graph import Context

    return Context()


def extract_claims(text_or_thread, settings: Settings = DEFAULT_SETTINGS, nlp=None) -> pd.DataFrame:
    """claims.csv's rows for one thread (page text, a JSONL-shaped dict or a ThreadSource), stance left empty.

    Bad input raises InputError, as a file would be named in errors.csv.
    """
    thread = as_thread(text_or_thread, 1, settings)
    tables = process([thread], model_dir=None, settings=settings, nlp=nlp)
    if len(tables["errors"]):
        raise InputError(thread.source, tables["errors"]["error"].iloc[0])
    return tables["claims"]


def read_outputs(folder: Path | str = config.PROCESSED_DIR, format: str = "csv") -> dict[str, pd.DataFrame]:
    """The tables of a run's folder, typed, from its CSVs or (format="parquet", after `claims run --format parquet`)
    its Parquet files: the same columns and dtypes either way. The CSVs are read as one set, pinned by one read of
    the folder's manifest, so a read during another run's switch gives the old set or the new one, never a mix."""
    from pipeline.io.outputs import frame_of, read_tables, table_path

    if format not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet', not {format!r}")
    folder = Path(folder)
    present = [name for name in schemas.TABLES if (folder / schemas.table_file(name, format)).exists()]
    if not present:
        raise InputError(folder, f"no {format} tables here; run 'claims run'"
                                 + (" --format parquet" if format == "parquet" else "") + " first")
    if format == "csv":
        data = read_tables(folder, [schemas.table_file(name) for name in present])
        return {name: typed(frame_of(data[schemas.table_file(name)])) for name in present}
    return {name: typed(pd.read_parquet(table_path(folder / schemas.table_file(name, format)))) for name in present}
