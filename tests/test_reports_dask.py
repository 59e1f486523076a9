"""Reports on a Dask cluster: the pages equal a local run's; workers read the data through an
fsspec URL and refuse data that differ from the driver's; a separate ``dask scheduler`` with two
``dask worker`` processes runs ``pairing-eval report --scheduler``, and a worker killed while it
runs a report loses nothing (the scheduler runs its report on the other worker)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_reports_world import make_world
from test_warm_kernels import normalise

from analysis.reports import run_reports

COUNTIES = ["511102", "511123"]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None,
                      silence_logs=40) as c:
        yield c


def _pages(root: Path) -> dict[str, str]:
    d = root / "reports" / "world"
    return {c: normalise((d / f"{c}.html").read_text(encoding="utf-8")) for c in COUNTIES}


def test_cluster_pages_equal_the_local_pool_pages(tmp_path, cluster):
    root = make_world(tmp_path / "w")
    local = run_reports("world", counties=COUNTIES, jobs=2, root=root, city=False, progress=False)
    assert local.ok, local.render()
    before = _pages(root)
    # through fsspec (a file:// URL stands for object storage): each worker copies the data once
    out = run_reports("world", counties=COUNTIES, root=root, city=False, progress=False,
                      force=True, scheduler=cluster.scheduler_address,
                      data_url=(root / "data" / "processed").as_uri())
    assert out.ok, out.render()
    assert [r.status for r in out.results] == ["written", "written"]
    assert out.jobs == 2  # two worker threads
    assert _pages(root) == before
    assert (root / "reports" / "world" / "index.html").exists()


@pytest.mark.browser
def test_workers_print_the_pdfs_and_return_them(tmp_path, cluster):
    """With --pdf, workers with Chromium print their pages; the driver only writes the PDFs (its
    own printing step then finds every PDF up to date)."""
    root = make_world(tmp_path / "w")
    out = run_reports("world", counties=COUNTIES, root=root, city=False, progress=False,
                      pdf=True, scheduler=cluster.scheduler_address)
    assert out.ok, out.render()
    assert [r.status for r in out.pdfs] == ["skipped", "skipped"]  # printed by the workers
    d = root / "reports" / "world"
    for c in COUNTIES:
        pdf = (d / f"{c}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000
        assert (d / f"{c}.pdf").stat().st_mtime_ns >= (d / f"{c}.html").stat().st_mtime_ns


def test_workers_refuse_data_that_differ_from_the_drivers(tmp_path, cluster):
    root = make_world(tmp_path / "w")
    other = make_world(tmp_path / "other", seed=8)  # same layout, other numbers
    out = run_reports("world", counties=COUNTIES[:1], root=root, city=False, progress=False,
                      scheduler=cluster.scheduler_address, data_url=str(other / "data" / "processed"))
    assert not out.ok
    (failure,) = out.failures
    assert "differ from the driver's" in failure.error
    assert not (root / "reports" / "world" / "511102.html").exists()


def test_an_unreachable_scheduler_is_refused_before_anything_runs(tmp_path, monkeypatch):
    from analysis.errors import ReportError
    from analysis.reports import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 3)
    root = make_world(tmp_path / "w")
    with pytest.raises(ReportError, match="cannot reach the Dask scheduler"):
        run_reports("world", counties=COUNTIES[:1], root=root, city=False, progress=False,
                    scheduler="tcp://127.0.0.1:9")  # the discard port: nothing listens


def _wait_for(path: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.2)


def test_dask_scheduler_and_workers_as_processes_survive_a_killed_worker(tmp_path):
    """``dask scheduler`` and two ``dask worker`` processes on random free ports; the report run
    goes through the CLI (two counties, and the city summary); one worker is SIGKILLed while it
    runs a report, and every report is still written (the scheduler runs the lost task again on
    the other worker). A real kill, not a task made to fail once: it is what happens when a
    machine of a cluster goes away, and it proved reliable here."""
    from distributed import Client

    root = make_world(tmp_path / "w")
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs: list[subprocess.Popen] = []
    logs = tmp_path / "logs"
    logs.mkdir()

    def start(name: str, *args: str) -> subprocess.Popen:
        p = subprocess.Popen([str(BIN / "dask"), *args], env=env, start_new_session=True,
                             stdout=open(logs / f"{name}.log", "wb"), stderr=subprocess.STDOUT)
        procs.append(p)
        return p

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(sched_file))
        _wait_for(sched_file, 60)
        workers = [start(f"worker{i}", "worker", "--scheduler-file", str(sched_file),
                         "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1",
                         "--name", f"w{i}")
                   for i in range(2)]
        with Client(scheduler_file=str(sched_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler.address
            pids = {pid: addr for addr, pid in client.run(os.getpid).items()}
            assert {w.pid for w in workers} == set(pids)
            run = subprocess.Popen(
                [str(BIN / "pairing-eval"), "--lang", "en", "report", "--dataset", "world",
                 "--county", COUNTIES[0], "--county", COUNTIES[1], "--scheduler", address],
                env={**env, "PAIRING_EVAL_ROOT": str(root)}, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, start_new_session=True)
            procs.append(run)
            victim = None
            deadline = time.monotonic() + 120
            while victim is None and time.monotonic() < deadline:
                busy = {a: ks for a, ks in client.processing().items() if ks}
                if len(busy) == 2:  # each worker runs one report
                    time.sleep(1.0)  # well into the report (its kernel is starting or running)
                    victim = next(w for w in workers if busy.get(pids[w.pid]))
                time.sleep(0.1)
            assert victim is not None, "the reports never ran on both workers"
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(10)
            output = run.communicate(timeout=240)[0].decode(errors="replace")
            assert run.returncode == 0, output
            # the two counties and the city summary, all written although a worker was lost
            assert "3 written, 0 up to date (skipped), 0 failed" in output, output
            assert len(client.scheduler_info()["workers"]) == 1  # the killed worker is gone
        d = root / "reports" / "world"
        assert all((d / f"{c}.html").exists() for c in COUNTIES)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(10)
        shutil.rmtree(tmp_path / "logs", ignore_errors=True)
