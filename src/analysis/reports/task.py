"""One report: execute its notebook (a kernel of its own, or a kept one) and export the page
(:func:`render_task`, which writes nothing), then write the page atomically or keep the failure's
partial notebook (:func:`commit`). The local driver runs both in a worker process
(:func:`run_task`); on a Dask cluster the worker renders and the driver commits, so workers need
no write access to the project.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..paths import ENV_ROOT
from . import html as page_html

EXECUTION_TIMEOUT = 900  # seconds per cell

__all__ = ["EXECUTION_TIMEOUT", "Rendered", "Task", "TaskResult", "commit", "io_reason",
           "render_task", "run_task"]


@dataclass(frozen=True)
class Task:
    name: str  # county code or "city"
    notebook: str
    parameters: dict[str, Any]
    html: str
    failed_dir: str
    root: str
    language: str
    key: str
    nav: str = ""
    scratch: str = ""  # folder for the task's temporary files (removed by the driver)
    running: str = ""  # the running header of the page's PDF (county, dataset, data fingerprint)
    warm: bool = False  # run in a kept kernel of the process (analysis.reports.kernel.KernelPool)


@dataclass(frozen=True)
class TaskResult:
    name: str
    status: str  # "written", "skipped", "failed"
    seconds: float = 0.0
    error: str = ""
    cell: int | None = None
    failed_notebook: str = ""


def io_reason(err: OSError) -> str:
    """What an operating-system error means for the user, with what to do."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full (no space left on device); free some space and run again"
    if err.errno == errno.EROFS:
        return ("the folder is on a read-only file system; run from a project folder you can "
                "write to")
    if err.errno in (errno.EACCES, errno.EPERM) or isinstance(err, PermissionError):
        return "permission denied; make the folder writable (or run as its owner) and run again"
    return f"{err.strerror or type(err).__name__}"


@dataclass(frozen=True)
class Rendered:
    """What running one report produced, nothing written yet: the finished page (``page``) or
    the failure (``result``) with the partially executed notebook (``partial``). A Dask worker
    returns this to the driver, which writes it (:func:`commit`)."""

    result: TaskResult
    page: bytes = b""
    partial: bytes = b""
    pdf: bytes = b""  # the page printed to an A4 PDF where the report ran (Dask workers, --pdf)


def run_task(task: Task) -> TaskResult:
    """Execute one notebook, export it and write the page; never raises for a notebook error or
    a failed write (the ``.part`` file is removed and the previous page kept)."""
    start = time.perf_counter()
    rendered = render_task(task)
    return commit(task, rendered, start)


def render_task(task: Task) -> Rendered:
    """Execute one notebook and export its page, writing nothing outside the task's scratch
    folder; never raises for a notebook error (a failed :class:`Rendered`)."""
    start = time.perf_counter()
    try:
        return _render_task(task, start)
    except OSError as err:
        where = f" {err.filename}" if err.filename else ""
        return Rendered(TaskResult(task.name, "failed", time.perf_counter() - start,
                                   f"cannot write{where}: {io_reason(err)}"))


