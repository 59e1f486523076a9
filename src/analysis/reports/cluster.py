"""Reports on a Dask cluster (``pairing-eval report --scheduler tcp://HOST:PORT``).

The driver connects to a running ``distributed`` scheduler and submits one task per report. A
task reads the processed data where its worker can see it, runs the notebook (in a kept kernel of
the worker process, :class:`~analysis.reports.kernel.KernelPool`) and returns the finished page,
or the failure with its partial notebook, to the driver (:class:`~analysis.reports.task.Rendered`);
the driver has already run the disclosure audit, and writes what comes back atomically as futures
complete (:func:`~analysis.reports.task.commit`), so workers never write into the project. The
notebooks travel with the tasks: workers need the package installed, not the project folder.

Where workers read the data (``data_url``):

* a folder path, the ``data/processed`` folder as the workers see it (a shared disk mounted at
  the same or another path); the default is this project's ``data/processed``, right for workers
  on this machine;
* an fsspec URL of a copy of that folder (``s3://bucket/pairing/processed``,
  ``gcs://…``, ``file:///…``; the protocol's fsspec package installed on the workers): each
  worker copies ``<url>/<dataset>`` once into its temporary folder.

Either way a worker refuses data whose files differ from the driver's (the same hash of every
processed file that the report keys use), so a page never claims inputs it was not built from.

A worker that is lost (killed, out of memory, its machine gone) loses its tasks; the scheduler
runs them again on another worker (``distributed.scheduler.allowed-failures`` times); a task that
raises is retried :data:`RETRIES` times (``retries=``). A notebook error is not an exception: it
comes back as a failed report, as in a local run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ReportError
from ..hashing import files_hash
from ..paths import check_dataset
from .html import write_atomic
from .pdf import pdf_path
from .task import Rendered, Task, TaskResult, commit, render_task

#: times a task that raised is submitted again (a lost worker's tasks are rescheduled as well)
RETRIES = 2
#: seconds to wait for the scheduler to answer
CONNECT_TIMEOUT = 30

_DATA: dict[tuple[str, str, str], str] = {}
_DATA_LOCK = threading.Lock()


def data_inputs(dataset_dir: Path) -> str:
    """Hash of every processed file of one dataset folder (as :func:`analysis.reports.driver.
    inputs_hash` computes it for the driver's copy)."""
    return files_hash(p for p in dataset_dir.rglob("*") if p.is_file())


def _is_url(data_url: str) -> bool:
    return "://" in data_url


def local_root(data_url: str, dataset: str, inputs: str) -> str:
    """A project root on this worker whose ``data/processed/<dataset>`` holds the data of
    ``data_url`` (see the module docstring), checked against the driver's hash ``inputs``;
    made once per process.

    Raises
    ------
    ReportError
        When the data cannot be found or read, or differs from the driver's.
    """
    check_dataset(dataset)
    key = (data_url, dataset, inputs)
    with _DATA_LOCK:
        if key in _DATA and Path(_DATA[key]).is_dir():
            return _DATA[key]
        base = Path(tempfile.gettempdir()) / "pe-data" / hashlib.sha256(
            "\0".join(key).encode()).hexdigest()[:16]
        target = base / "data" / "processed" / dataset
        if _is_url(data_url):
            import fsspec

            if not (target.is_dir() and data_inputs(target) == inputs):
                fs, path = fsspec.core.url_to_fs(data_url)
                source = f"{path.rstrip('/')}/{dataset}"
                part = base / f".part-{os.getpid()}-{uuid.uuid4().hex[:8]}"
                try:
                    if not fs.isdir(source):
                        raise ReportError(f"the worker finds no folder {dataset!r} at "
                                          f"{data_url}; copy data/processed/{dataset} there.")
                    fs.get(source + "/", str(part) + "/", recursive=True)
                    shutil.rmtree(target, ignore_errors=True)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    part.rename(target)
                except OSError as err:
                    raise ReportError(f"the worker cannot read {data_url}/{dataset}: {err}") from None
                finally:
                    shutil.rmtree(part, ignore_errors=True)
        else:
            folder = Path(data_url).expanduser() / dataset
            if not folder.is_dir():
                raise ReportError(f"the worker sees no folder {folder}; mount the shared "
                                  "data/processed folder there or name where the workers see it "
                                  "(--data-url).")
            if not target.is_symlink() or target.resolve() != folder.resolve():
                target.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()
                target.symlink_to(folder.resolve(), target_is_directory=True)
        (base / "data" / "raw").mkdir(parents=True, exist_ok=True)
        found = data_inputs(target)
        if found != inputs:
            raise ReportError(
                f"the processed data the worker reads at {data_url}/{dataset} differ from the "
                f"driver's data/processed/{dataset}; copy the folder there again (after each "
                "build) and run again.")
        _DATA[key] = str(base)
        return str(base)


def remote_render(task: Task, notebook: bytes, data_url: str, dataset: str,
                  inputs: str, pdf: bool = False) -> Rendered:
    """What a Dask worker runs for one report: the data made local (:func:`local_root`), the
    notebook written beside it, the report rendered (nothing written outside the worker's
    temporary folder) and, with ``pdf``, printed (:func:`print_here`)."""
    root = local_root(data_url, dataset, inputs)
    folder = Path(root) / "notebooks" / hashlib.sha256(notebook).hexdigest()[:16]
    path = folder / Path(task.notebook).name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        part.write_bytes(notebook)
        part.replace(path)
    scratch = Path(root) / "scratch"
    scratch.mkdir(exist_ok=True)
    rendered = render_task(replace(task, notebook=str(path), root=root, scratch=str(scratch),
                                   html="", failed_dir=""))
    if pdf and rendered.result.status == "written":
        rendered = replace(rendered, pdf=print_here(task.name, rendered.page, str(scratch)))
    return rendered


def print_here(name: str, page: bytes, scratch: str) -> bytes:
    """The page printed to an A4 PDF by this machine's headless Chromium (with the font subset of
    this page beside it, as the driver writes one beside its pages); empty when this machine has
    no Chromium or printing fails: the driver then prints the page itself."""
    from .html import write_font_subset
    from .pdf import Browser, find_chromium

    chromium = find_chromium()
    if chromium is None:
        return b""
    folder = Path(tempfile.mkdtemp(prefix="pe-pdf-", dir=scratch))
    try:
        html = folder / f"{name}.html"
        html.write_bytes(page)
        write_font_subset(folder)
        with Browser(chromium) as browser:
            return browser.print_pdf(html, folder / f"{name}.pdf").read_bytes()
    except (ReportError, OSError):
        return b""
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def execute_on_cluster(todo: Sequence[Task], scheduler: str, progress: bool, done: list[TaskResult],
                       *, dataset: str, inputs: str, data_url: str | None, root: Path,
                       pdf: bool = False) -> int:
    """Run the tasks on the Dask cluster at ``scheduler``, committing each report as its future
    completes (appended to ``done``); with ``pdf`` the workers also print each page and the PDF
    is written beside it (pages a worker could not print are left to the driver). Returns the number of worker threads (the run's "jobs").
    On any exception (Ctrl-C, a termination signal) the futures are cancelled first.

    Raises
    ------
    ReportError
        When the scheduler cannot be reached or has no workers. Nothing was run.
    """
    from distributed import Client, as_completed
    from tqdm.auto import tqdm

    url = data_url or str((root / "data" / "processed").resolve())
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise ReportError(f"cannot reach the Dask scheduler at {scheduler}: {err}. Start it "
                          "(dask scheduler) and its workers (dask worker ADDRESS), check the "
                          "address, or leave out --scheduler to run here. Nothing was run.") from None
    futures: dict[Any, Task] = {}
    with client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except TimeoutError:
            raise ReportError(f"the Dask scheduler at {scheduler} has no workers; start one "
                              f"(dask worker {scheduler}). Nothing was run.") from None
        threads = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
        if not todo:
            return threads
        notebooks = {t.notebook: Path(t.notebook).read_bytes() for t in todo}
        bar = tqdm(total=len(todo), desc="reports", unit="report", disable=not progress,
                   file=sys.stderr)
        try:
            run = uuid.uuid4().hex[:8]
            for t in todo:
                fut = client.submit(remote_render, t, notebooks[t.notebook], url, dataset, inputs,
                                    pdf, key=f"pairing-eval-report-{t.name}-{run}", retries=RETRIES,
                                    pure=False)
                futures[fut] = t
            for fut in as_completed(list(futures), loop=client.loop):
                t = futures[fut]
                try:
                    rendered = fut.result()
                except Exception as err:  # the task raised on every try (or its worker kept dying)
                    done.append(TaskResult(t.name, "failed", 0.0, f"{type(err).__name__}: {err}"))
                else:
                    result = commit(t, rendered)
                    done.append(result)
                    if rendered.pdf and result.status == "written":
                        with contextlib.suppress(OSError):  # else the driver prints it
                            write_atomic(pdf_path(Path(t.html)), rendered.pdf)
                bar.set_postfix_str(t.name)
                bar.update()
        except BaseException:
            with contextlib.suppress(Exception):
                client.cancel(list(futures), force=True)
            raise
        finally:
            bar.close()
    return threads
