"""Run the report notebooks for many counties with papermill, export HTML, write the index.

One task per county (``notebooks/county_report.ipynb``) plus the city summary
(``notebooks/city_summary.ipynb``). Before anything runs, parameters are checked against the
notebook's ``parameters`` cell (``papermill.inspect_notebook``: papermill itself only warns about
unknown names) and county codes against the counties table. Tasks run in a process pool
(``spawn``: no forked ZeroMQ state), each kernel on IPC sockets
(:class:`~analysis.reports.kernel.ProjectKernelManager`). A failing county does not stop the others:
its partially executed notebook goes to ``reports/<dataset>/failed/`` and the outcome lists it with
the failing cell's error. A report whose key — a hash of the processed inputs, the notebook, the
package version and the parameters — matches the key stored in the existing HTML is skipped unless
``force``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from .. import __version__
from ..data import load_processed
from ..disclosure import DEFAULT_THRESHOLD, check_acknowledged
from ..errors import SpecificationError
from ..hashing import code_hash, files_hash, sha256_file
from ..labels import Language, check_language
from ..paths import ENV_ROOT, processed_dir, project_root, reports_dir
from . import html as page_html
from .index import nav as nav_links
from .index import write_index
from .sections.base import check_county, check_threshold, county_codes
from .sections.people import check_people

CITY = "city"
NOTEBOOK_DIR = Path(__file__).resolve().parents[3] / "notebooks"
EXECUTION_TIMEOUT = 900  # seconds per cell


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


@dataclass(frozen=True)
class TaskResult:
    name: str
    status: str  # "written", "skipped", "failed"
    seconds: float = 0.0
    error: str = ""
    cell: int | None = None
    failed_notebook: str = ""


def run_task(task: Task) -> TaskResult:
    """Execute one notebook and export it; never raises for a notebook error."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from .kernel import KERNEL_LOG, ProjectKernelManager

    start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="pe-report-"))
    executed = tmp / f"{task.name}.ipynb"
    saved = {k: os.environ.get(k) for k in (ENV_ROOT, KERNEL_LOG)}
    os.environ[ENV_ROOT] = task.root
    os.environ[KERNEL_LOG] = str(tmp / "kernel.log")
    try:
        try:
            nb = papermill.execute_notebook(
                task.notebook,
                str(executed),
                parameters=task.parameters,
                kernel_name="python3",
                language="python",
                kernel_manager_class=ProjectKernelManager,
                progress_bar=False,
                cwd=str(Path(task.notebook).parent),
                execution_timeout=EXECUTION_TIMEOUT,
            )
        except PapermillExecutionError as err:
            return _failed(task, executed, start, f"{err.ename}: {err.evalue}", err.cell_index)
        except Exception as err:  # kernel died, timeout, unreadable notebook …
            log = tmp / "kernel.log"
            tail = log.read_text(errors="replace").strip().splitlines()[-5:] if log.exists() else []
            detail = (" | kernel log: " + " / ".join(tail)) if tail else ""
            return _failed(task, executed, start, f"{type(err).__name__}: {err}{detail}", None)
        try:
            text = page_html.notebook_to_page(nb, language=task.language, key=task.key, nav=task.nav)
        except Exception as err:
            return _failed(task, executed, start, f"HTML export failed: {type(err).__name__}: {err}", None)
        out = Path(task.html)
        out.parent.mkdir(parents=True, exist_ok=True)
        part = out.with_suffix(".html.part")
        part.write_text(text, encoding="utf-8")
        os.replace(part, out)
        stale = Path(task.failed_dir) / f"{task.name}.ipynb"
        if stale.exists():
            stale.unlink()
        return TaskResult(task.name, "written", time.perf_counter() - start)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(tmp, ignore_errors=True)


def _failed(task: Task, executed: Path, start: float, error: str, cell: int | None) -> TaskResult:
    failed_dir = Path(task.failed_dir)
    failed_dir.mkdir(parents=True, exist_ok=True)
    target = failed_dir / f"{task.name}.ipynb"
    if executed.exists():
        shutil.copyfile(executed, target)
    else:
        target = Path("")
    stale = Path(task.html)
    if stale.exists():  # never leave an out-of-date report behind a failure
        stale.unlink()
    return TaskResult(task.name, "failed", time.perf_counter() - start, error, cell,
                      str(target) if str(target) else "")


