"""Which few-cluster inference holds its size when counties differ? The Monte Carlo behind the
defaults of :mod:`analysis.inference` (the wild bootstrap's restricted model, studentisation and
weight level; the randomisation statistic; the analytic critical values).

Null worlds (no effect anywhere) shaped like the demo: 11 counties — one adopting in 2020Q3, two
each in 2021Q1, 2021Q3, 2022Q1 and 2022Q3, two never — 24 quarters, institution effects, a
common trend, county × quarter AR(1) shocks, idiosyncratic noise and 4% missing assessments.
Scenarios where counties differ:

* ``unequal`` — the nine adopting counties have 2 to 14 institutions (a fixed list, shuffled in
  every world), the never-treated counties 5 and 6;
* ``small_never`` — as ``unequal``, with never-treated counties of 2 institutions each;
* ``large_never`` — as ``unequal``, with never-treated counties of 20 institutions each (the
  demo's urban districts);
* ``noisy_never`` — as ``unequal``, with the never-treated counties' shocks twice as variable.

And one world with effects (``--effects``): ``unequal`` counties with effects that differ by
cohort and grow with event time (``min(e + 1, 3)`` times 0.5, 1, 1.5, 2 or 2.5 by cohort), where the
restricted model matters for power: there every method's p-value is taken at the true aggregate
(rejection = 1 − coverage) and at zero (power).

Every method sees the same worlds and, where it draws, the same seed (common random numbers), so
differences between methods are not Monte Carlo noise of different worlds. Reported: the rejection
rate of the true null at 5% and its Monte Carlo standard error ``sqrt(p(1 − p)/R)``, for the
simple aggregate, the headline balanced dynamic summary (cohorts observed for 7 quarters, event
times 0–7) and the full dynamic overall (event times 0–17; CV3 does not exist there, an event time
resting on one county).

Usage (from the project root)::

    .venv/bin/python validation/wild_choice.py --reps 300 --jobs 2 --out validation/wild_choice_results.md
    .venv/bin/python validation/wild_choice.py --reps 10 --jobs 1     # smoke run
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import worlds  # noqa: E402

from analysis.did import att_gt  # noqa: E402
from analysis.inference.multiplier import WildOptions, bootstrap_keys  # noqa: E402
from analysis.inference.randomization import _Curve, _curves, permutations  # noqa: E402

SCENARIOS = ("unequal", "small_never", "large_never", "noisy_never")
WILD = {
    "wcb twfe cv1": WildOptions("twfe", "cv1", "cluster"),
    "wcb cohort_period cv1": WildOptions("cohort_period", "cv1", "cluster"),
    "wcb cohort_period cv3": WildOptions("cohort_period", "cv3", "cluster"),
    "wcb cohort_period cv1 subcluster": WildOptions("cohort_period", "cv1", "subcluster"),
    "wcb twfe cv3": WildOptions("twfe", "cv3", "cluster"),
}
AGGREGATES = {"simple": ("simple", {}),
              "dynamic_balanced": ("dynamic", {"balance_e": 7, "min_e": 0, "max_e": 7}),
              "dynamic": ("dynamic", {"min_e": 0})}


def world(rng: np.random.Generator, scenario: str, effects: bool = False) -> pd.DataFrame:
    """One world of ``scenario`` (null unless ``effects``: then the ``heterogeneous`` design)."""
    return worlds.world(rng, worlds.SCENARIOS["heterogeneous" if effects else scenario])


def one(rep: int, seed: int, scenario: str, n_boot: int, n_perm: int) -> list[dict]:
    """Every method's p-value of the true null for the overall of each aggregate, one world."""
    rng = np.random.default_rng([seed, SCENARIOS.index(scenario), rep])
    d = world(rng, scenario)
    return _pvalues(d, rep, n_boot, n_perm, scenario, {agg: 0.0 for agg in AGGREGATES})


def one_with_effects(rep: int, seed: int, n_boot: int, n_perm: int) -> list[dict]:
    """The world with effects: every method's p-value at the true aggregate and at zero."""
    rng = np.random.default_rng([seed, 99, rep])
    d = world(rng, "unequal", effects=True)
    res = att_gt(d, outcome="y", unit="institution_id", time="t", group="adoption_t",
                 cluster="county_code")
    cells = worlds.heterogeneous_effect(res.cells.g, res.cells.t)[None]
    truth = {agg: float(res.point(res.spec(kind, **kw), cells)[1][0])
             for agg, (kind, kw) in AGGREGATES.items()}
    out = _pvalues(d, rep, n_boot, n_perm, "effects (at the truth)", truth)
    out += _pvalues(d, rep, n_boot, n_perm, "effects (at zero)", {a: 0.0 for a in AGGREGATES})
    return out


