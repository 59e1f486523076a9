"""Power of the pre-trend tests against a linear violation of parallel trends of a stated size.

Demo-like worlds (11 counties: one adopting in 2020Q3, two each in 2021Q1, 2021Q3, 2022Q1,
2022Q3, two never; 5–6 eligible institutions per county; 24 quarters; institution effects, a
common trend, county × quarter AR(1) shocks, idiosyncratic noise, 4% missing assessments; no
effect of the reform) in which counties that adopt earlier were already improving faster: each
county's untreated outcome has its own linear trend, ``κ (g_last − g) / 4`` points per quarter for
a county adopting in ``g`` (never-treated counties as a cohort one year after the last). With
not-yet-treated comparisons this is what a violation of parallel trends has to look like — a
trend common to every adopting county would cancel against the not-yet-treated ones. The stated
size ``slope`` is the slope per quarter of the leads of the universal-base event study that the
violation produces without noise (the pre-trend the tests face; ``κ`` is set from it), and the
violation continues after adoption (the post-period estimates are biased by the same trend).
``slope = 0`` is the null (size). The county-quarter shock has standard deviation 1.1 and the
institution noise 2.5: a slope of 0.25 per quarter is a drift of 2 points over the two years
before adoption.

Tests, each at 5%:

* ``slope`` — the least-squares slope of the last eight leads on a universal base (one degree of
  freedom; ``analysis.did.pretrend.lead_slope_spec``), by the analytic row (t critical value),
  the wild cluster bootstrap and randomisation inference (``analysis.inference.aggregate_spec``);
* ``last_four`` — the last four leads jointly (``analysis.inference.pretrend_test`` with
  ``min_e = −5`` on the universal base): the analytic Wald test, ``sum_t2`` by the wild bootstrap,
  the randomisation statistic;
* ``all_leads`` — the joint test of every lead on the varying base (the build's ``pretrend``
  diagnostic), for comparison.

Usage (from the project root)::

    .venv/bin/python validation/pretrend_power.py --reps 200 --jobs 2 --out validation/pretrend_power.md

Prints a markdown table (rejection rate and its Monte Carlo standard error per slope, test and
method). Seeds are ``[seed, rep, slope index]``; every test of one world uses the same world
(common random numbers across tests and methods).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from worlds import DEMO_COHORTS as COHORTS  # noqa: E402
from worlds import N_T, SCENARIOS, T0  # noqa: E402
from worlds import world as _world  # noqa: E402

from analysis.did import att_gt  # noqa: E402
from analysis.did.pretrend import last_leads_min_e, lead_slope_spec  # noqa: E402
from analysis.inference import aggregate_spec, pretrend_test  # noqa: E402

SLOPES = (0.0, 0.1, 0.25, 0.5)
METHODS = ("analytic", "wild_bootstrap", "randomization")


def _county_trend(g: float) -> float:
    """Trend per quarter of a county adopting in ``g`` at ``κ = 1``: years until the last cohort
    (never-treated counties: one year after the last)."""
    last = max(x for x in COHORTS if np.isfinite(x))
    return ((last - g) if np.isfinite(g) else -4.0) / 4


def lead_slope_per_kappa() -> float:
    """The leads' slope (last eight, universal base) the violation produces at ``κ = 1`` without
    noise: the estimator is linear, so ``κ = slope / lead_slope_per_kappa()``."""
    ts = T0 + np.arange(N_T)
    rows = [pd.DataFrame({"institution_id": f"c{c}", "county_code": f"C{c:02d}", "t": ts,
                          "y": _county_trend(g) * (ts - T0), "adoption_t": g})
            for c, g in enumerate(COHORTS)]
    res = att_gt(pd.concat(rows), outcome="y", unit="institution_id", time="t",
                 group="adoption_t", cluster="county_code", base_period="universal")
    spec = lead_slope_spec(res, min_e=last_leads_min_e(res, 8))
    est, _ = res.estimates(spec)
    return float(est[-1])


_PER_KAPPA: list[float] = []


def world(rng: np.random.Generator, slope: float) -> pd.DataFrame:
    """One null world of equal-sized counties (the ``equal`` design of ``worlds``) whose
    untreated trends differ so that the leads of the event study have slope ``slope`` per quarter
    (see the module docstring)."""
    if not _PER_KAPPA:
        _PER_KAPPA.append(lead_slope_per_kappa())
    kappa = slope / _PER_KAPPA[0]
    return _world(rng, SCENARIOS["equal"], drift=lambda g: kappa * _county_trend(g))


def tests(d: pd.DataFrame, *, n_boot: int, n_perm: int, seed: int,
          which: tuple[str, ...] = ("slope", "last_four", "all_leads"),
          inference: tuple[str, ...] = METHODS) -> list[dict]:
    """p-values of the pre-trend tests on one world: rows ``test``, ``inference``, ``p_value``
    (``inference``: which methods to run)."""
    kw = {"outcome": "y", "unit": "institution_id", "time": "t", "group": "adoption_t",
          "cluster": "county_code"}
    out = []
    uni = att_gt(d, **kw, base_period="universal")
    if "slope" in which:
        spec = lead_slope_spec(uni, min_e=last_leads_min_e(uni, 8))
        a = aggregate_spec(uni, spec, inference=inference, n_boot=n_boot, n_perm=n_perm,
                           seed=seed).tidy()
        for _, r in a[a["is_overall"]].iterrows():
            out.append({"test": "slope", "inference": r["inference"], "p_value": r["p_value"]})
    if "last_four" in which:
        pt = pretrend_test(uni, min_e=last_leads_min_e(uni, 4), inference=inference,
                           n_boot=n_boot, n_perm=n_perm, seed=seed).tidy()
        for _, r in pt.iterrows():
            out.append({"test": "last_four", "inference": r["inference"], "p_value": r["p_value"]})
    if "all_leads" in which:
        var = att_gt(d, **kw)
        pt = pretrend_test(var, inference=inference, n_boot=n_boot, n_perm=n_perm,
                           seed=seed).tidy()
        for _, r in pt.iterrows():
            out.append({"test": "all_leads", "inference": r["inference"], "p_value": r["p_value"]})
    return out


def one(rep: int, seed: int, n_boot: int, n_perm: int, slopes: tuple[float, ...] = SLOPES,
        which: tuple[str, ...] = ("slope", "last_four", "all_leads")) -> list[dict]:
    rows = []
    for k, slope in enumerate(slopes):
        rng = np.random.default_rng([seed, rep, k])
        d = world(rng, slope)
        for r in tests(d, n_boot=n_boot, n_perm=n_perm, seed=seed + rep, which=which):
            rows.append({"rep": rep, "slope": slope, **r})
    return rows


def table(df: pd.DataFrame, alpha: float = 0.05) -> str:
    """Rejection rate (Monte Carlo s.e.) per slope, test and method."""
    df = df.dropna(subset=["p_value"]).assign(reject=lambda x: x["p_value"] <= alpha)
    g = df.groupby(["test", "inference", "slope"])["reject"].agg(["mean", "count"]).reset_index()
    g["cell"] = [f"{m:.3f} ({np.sqrt(m * (1 - m) / n):.3f})" for m, n in zip(g["mean"],
                                                                          g["count"], strict=True)]
    wide = g.pivot(index=["test", "inference"], columns="slope", values="cell")
    wide.columns = [f"slope {c:g}" for c in wide.columns]
    head = "| test | inference | " + " | ".join(wide.columns) + " |"
    sep = "|" + "---|" * (len(wide.columns) + 2)
    lines = [head, sep]
    for (test, inf), r in wide.iterrows():
        lines.append(f"| {test} | {inf} | " + " | ".join(str(v) for v in r.to_numpy()) + " |")
    n = int(df.groupby(["slope"])["rep"].nunique().min())
    return "\n".join(lines) + f"\n\nRejection rate at {alpha:.0%} (Monte Carlo standard error), " \
        f"{n} worlds per slope.\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20240101)
    ap.add_argument("--n-boot", type=int, default=399)
    ap.add_argument("--n-perm", type=int, default=399)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    t0 = time.time()
    # fresh worker processes for every block of replications: the resampling methods keep per-fit
    # caches whose memory a long loop of fits would otherwise accumulate
    rows = []
    block = 20 * a.jobs
    for start in range(0, a.reps, block):
        with ProcessPoolExecutor(a.jobs) as ex:
            futs = [ex.submit(one, r, a.seed, a.n_boot, a.n_perm)
                    for r in range(start, min(start + block, a.reps))]
            rows += [x for f in futs for x in f.result()]
    md = table(pd.DataFrame(rows))
    md += f"\n{a.reps} replications, {a.n_boot} bootstrap draws, {a.n_perm} permutations, " \
          f"{time.time() - t0:.0f} s on {a.jobs} processes.\n"
    print(md)
    if a.out:
        a.out.write_text(md, encoding="utf-8")


if __name__ == "__main__":
    main()
