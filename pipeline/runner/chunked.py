"""The whole pipeline over a corpus in chunks: streaming, parallel, resumable.

Threads are read lazily and grouped into chunks of ``settings.chunk_threads``.
Each chunk is segmented, its claims extracted and classified, and its rows of
answers.csv, claims.csv, summary.csv and errors.csv written as part files in
``OUT/.parts/<run key>/``; when every chunk is done the parts are concatenated,
in chunk order, into the final tables. Memory therefore does not grow with the
corpus, chunks can run in any process or on any Dask worker with the same
result byte for byte, and an interrupted run starts again at the first chunk
whose parts are missing.

Workers receive thread texts and return CSV bytes, so a Dask cluster needs no
shared file system: only the client reads inputs and writes outputs.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
from collections import deque
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from pipeline.stages import classify as dataset
from pipeline.stages import extract
from pipeline.io import files
from pipeline.components import build_nlp
from pipeline.io import outputs
from pipeline.io import readers
from pipeline.learning import registry
from pipeline.config import DEFAULT_SETTINGS, Settings
from pipeline.io.files import InputError, MissingExtraError, atomic_write_bytes, csv_bytes  # noqa: F401 (re-exported)
from pipeline.schemas import ANSWERS_OUTPUT_COLUMNS, ERROR_COLUMNS  # noqa: F401 (re-exported)
from pipeline.schemas import TABLES as COLUMNS
from pipeline.stages.segment import answers_frame, segment_rows

TABLES = tuple(COLUMNS)
BACKENDS = ("local", "dask")
# local workers are forked, warm, where that is safe and the default (Linux); joblib spawns them elsewhere
FORK_WORKERS = sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


@dataclass(frozen=True)
class ErrorRecord:
    """An InputError in a form that crosses process boundaries."""

    source: str
    line: int | None
    problem: str


@dataclass(frozen=True)
class ChunkResult:
    index: int
    tables: dict  # table name -> CSV bytes, header included
    threads: int
    errors: int


def chunks(input_path: Path, settings: Settings) -> Iterator[tuple[int, list]]:
    """(index, items) for consecutive groups of threads, errors carried along as ErrorRecords."""
    items = (ErrorRecord(i.source, i.line, i.problem) if isinstance(i, InputError) else i
             for i in readers.iter_threads(input_path, settings))
    for index, group in enumerate(iter(lambda: list(islice(items, settings.chunk_threads)), [])):
        yield index, group


_WORKER: dict = {}  # per process: the spaCy pipeline and the model, built once


def _worker_nlp(settings: Settings):
    key = ("nlp", settings)
    if key not in _WORKER:
        _WORKER[key] = build_nlp(settings)
    return _WORKER[key]


def _worker_model(model_source: str | bytes | None, model_sha: str | None):
    """The model, from a path (local processes) or from its bytes (Dask workers, which may not see our files).

    Either way it is loaded only if its sha256 is the one checked against its card before the run.
    """
    if model_source is None:
        return None
    key = ("model", model_sha)
    if key not in _WORKER:
        if isinstance(model_source, bytes):
            if files.sha256_bytes(model_source) != model_sha:
                raise registry.ModelTrustError("the model sent to this worker does not match its card")
            import io

            import joblib

            _WORKER[key] = joblib.load(io.BytesIO(model_source))
        else:
            model, card = registry.load_model(model_source)
            if card.get("model_sha256") != model_sha:
                raise registry.ModelTrustError(f"{model_source}: changed while the run was going on")
            _WORKER[key] = model
    return _WORKER[key]


def segment_chunk(items: Iterable, settings: Settings = DEFAULT_SETTINGS) -> tuple[pd.DataFrame, list[ErrorRecord]]:
    """answers.csv rows of the items' threads, and an ErrorRecord for each item that is or raised an input error.

    The one segmenting step of every path: `run`'s chunks and the `segment` command.
    """
    rows, errors = [], []
    for item in items:
        if isinstance(item, (ErrorRecord, InputError)):
            errors.append(item if isinstance(item, ErrorRecord) else ErrorRecord(item.source, item.line, item.problem))
            continue
        try:
            rows.extend(segment_rows(item, settings))
        except InputError as err:
            errors.append(ErrorRecord(err.source, err.line, err.problem))
        except Exception as err:  # noqa: BLE001 - a thread no rule foresaw: its row in errors.csv, the others go on
            errors.append(thread_failure(item.source, item.line, item.thread_id, "segmenting", err))
    return answers_frame(rows), errors


def thread_failure(source: str, line, thread_id: str, step: str, err: Exception) -> ErrorRecord:
    detail = str(err) if len(str(err)) <= 200 else str(err)[:200] + "..."
    return ErrorRecord(source, None if pd.isna(line) else int(line),
                       f"thread {thread_id[:80]!r}: {step} failed ({type(err).__name__}: {detail}); thread skipped")


def extract_chunk(nlp, answers: pd.DataFrame, texts: dict[str, str], settings: Settings = DEFAULT_SETTINGS,
                  progress=None) -> tuple[pd.DataFrame, pd.DataFrame, list[ErrorRecord]]:
    """Claims of the answers, and the answers kept: a thread whose extraction fails is dropped with an error.

    The chunk is extracted at once; only if that fails is each thread tried on
    its own, so the one that fails is named and the others keep their claims.
    """
    try:
        return extract.extract_claims(nlp, answers, texts, settings, progress), answers, []
    except Exception:  # noqa: BLE001 - find the thread
        pass
    kept, claims, errors = [], [], []
    for thread_id, rows in answers.groupby("thread_id", sort=False):
        try:
            claims.append(extract.extract_claims(nlp, rows, texts, settings))
            kept.append(rows)
        except Exception as err:  # noqa: BLE001
            first = rows.iloc[0]
            errors.append(thread_failure(first["source"], first["source_line"], thread_id, "claim extraction", err))
    empty = extract.extract_claims(nlp, answers.iloc[:0], texts, settings)
    return (pd.concat([empty, *claims], ignore_index=True), pd.concat([answers.iloc[:0], *kept]), errors)


def classify_chunk(model, answers: pd.DataFrame, claims: pd.DataFrame,
                   settings: Settings = DEFAULT_SETTINGS) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stance for answers and claims (none without a model) and the summary: the one classifying step of every path."""
    if model is not None:
        answers, claims = dataset.classify(model, answers, claims, settings)
    else:
        answers = answers.assign(stance=None, stance_score=float("nan"))
    return answers, claims, dataset.summarise(answers, claims)


