"""Scale benchmarks, measured in one run and printed side by side.

Build at scale (``--build city,sichuan,national``): for each synthetic world, in a fresh Python
process, ``synth --scale`` into a temporary folder, then the whole ``build`` (validation, panel and
every results step with the default 999 draws and permutations); printed per world: the counties,
institutions and panel rows, the seconds of generation, of validation + panel and of each results
step, the total, and the process's peak resident memory (``ru_maxrss``, one process per world).

Report throughput: the same report set (every county, the dataset's summary and, with several
prefectures, the pages of the counties' prefectures and provinces; ``force``) run four ways on
this machine: the local process pool and a two-worker ``distributed.LocalCluster`` (one thread
per worker), each with a new kernel per report (cold) and with kept kernels (warm).
Printed: wall time, reports per minute, seconds per report per worker, and each way's speed
relative to the local cold run; then the projected time for N reports on W workers,
``T(N, W) ≈ N × c / W`` with ``c`` the measured seconds per report per worker.

Usage::

    .venv/bin/python benchmarks/scale.py [--dataset demo] [--jobs 2] [--counties 0]
        [--build city,sichuan] [--no-reports]

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


# ---- build at scale --------------------------------------------------------------------------------

#: run in a fresh interpreter per world: argv = scale, folder, seed; prints one JSON line
_BUILD_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from analysis.synth.scale import write_world
from analysis.pipeline import build

scale, folder, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
raw = folder / "data" / "raw" / scale
t0 = time.perf_counter()
write_world(raw, scale=scale, seed=seed)
synth_s = time.perf_counter() - t0
steps = {}
def echo(m):
    if getattr(m, "key", "") == "build.step":
        steps[m.params["step"]] = float(m.params["seconds"])
t0 = time.perf_counter()
out = build(raw, out_root=folder / "data" / "processed", echo=echo)
total = time.perf_counter() - t0
print(json.dumps({"scale": scale, "synth_s": synth_s, "build_s": total, "steps": steps,
                  "rows": out.rows, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


@dataclass(frozen=True)
class BuildRow:
    scale: str
    synth_s: float
    build_s: float
    steps: dict
    rows: dict
    peak_mb: float


def build_at_scale(scales: list[str], seed: int = 7) -> list[BuildRow]:
    """Each world generated and built in its own process (see the module docstring)."""
    import json
    import subprocess
    import sys

    out = []
    for scale in scales:
        with tempfile.TemporaryDirectory(prefix=f"pe-build-{scale}-") as tmp:
            print(f"  building {scale} …", flush=True)
            done = subprocess.run([sys.executable, "-c", _BUILD_CHILD, scale, tmp, str(seed)],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{scale}: build failed\n{done.stderr[-3000:]}")
            r = json.loads(done.stdout.strip().splitlines()[-1])
            row = BuildRow(r["scale"], r["synth_s"], r["build_s"], r["steps"], r["rows"],
                           r["peak_mb"])
            print(f"  {scale}: {row.build_s:.0f} s, peak {row.peak_mb:.0f} MB", flush=True)
            out.append(row)
    return out


def print_builds(rows: list[BuildRow]) -> None:
    steps = [s for s in ("indicators", "reform", "effectiveness", "allocation", "describe")
             if any(s in r.steps for r in rows)]
    print("\nBuild at scale (one process per world; seconds; peak = maximum resident memory)")
    head = (f"{'world':<10}{'counties':>9}{'institutions':>13}{'panel rows':>11}{'synth':>8}"
            f"{'valid+panel':>12}" + "".join(f"{s:>14}" for s in steps)
            + f"{'build':>8}{'peak MB':>9}")
    print(head)
    for r in rows:
        panel_s = r.build_s - sum(r.steps.values())
        print(f"{r.scale:<10}{r.rows.get('counties', 0):>9,}{r.rows.get('institutions', 0):>13,}"
              f"{r.rows.get('panel', 0):>11,}{r.synth_s:>8.1f}{panel_s:>12.1f}"
              + "".join(f"{r.steps.get(s, float('nan')):>14.1f}" for s in steps)
              + f"{r.build_s:>8.0f}{r.peak_mb:>9.0f}")


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
    ap.add_argument("--build", default="",
                    help="comma-separated worlds to generate and build: city, sichuan, national")
    ap.add_argument("--no-reports", action="store_true", help="skip the report throughput")
    args = ap.parse_args()
    import os
    import platform

    print(f"host: {platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()}")
    if args.build:
        print_builds(build_at_scale([s.strip() for s in args.build.split(",") if s.strip()]))
    if args.no_reports:
        return
    with tempfile.TemporaryDirectory(prefix="pe-scale-") as tmp:
        root = scratch_root(args.dataset, project_root(), Path(tmp))
        codes = county_codes(load_processed(args.dataset, root=root))
        codes = codes[: args.counties] if args.counties else codes
        print(f"report throughput: {len(codes)} counties, the dataset's summary and (with several "
              f"prefectures) their areas' pages, --jobs {args.jobs}")
        print_throughput(report_throughput(args.dataset, root, args.jobs, list(codes)))


if __name__ == "__main__":
    main()