def _render_task(task: Task, start: float) -> Rendered:
    from papermill.exceptions import PapermillExecutionError

    tmp = Path(tempfile.mkdtemp(prefix="pe-report-", dir=task.scratch or None))
    executed = tmp / f"{task.name}.ipynb"

    def failed(error: str, cell: int | None) -> Rendered:
        partial = executed.read_bytes() if executed.exists() else b""
        return Rendered(TaskResult(task.name, "failed", time.perf_counter() - start, error, cell),
                        partial=partial)

    try:
        try:
            nb = _execute_notebook(task, executed, tmp)
        except PapermillExecutionError as err:
            return failed(f"{err.ename}: {err.evalue}", err.cell_index)
        except _KernelFailure as err:  # kernel died, timeout, unreadable notebook …
            return failed(str(err), None)
        try:
            text = page_html.notebook_to_page(nb, language=task.language, key=task.key, nav=task.nav,
                                              running=task.running)
        except Exception as err:
            return failed(f"HTML export failed: {type(err).__name__}: {err}", None)
        return Rendered(TaskResult(task.name, "written", time.perf_counter() - start),
                        page=text.encode("utf-8"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _KernelFailure(Exception):
    """A report's kernel failed (not a cell): the error with the tail of the kernel's log."""


def _kernel_failure(err: Exception, log: Path) -> _KernelFailure:
    tail = log.read_text(errors="replace").strip().splitlines()[-5:] if log.exists() else []
    detail = (" | kernel log: " + " / ".join(tail)) if tail else ""
    return _KernelFailure(f"{type(err).__name__}: {err}{detail}")


def _execute_notebook(task: Task, executed: Path, tmp: Path) -> Any:
    """Run the task's notebook with papermill into ``executed``: in a kept kernel of this
    process's :func:`~analysis.reports.kernel.kernel_pool` when ``task.warm`` (run again in a new
    kernel when a kernel that had run other reports fails), else in a kernel of its own.

    Raises ``PapermillExecutionError`` for a failing cell, :class:`_KernelFailure` otherwise."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from .kernel import KERNEL_LOG, ProjectKernelManager, kept_kernel_engine, kernel_pool

    cwd = str(Path(task.notebook).parent)
    common = dict(parameters=task.parameters, kernel_name="python3", language="python",
                  progress_bar=False, cwd=cwd, execution_timeout=EXECUTION_TIMEOUT)
    if not task.warm:
        saved = {k: os.environ.get(k) for k in (ENV_ROOT, KERNEL_LOG)}
        os.environ[ENV_ROOT] = task.root
        os.environ[KERNEL_LOG] = str(tmp / "kernel.log")
        try:
            return papermill.execute_notebook(task.notebook, str(executed),
                                              kernel_manager_class=ProjectKernelManager, **common)
        except PapermillExecutionError:
            raise
        except Exception as err:
            raise _kernel_failure(err, tmp / "kernel.log") from None
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    pool = kernel_pool()
    engine = kept_kernel_engine()
    while True:
        try:
            kernel = pool.acquire(root=task.root, cwd=cwd, env={ENV_ROOT: task.root})
        except Exception as err:
            raise _kernel_failure(err, tmp / "missing.log") from None
        ok = False
        try:
            nb = papermill.execute_notebook(task.notebook, str(executed), km=kernel.km,
                                            engine_name=engine, **common)
            ok = True
            return nb
        except Exception as err:
            if kernel.runs > 0:  # another county ran here before: run it again in a new kernel
                continue
            if isinstance(err, PapermillExecutionError):
                raise
            raise _kernel_failure(err, Path(kernel.log)) from None
        finally:
            pool.release(kernel, ok=ok)  # a kernel that failed is shut down


def commit(task: Task, rendered: Rendered, start: float | None = None) -> TaskResult:
    """Write what :func:`render_task` produced: the page atomically (``<page>.html.part``, then a
    rename), or the failure's partial notebook into ``failed/``. Never raises; a failed write
    becomes the report's failure and the previous page stays."""
    start = time.perf_counter() - rendered.result.seconds if start is None else start
    r = rendered.result
    if r.status != "written":
        return _failed(task, rendered.partial, start, r.error, r.cell)
    out = Path(task.html)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        page_html.write_atomic(out, rendered.page)
    except OSError as err:
        return _failed(task, b"", start, f"cannot write {out.name}: {io_reason(err)}", None)
    stale = Path(task.failed_dir) / f"{task.name}.ipynb"
    with contextlib.suppress(OSError):
        stale.unlink(missing_ok=True)
    return TaskResult(task.name, "written", time.perf_counter() - start)


def _failed(task: Task, partial: bytes, start: float, error: str,
            cell: int | None) -> TaskResult:
    """A failed report: its partial notebook is kept in ``failed/`` when it can be written; its
    last good page stays (the index marks it as out of date)."""
    target = Path(task.failed_dir) / f"{task.name}.ipynb"
    kept = ""
    if partial:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            page_html.write_atomic(target, partial)
            kept = str(target)
        except OSError as err:
            error += f" (the partial notebook could not be kept: {io_reason(err)})"
    if not kept:  # an older partial notebook would be taken for this failure's
        with contextlib.suppress(OSError):
            target.unlink(missing_ok=True)
    return TaskResult(task.name, "failed", time.perf_counter() - start, error, cell, kept)