@dataclass(frozen=True)
class ReportOutcome:
    """What ``run_reports`` did: per-report results, where the reports are, and whether all worked."""

    dataset: str
    out_dir: Path
    results: tuple[TaskResult, ...] = field(default_factory=tuple)
    seconds: float = 0.0
    jobs: int = 1

    @property
    def ok(self) -> bool:
        return all(r.status != "failed" for r in self.results)

    @property
    def failures(self) -> tuple[TaskResult, ...]:
        return tuple(r for r in self.results if r.status == "failed")

    def render(self) -> str:
        n = {s: sum(r.status == s for r in self.results) for s in ("written", "skipped", "failed")}
        lines = [
            f"Reports for dataset {self.dataset!r} in {self.out_dir}: {n['written']} written, "
            f"{n['skipped']} up to date (skipped), {n['failed']} failed "
            f"({self.seconds:.1f} s, {self.jobs} job(s)).",
            f"Open {self.out_dir / 'index.html'}",
        ]
        if n["skipped"]:
            lines.append("Up-to-date reports were skipped; use --force to re-run them.")
        for r in self.failures:
            cell = f" in cell {r.cell}" if r.cell is not None else ""
            where = f"; partial notebook: {r.failed_notebook}" if r.failed_notebook else ""
            lines.append(f"FAILED {r.name}{cell}: {r.error}{where}")
        return "\n".join(lines)


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
        Also run the city summary (default true).
    progress : bool
        Show a progress bar on standard error.
    accept_small_counts : bool
        Required for a ``threshold`` below the default: the publisher accepts that counts from
        ``threshold`` up are shown; every page then says so.

    Returns
    -------
    ReportOutcome
        ``.ok`` is false when any report failed; ``.render()`` summarises.
    """
    say = echo or (lambda _msg: None)
    check_language(language)
    if not isinstance(jobs, int) or jobs < 1:
        raise SpecificationError(f"jobs={jobs!r} must be a whole number of at least 1.")
    check_threshold(threshold)
    threshold = int(threshold)
    check_acknowledged(threshold, accept_small_counts)
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
    say(check_people(processed, threshold).summary())
    county_nb = (county_notebook or default_notebook("county", root)).resolve()
    city_nb = (city_notebook or default_notebook("city", root)).resolve()
    extra = dict(parameters or {})
    base = {"dataset": dataset, "language": language, "threshold": threshold, **extra}
    check_parameters(county_nb, {**base, "county_code": codes[0]})
    if city:
        check_parameters(city_nb, base)

    out_dir = reports_dir(dataset, root)
    failed_dir = out_dir / "failed"
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = inputs_hash(dataset, root)
    nav = nav_links(language, threshold)

    tasks: list[Task] = []
    if city:
        tasks.append(Task(CITY, str(city_nb), base, str(out_dir / "city.html"), str(failed_dir),
                          str(root), language, report_key(inputs, city_nb, base), nav))
    for code in chosen:
        params = {**base, "county_code": code}
        tasks.append(Task(code, str(county_nb), params, str(out_dir / f"{code}.html"), str(failed_dir),
                          str(root), language, report_key(inputs, county_nb, params), nav))

    start = time.perf_counter()
    results: list[TaskResult] = []
    todo = []
    for t in tasks:
        if not force and page_html.read_key(t.html) == t.key:
            results.append(TaskResult(t.name, "skipped"))
        else:
            todo.append(t)
    say(f"{len(todo)} report(s) to run, {len(tasks) - len(todo)} up to date; {jobs} job(s).")
    results += _execute(todo, jobs, progress)
    order = {t.name: i for i, t in enumerate(tasks)}
    results.sort(key=lambda r: order[r.name])

    write_index(processed, out_dir, language=language, threshold=threshold,
                failed={r.name: r.error for r in results if r.status == "failed"})
    page_html.write_font_subset(out_dir)  # cheap when the existing subset covers the pages
    return ReportOutcome(dataset, out_dir, tuple(results), time.perf_counter() - start, jobs)


def _execute(todo: list[Task], jobs: int, progress: bool) -> list[TaskResult]:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="reports", unit="report", disable=not progress or not todo,
               file=sys.stderr)
    results: list[TaskResult] = []
    try:
        if jobs == 1 or len(todo) <= 1:
            for t in todo:
                bar.set_postfix_str(t.name)
                results.append(run_task(t))
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(run_task, t): t for t in todo}
                for fut in as_completed(futures):
                    t = futures[fut]
                    try:
                        results.append(fut.result())
                    except Exception as err:  # the worker process itself died
                        results.append(TaskResult(t.name, "failed", 0.0, f"{type(err).__name__}: {err}"))
                    bar.set_postfix_str(t.name)
                    bar.update()
    finally:
        bar.close()
    return results