def error_frame(errors: list) -> pd.DataFrame:
    """errors.csv's rows from ErrorRecords or InputErrors (both name a source, a line and the problem)."""
    rows = [{"source": e.source, "line": e.line, "error": e.problem} for e in errors]
    return pd.DataFrame(rows, columns=ERROR_COLUMNS).astype({"line": "Int64"})


def process_chunk(index: int, items: list, settings: Settings, model_source: str | bytes | None = None,
                  model_sha: str | None = None) -> ChunkResult:
    """Segment, extract and classify one chunk; a pure function of its arguments."""
    answers, errors = segment_chunk(items, settings)
    texts = {item.thread_id: item.text for item in items if isinstance(item, readers.ThreadSource)}
    claims, answers, failed = extract_chunk(_worker_nlp(settings), answers, texts, settings)
    errors += failed
    answers, claims, summary = classify_chunk(_worker_model(model_source, model_sha), answers, claims, settings)
    threads = int(answers["thread_id"].nunique())
    frames_by_table = {"answers": answers, "claims": claims, "summary": summary, "errors": error_frame(errors)}
    tables = {name: csv_bytes(frame, COLUMNS[name]) for name, frame in frames_by_table.items()}
    return ChunkResult(index, tables, threads, len(errors))


def _run_local(tasks: Iterable[tuple], jobs: int) -> Iterator[ChunkResult]:
    """Chunks in this process, or over `jobs` worker processes when there are two chunks or more to do
    (starting workers costs time, more than a small corpus takes)."""
    tasks = iter(tasks)
    first = list(islice(tasks, 2))
    if jobs == 1 or len(first) < 2:
        for task in chain(first, tasks):
            yield process_chunk(*task)
        return
    if FORK_WORKERS:
        yield from _run_forked(chain(first, tasks), jobs)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs")
    yield from parallel(delayed(process_chunk)(*task) for task in chain(first, tasks))


