"""The stages, declared once: what each reads and writes, which settings it sees, and its one step function.

Everything about running is derived from these declarations (pipeline.runner.execute): a stage's
fingerprint holds the keys of its inputs, the settings blocks it declares and the package's code; the stages
a run makes stale are those that read what it wrote; the tables a run publishes are the last version of each
artifact its stages wrote. As in spaCy's project.yml, nothing about the order or the dependencies is kept
anywhere else.

Artifacts are named: `threads` (the thread files, read lazily), the tables `answers`, `claims`, `summary` and
`errors`, the stance `model`, the hand `labels`, the annotated corpus `gold`, and the files `lf_report`,
`metrics` and `report`. A step takes a dict of its inputs and returns a dict of its outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pipeline.config import Settings
from pipeline.schemas import TABLES

TABLE_ARTIFACTS = tuple(TABLES)  # answers, claims, summary, errors: CSV tables in an output folder


@dataclass(frozen=True)
class Stage:
    """One stage as declared."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    settings: tuple[str, ...]  # the blocks of Settings it reads: all its fingerprint holds of the settings
    step: Callable[[dict, Settings, "Context"], dict]
    per_thread: bool = False  # a chunk of threads at a time gives the same rows: it can stream and run in parallel


class Context:
    """What steps share within a process: the spaCy pipeline, built once per settings and version of the rule
    files (an edited rule file takes effect on the next run, also in the same process)."""

    def __init__(self, nlp=None, settings=None):
        self._given = (settings, nlp) if nlp is not None else None
        self._nlp: dict = {}

    def nlp(self, settings):
        if self._given is not None and self._given[0] == settings:
            return self._given[1]
        key = (settings, _rules_version())
        if key not in self._nlp:
            from pipeline.components import build_nlp

            self._nlp = {key: build_nlp(settings)}  # one at a time: an older version is of no more use
        return self._nlp[key]


def _rules_version() -> tuple:
    from pipeline.config import CLAIM_CUES_FILE, CONTEXT_TERMS_FILE, DURATION_LEXICON_FILE

    return tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in (CLAIM_CUES_FILE, CONTEXT_TERMS_FILE,
                                                                      DURATION_LEXICON_FILE))


def _segment(inputs: dict, settings: Settings, context: Context) -> dict:
    from pipeline.stages.segment import segment_threads

    segmenter = None
    if settings.segment.segmenter in ("learned", "combined"):
        from pipeline.stages.line_labels import learned_segments as segmenter
    elif settings.segment.segmenter != "rules":
        raise ValueError(f"segment.segmenter is 'combined', 'learned' or 'rules', not {settings.segment.segmenter!r}")
    answers, errors = segment_threads(inputs["threads"], settings.segment, segmenter)
    return {"answers": answers, "errors": errors}


def _extract(inputs: dict, settings: Settings, context: Context) -> dict:
    from pipeline.stages.extract import earlier_errors, extract_threads

    answers, claims, failed = extract_threads(context.nlp(settings.extract), inputs["answers"], settings.extract,
                                              inputs.get("progress"))
    return {"answers": answers, "claims": claims, "errors": [*earlier_errors(inputs["errors"]), *failed]}


def _classify(inputs: dict, settings: Settings, context: Context) -> dict:
    from pipeline.stages.classify import classify_threads

    model = inputs["model"]
    answers, claims, summary = classify_threads(model.estimator if model is not None else None, inputs["answers"],
                                                inputs["claims"], settings.classify)
    return {"answers": answers, "claims": claims, "summary": summary}


def _report(inputs: dict, settings: Settings, context: Context) -> dict:
    from pipeline.stages.report import report_files

    return {"report": report_files(inputs["answers"], inputs["claims"], inputs["errors"])}


