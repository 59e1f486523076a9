"""Peak memory of ``pairing-eval validate`` on large CSV ledgers.

For each size (default 30, 100 and 300 MB) a raw folder is written: the demo's tables, with
``activities.csv`` replaced by the demo's activities repeated with fresh ids (``A00001-0007`` …:
every row stays valid, so the whole contract runs, keys and cross-table rules included) until the
file reaches the size. ``pairing-eval validate`` then runs on it in a child process, and the
child's own peak resident set size is read from ``os.wait4`` (the same figure as
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` or ``/usr/bin/time -v``, but per child).

Printed side by side: file size, peak RSS, peak / file, wall-clock seconds, CPU seconds (user +
system: what the run costs on a busy machine) and the exit code (0 = valid).
Target (issue 10): a 300 MB CSV validated in under 1.5 GB peak. Measured on a shared 2-core
machine (seconds depend on its load; CPU seconds less so)::

     file MB  peak RSS MB  peak/file  seconds    CPU s  exit
          30          320      10.55     34.4     10.5     0
         101          593       5.90     55.5     34.5     0
         300         1236       4.11    197.0    114.3     0

The reader before streaming (the whole file decoded, every cell a Python string, one parse cache
per column for the whole table) took 711 MB for the 30 MB file and 2001 MB for the 101 MB one.

Usage (project root)::

    .venv/bin/python benchmarks/reader_memory.py                   # 30, 100, 300 MB
    .venv/bin/python benchmarks/reader_memory.py --sizes 30 100
    .venv/bin/python benchmarks/reader_memory.py --src OTHER/src   # another version's sources

``--src`` runs the CLI on another copy of the package's sources (e.g. an earlier commit unpacked
with ``git archive``) to compare versions on the same files. The folders are written to a
temporary directory (``--workdir`` to choose it, ``--keep`` to keep them).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "raw" / "demo"
MB = 1_000_000


def write_folder(folder: Path, size_mb: float) -> int:
    """A raw folder whose ``activities.csv`` is about ``size_mb`` MB; returns its size in bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    for p in DEMO.glob("*.csv"):
        if p.name != "activities.csv":
            shutil.copyfile(p, folder / p.name)
    with (DEMO / "activities.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    target = int(size_mb * MB)
    out = folder / "activities.csv"
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        k = 0
        while f.tell() < target:
            w.writerows([f"{r[0]}-{k:04d}", *r[1:]] for r in body)
            k += 1
    return out.stat().st_size


def cli_command(src: Path | None) -> tuple[list[str], dict[str, str]]:
    """The command that runs ``pairing-eval`` (of ``src`` when given) and its environment."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src.resolve())
        return [sys.executable, "-c", "from analysis.cli import app; app()"], env
    exe = Path(sys.executable).parent / "pairing-eval"
    if exe.exists():
        return [str(exe)], env
    return [sys.executable, "-c", "from analysis.cli import app; app()"], env


def measure(folder: Path, src: Path | None) -> tuple[float, float, float, int, str]:
    """Peak RSS (MB), seconds, CPU seconds, exit code and the last line of output of one
    ``validate`` run."""
    cmd, env = cli_command(src)
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([*cmd, "validate", str(folder)], stdout=out, stderr=subprocess.STDOUT,
                                env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        secs = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        lines = out.read().decode("utf-8", "replace").strip().splitlines()
    peak_mb = usage.ru_maxrss * 1024 / MB  # kilobytes on Linux
    cpu = usage.ru_utime + usage.ru_stime
    return peak_mb, secs, cpu, proc.returncode, (lines[-1] if lines else "")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[30, 100, 300], help="file sizes in MB")
    ap.add_argument("--src", type=Path, default=None, help="run the CLI of another source tree")
    ap.add_argument("--workdir", type=Path, default=None, help="where to write the folders")
    ap.add_argument("--keep", action="store_true", help="keep the generated folders")
    args = ap.parse_args(argv)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="reader-memory-"))
    print(f"{'file MB':>8} {'peak RSS MB':>12} {'peak/file':>10} {'seconds':>8} {'CPU s':>8} "
          f"{'exit':>5}")
    try:
        for size in args.sizes:
            folder = work / f"csv{size:g}mb"
            n = write_folder(folder, size)
            peak, secs, cpu, code, last = measure(folder, args.src)
            print(f"{n / MB:8.0f} {peak:12.0f} {peak / (n / MB):10.2f} {secs:8.1f} {cpu:8.1f} "
                  f"{code:5d}", flush=True)
            if code != 0:
                print(f"         {last}")
            if not args.keep:
                shutil.rmtree(folder)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