def _run_forked(tasks: Iterator[tuple], jobs: int) -> Iterator[ChunkResult]:
    """Worker processes forked from this one after it has built the spaCy pipeline and loaded the model.

    They start at once with both in memory (shared until written), where
    spawned workers would each import spaCy, scikit-learn and pandas, build the
    pipeline and load the model again, about two seconds: on 10,000 threads, two
    forked workers are about 1.9 times as fast as one process, two spawned ones
    about 1.7 (bench/scale.py). Used on Linux; elsewhere joblib spawns workers.
    """
    from concurrent.futures import ProcessPoolExecutor

    first = next(tasks)
    _, _, settings, model_source, model_sha = first
    _worker_nlp(settings)
    _worker_model(model_source, model_sha)
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"), initializer=die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        try:
            yield from _in_order(lambda task: pool.submit(process_chunk, *task), chain([first], tasks), 2 * jobs)
        except BaseException:  # Ctrl-C or a failed chunk: do not start the chunks still queued
            pool.shutdown(wait=True, cancel_futures=True)
            raise


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int) -> None:
    """In a forked worker: ask Linux to kill this process when its parent dies, even by SIGKILL.

    Without it, workers of a killed run went on for their queued chunks (still
    alive 40 s later). If the parent died before this ran, exit at once.
    """
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: workers are spawned by joblib, which watches its parent itself
        return
    if os.getppid() != parent_pid:
        os._exit(1)


def _in_order(submit, tasks: Iterable[tuple], in_flight: int) -> Iterator[ChunkResult]:
    """Results of submit(task).result() in task order, with at most `in_flight` tasks submitted and not yet taken."""
    pending = iter(tasks)
    window = deque(submit(task) for task in islice(pending, in_flight))
    while window:
        result = window.popleft().result()
        following = next(pending, None)
        if following is not None:
            window.append(submit(following))
        yield result


def dask_client():
    """distributed's Client and LocalCluster, or an error saying how to install the optional extra."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:
        raise MissingExtraError("--backend dask needs Dask, an optional extra: pip install -e \".[dask]\" "
                                "(or pip install \"dask[distributed]\")") from err
    return Client, LocalCluster


@dataclass(frozen=True)
class TLSFiles:
    """The client's credentials for a Dask scheduler that requires TLS (--tls-ca-file, --tls-cert, --tls-key)."""

    ca_file: str
    cert: str
    key: str | None = None


def local_cluster(jobs: int):
    """A Dask cluster on this machine that only this process can use: TLS with throwaway credentials.

    Without them its scheduler listened on a TCP port with no authentication,
    and another local account connected and ran code on the workers.
    """
    _, LocalCluster = dask_client()
    from distributed import Security

    return LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                        security=Security.temporary(), protocol="tls://", host="127.0.0.1")


def connect(scheduler: str, tls: TLSFiles | None = None):
    """A client of a running scheduler, over TLS when credentials are given (see docs/large-corpora.md)."""
    Client, _ = dask_client()
    if tls is None:
        if scheduler.startswith("tls://"):
            raise MissingExtraError(f"{scheduler} requires TLS: give --tls-ca-file and --tls-cert (and --tls-key)")
        files.log(f"run: warning: {scheduler} is not encrypted or authenticated; whoever can reach it can run code "
                  "on its workers and send results this process unpickles (see docs/large-corpora.md)")
        return Client(scheduler)
    from distributed import Security

    security = Security(tls_ca_file=tls.ca_file, tls_client_cert=tls.cert, tls_client_key=tls.key,
                        require_encryption=True)
    return Client(scheduler, security=security)


