"""Scale benchmarks, measured in one run and printed side by side.

Report throughput: the same report set (every county and the city summary, ``force``) run four
ways on this machine: the local process pool and a two-worker ``distributed.LocalCluster``
(one thread per worker), each with a new kernel per report (cold) and with kept kernels (warm).
Printed: wall time, reports per minute, seconds per report per worker, and each way's speed
relative to the local cold run; then the projected time for N reports on W workers,
``T(N, W) ≈ N × c / W`` with ``c`` the measured seconds per report per worker.

Usage::

    .venv/bin/python benchmarks/scale.py [--dataset demo] [--jobs 2] [--counties 0]

Uses ``data/processed/<dataset>`` when built, else builds ``data/raw/<dataset>`` first; reports
are written into a temporary project root, never into ``reports/``. ``--counties N`` runs the
first N counties only (0 = all).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from analysis.data import load_processed
from analysis.paths import processed_dir, project_root
from analysis.reports import run_reports
from analysis.reports.sections import county_codes


def scratch_root(dataset: str, root: Path, scratch: Path) -> Path:
    """A project root in ``scratch`` holding a copy of the processed dataset (built from
    ``data/raw/<dataset>`` when it is not built yet)."""
    target = scratch / "data" / "processed" / dataset
    (scratch / "data" / "raw" / dataset).mkdir(parents=True)
    if (processed_dir(dataset, root) / "manifest.json").exists():
        shutil.copytree(processed_dir(dataset, root), target)
    else:
        from analysis.pipeline import build

        print(f"building {dataset} into a scratch root …", flush=True)
        build(root / "data" / "raw" / dataset, out_root=scratch / "data" / "processed")
    return scratch


# ---- report throughput ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Throughput:
    engine: str  # "local pool" or "LocalCluster"
    kernels: str  # "cold" or "warm"
    workers: int
    reports: int
    seconds: float

    @property
    def per_minute(self) -> float:
        return 60.0 * self.reports / self.seconds

    @property
    def per_report_per_worker(self) -> float:
        """Seconds of one worker per report: the ``c`` of ``T(N, W) ≈ N × c / W``."""
        return self.seconds * self.workers / self.reports


def report_throughput(dataset: str, root: Path, jobs: int, counties: list[str]) -> list[Throughput]:
    """The report set run the four ways (see the module docstring), each timed from the first
    report submitted to the index written (the cluster is started before the clock starts, as
    an existing cluster would be; a new one for each way, so that warm kernels start cold)."""
    from distributed import LocalCluster

    rows = []
    for engine in ("local pool", "LocalCluster"):
        for warm in (False, True):
            cluster = None
            if engine == "LocalCluster":
                cluster = LocalCluster(processes=True, n_workers=jobs, threads_per_worker=1,
                                       dashboard_address=None, silence_logs=40)
            try:
                start = time.perf_counter()
                out = run_reports(dataset, counties=counties, jobs=jobs, root=root, force=True,
                                  progress=False, warm=warm,
                                  scheduler=cluster.scheduler_address if cluster else None)
                seconds = time.perf_counter() - start
            finally:
                if cluster is not None:
                    cluster.close()
            if not out.ok:
                raise SystemExit(out.render())
            n = sum(r.status == "written" for r in out.results if r.name != "index")
            row = Throughput(engine, "warm" if warm else "cold", jobs, n, seconds)
            print(f"  {engine:<13} {row.kernels}: {n} reports in {seconds:.1f} s", flush=True)
            rows.append(row)
    return rows


def print_throughput(rows: list[Throughput]) -> None:
    base = rows[0]
    print("\nReport throughput (all reports forced; machine: see the host line above)")
    print(f"{'engine':<14}{'kernels':<9}{'workers':>8}{'reports':>9}{'wall s':>9}"
          f"{'reports/min':>13}{'s/report/worker':>17}{'vs local cold':>15}")
    for r in rows:
        print(f"{r.engine:<14}{r.kernels:<9}{r.workers:>8}{r.reports:>9}{r.seconds:>9.1f}"
              f"{r.per_minute:>13.1f}{r.per_report_per_worker:>17.2f}"
              f"{r.per_minute / base.per_minute:>14.2f}x")
    cold = {r.engine: r for r in rows if r.kernels == "cold"}
    for r in rows:
        if r.kernels == "warm":
            print(f"warm / cold on {r.engine}: {r.per_minute / cold[r.engine].per_minute:.2f}x")
    best = min((r for r in rows if r.engine == "LocalCluster"), key=lambda r: r.per_report_per_worker)
    c = best.per_report_per_worker
    print(f"\nProjected time for N reports on W workers (one thread each), from the "
          f"{best.engine} {best.kernels} run: T(N, W) ≈ N × {c:.2f} s / W")
    for n, w in ((183, 2), (2850, 2), (2850, 16), (2850, 64)):
        print(f"  N = {n:>5}, W = {w:>3}: {n * c / w / 60:8.1f} min")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="demo")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--counties", type=int, default=0)
    args = ap.parse_args()
    import os
    import platform

    print(f"host: {platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="pe-scale-") as tmp:
        root = scratch_root(args.dataset, project_root(), Path(tmp))
        codes = county_codes(load_processed(args.dataset, root=root))
        codes = codes[: args.counties] if args.counties else codes
        print(f"report throughput: {len(codes)} counties + the city summary, --jobs {args.jobs}")
        print_throughput(report_throughput(args.dataset, root, args.jobs, list(codes)))
        # build-at-scale measurements (build time and peak memory per synthetic world) go in a
        # function of their own beside report_throughput, printed after this table


if __name__ == "__main__":
    main()
