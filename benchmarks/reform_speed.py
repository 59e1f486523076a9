"""Speed of the reform estimator and its few-cluster inference.

1. Randomisation inference with 999 permutations of adoption dates on the demo panel (simple and
   dynamic aggregations, p-values and test-inversion intervals), against the time of one re-fit
   of the estimator (what a re-fit-per-permutation implementation pays 999 times).
2. ATT(g,t) of ``analysis.did.att_gt`` against ``csdid`` (the Python port of R ``did``) on
   the same simulated 1M-row balanced panel, with the largest absolute difference between the
   two sets of ATT(g,t) and standard errors.

Usage (project root)::

    .venv/bin/python benchmarks/reform_speed.py            # 1M rows
    .venv/bin/python benchmarks/reform_speed.py --rows 200000
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from analysis.did import att_gt  # noqa: E402
from analysis.inference import aggregate  # noqa: E402


def demo_panel() -> pd.DataFrame:
    from analysis.data import NotBuiltError, load_processed

    try:
        return load_processed("demo").panel
    except NotBuiltError:
        from analysis.panel import derive_panel
        from analysis.synth import generate

        tables, _ = generate(20210101)
        return derive_panel(tables)


def bench_ri(n_perm: int = 999) -> None:
    from analysis import reform

    panel = demo_panel()
    t0 = time.perf_counter()
    res = reform.reform_attgt(panel, outcome="environment_score")
    fit = time.perf_counter() - t0
    res.aggregate("dynamic")
    one_refit = time.perf_counter() - t0
    for kind in ("simple", "dynamic"):
        t0 = time.perf_counter()
        agg = aggregate(res, kind, inference=("randomization",), n_perm=n_perm, seed=1)
        secs = time.perf_counter() - t0
        o = agg.overall("randomization")
        print(f"RI, {n_perm} permutations, {kind:7s} ({len(agg.tidy())} rows incl. intervals): "
              f"{secs:.3f} s   [p = {o['p_value']:.3f}]")
    print(f"one re-fit (att_gt + dynamic aggregation): {one_refit * 1000:.0f} ms "
          f"(ATT(g,t) alone {fit * 1000:.0f} ms) -> {n_perm} re-fits would take "
          f"{one_refit * n_perm:.0f} s")


def big_panel(rows: int, T: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = rows // T
    g = rng.choice([0, 2004, 2006, 2008, 2010], size=n)
    years = np.arange(2003, 2003 + T)
    unit = np.repeat(np.arange(1, n + 1), T)
    year = np.tile(years, n)
    gg = np.repeat(g, T)
    alpha = np.repeat(rng.normal(0, 1, n), T)
    y = alpha + 0.1 * (year - 2003) + np.where((gg > 0) & (year >= gg), 0.5, 0.0) \
        + rng.normal(0, 1, n * T)
    return pd.DataFrame({"id": unit, "year": year, "g": gg, "y": y})


def bench_csdid(rows: int) -> None:
    d = big_panel(rows)
    t0 = time.perf_counter()
    ours = att_gt(d, outcome="y", unit="id", time="year", group="g",
                  control_group="notyettreated").tidy()
    t_ours = time.perf_counter() - t0
    try:
        from csdid.att_gt import ATTgt
    except ImportError:
        print(f"ATT(g,t) on {len(d):,} rows: pairing-eval {t_ours:.2f} s; csdid not installed")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        m = ATTgt(yname="y", tname="year", idname="id", gname="g", data=d,
                  control_group="notyettreated").fit(est_method="dr", bstrap=False)
        t_cs = time.perf_counter() - t0
    theirs = pd.DataFrame({"group": m.results["group"], "period": m.results["year"],
                           "att_cs": m.results["att"], "se_cs": m.results["se"]})
    mm = ours.merge(theirs, on=["group", "period"], validate="1:1")
    print(f"ATT(g,t) on {len(d):,} rows ({d['id'].nunique():,} units x {d['year'].nunique()} "
          f"periods, {len(mm)} cells): pairing-eval {t_ours:.2f} s, csdid {t_cs:.2f} s "
          f"({t_cs / t_ours:.1f}x); max |ATT diff| = {np.abs(mm['att'] - mm['att_cs']).max():.1e}, "
          f"max |SE diff| = {np.abs(mm['std_error'] - mm['se_cs']).max():.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--n-perm", type=int, default=999)
    a = ap.parse_args()
    bench_ri(a.n_perm)
    bench_csdid(a.rows)


if __name__ == "__main__":
    main()
