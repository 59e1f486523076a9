"""Scale of the pairing optimiser: prints figures measured in this run.

1. Leshan size: 120 units × 104 institutions, every pair a candidate, change limit 36, an equity
   floor for the neediest 20% — solve time and HiGHS's optimality gap.
2. National size: ~10,000 units × ~40,000 institutions in ~2,000 counties, candidate pairs within
   the county, a change limit — solve time, gap, peak memory (RSS; the Python heap with
   ``--trace-memory``, which slows the run and so is not timed).

The national LP is solved by decomposition over the counties (``lp_route="auto"`` picks it);
``--compare-single`` also solves it as one LP (the previous route, interior point) for comparison.

Usage: ``python benchmarks/allocation_scale.py [--national-counties 2000] [--skip-national]
[--compare-single]``.
Instances are simulated (numpy default_rng, fixed seeds); nothing here is real data.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd

from analysis.allocation import check_assignment, optimise_pairs


def instance(n_counties: int, n_units: int, n_inst: int, seed: int) -> tuple[pd.DataFrame, ...]:
    """Units and institutions spread over counties, a feasible current pairing, need scores."""
    rng = np.random.default_rng(seed)
    uc = np.concatenate([np.arange(n_counties),
                         rng.integers(0, n_counties, n_units - n_counties)])
    ic = np.concatenate([np.arange(n_counties), rng.integers(0, n_counties, n_inst - n_counties)])
    units = pd.DataFrame({"unit_id": [f"U{i:06d}" for i in range(n_units)],
                          "county_code": uc.astype(str),
                          "rate": rng.lognormal(1.0, 0.6, n_units).round(2)})
    inst = pd.DataFrame({"institution_id": [f"I{i:06d}" for i in range(n_inst)],
                         "county_code": ic.astype(str),
                         "base": rng.lognormal(0.5, 0.8, n_inst).round(2),
                         "need": rng.uniform(size=n_inst)})
    # current pairing: round-robin within the county; capacity = current load + slack
    cur_u, cur_i = [], []
    load = np.zeros(n_units, dtype=int)
    by_c_units = pd.Series(np.arange(n_units)).groupby(uc).apply(list)
    for c, members in pd.Series(np.arange(n_inst)).groupby(ic):
        us = by_c_units[c]
        for k, i in enumerate(members.to_numpy()):
            u = us[k % len(us)]
            cur_u.append(u)
            cur_i.append(i)
            load[u] += 1
    units["capacity"] = load + rng.integers(0, 2, n_units)
    current = pd.DataFrame({"unit_id": units["unit_id"].to_numpy()[cur_u],
                            "institution_id": inst["institution_id"].to_numpy()[cur_i]})
    return units, inst, current


def leshan() -> None:
    units, inst, current = instance(11, 120, 104, seed=20240101)
    units = units.assign(capacity=np.maximum(units["capacity"], 1))
    opts = {"max_changes": 36, "equity_floor": 6.0, "neediest_share": 0.2}
    t0 = time.perf_counter()
    res = optimise_pairs(units, inst, current, marginal_values=False, compare_unconstrained=False,
                         **opts)
    wall = time.perf_counter() - t0
    chk = check_assignment(res, units, inst, current, **opts)
    print("Leshan size: 120 units x 104 institutions, all 12,480 pairs candidate, "
          "max_changes=36, equity floor 6/quarter for the neediest 20%")
    print(f"  solve {res.options['main_solve_seconds']:.3f} s (wall incl. model build "
          f"{wall:.3f} s), status {res.solver_status}, optimality gap {res.mip_gap:.2e}, "
          f"{res.options['n_sets']:,} admissible unit sets")
    print(f"  predicted gain vs status quo {res.gain_vs_status_quo:.3f}; independent check "
          f"{'passed' if chk.ok else 'FAILED: ' + '; '.join(chk.violations)}")


def national(n_counties: int, lp_route: str = "auto", trace_memory: bool = False) -> None:
    n_units, n_inst = 10_000, 40_000
    if trace_memory:
        # tracemalloc slows every Python allocation (SciPy's HiGHS wrapper converts each LP
        # solution column by column, so the block route slows ~10x): times from such a run
        # are not solve times, only its heap figure is used
        tracemalloc.start()
    t0 = time.perf_counter()
    units, inst, current = instance(n_counties, n_units, n_inst, seed=7)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = optimise_pairs(units, inst, current, same_county=True, max_changes=2000,
                         marginal_values=False, compare_unconstrained=False, time_limit=120,
                         lp_route=lp_route)
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    t0 = time.perf_counter()
    chk = check_assignment(res, units, inst, current, same_county=True, max_changes=2000)
    t_chk = time.perf_counter() - t0
    o = res.options
    print(f"National size: {n_units:,} units x {n_inst:,} institutions in {n_counties:,} counties, "
          f"{o['n_pairs']:,} candidate pairs within county, max_changes=2000, "
          f"lp_route={lp_route!r} ({o['cg_rounds']} LP round(s))")
    print(f"  {o['n_sets']:,} admissible unit sets (LP columns), {o['n_rows']:,} rows; final "
          f"MILP {o['n_cols']:,} columns (instance generated in {t_gen:.1f} s)")
    print(f"  solve {o['main_solve_seconds']:.2f} s, wall incl. model build {wall:.2f} s, "
          f"status {res.solver_status}, optimality gap {res.mip_gap:.2e}")
    heap = (f"peak Python heap (tracemalloc, times above inflated by tracing) "
            f"{peak / 2**20:.0f} MiB; " if peak is not None else "")
    print(f"  {heap}peak RSS of the process so far {rss:.0f} MiB (includes HiGHS)")
    print(f"  predicted gain vs status quo {res.gain_vs_status_quo:.2f}; pairs added "
          f"{chk.added}, ended {chk.ended}; independent check "
          f"{'passed' if chk.ok else 'FAILED: ' + '; '.join(chk.violations)} ({t_chk:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--national-counties", type=int, default=2000)
    ap.add_argument("--skip-national", action="store_true")
    ap.add_argument("--trace-memory", action="store_true",
                    help="measure the peak Python heap with tracemalloc (inflates the times)")
    ap.add_argument("--compare-single", action="store_true",
                    help="also solve the national LP as one LP (the previous route)")
    args = ap.parse_args(argv)
    leshan()
    if not args.skip_national:
        national(args.national_counties, trace_memory=args.trace_memory)
        if args.compare_single:
            national(args.national_counties, lp_route="single", trace_memory=args.trace_memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
