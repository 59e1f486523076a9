"""Run the report notebooks for many counties with papermill, export HTML, write the index.

One task per county (``notebooks/county_report.ipynb``) plus the city summary
(``notebooks/city_summary.ipynb``: the whole dataset, ``city.html``). A dataset of several
prefectures also gets a summary per prefecture (``prefecture-<code>.html``) and, with several
provinces, per province (``province-<code>.html``): the same notebook with ``area`` set, run as
more tasks through the same path (worker processes, kept kernels, a Dask cluster); the index
becomes one page per level (:mod:`analysis.reports.index`). Before anything runs, parameters are checked against the
notebook's ``parameters`` cell (``papermill.inspect_notebook``: papermill itself only warns about
unknown names) and county codes against the counties table. Tasks run in a process pool
(``spawn``: no forked ZeroMQ state), each kernel on IPC sockets
(:class:`~analysis.reports.kernel.ProjectKernelManager`). A failing county does not stop the others:
its partially executed notebook goes to ``reports/<dataset>/failed/`` and the outcome lists it with
the failing cell's error. A report whose key — a hash of the processed inputs, the notebook, the
package version and the parameters — matches the key stored in the existing HTML is skipped unless
``force``.

Faults. Every processed file is checked against the manifest before anything runs
(:meth:`analysis.data.Processed.verify`). The output folder is checked before any notebook runs: a
real file is written and removed (``os.access`` alone says yes to root on a read-only folder) and
the free space is compared with an estimate of what the run writes. A page is written to
``<page>.html.part`` and renamed over the old page, so a reader sees the old page or the new one;
a write that fails (disk full, read-only) removes the ``.part`` file and becomes that report's
failure. A report that fails keeps its last good page: the failure (date and reason) is recorded
in ``failed/failures.json`` and the index marks the page as out of date until a run succeeds.
Only one run writes a dataset's reports at a time (a lock file beside the pages).

Stopping. Reports always run in worker processes, each in a process group of its own (a Ctrl-C
on the terminal reaches only the driver) and each asking Linux to kill it when the driver dies
(:func:`~analysis.reports.kernel.die_with_parent`); kernels do the same towards their worker. On
Ctrl-C or ``SIGTERM`` the driver kills every worker's group, waits for them, leaves the index as
it was and raises :class:`ReportInterrupted` (exit code 128 + the signal); on ``SIGKILL`` the
parent-death signals take the workers and then their kernels down.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from .. import __version__
from ..data import load_processed
from ..disclosure import DEFAULT_THRESHOLD, check_acknowledged
from ..errors import ReportError, SpecificationError
from ..hashing import code_hash, files_hash, sha256_file
from ..labels import Language, check_language
from ..messages import Msg
from ..paths import processed_dir, project_root, reports_dir
from . import html as page_html
from .index import (
    Failure,
    language_dir,
    nav_up,
    other_language,
    read_failures,
    reports_base,
    summary_label,
    write_failures,
    write_index,
)
from .index import nav as nav_links
from .sections.base import (
    ReportContext,
    area_pages,
    area_report,
    check_county,
    check_threshold,
    county_codes,
)
from .sections.people import check_people
from .task import Task, TaskResult, io_reason, run_task

CITY = "city"
NOTEBOOK_DIR = Path(__file__).resolve().parents[3] / "notebooks"
#: bytes assumed for a report page not written before (measured: demo county pages 0.26 MB, the
#: city page 0.20 MB; larger cities have more homes per page); the temporary folder is checked
#: for twice this per parallel report (executed notebook and kernel log)
PAGE_ESTIMATE = 2 << 20
#: bytes beyond the pages: index, font subset, failure record
EXTRA_ESTIMATE = 2 << 20
#: seconds workers get to go after SIGTERM before SIGKILL
STOP_GRACE = 2.0


def default_notebook(kind: str, root: Path | None = None) -> Path:
    """``notebooks/county_report.ipynb`` or ``notebooks/city_summary.ipynb`` of the project (falls
    back to the notebooks beside the installed source tree)."""
    name = "county_report.ipynb" if kind == "county" else "city_summary.ipynb"
    for base in ((root or project_root()) / "notebooks", NOTEBOOK_DIR):
        if (base / name).exists():
            return base / name
    raise SpecificationError(f"cannot find notebooks/{name}; run from the project folder.")


def check_parameters(notebook: Path, parameters: Mapping[str, Any]) -> None:
    """Refuse parameter names the notebook's ``parameters`` cell does not declare."""
    import nbformat
    import papermill

    nb = nbformat.read(str(notebook), as_version=4)
    with tempfile.TemporaryDirectory(prefix="pe-inspect-") as tmp:
        # papermill's inspection needs a kernel name; stripped notebooks may not carry one
        nb.metadata.setdefault("kernelspec", {"name": "python3", "language": "python",
                                              "display_name": "Python 3"})
        nb.metadata.setdefault("language_info", {"name": "python"})
        copy = Path(tmp) / notebook.name
        nbformat.write(nb, str(copy))
        declared = papermill.inspect_notebook(str(copy))
    if not declared:
        raise SpecificationError(
            f"{notebook.name} has no cell tagged 'parameters'; tag the cell that holds the defaults."
        )
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise SpecificationError(
            f"parameter(s) {', '.join(map(repr, unknown))} are not declared in {notebook.name}; "
            f"it accepts: {', '.join(sorted(declared))}. Check the spelling, or add the name to the "
            "notebook's parameters cell."
        )


