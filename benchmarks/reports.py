"""Report timings, measured in one run and printed side by side.

1. Per-report wall time against the floor: the same machinery (papermill, the project kernel over
   IPC, HTML export) executing a notebook that only imports the libraries the report imports.
   Target: a county report costs at most 1.5x the floor.
2. Speed-up of ``--jobs 2`` over ``--jobs 1`` on the whole report set (all counties + city,
   ``force``). Target: at least 1.6x on 2 cores.

Usage::

    .venv/bin/python benchmarks/reports.py [--dataset demo] [--reps 3] [--counties 0]

Uses ``data/processed/<dataset>`` when built, else builds ``data/raw/<dataset>`` into a temporary
project root first. ``--counties N`` limits the speed-up run to the first N counties (0 = all).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from analysis.data import load_processed
from analysis.paths import processed_dir, project_root
from analysis.reports import run_reports
from analysis.reports.driver import Task, default_notebook, run_task
from analysis.reports.sections import county_codes

FLOOR_SOURCE = ("import matplotlib.pyplot\nimport seaborn\nfrom analysis import plots\n"
                "from analysis.reports import sections")


def ensure_built(dataset: str, root: Path, scratch: Path) -> Path:
    if (processed_dir(dataset, root) / "manifest.json").exists():
        return root
    from analysis.pipeline import build

    (scratch / "data" / "raw").mkdir(parents=True)
    shutil.copytree(root / "data" / "raw" / dataset, scratch / "data" / "raw" / dataset)
    print(f"building {dataset} into a scratch root …", flush=True)
    build(scratch / "data" / "raw" / dataset, out_root=scratch / "data" / "processed")
    return scratch


def floor_notebook(county_nb: Path, target: Path) -> Path:
    """The report notebook's parameters cell plus one cell importing what the report imports."""
    nb = nbformat.read(str(county_nb), as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    floor = nbformat.v4.new_notebook(metadata=nb.metadata)
    floor.cells = [params, nbformat.v4.new_code_cell(FLOOR_SOURCE)]
    nbformat.write(floor, str(target))
    return target


def one(nb: Path, code: str, dataset: str, root: Path, out: Path) -> float:
    task = Task(code, str(nb), {"dataset": dataset, "county_code": code, "language": "zh",
                                "threshold": 10},
                str(out / f"{nb.stem}-{code}.html"), str(out / "failed"), str(root), "zh", "bench")
    start = time.perf_counter()
    res = run_task(task)
    elapsed = time.perf_counter() - start
    if res.status != "written":
        sys.exit(f"{nb.name} failed for {code}: {res.error}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="demo")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--counties", type=int, default=0)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="pe-bench-") as tmp:
        scratch = Path(tmp)
        root = ensure_built(args.dataset, project_root(), scratch / "root")
        codes = county_codes(load_processed(args.dataset, root=root))
        county_nb = default_notebook("county", root)
        floor_nb = floor_notebook(county_nb, scratch / "floor.ipynb")
        out = scratch / "out"
        try:
            # warm the OS file cache and font cache once; not counted
            one(floor_nb, codes[0], args.dataset, root, out)
            floors, reports = [], []
            for i in range(args.reps):
                code = codes[i % len(codes)]
                floors.append(one(floor_nb, code, args.dataset, root, out))
                reports.append(one(county_nb, code, args.dataset, root, out))
        finally:
            floor_nb.unlink(missing_ok=True)

        chosen = codes[: args.counties] if args.counties else None
        runs = {}
        # reports go to a scratch copy of the reports folder: point the root there via a symlinked tree
        bench_root = scratch / "speed"
        (bench_root / "data" / "processed").mkdir(parents=True)
        (bench_root / "data" / "raw").mkdir(parents=True)
        os.symlink(processed_dir(args.dataset, root), bench_root / "data" / "processed" / args.dataset)
        for jobs in (1, 2):
            start = time.perf_counter()
            res = run_reports(args.dataset, counties=chosen, jobs=jobs, force=True, root=bench_root,
                              progress=False)
            runs[jobs] = time.perf_counter() - start
            if not res.ok:
                sys.exit(res.render())
        n_reports = len(res.results)

    f, r = statistics.median(floors), statistics.median(reports)
    print()
    print(f"{'measure':<44}{'value':>10}{'target':>12}")
    print(f"{'floor: import-only notebook (median s)':<44}{f:>10.2f}")
    print(f"{'county report (median s)':<44}{r:>10.2f}")
    print(f"{'report / floor':<44}{r / f:>10.2f}{'<= 1.50':>12}")
    print(f"{f'--jobs 1, {n_reports} reports (s)':<44}{runs[1]:>10.2f}")
    print(f"{f'--jobs 2, {n_reports} reports (s)':<44}{runs[2]:>10.2f}")
    print(f"{'speed-up jobs 2 / jobs 1':<44}{runs[1] / runs[2]:>10.2f}{'>= 1.60':>12}")
    print(f"(reps {args.reps}; floors {[round(x, 2) for x in floors]}; reports {[round(x, 2) for x in reports]};"
          f" {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