def _pvalues(d: pd.DataFrame, rep: int, n_boot: int, n_perm: int, scenario: str,
             null: dict[str, float]) -> list[dict]:
    """p-values of ``θ = null[aggregate]`` by every method, for the overall of each aggregate."""
    out = []
    for crit in ("t", "normal"):
        res = att_gt(d, outcome="y", unit="institution_id", time="t", group="adoption_t",
                     cluster="county_code", critical=crit)
        for agg, (kind, kw) in AGGREGATES.items():
            r = res.aggregate(kind, **kw).overall()
            t = (r["att"] - null[agg]) / r["std_error"]
            p = 2 * (stats.t.sf(abs(t), res.n_clusters - 1) if crit == "t" else stats.norm.sf(abs(t)))
            out.append({"method": f"analytic {crit}", "aggregate": agg, "p": p})
    for agg, (kind, kw) in AGGREGATES.items():
        spec = res.spec(kind, **kw)
        pe, A, _ = permutations(res, n_perm, rep)
        for stat in ("studentized", "unstudentized"):
            SY, SD, PY, PD = _curves(pe, A, spec, stat)
            c = _Curve(SY[:, -1], SD[:, -1], None if PY is None else PY[:, :, -1],
                       None if PD is None else PD[:, :, -1], pe.n, pe.se_factor, stat)
            out.append({"method": f"ri {stat}", "aggregate": agg,
                        "p": float(c.pvalue(np.array([null[agg]]))[0])})
        for name, opt in WILD.items():
            bt = bootstrap_keys(res, spec, n_boot=n_boot, seed=rep, options=opt)[-1]
            p = np.nan if bt is None else float(bt.pvalue(np.array([null[agg]]))[0])
            out.append({"method": name, "aggregate": agg, "p": p})
    for o in out:
        o.update(rep=rep, scenario=scenario)
    return out


def table(df: pd.DataFrame) -> str:
    """Rejection at 5% (MC standard error) by method × scenario, one block per aggregate."""
    lines = []
    scenarios = list(dict.fromkeys(df["scenario"]))
    for agg in AGGREGATES:
        sub = df[df["aggregate"] == agg]
        lines += [f"**{agg}** — rejection at 5% (Monte Carlo s.e.)", "",
                  "| method | " + " | ".join(scenarios) + " |",
                  "|---|" + "---|" * len(scenarios)]
        for m in dict.fromkeys(sub["method"]):
            cells = []
            for s in scenarios:
                p = sub[(sub["method"] == m) & (sub["scenario"] == s)]["p"]
                ok = p.notna()
                if not ok.any():
                    cells.append("—")
                    continue
                r = float((p[ok] <= 0.05).mean())
                se = np.sqrt(r * (1 - r) / ok.sum())
                miss = f"; {int((~ok).sum())} n/a" if (~ok).any() else ""
                cells.append(f"{100 * r:.1f} ({100 * se:.1f}{miss})")
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20251129)
    ap.add_argument("--n-boot", type=int, default=399)
    ap.add_argument("--n-perm", type=int, default=399)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help="comma-separated null scenarios (empty: none)")
    ap.add_argument("--effects", action="store_true", help="also the world with effects")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows: list[dict] = []
    scen = [s for s in a.scenarios.split(",") if s]
    with ProcessPoolExecutor(max_workers=a.jobs) as ex:
        futs = [ex.submit(one, r, a.seed, s, a.n_boot, a.n_perm) for s in scen
                for r in range(a.reps)]
        if a.effects:
            futs += [ex.submit(one_with_effects, r, a.seed, a.n_boot, a.n_perm)
                     for r in range(a.reps)]
        for f in futs:
            rows += f.result()
    df = pd.DataFrame(rows)
    secs = time.perf_counter() - t0
    head = (f"{a.reps} worlds per scenario, {a.n_boot} Webb draws, {a.n_perm} permutations, "
            f"seed {a.seed}; {secs:.0f} s with {a.jobs} processes.")
    text = head + "\n\n" + table(df)
    print(text)
    if a.out:
        a.out.write_text(text + "\n", encoding="utf-8")
        df.to_csv(a.out.with_suffix(".csv"), index=False)


if __name__ == "__main__":
    main()