def inputs_hash(dataset: str, root: Path | None = None) -> str:
    """Hash of every processed file of the dataset (tables, panel, manifest, results)."""
    base = processed_dir(dataset, root)
    return files_hash(p for p in base.rglob("*") if p.is_file())


def report_key(inputs: str, notebook: Path, parameters: Mapping[str, Any]) -> str:
    """Key of one report: processed inputs + notebook + package version (and source) + parameters."""
    payload = json.dumps(
        {
            "inputs": inputs,
            "notebook": sha256_file(notebook),
            "version": __version__,
            "code": code_hash(),
            "parameters": dict(parameters),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class ReportOutcome:
    """What ``run_reports`` did: per-report results, where the reports are, and whether all worked."""

    dataset: str
    out_dir: Path
    results: tuple[TaskResult, ...] = field(default_factory=tuple)
    seconds: float = 0.0
    jobs: int = 1
    pdfs: tuple[TaskResult, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(r.status != "failed" for r in self.results + self.pdfs)

    @property
    def failures(self) -> tuple[TaskResult, ...]:
        return tuple(r for r in self.results if r.status == "failed")

    def render(self, language: str = "en") -> str:
        """The run's summary in ``language`` (``zh`` or ``en``; messages of
        :mod:`analysis.messages`)."""
        n = {s: sum(r.status == s for r in self.results) for s in ("written", "skipped", "failed")}
        lines = [
            Msg("report.summary", dataset=self.dataset, out=self.out_dir, w=n["written"],
                s=n["skipped"], f=n["failed"], sec=self.seconds, jobs=self.jobs),
            Msg("report.open", path=self.out_dir / "index.html"),
        ]
        if n["skipped"]:
            lines.append(Msg("report.skipped"))
        if self.pdfs:
            k = {s: sum(r.status == s for r in self.pdfs) for s in ("written", "skipped", "failed")}
            lines.append(Msg("report.pdfs", w=k["written"], s=k["skipped"], f=k["failed"]))
            lines += [Msg("report.pdf_failed", name=r.name, error=r.error)
                      for r in self.pdfs if r.status == "failed"]
        for r in self.failures:
            cell = Msg("report.cell", cell=r.cell) if r.cell is not None else ""
            where = Msg("report.partial", path=r.failed_notebook) if r.failed_notebook else ""
            lines.append(Msg("report.failed", name=r.name, cell=cell, error=r.error, where=where))
        if any(r.name != "index" for r in self.failures):
            lines.append(Msg("report.keeps"))
        return "\n".join(m.render(language) for m in lines)


class ReportInterrupted(ReportError):
    """The run was stopped by Ctrl-C or a termination signal; every worker and kernel it started
    was stopped and the index left as it was. Exit code 128 + the signal number."""

    def __init__(self, signum: int, finished: int, *, index_written: bool = False) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        index = ("index.html is the previous one or this run's, never half written"
                 if index_written else "index.html was not updated")
        super().__init__(
            f"interrupted ({signal.Signals(signum).name}): every report worker and kernel of this "
            f"run was stopped; {finished} report(s) finished before and are kept; {index}. Run "
            "the command again to finish (finished reports are skipped).")


class _Terminated(BaseException):
    """Raised in the driver's main thread by the ``SIGTERM``/``SIGHUP`` handler."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _stop_on_termination() -> Iterator[None]:
    """Turn ``SIGTERM`` and ``SIGHUP`` into an exception (as Ctrl-C is a ``KeyboardInterrupt``) so
    that the driver stops its workers; without a handler the driver would die at once and leave
    them to the parent-death signal. Only in the main thread (where signal handlers live)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = [n for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]

    def stop(signum: int, _frame: object) -> None:
        for n in names:  # one is enough: the driver is already stopping
            signal.signal(getattr(signal, n), signal.SIG_IGN)
        raise _Terminated(signum)

    old = {n: signal.signal(getattr(signal, n), stop) for n in names}
    try:
        yield
    finally:
        for n, handler in old.items():
            signal.signal(getattr(signal, n), handler)


def run_reports(
    dataset: str = "demo",
    counties: Sequence[str] | None = None,
    jobs: int = 2,
    language: Language = "zh",
    force: bool = False,
    threshold: int = DEFAULT_THRESHOLD,
    echo: Callable[[str], Any] | None = None,
    *,
    root: Path | None = None,
    county_notebook: Path | None = None,
    city_notebook: Path | None = None,
    parameters: Mapping[str, Any] | None = None,
    city: bool = True,
    progress: bool = True,
    accept_small_counts: bool = False,
    pdf: bool = False,
    warm: bool = True,
    scheduler: str | None = None,
    data_url: str | None = None,
) -> ReportOutcome:
    """Execute the county report per county, the city summary, and write ``index.html``.

    Parameters
    ----------
    dataset : str
        Folder under ``data/processed``.
    counties : list of str, optional
        County codes; ``None`` means every county of the dataset.
    jobs : int
        Reports run in parallel (each in its own kernel).
    language : {"zh", "en"}
    force : bool
        Re-run reports that are up to date.
    threshold : int
        Counts of people below this are suppressed.
    echo : callable, optional
        Where progress messages go (the CLI passes ``typer.echo``).
    root : Path, optional
        Project root (default: ``analysis.paths.project_root()``).
    county_notebook, city_notebook : Path, optional
        Notebooks to run instead of the project's.
    parameters : mapping, optional
        Extra notebook parameters; names the notebooks do not declare are refused.
    city : bool
        Also run the city summary (default true) and, for a dataset of several prefectures, the
        summary of every prefecture (and of every province when there are several) that holds
        one of the counties run.
    progress : bool
        Show a progress bar on standard error.
    accept_small_counts : bool
        Required for a ``threshold`` below the default: the publisher accepts that counts from
        ``threshold`` up are shown; every page then says so.
    pdf : bool
        Also print every page (county, city) to an A4 PDF beside it with headless Chromium
        (:mod:`analysis.reports.pdf`); a PDF not older than its page is kept. Without Chromium
        the run is refused before anything runs, saying how to install it.
    warm : bool
        Run the reports in kept kernels, several reports per kernel with the kernel's state reset
        between them (:class:`~analysis.reports.kernel.KernelPool`); false starts a new kernel per
        report.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``): the reports run on its workers
        (:mod:`analysis.reports.cluster`) and come back to this process, which writes them; the
        default runs them in ``jobs`` local worker processes.
    data_url : str, optional
        With ``scheduler``: where the workers read the processed data, a folder they all see
        (the ``data/processed`` folder on a shared disk) or an fsspec URL of a copy of it
        (``s3://bucket/pairing/processed``); the default is this project's ``data/processed``.

    Returns
    -------
    ReportOutcome
        ``.ok`` is false when any report failed; ``.render()`` summarises.
    """
    say = echo or (lambda _msg: None)
    check_language(language)
    if not isinstance(jobs, int) or jobs < 1:
        raise SpecificationError(f"jobs={jobs!r} must be a whole number of at least 1.")
    if data_url is not None and scheduler is None:
        raise SpecificationError("data_url is where the workers of a Dask cluster read the data; "
                                 "it needs a scheduler (--scheduler tcp://HOST:PORT).")
    check_threshold(threshold)
    threshold = int(threshold)
    check_acknowledged(threshold, accept_small_counts)
    chromium = None
    if pdf:
        from .pdf import require_chromium

        chromium = require_chromium()
    root = (root or project_root()).resolve()
    processed = load_processed(dataset, root=root)
    processed.verify()  # every processed file against the manifest, before any notebook runs
    codes = county_codes(processed)
    if counties is None:
        chosen = codes
    else:
        chosen = []
        bad = []
        for c in counties:
            try:
                check_county(processed, str(c))
                chosen.append(str(c))
            except SpecificationError:
                bad.append(str(c))
        if bad:
            raise SpecificationError(
                f"unknown county code(s) {', '.join(map(repr, bad))} for dataset {dataset!r}; "
                f"valid codes: {', '.join(codes)}."
            )
        chosen = list(dict.fromkeys(chosen))
    # fail closed: the linear attacker's audit of every count of people the pages will publish
    audited = check_people(processed, threshold)
    say(audited.summary())
    county_nb = (county_notebook or default_notebook("county", root)).resolve()
    city_nb = (city_notebook or default_notebook("city", root)).resolve()
    extra = dict(parameters or {})
    base = {"dataset": dataset, "language": language, "threshold": threshold, **extra}
    check_parameters(county_nb, {**base, "county_code": codes[0]})
    whole = ReportContext(processed, None, language, threshold)
    summary = summary_label(whole)
    areas: list[str] = []
    if city:
        check_parameters(city_nb, base)
        prefixes = {c[:4] for c in chosen} | {c[:2] for c in chosen}
        areas = [a for a in area_pages(processed)
                 if (a[:2] if a.endswith("0000") else a[:4]) in prefixes]
        if areas:
            check_parameters(city_nb, {**base, "area": areas[0]})

    # each language in a folder of its own (reports/<dataset>/ and reports/<dataset>/en/)
    out_dir = language_dir(reports_dir(dataset, root), language)
    failed_dir = out_dir / "failed"
    inputs = inputs_hash(dataset, root)

    tasks: list[Task] = []
    if city:
        tasks.append(Task(CITY, str(city_nb), base, str(out_dir / "city.html"), str(failed_dir),
                          str(root), language, report_key(inputs, city_nb, base),
                          nav_links(language, threshold, page="city.html", summary=summary),
                          running=running_header(processed, None, language), warm=warm))
    for area in areas:  # the same notebook, one task per prefecture and province
        name = area_report(area)
        params = {**base, "area": area}
        tasks.append(Task(name, str(city_nb), params, str(out_dir / f"{name}.html"),
                          str(failed_dir), str(root), language, report_key(inputs, city_nb, params),
                          nav_links(language, threshold, page=f"{name}.html", summary=summary,
                                    up=nav_up(whole, area=area)),
                          running=running_header(processed, None, language, area=area),
                          warm=warm))
    for code in chosen:
        params = {**base, "county_code": code}
        tasks.append(Task(code, str(county_nb), params, str(out_dir / f"{code}.html"), str(failed_dir),
                          str(root), language, report_key(inputs, county_nb, params),
                          nav_links(language, threshold, page=f"{code}.html", summary=summary,
                                    up=nav_up(whole, county_code=code)),
                          running=running_header(processed, code, language), warm=warm))

    start = time.perf_counter()
    results: list[TaskResult] = []
    pdfs: list[TaskResult] = []
    todo = []
    for t in tasks:
        if not force and page_html.read_key(t.html) == t.key:
            results.append(TaskResult(t.name, "skipped"))
        else:
            todo.append(t)
    done: list[TaskResult] = []
    finishing = False
    try:
        with _stop_on_termination():
            check_output(out_dir, need=sum(_page_estimate(t) for t in todo) + EXTRA_ESTIMATE,
                         temp_need=2 * sum(sorted(map(_page_estimate, todo))[-jobs:]))
            with output_lock(out_dir, say):
                remove_parts(out_dir)
                say(Msg("report.todo", n=len(todo), up=len(tasks) - len(todo), jobs=jobs))
                if scheduler is not None:
                    from .cluster import execute_on_cluster

                    jobs = execute_on_cluster(todo, scheduler, progress, done, dataset=dataset,
                                              inputs=inputs, data_url=data_url, root=root,
                                              pdf=chromium is not None)
                else:
                    with _scratch() as scratch:
                        _execute([replace(t, scratch=scratch) for t in todo], jobs, progress,
                                 done)
                results += done
                order = {t.name: i for i, t in enumerate(tasks)}
                results.sort(key=lambda r: order[r.name])
                finishing = True
                results += _finish(processed, out_dir, failed_dir, results, language, threshold,
                                   audited.publication)
                if chromium is not None:
                    pdfs = print_pdfs(tasks, results, chromium, say)
                    if any(r.status == "written" for r in pdfs):  # the index links the PDFs
                        results += _finish(processed, out_dir, failed_dir, results, language,
                                           threshold, audited.publication)
    except (KeyboardInterrupt, _Terminated) as stop:
        signum = stop.signum if isinstance(stop, _Terminated) else signal.SIGINT
        raise ReportInterrupted(signum, sum(r.status == "written" for r in done),
                                index_written=finishing) from None
    return ReportOutcome(dataset, out_dir, tuple(results), time.perf_counter() - start, jobs,
                         tuple(pdfs))


def running_header(processed: Any, county: str | None, language: str, *,
                   area: str | None = None) -> str:
    """The running header of a page's PDF: the county, the area (prefecture or province) or the
    dataset's summary, the dataset and the data fingerprint
    (:func:`analysis.hashing.fingerprint`), in the page's language."""
    from ..hashing import fingerprint
    from ..labels import label

    ctx = ReportContext(processed, county, language, area=area)  # type: ignore[arg-type]
    if county:
        who = f"{ctx.county_name()} ({county})"
    elif area is not None:
        who = f"{ctx.scope_name} ({area})"
    else:
        who = label(summary_label(ctx), language)
    return (f"{who} · {label('dataset', language)} {processed.dataset} · "
            f"{label('data_hash', language)} {fingerprint(processed.manifest)}")


def print_pdfs(tasks: Sequence[Task], results: Sequence[TaskResult], chromium: str,
               say: Callable[[str], Any]) -> list[TaskResult]:
    """Print the page of every task that did not fail to an A4 PDF beside it (one headless
    Chromium for all); a PDF not older than its page is kept. A page that cannot be printed is a
    failed result, the others go on."""
    from .pdf import Browser, pdf_path, pdf_up_to_date

    failed = {r.name for r in results if r.status == "failed"}
    todo = [t for t in tasks if t.name not in failed and Path(t.html).exists()]
    out: list[TaskResult] = []
    stale = [t for t in todo if not pdf_up_to_date(Path(t.html))]
    out += [TaskResult(t.name, "skipped") for t in todo if t not in stale]
    if not stale:
        return out
    say(Msg("report.printing", n=len(stale), chromium=chromium))
    try:
        with Browser(chromium) as browser:
            for t in stale:
                start = time.perf_counter()
                try:
                    browser.print_pdf(Path(t.html), pdf_path(Path(t.html)))
                    out.append(TaskResult(t.name, "written", time.perf_counter() - start))
                except (ReportError, OSError) as err:
                    out.append(TaskResult(t.name, "failed", time.perf_counter() - start, str(err)))
    except ReportError as err:  # Chromium did not start
        done = {r.name for r in out}
        out += [TaskResult(t.name, "failed", 0.0, str(err)) for t in stale if t.name not in done]
    return out


def _page_estimate(task: Task) -> int:
    """Bytes the task's page will take: the current page's size, else :data:`PAGE_ESTIMATE`."""
    try:
        return max(Path(task.html).stat().st_size, PAGE_ESTIMATE)
    except OSError:
        return PAGE_ESTIMATE


def probe_write(folder: Path) -> None:
    """Write, flush to disk and remove a small file in ``folder``; raises the ``OSError``."""
    probe = folder / f".write-probe-{os.getpid()}"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"\0" * 65536)
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)


def check_output(out_dir: Path, need: int, temp_need: int = 0) -> None:
    """Refuse to start when the reports cannot be written: ``out_dir`` cannot be created, is not
    writable (``os.access`` and a real write: root passes ``os.access`` on a read-only folder),
    or its disk has less than ``need`` bytes free; the temporary folder has less than
    ``temp_need``. Nothing has run yet.

    Raises
    ------
    ReportError
        Saying which folder, why, and what to do.
    """
    head = f"cannot write the reports to {out_dir}"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "not writable", str(out_dir))
        probe_write(out_dir)
    except OSError as err:
        raise ReportError(f"{head}: {io_reason(err)}. Nothing was run.") from None
    for folder, needed in ((out_dir, need), (Path(tempfile.gettempdir()), temp_need)):
        free = shutil.disk_usage(folder).free
        if free < needed:
            raise ReportError(
                f"{head}: the disk holding {folder} has {free / 2**20:,.1f} MB free and this run "
                f"needs about {needed / 2**20:,.1f} MB. Free some space (or run fewer counties) "
                "and run again. Nothing was run.")


