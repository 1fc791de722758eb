"""Paths and settings in one place.

Stages take paths as arguments and use these only as defaults. Importing this
module reads nothing and changes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"
MODELS_DIR = PROJECT_ROOT / "models"
LABELS_FILE = RAW_DIR / "labels" / "stance_labels.csv"
CORPUS_DIR = RAW_DIR / "corpus"  # real threads (rewritten pages), annotated in GOLD_DIR
GOLD_DIR = RAW_DIR / "labels" / "gold"  # one hand-annotated JSON file per thread of the annotated corpus
CORPUS_SPLIT_FILE = RAW_DIR / "labels" / "corpus_split.csv"  # thread_id -> dev / test, drawn once
CORPUS_SOURCES_FILE = CORPUS_DIR / "SOURCES.csv"  # each corpus thread's page, layout class and site
RESOURCES_DIR = Path(__file__).resolve().parent / "resources"

# Rule files: data, editable without touching code. Each one is an input of
# the stage that reads it, so editing a rule re-runs that stage.
CLAIM_CUES_FILE = RESOURCES_DIR / "claim_cues.jsonl"
CONTEXT_TERMS_FILE = RESOURCES_DIR / "context_terms.json"
DURATION_LEXICON_FILE = RESOURCES_DIR / "duration_lexicon.json"
SEGMENT_LEXICON_FILE = RESOURCES_DIR / "segment_lexicon.json"
LABELING_LEXICON_FILE = RESOURCES_DIR / "labeling_lexicon.json"
QUESTION_LEXICON_FILE = RESOURCES_DIR / "question_lexicon.json"
LINE_SEGMENTER_FILE = RESOURCES_DIR / "line_segmenter.crfsuite"  # the learned segmenter (crfsuite's own format)
CLAIM_CLASSIFIER_FILE = RESOURCES_DIR / "claim_classifier.joblib"  # the learned claim detector, its card beside it
SHIPPED_MODELS_FILE = RESOURCES_DIR / "shipped_models.json"  # sha256 of the model versions models/ ships with

# A project folder (`claims init`): the command line's defaults, relative to the folder it runs in. In a
# clone of this repository they are the bundled data above; the annotated corpus (GOLD_DIR) stays the
# package's own, so a new project trains on it until it has labels of its own.
PROJECT_INPUT = Path("data/raw")
PROJECT_OUT = Path("data/processed")
PROJECT_MODELS = Path("models")
PROJECT_LABELS = PROJECT_INPUT / "labels" / "stance_labels.csv"
PROJECT_EVALUATION = PROJECT_OUT / "evaluation"  # `claims evaluate`: a model's figures, apart from a run's tables

MODEL_NAME = "stance"  # models/stance.joblib beside models/stance.card.json

LF_REPORT_CSV = "labeling_functions.csv"  # the labelling functions' figures, written by `train`


# Settings come in one block per stage, as a spaCy component has its own config block: a stage reads, and its
# fingerprint holds, only the blocks it declares (pipeline.runner.graph), so changing the stance model's
# regularisation re-runs no segmentation. Fields named in SPEED_SETTINGS change how fast, never what: no
# fingerprint holds them.

@dataclass(frozen=True)
class ReadSettings:
    """How thread files are read (pipeline.io.readers), before any stage sees them."""

    max_thread_bytes: int = 10 * 2**20  # a single-thread file or one JSONL line; larger is an error
    max_line_chars: int = 100_000  # a longer line is a dump, not a page
    max_thread_id_chars: int = 200  # a longer id (a JSONL "id", a CSV thread_id) is an input error, not a table key
    # Bounds on what one file or thread may cost, each refused with an error naming the file and the limit. An HTML
    # page's elements are counted before it is parsed: a tree takes about 0.7 KB an element (3.4 million <b> in
    # under 10 MiB took 2.2 GB), a long real thread page a few thousand to tens of thousands.
    max_html_elements: int = 200_000
    max_answers: int = 10_000  # answers of a JSONL or CSV thread: a thread of more is a dump (1.5 KB each in a run)
    max_page_lines: int = 100_000  # lines of text of a page (.txt, or an HTML page's blocks): each may start an answer
    follow_links: bool = False  # read symbolic links to files outside the input folder (--follow-links)
    propositions_file: str = ""  # CSV of thread_id, proposition[, question_kind] given by hand (docs in README)


@dataclass(frozen=True)
class SegmentSettings:
    """Splitting page text into the question and the answers (pipeline.stages.segment)."""

    max_title_words: int = 16
    max_lead_line_words: int = 12  # a shorter first line of an answer, over its paragraph, may be its title
    max_question_title_words: int = 30  # a longer first line is the question's body, not its title
    max_multi_sentence_title_words: int = 6  # "Weaker, yes. Permanently, no."
    # "combined" (the learned segmenter, the rules' reading where they find 3+ answers and it fewer), "learned": a CRF
    # over the page's lines trained on the annotated corpus's dev part, the rules among its features
    # (LINE_SEGMENTER_FILE; docs/accuracy.md, "Learned segmentation"), or "rules" (the line-kind rules alone)
    segmenter: str = "combined"


@dataclass(frozen=True)
class ExtractSettings:
    """Sentences and claims (pipeline.stages.extract and the spaCy components)."""

    spacy_model: str = "blank:en"  # or the name of an installed trained pipeline
    # "learned": a classifier per sentence and claim type decides, the rules among its features, trained on the
    # annotated corpus's dev part (CLAIM_CLASSIFIER_FILE; docs/accuracy.md, "Learned claim detection"); "rules": the
    # cues and their contexts alone
    claim_detector: str = "learned"
    batch_size: int = 64  # speed only
    doc_chars: int = 100_000  # speed only: a thread's titles and bodies go to spaCy joined in docs of at most this size


@dataclass(frozen=True)
class TrainSettings:
    """Training and judging the stance model (pipeline.learning)."""

    cv_folds: int = 5
    random_state: int = 0
    weak_label_weight: float = 0.0  # times the weak vote's confidence; 0: weak labels unused (no gain on dev, see README)
    calibration: str = "temperature"  # or "sigmoid" / "isotonic" (CalibratedClassifierCV) or "none"
    calibration_ensemble: bool = True  # sigmoid / isotonic: mean of per-fold calibrated models, or one
    min_labels_to_calibrate: int = 15  # hand labels per class before probabilities get calibrated
    stance_design: str = "paired"  # "paired" reads each claim against its question; "blind" does not
    stance_c: float = 1.0  # inverse regularisation of the stance logistic regression (chosen by dev CV)


@dataclass(frozen=True)
class ClassifySettings:
    """Applying the stance model to claims and answers (pipeline.stages.classify)."""

    title_weight: float = 2.0  # weight of title claims in answer-level stance
    score_decimals: int = 4


@dataclass(frozen=True)
class RunSettings:
    """How a run is carried out (pipeline.runner)."""

    chunk_threads: int = 500  # speed only: threads per chunk, the unit of streaming, parallel work and resuming (each
    # chunk costs about 0.1 s of fixed pandas and scikit-learn work: 200 a chunk ran 9% slower, 1,000 no faster)
    output_format: str = "csv"  # "parquet": the run's tables also as Parquet files, typed (needs pyarrow)


SPEED_SETTINGS = frozenset({"batch_size", "doc_chars", "chunk_threads"})  # tests/runner check they change no table


@dataclass(frozen=True)
class Settings:
    """Every block of settings; `DEFAULT_SETTINGS.replace(stance_c=0.5)` changes a field by its name."""

    read: ReadSettings = field(default_factory=ReadSettings)
    segment: SegmentSettings = field(default_factory=SegmentSettings)
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    classify: ClassifySettings = field(default_factory=ClassifySettings)
    run: RunSettings = field(default_factory=RunSettings)

    def replace(self, **changes) -> "Settings":
        """A copy with fields changed by name (field names are unique across blocks); an unknown name is an error."""
        by_block: dict[str, dict] = {}
        for name, value in changes.items():
            block = FIELD_BLOCKS.get(name)
            if block is None:
                raise TypeError(f"no setting named {name!r}; known: {', '.join(sorted(FIELD_BLOCKS))}")
            by_block.setdefault(block, {})[name] = value
        return replace(self, **{block: replace(getattr(self, block), **values) for block, values in by_block.items()})

    def as_dict(self) -> dict:
        return asdict(self)

    def fingerprint(self, blocks) -> dict:
        """What a stage reading `blocks` is keyed on: their fields, speed settings left out."""
        return {block: {k: v for k, v in asdict(getattr(self, block)).items() if k not in SPEED_SETTINGS}
                for block in blocks}


BLOCKS = tuple(f.name for f in fields(Settings))
FIELD_BLOCKS = {f.name: block for block in BLOCKS for f in fields(Settings.__dataclass_fields__[block].default_factory)}
DEFAULT_SETTINGS = Settings()