def _train(inputs: dict, settings: Settings, context: Context) -> dict:
    from pipeline.learning.train import fit_version

    candidate = fit_version(inputs["training"], inputs["labels"], inputs["gold"], inputs["current"], settings)
    return {"model": candidate, "lf_report": candidate.lf_report}


def _evaluate(inputs: dict, settings: Settings, context: Context) -> dict:
    from pipeline.measuring.evaluation import evaluate_model

    model = inputs["model"]
    return {"metrics": evaluate_model(model.estimator, model.card, inputs["gold"].sets(), settings)}


GRAPH: dict[str, Stage] = {stage.name: stage for stage in (
    # training segments and extracts the labelled threads in memory (`training`), then fits on them and the gold
    Stage("train", ("training", "labels", "gold", "current"), ("model", "lf_report"),
          ("read", "segment", "extract", "train", "classify"), _train),
    Stage("segment", ("threads",), ("answers", "errors"), ("read", "segment"), _segment, per_thread=True),
    # extract empties the stance columns of answers (their claims are new) and names a thread it fails on in errors
    Stage("extract", ("answers", "errors"), ("answers", "claims", "errors"), ("extract",), _extract, per_thread=True),
    Stage("classify", ("answers", "claims", "model"), ("answers", "claims", "summary"), ("classify",), _classify,
          per_thread=True),
    Stage("report", ("answers", "claims", "errors"), ("report",), (), _report),
    Stage("evaluate", ("model", "gold"), ("metrics",), ("train", "classify"), _evaluate),
)}
ORDER = tuple(GRAPH)  # the declaration order, a topological one: an input comes from the nearest stage before
# it that writes it
THREAD_STAGES = ("segment", "extract", "classify")  # what `claims run` executes


def producers(artifact: str, before: str) -> list[str]:
    """The stages declared before `before` that write `artifact`, nearest first."""
    earlier = ORDER[:ORDER.index(before)]
    return [name for name in reversed(earlier) if artifact in GRAPH[name].outputs]


def downstream(names) -> set[str]:
    """Stages that read, directly or not, what any of `names` writes (their results no longer hold once it ran)."""
    found: set[str] = set()
    frontier = set(names)
    while frontier:
        frontier = {s.name for s in GRAPH.values() for name in frontier
                    if ORDER.index(s.name) > ORDER.index(name) and set(s.inputs) & set(GRAPH[name].outputs)}
        frontier -= found | set(names)
        found |= frontier
    return found


def published(names) -> list[str]:
    """The artifacts a run of the stages `names` leaves, each in the version of the last stage that wrote it."""
    seen: list[str] = []
    for name in names:
        seen += [artifact for artifact in GRAPH[name].outputs if artifact not in seen]
    return seen


def stale_tables(names) -> list[str]:
    """Tables that running `names` makes stale: written by a stage downstream and not by this run
    (a new answers.csv makes claims.csv and summary.csv stale; they leave the output folder's manifest)."""
    later = {artifact for s in downstream(names) for artifact in GRAPH[s].outputs}
    return sorted((later - set(published(names))) & set(TABLE_ARTIFACTS))


def errors_of(names, errors: list) -> list:
    """The rows of errors.csv that the stages `names` made: an input segment could not read, a thread extract
    failed on (so `claims extract` reports its own, not the files segment skipped)."""
    from pipeline.stages.extract import is_failure

    return [e for e in errors if ("extract" if is_failure(e) else "segment") in names]


def check_chain(names) -> list[Stage]:
    """The stages named, in declaration order; an unknown name, or a gap (segment and classify without extract,
    which would take its claims from an earlier run), is an error."""
    unknown = [n for n in names if n not in GRAPH]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; known: {list(GRAPH)}")
    positions = sorted(ORDER.index(n) for n in set(names))
    if positions != list(range(positions[0], positions[-1] + 1)):
        raise ValueError(f"stages {sorted(names, key=ORDER.index)} are not consecutive in {list(ORDER)}")
    return [GRAPH[ORDER[k]] for k in positions]
