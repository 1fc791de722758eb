"""Chunked runs: the same bytes whatever the chunk size, the number of processes or the backend."""

import shutil

import pytest

from pipeline.config import DEFAULT_SETTINGS
from pipeline.io.files import ErrorRecord
from pipeline.io.readers import iter_threads
from pipeline.runner import chunked, commands
from pipeline.runner.chunked import chunks_of
from pipeline.threads import ThreadSource

from conftest import FIXTURES, SEED

TABLES = ("answers", "claims", "summary", "errors")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    shutil.copy(SEED, folder)
    for path in [*(FIXTURES / "layouts").glob("*.txt"), *(FIXTURES / "formats").glob("*.*")]:
        if path.suffix != ".json":
            shutil.copy(path, folder)
    (folder / "empty.txt").write_bytes(b"")
    return folder


@pytest.fixture(scope="module")
def models(small_models):
    return small_models[0]


@pytest.fixture(scope="module")
def reference(folder, models, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    commands.run(folder, out, models, DEFAULT_SETTINGS.replace(chunk_threads=1000), jobs=1)
    return {table: (out / f"{table}.csv").read_bytes() for table in TABLES}


def test_chunks_group_threads_in_order_and_carry_errors(folder):
    groups = list(chunks_of(iter_threads(folder), 4))
    assert [index for index, _ in groups] == list(range(len(groups)))
    sizes = [len(items) for _, items in groups]
    assert all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4
    items = [item for _, group in groups for item in group]
    assert sum(isinstance(i, ErrorRecord) for i in items) == 1
    layouts = len(list((FIXTURES / "layouts").glob("*.txt")))
    assert len([i for i in items if isinstance(i, ThreadSource)]) == 1 + layouts + 8  # seed, layouts, 3 jsonl, 2 csv, 3 html


@pytest.mark.parametrize("chunk_threads, jobs, fork", [
    (3, 1, True), (3, 2, True),
    pytest.param(1, 2, True, marks=pytest.mark.slow),  # a chunk a thread: the most parts to merge
    pytest.param(3, 2, False, marks=pytest.mark.slow),  # joblib's spawned workers each import everything again
])
def test_output_is_identical_for_any_chunk_size_and_jobs(folder, models, reference, tmp_path, monkeypatch,
                                                         chunk_threads, jobs, fork):
    monkeypatch.setattr(chunked, "FORK_WORKERS", fork and chunked.FORK_WORKERS)  # False: joblib's spawned workers
    commands.run(folder, tmp_path, models, DEFAULT_SETTINGS.replace(chunk_threads=chunk_threads), jobs=jobs)
    for table in TABLES:
        assert (tmp_path / f"{table}.csv").read_bytes() == reference[table], table


def test_without_dask_the_dask_backend_says_how_to_install_it(folder, models, tmp_path, monkeypatch, capsys):
    import builtins

    from pipeline.faces.cli import EXIT_ERROR, main

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.split(".")[0] in ("distributed", "dask"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    assert main(["run", "--input", str(folder), "--out", str(tmp_path / "out"), "--models", str(models),
                 "--backend", "dask"]) == EXIT_ERROR
    assert 'pip install -e ".[dask]"' in capsys.readouterr().err


@pytest.mark.slow
def test_dask_backend_on_a_local_cluster_gives_the_same_files(folder, models, reference, tmp_path):
    distributed = pytest.importorskip("distributed", reason="the optional dask extra is not installed")
    LocalCluster = distributed.LocalCluster

    settings = DEFAULT_SETTINGS.replace(chunk_threads=3)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        commands.run(folder, tmp_path / "address", models, settings, backend="dask",
                            scheduler=cluster.scheduler_address)
    commands.run(folder, tmp_path / "own", models, settings, jobs=2, backend="dask")
    with chunked.local_cluster(2) as cluster:  # a TLS scheduler given by address, with the client's credentials
        tls = chunked.TLSFiles(*_pem_files(cluster.security, tmp_path))
        commands.run(folder, tmp_path / "tls", models, settings, backend="dask",
                            scheduler=cluster.scheduler_address, tls=tls)
    for out in ("address", "own", "tls"):
        for table in TABLES:
            assert (tmp_path / out / f"{table}.csv").read_bytes() == reference[table], (out, table)


def _pem_files(security, folder):
    """A temporary Security's credentials (PEM text) as the files --tls-ca-file, --tls-cert, --tls-key take."""
    paths = []
    for name in ("tls_ca_file", "tls_client_cert", "tls_client_key"):
        path = folder / f"{name}.pem"
        path.write_text(getattr(security, name))
        paths.append(str(path))
    return paths


@pytest.mark.slow
def test_the_local_dask_cluster_takes_no_client_without_its_credentials():
    distributed = pytest.importorskip("distributed", reason="the optional dask extra is not installed")
    with chunked.local_cluster(1) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        with pytest.raises(chunked.MissingExtraError, match="requires TLS"):
            chunked.connect(address)
        with pytest.raises((OSError, TypeError, ValueError)):  # another account: no credentials
            distributed.Client(address, timeout=5)
        with pytest.raises(OSError):  # nor in clear text on the same port
            distributed.Client(address.replace("tls://", "tcp://"), timeout=5)


@pytest.mark.slow
def test_no_socket_of_the_local_dask_cluster_answers_plain_http():
    """distributed starts an HTTP server on the scheduler (127.0.0.1:8787) and on every worker even with
    dashboard_address=None: identity, logs, call stacks and a proxy to anyone on the machine, unauthenticated."""
    distributed = pytest.importorskip("distributed", reason="the optional dask extra is not installed")
    import os

    import psutil  # a dependency of distributed

    with chunked.local_cluster(2) as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(2, timeout=60)
        workers = client.run(os.getpid)  # worker address -> pid; the scheduler and the nannies run in this process
        assert len(set(workers.values())) == 2 and os.getpid() not in workers.values()
        sockets = {(pid, connection.laddr.ip, connection.laddr.port)
                   for pid in (os.getpid(), *workers.values())
                   for connection in psutil.Process(pid).net_connections(kind="tcp")
                   if connection.status == psutil.CONN_LISTEN}
        ports = {port for _, _, port in sockets}
        comm = [cluster.scheduler_address, *workers, *(w["nanny"] for w in client.scheduler_info()["workers"].values())]
        assert {int(address.rsplit(":", 1)[1]) for address in comm} <= ports  # every process's sockets were found
        assert [(pid, ip, port) for pid, ip, port in sorted(sockets) if _answers_http(ip, port)] == []
        assert client.submit(sum, [1, 2]).result() == 3  # the TLS comm still works


def _answers_http(ip: str, port: int) -> bool:
    """Whether a plain `GET / HTTP/1.0` to a listening socket gets an HTTP response."""
    import socket

    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(ip, ip)
    with socket.create_connection((host, port), timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        try:
            return conn.recv(5) == b"HTTP/"
        except OSError:  # reset or timed out: no HTTP answer
            return False


def test_one_chunk_starts_no_worker_processes(folder, models, reference, tmp_path, monkeypatch):
    import concurrent.futures

    import joblib

    def no_workers(*args, **kwargs):
        raise AssertionError("worker processes started for a single chunk")

    monkeypatch.setattr(joblib, "Parallel", no_workers)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_workers)
    out = tmp_path / "out"
    commands.run(folder, out, models, DEFAULT_SETTINGS.replace(chunk_threads=1000), jobs=2)
    assert {table: (out / f"{table}.csv").read_bytes() for table in TABLES} == reference


def test_a_chunk_runs_with_fewer_collections_and_leaves_the_collector_as_it_was():
    import gc

    from pipeline.runner.chunked import GC_FIRST_GENERATION, fewer_collections

    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == max(GC_FIRST_GENERATION, before[0])
        assert gc.get_threshold()[1:] == before[1:]
    assert gc.get_threshold() == before
    try:
        with fewer_collections():
            raise RuntimeError("a stage failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