def _run_dask(tasks: Iterable[tuple], jobs: int, scheduler: str | None,
              tls: TLSFiles | None = None) -> Iterator[ChunkResult]:
    """Chunks as Dask tasks, at most two per worker in flight, results taken in chunk order.

    The model goes to every worker once, as bytes (checked there against its
    sha256), so workers need the package but none of our files.
    """
    Client, _ = dask_client()
    cluster = None
    if scheduler:
        client = connect(scheduler, tls)
    else:
        cluster = local_cluster(jobs)
        client = Client(cluster)
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})) or jobs)
        shipped: dict = {}

        def submit(task: tuple):
            index, items, settings, model_path, model_sha = task
            if model_path is not None and model_path not in shipped:
                shipped[model_path] = client.scatter(Path(model_path).read_bytes(), broadcast=True)
            model = shipped.get(model_path)
            return client.submit(process_chunk, index, items, settings, model, model_sha, pure=False)

        yield from _in_order(submit, tasks, 2 * workers)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def part_path(parts: Path, index: int, table: str) -> Path:
    return parts / f"{index:06d}.{table}.csv"


def _done(parts: Path, index: int) -> Path:
    return parts / f"{index:06d}.done"


def run_corpus(input_path: Path, out: Path, key: str, settings: Settings = DEFAULT_SETTINGS,
               model_path: Path | None = None, jobs: int | None = None, backend: str = "local",
               scheduler: str | None = None, progress=None, tls: TLSFiles | None = None) -> dict:
    """Process every chunk not yet done for this run `key`, then merge the parts into OUT's tables."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    jobs = jobs or os.cpu_count() or 1
    parts = Path(out) / ".parts" / key[:16]
    parts.mkdir(parents=True, exist_ok=True)
    for stale in (Path(out) / ".parts").iterdir():
        if stale != parts:  # parts of an earlier, different run can never be merged
            shutil.rmtree(stale, ignore_errors=True)
    model_sha = files.sha256_file(model_path) if model_path else None
    counts = {"chunks": 0, "resumed": 0}

    def tasks():
        for index, items in chunks(input_path, settings):
            counts["chunks"] = index + 1
            if _done(parts, index).exists():
                counts["resumed"] += 1
                continue
            yield index, items, settings, str(model_path) if model_path else None, model_sha

    results = _run_dask(tasks(), jobs, scheduler, tls) if backend == "dask" else _run_local(tasks(), jobs)
    for result in (progress(results) if progress else results):
        for table, data in result.tables.items():
            atomic_write_bytes(part_path(parts, result.index, table), data)
        atomic_write_bytes(_done(parts, result.index), b"")
    merge_parts(parts, counts["chunks"], Path(out), settings.output_format)
    shutil.rmtree(parts, ignore_errors=True)
    return counts


def merge_parts(parts: Path, n_chunks: int, out: Path, output_format: str = "csv") -> None:
    """Concatenate each table's parts in chunk order under one header, streaming, then switch the four in as one set.

    Each table is staged complete beside its final name; pipeline.outputs
    commits the set with one rename of its manifest (see there).
    """
    for table in TABLES:
        staged = outputs.staged_path(out / f"{table}.csv")
        tmp = staged.with_name(f"{staged.name}.tmp")
        try:
            with open(tmp, "wb") as merged:
                merged.write(csv_bytes(pd.DataFrame(columns=COLUMNS[table]), COLUMNS[table]))
                for index in range(n_chunks):
                    with open(part_path(parts, index, table), "rb") as part:
                        part.readline()  # its header
                        shutil.copyfileobj(part, merged, 1 << 20)
                merged.flush()
                os.fsync(merged.fileno())
            os.chmod(tmp, 0o666 & ~files._umask())
            os.replace(tmp, staged)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise OSError(err.errno, f"cannot write {staged}: {err.strerror or err}") from err
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    names = [f"{table}.csv" for table in TABLES]
    parquet = [f"{table}.parquet" for table in TABLES]
    if output_format == "parquet":  # converted from the staged CSVs, so both say the same; switched in with them
        for table in TABLES:
            outputs.write_parquet(outputs.staged_path(out / f"{table}.csv"), outputs.staged_path(out / f"{table}.parquet"))
    outputs.publish(out, names + (parquet if output_format == "parquet" else []), "run",
                    drop=[] if output_format == "parquet" else parquet)