@contextlib.contextmanager
def output_lock(out_dir: Path, say: Callable[[str], Any]) -> Iterator[None]:
    """Hold ``<out_dir>/.lock`` for the run, so that two runs never write one dataset's pages
    together; a second run waits (saying so). The lock goes with the process, even on SIGKILL."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        fh = open(out_dir / ".lock", "a+")  # noqa: SIM115 - held for the whole run
    except OSError as err:
        raise ReportError(f"cannot write the reports to {out_dir}: {io_reason(err)}. "
                          "Nothing was run.") from None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            say(Msg("report.waiting", holder=holder, out=out_dir))
            fcntl.flock(fh, fcntl.LOCK_EX)
        with contextlib.suppress(OSError):
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def remove_parts(out_dir: Path) -> None:
    """Remove ``*.part`` files a killed run may have left (called while holding the lock)."""
    for folder in (out_dir, out_dir / "failed", out_dir / "fonts"):
        for f in folder.glob("*.part"):
            with contextlib.suppress(OSError):
                f.unlink()


@contextlib.contextmanager
def _scratch() -> Iterator[str]:
    """A temporary folder for the run's executed notebooks and kernel logs, removed at the end
    (also when the run is stopped)."""
    try:
        folder = tempfile.mkdtemp(prefix="pe-run-")
    except OSError as err:
        raise ReportError(f"cannot create a temporary folder in {tempfile.gettempdir()}: "
                          f"{io_reason(err)}. Nothing was run.") from None
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _finish(processed: Any, out_dir: Path, failed_dir: Path, results: list[TaskResult],
            language: str, threshold: int, people: Any = None) -> list[TaskResult]:
    """Update the failure record, the index and the font subset. A write that fails is reported
    as the failure of ``index`` (the previous index stays: every write is atomic). ``people``:
    the protected publication the run audited (both languages' indexes show it)."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    try:
        record = read_failures(failed_dir)
        for r in results:
            if r.status == "failed":
                record[r.name] = Failure(when, r.error)
            else:
                record.pop(r.name, None)
        write_failures(failed_dir, record)
        write_index(processed, out_dir, language=language, threshold=threshold, failed=record,
                    people=people)
        page_html.write_font_subset(out_dir)  # cheap when the existing subset covers the pages
        # the other language's index links this language's pages: refreshed when it exists
        other = other_language(language)
        other_dir = language_dir(reports_base(out_dir, language), other)
        if (other_dir / "index.html").exists():
            write_index(processed, other_dir, language=other, threshold=threshold,
                        failed=read_failures(other_dir / "failed"), people=people)
    except OSError as err:
        return [TaskResult("index", "failed", 0.0,
                           f"index.html not updated: {io_reason(err)}; the previous index is kept")]
    return []


def _worker_start(parent: int, pids: Any) -> None:
    """Runs first in every worker: a process group of its own (the driver kills it in one call;
    a terminal's Ctrl-C reaches only the driver), death with the driver (parent-death signal),
    and its pid reported to the driver."""
    from .kernel import die_with_parent

    os.setpgid(0, 0)
    die_with_parent(parent)
    pids.put(os.getpid())


def _stop_workers(pids: Any) -> None:
    """Kill every worker's process group (their kernels die with them: parent-death signal)."""
    groups: set[int] = set()
    while not pids.empty():
        groups.add(pids.get())
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)


def _execute(todo: list[Task], jobs: int, progress: bool, done: list[TaskResult]) -> None:
    """Run the tasks in ``min(jobs, len(todo))`` worker processes, appending to ``done`` as they
    finish. On any exception (Ctrl-C, a termination signal) the workers are killed first."""
    if not todo:
        return
    from tqdm.auto import tqdm

    ctx = get_context("spawn")
    pids = ctx.SimpleQueue()
    bar = tqdm(total=len(todo), desc="reports", unit="report", disable=not progress,
               file=sys.stderr)
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx,
                               initializer=_worker_start, initargs=(os.getpid(), pids))
    try:
        futures = {pool.submit(run_task, t): t for t in todo}
        for fut in as_completed(futures):
            t = futures[fut]
            try:
                done.append(fut.result())
            except Exception as err:  # the worker process itself died
                done.append(TaskResult(t.name, "failed", 0.0, f"{type(err).__name__}: {err}"))
            bar.set_postfix_str(t.name)
            bar.update()
    except BaseException:
        _stop_workers(pids)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
