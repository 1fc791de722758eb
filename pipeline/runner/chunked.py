"""The chunked runner: the per-thread stages over any number of threads, streaming, parallel and resumable.

Threads are read lazily (or a table's rows taken thread by thread) and grouped
into chunks of ``settings.run.chunk_threads`` threads. Each chunk goes through
every stage of the run in one worker, and its rows of each table are written as
part files in ``OUT/.parts/<run key>/``; when every chunk is done the parts are
concatenated, in chunk order, into the tables, which the output folder's sink
switches in as one set. Memory therefore does not grow with the input, chunks
can run in any process or on any Dask worker with the same result byte for
byte, and an interrupted run starts again at the first chunk whose parts are
missing.

Workers receive thread texts (or table rows) and return CSV bytes, so a Dask
cluster needs no shared file system: only the client reads inputs and writes
outputs.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import sys
import tempfile
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from pipeline.config import Settings
from pipeline.io import files
from pipeline.io.files import ErrorRecord, InputError, MissingExtraError, atomic_write_bytes, csv_bytes
from pipeline.learning import registry
from pipeline.runner.execute import Plan, model_path, read_input
from pipeline.runner.graph import GRAPH, TABLE_ARTIFACTS, Context, Stage, published
from pipeline.runner.sinks import as_table
from pipeline.schemas import TABLES

BACKENDS = ("local", "dask")
# local workers are forked, warm, where that is safe and the default (Linux); joblib spawns them elsewhere
FORK_WORKERS = sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()
GC_FIRST_GENERATION = 10_000  # container allocations between young collections while a chunk runs (default 700)


@dataclass(frozen=True)
class ModelRef:
    """The model a chunk's classify step reads: a path (local processes) or its bytes (Dask workers, which may not
    see our files); either way loaded only if its sha256 is the one checked before the run."""

    path: str | None
    sha256: str | None
    data: bytes | None = None


@dataclass(frozen=True)
class ChunkResult:
    index: int
    tables: dict  # table name -> CSV bytes, header included


def chunks_of(items: Iterable, size: int) -> Iterator[tuple[int, list]]:
    """(index, items) for consecutive groups of `size` threads, input errors carried along as ErrorRecords."""
    items = (ErrorRecord.of(i) if isinstance(i, InputError) else i for i in items)
    for index, group in enumerate(iter(lambda: list(islice(items, size)), [])):
        yield index, group


def table_chunks(tables: dict[str, pd.DataFrame], size: int) -> Iterator[tuple[int, dict]]:
    """(index, {name: rows}) for consecutive groups of `size` threads of tables that share thread_id, in the order
    of the first table's threads (each table grouped once: the cost grows with the rows, not rows times chunks)."""
    first = next(iter(tables.values()))
    order = pd.Index(pd.unique(first["thread_id"]))
    groups = {name: dict(tuple(frame.groupby(order.get_indexer(frame["thread_id"]) // size, sort=False)))
              for name, frame in tables.items()}
    for index in range(-(-len(order) // size)):
        yield index, {name: groups[name].get(index, tables[name].iloc[:0]) for name in tables}


_CONTEXT = Context()  # per process: the spaCy pipeline, built once
_MODELS: dict = {}  # per process: models by sha256, loaded once


def worker_model(ref: ModelRef | None):
    """The model of `ref`, loaded once per process and checked against the sha256 taken before the run."""
    if ref is None:
        return None
    if ref.sha256 not in _MODELS:
        if ref.data is not None:
            if files.sha256_bytes(ref.data) != ref.sha256:
                raise registry.ModelTrustError("the model sent to this worker does not match its card")
            import io

            import joblib

            _MODELS[ref.sha256] = registry.LoadedModel(joblib.load(io.BytesIO(ref.data)), {})
        else:
            loaded = registry.load_model(ref.path)
            if loaded.card.get("model_sha256") != ref.sha256:
                raise registry.ModelTrustError(f"{ref.path}: changed while the run was going on")
            _MODELS[ref.sha256] = loaded
    return _MODELS[ref.sha256]


@contextmanager
def fewer_collections(first_generation: int = GC_FIRST_GENERATION):
    """Python's cyclic garbage collector run less often while a chunk is processed, then as it was.

    Extraction makes and drops millions of small containers (spans, tuples,
    dicts) that form no cycles; at the default threshold (700) a young
    collection runs every few hundred of them. Measured on 2,000 varied
    threads: 7.9 s at the default, 7.1 to 7.3 s at 10,000 (bench/scale.py).
    """
    threshold = gc.get_threshold()
    gc.set_threshold(max(first_generation, threshold[0]), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def process_chunk(index: int, names: tuple[str, ...], inputs: dict, settings: Settings,
                  model: ModelRef | None = None, model_data: bytes | None = None) -> ChunkResult:
    """Every stage of the run on one chunk; a pure function of its arguments (Dask sends the model's bytes as
    `model_data`, a future it resolves)."""
    with fewer_collections():
        return _process_chunk(index, names, inputs, settings, model, model_data)


def _process_chunk(index: int, names: tuple[str, ...], inputs: dict, settings: Settings,
                   model: ModelRef | None, model_data: bytes | None) -> ChunkResult:
    values = dict(inputs)
    if model is not None:
        values["model"] = worker_model(model if model_data is None else ModelRef(None, model.sha256, model_data))
    for name in names:
        stage = GRAPH[name]
        values.update(stage.step({a: values[a] for a in stage.inputs}, settings, _CONTEXT))
    tables = {a: csv_bytes(as_table(a, values[a]).reindex(columns=TABLES[a]), TABLES[a])
              for a in published(names) if a in TABLE_ARTIFACTS}
    return ChunkResult(index, tables)


def _run_local(tasks: Iterable[tuple], jobs: int) -> Iterator[ChunkResult]:
    """Chunks in this process, or over `jobs` worker processes when there are two chunks or more to do
    (starting workers costs time, more than a few threads take)."""
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
    _, names, _, settings, model = first
    if "extract" in names:
        _CONTEXT.nlp(settings.extract)
    worker_model(model)
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
    """A Dask cluster on this machine that only this process can use: TLS with throwaway credentials, no HTTP.

    Without them its scheduler listened on a TCP port with no authentication,
    and another local account connected and ran code on the workers.
    distributed also starts an unauthenticated HTTP server (identity, logs,
    call stacks, a proxy) on the scheduler, at 127.0.0.1:8787, and on every
    worker, whatever `dashboard_address` says (dask/distributed issues 5634,
    8136): its configuration gives them no routes, so they serve nothing, and
    `dask_setup` closes them as each scheduler and worker starts. The settings
    apply to the processes started here; a restarted worker gets them too (its
    nanny keeps the configuration it was created with).
    """
    _, LocalCluster = dask_client()
    import dask
    from distributed import Security

    no_http = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": [],
               "distributed.scheduler.preload": [*dask.config.get("distributed.scheduler.preload"), __name__],
               "distributed.worker.preload": [*dask.config.get("distributed.worker.preload"), __name__]}
    with dask.config.set(no_http):
        return LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # not 8787, closed at start
                            security=Security.temporary(), protocol="tls://", host="127.0.0.1")


async def dask_setup(server) -> None:
    """Dask's preload hook, run by `local_cluster`'s scheduler and each of its workers once started: stop the HTTP
    server distributed always starts, and drop any connection made to it before (it served no routes anyway)."""
    http = server.services.pop("dashboard", None)
    if http is not None:
        http.stop()
        await http.close_all_connections()


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
            index, names, inputs, settings, model = task
            if model is not None and model.sha256 not in shipped:
                data = registry.read_model_bytes(Path(model.path))
                if files.sha256_bytes(data) != model.sha256:
                    raise registry.ModelTrustError(f"{model.path}: changed while the run was going on")
                shipped[model.sha256] = client.scatter(data, broadcast=True)
            sent = None if model is None else ModelRef(None, model.sha256)
            return client.submit(process_chunk, index, names, inputs, settings, sent,
                                 shipped.get(getattr(model, "sha256", None)), pure=False)

        yield from _in_order(submit, tasks, 2 * workers)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def part_path(parts: Path, index: int, table: str) -> Path:
    return parts / f"{index:06d}.{table}.csv"


def _done(parts: Path, index: int) -> Path:
    return parts / f"{index:06d}.done"


class Chunked:
    """The per-thread stages chunk by chunk: in this process, in `jobs` local processes, or on a Dask cluster."""

    def __init__(self, jobs: int | None = None, backend: str = "local", scheduler: str | None = None,
                 tls: "TLSFiles | None" = None, progress=None):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
        self.jobs = jobs or os.cpu_count() or 1
        self.backend, self.scheduler, self.tls, self.progress = backend, scheduler, tls, progress

    def tasks(self, stages: list[Stage], plan: Plan, context: Context, parts: Path, counts: dict):
        """(index, names, inputs, settings, model) of every chunk whose parts are not yet written."""
        first, settings = stages[0], plan.settings
        size = settings.run.chunk_threads
        names = tuple(s.name for s in stages)
        if "threads" in first.inputs:
            groups = ((i, {"threads": items}) for i, items in chunks_of(read_input("threads", first.name, plan,
                                                                                   context), size))
        else:
            tables = {a: read_input(a, first.name, plan, context) for a in first.inputs
                      if a in TABLE_ARTIFACTS and a != "errors"}
            groups = ((i, {**rows, "errors": []}) for i, rows in table_chunks(tables, size))
        model = None
        if any("model" in s.inputs for s in stages):
            path = model_path(plan.source)
            if path is not None:
                registry.load_model(path)  # refuse an untrusted model before any work
                model = ModelRef(str(path), files.sha256_file(path))
        for index, inputs in groups:
            counts["chunks"] = index + 1
            if _done(parts, index).exists():
                counts["resumed"] += 1
                continue
            yield index, names, inputs, settings, model

    def run_chunks(self, stages: list[Stage], plan: Plan, context: Context, sink, ran: dict, stale) -> dict:
        """Process every chunk not yet done for this run, then merge the parts and publish them as one set."""
        whole = [s.name for s in stages if not s.per_thread]
        if whole:
            raise ValueError(f"{whole} cannot run a chunk of threads at a time; run them in process")
        key = ran[stages[-1].name]
        parts = sink.parts(key)
        counts = {"chunks": 0, "resumed": 0}
        tasks = self.tasks(stages, plan, context, parts, counts)
        results = (_run_dask(tasks, self.jobs, self.scheduler, self.tls) if self.backend == "dask"
                   else _run_local(tasks, self.jobs))
        for result in (self.progress(results) if self.progress else results):
            for table, data in result.tables.items():
                atomic_write_bytes(part_path(parts, result.index, table), data)
            atomic_write_bytes(_done(parts, result.index), b"")
        tables = [a for a in published(list(ran)) if a in TABLE_ARTIFACTS]
        prior = []
        if "errors" in tables and "threads" not in stages[0].inputs:  # errors of the stages before this run's first
            prior = read_input("errors", stages[0].name, plan, context)
            if stages[0].name == "extract":
                from pipeline.stages.extract import earlier_errors

                prior = earlier_errors(prior)
        merge_parts(parts, counts["chunks"], sink, tables, prior)
        sink.commit(tables, ran, stale)
        sink.drop_parts(key)
        return counts


def merge_parts(parts: Path, n_chunks: int, sink, tables: list[str], prior_errors: list) -> None:
    """Concatenate each table's parts in chunk order under one header, streaming, into the sink's staged files."""
    for table in tables:
        staged = sink.staged(table)
        # a fresh name made with O_EXCL: a file or link planted at a predictable name is never written through
        handle, tmp = tempfile.mkstemp(prefix=f"{staged.name}.", suffix=".tmp", dir=staged.parent)
        tmp = Path(tmp)
        try:
            with os.fdopen(handle, "wb") as merged:
                head = as_table(table, prior_errors) if table == "errors" else pd.DataFrame(columns=TABLES[table])
                merged.write(csv_bytes(head.reindex(columns=TABLES[table]), TABLES[table]))
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
