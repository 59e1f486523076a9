"""Monte Carlo v2: does the reform's few-cluster inference hold when counties differ?

Every inference the build reports for the Callaway–Sant'Anna reform estimate (R ``did``'s
estimator with not-yet-treated comparisons, clustered by county) is run, with the package's
defaults, on simulated worlds shaped like the demo's 11 counties in which counties differ
(``validation/worlds.py`` holds the worlds and their designs):

* ``equal`` — 5–6 institutions in every county (the easy worlds of the first Monte Carlo);
* ``unequal`` — adopting counties of 2 to 14 institutions, never-treated counties of 5 and 6;
* ``small_never`` / ``large_never`` — never-treated counties of 2 / of 20 institutions each;
* ``noisy_never`` — never-treated counties' shocks twice as variable;
* ``one_county_cohorts`` — nine cohorts of one county each, a quarter apart;
* ``heterogeneous`` — effects that differ by cohort and grow with event time.

Methods (the rows of ``reform_aggregate.parquet``): ``analytic`` (clustered influence-function
standard error, t(G − 1) critical values), ``wild_bootstrap`` (restricted wild cluster bootstrap,
TWFE restricted model, CV3 studentisation, Webb weights), ``randomization`` (permutation of
adoption dates across counties, studentised statistic), and for reference ``analytic normal``
(the same standard error with normal critical values, as R ``did`` reports). Aggregates: the
``simple`` ATT, the headline balanced dynamic summary ``dynamic_balanced`` (event times 0–E on
the cohorts observed for E quarters, E chosen per world so that every event time has at least
three comparison counties, as the build does) and the full ``dynamic`` overall (event times ≥ 0).
And the two few-cluster pre-trend tests (the slope of the last eight leads and the last four
leads jointly, universal base), whose size is checked here and whose power is in
``validation/pretrend_power.md``.

Per world and aggregate: every method's estimate, standard error, 95% interval, p-value of zero
and the true aggregate (the planted cell effects aggregated with the world's own weights; zero in
null worlds). Reported per scenario, method and aggregate: the rejection rate of the true null at
5% (in null worlds the p-value of zero; in the world with effects, the truth outside the
interval), the coverage of the 95% interval, its mean length, and in the world with effects the
power (rejection of zero) — each with its Monte Carlo standard error (``sqrt(p(1 − p)/R)`` for a
rate, ``sd/sqrt(R)`` for a mean).

Common random numbers: within a world every method sees the same data, and the bootstrap and the
permutations share the seed ``rep``; the world of replication ``rep`` is drawn from the stream
``[seed, rep]`` in every scenario, so scenarios share their first draws (the common trend, the
shuffle of sizes) as far as their structures allow.

Usage (from the project root; raw rows are appended to ``--raw`` block by block, so a stopped run
resumes where it stopped)::

    .venv/bin/python validation/monte_carlo.py --reps 1000 --jobs 2 \\
        --raw validation/monte_carlo_raw.csv.gz --out validation/monte_carlo_results.md
    .venv/bin/python validation/monte_carlo.py --reps 10 --jobs 1      # smoke run
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pretrend_power  # noqa: E402
import worlds  # noqa: E402

from analysis.did import att_gt  # noqa: E402
from analysis.inference import aggregate  # noqa: E402

METHODS = ("analytic", "wild_bootstrap", "randomization")
TARGET = (0.035, 0.065)
COVERAGE_TARGET = (0.93, 0.97)
ALPHA = 0.05


def _aggregates(res) -> dict[str, tuple[str, dict]]:
    """The three aggregates the build reports, with the headline window of this world's fit."""
    window = res.headline_window()
    out = {"simple": ("simple", {})}
    if window is not None:
        out["dynamic_balanced"] = ("dynamic", {"balance_e": window, "min_e": 0, "max_e": window})
    out["dynamic"] = ("dynamic", {"min_e": 0})
    return out


def one(rep: int, seed: int, scenario: str, n_boot: int, n_perm: int,
        pretrend: bool = True) -> list[dict]:
    """Every method's estimate, interval and p-value for each aggregate, one world."""
    design = worlds.SCENARIOS[scenario]
    d = worlds.world(np.random.default_rng([seed, rep]), design)
    res = att_gt(d, outcome="y", unit="institution_id", time="t", group="adoption_t",
                 cluster="county_code")
    cells = np.zeros(len(res.cells.g)) if design.effect is None \
        else design.effect(res.cells.g, res.cells.t)
    t_crit = stats.t.ppf(1 - ALPHA / 2, res.n_clusters - 1)
    out = []
    for name, (kind, kw) in _aggregates(res).items():
        spec = res.spec(kind, **kw)
        truth = float(res.point(spec, cells[None])[1][0])
        tab = aggregate(res, kind, n_boot=n_boot, n_perm=n_perm, seed=rep, **kw).tidy()
        tab = tab[tab["is_overall"]].set_index("inference")
        for m in METHODS:
            r = tab.loc[m]
            out.append({"method": m, "aggregate": name, "att": r["att"], "se": r["std_error"],
                        "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p0": r["p_value"],
                        "truth": truth, "window": kw.get("max_e", np.nan)})
        r = tab.loc["analytic"]
        z = stats.norm.ppf(1 - ALPHA / 2)
        out.append({"method": "analytic normal", "aggregate": name, "att": r["att"],
                    "se": r["std_error"], "ci_low": r["att"] - z * r["std_error"],
                    "ci_high": r["att"] + z * r["std_error"],
                    "p0": 2 * stats.norm.sf(abs(r["att"] / r["std_error"])), "truth": truth,
                    "window": kw.get("max_e", np.nan)})
        # the analytic interval must be the t interval (a check of the build, not of the world)
        assert abs(r["ci_high"] - r["att"] - t_crit * r["std_error"]) < 1e-8 * (1 + abs(r["att"]))
    if pretrend:
        for r in pretrend_power.tests(d, n_boot=n_boot, n_perm=n_perm, seed=rep,
                                      which=("slope", "last_four")):
            out.append({"method": r["inference"], "aggregate": f"pretrend {r['test']}",
                        "p0": r["p_value"], "truth": 0.0})
    for o in out:
        o.update(rep=rep, scenario=scenario)
    del res
    gc.collect()
    return out


def analytic_pretrend(rep: int, seed: int, scenario: str) -> list[dict]:
    """The analytic rows of the pre-trend tests alone (no resampling), for one world: used by
    ``--redo-analytic-pretrend`` to recompute those rows of a raw file after the analytic
    reference changes, without re-running the resampling methods."""
    d = worlds.world(np.random.default_rng([seed, rep]), worlds.SCENARIOS[scenario])
    out = []
    for r in pretrend_power.tests(d, n_boot=1, n_perm=1, seed=rep, which=("slope", "last_four"),
                                  inference=("analytic",)):
        out.append({"method": r["inference"], "aggregate": f"pretrend {r['test']}",
                    "p0": r["p_value"], "truth": 0.0, "rep": rep, "scenario": scenario})
    return out


def _rate(x: pd.Series) -> tuple[float, float, int]:
    x = x.dropna().astype(float)
    n = len(x)
    if not n:
        return np.nan, np.nan, 0
    p = float(x.mean())
    return p, float(np.sqrt(p * (1 - p) / n)), n


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario × aggregate × method: rejection of the true null, coverage, length,
    power, with Monte Carlo standard errors."""
    df = df.copy()
    est = df["ci_low"].notna()
    df["cover"] = np.where(est, (df["ci_low"] <= df["truth"]) & (df["truth"] <= df["ci_high"]),
                           np.nan)
    df["length"] = df["ci_high"] - df["ci_low"]
    null = df["truth"].abs() < 1e-12
    # the true null's rejection: the p-value of zero where zero is the truth, else the interval
    df["reject_true"] = np.where(null, df["p0"] <= ALPHA, 1 - df["cover"])
    df.loc[df["p0"].isna() & null, "reject_true"] = np.nan
    df["reject_zero"] = np.where(df["p0"].notna(), df["p0"] <= ALPHA, np.nan)
    rows = []
    for (s, a, m), g in df.groupby(["scenario", "aggregate", "method"], sort=False):
        rej, rej_se, n = _rate(g["reject_true"])
        cov, cov_se, _ = _rate(g["cover"])
        length = g["length"].dropna()
        pw, pw_se, _ = _rate(g["reject_zero"]) if not null[g.index].all() else (np.nan,) * 3
        rows.append({"scenario": s, "aggregate": a, "method": m, "worlds": n,
                     "reject": rej, "reject_se": rej_se, "coverage": cov, "coverage_se": cov_se,
                     "length": length.mean() if len(length) else np.nan,
                     "length_se": length.std(ddof=1) / np.sqrt(len(length))
                     if len(length) > 1 else np.nan,
                     "power": pw, "power_se": pw_se,
                     "window": g["window"].median() if "window" in g else np.nan})
    return pd.DataFrame(rows)


def _pct(p: float, se: float, target: tuple[float, float] | None = None) -> str:
    if not np.isfinite(p):
        return "—"
    flag = ""
    if target is not None and not target[0] <= p <= target[1]:
        flag = " ✗"
    return f"{100 * p:.1f} ({100 * se:.1f}){flag}"


def table(summary: pd.DataFrame) -> str:
    """Markdown: per aggregate, rejection (MC s.e.) by method × scenario, coverage and length;
    then the pre-trend tests' size and the power in the world with effects."""
    scen = list(dict.fromkeys(summary["scenario"]))
    lines: list[str] = []
    head = "| method | " + " | ".join(scen) + " |"
    sep = "|---|" + "---|" * len(scen)

    def block(title: str, agg: str, cell) -> None:
        sub = summary[summary["aggregate"] == agg]
        if sub.empty:
            return
        lines.extend([title, "", head, sep])
        for m in dict.fromkeys(sub["method"]):
            cells = []
            for s in scen:
                r = sub[(sub["method"] == m) & (sub["scenario"] == s)]
                cells.append(cell(r.iloc[0]) if len(r) else "—")
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")

    for agg in ("simple", "dynamic_balanced", "dynamic"):
        block(f"**{agg}** — rejection of the true null at 5%, % (Monte Carlo s.e.; ✗ outside "
              f"{100 * TARGET[0]:.1f}–{100 * TARGET[1]:.1f})", agg,
              lambda r: _pct(r["reject"], r["reject_se"], TARGET))
        block(f"**{agg}** — coverage of the 95% interval, % (Monte Carlo s.e.; ✗ outside "
              f"{100 * COVERAGE_TARGET[0]:.0f}–{100 * COVERAGE_TARGET[1]:.0f})", agg,
              lambda r: _pct(r["coverage"], r["coverage_se"], COVERAGE_TARGET))
        block(f"**{agg}** — mean length of the 95% interval (Monte Carlo s.e.)", agg,
              lambda r: f"{r['length']:.2f} ({r['length_se']:.2f})"
              if np.isfinite(r["length"]) else "—")
    for test in ("slope", "last_four"):
        sub = summary[summary["aggregate"] == f"pretrend {test}"]
        n = f"{int(sub['worlds'].min())}–{int(sub['worlds'].max())} worlds per scenario; " \
            if len(sub) else ""
        block(f"**pre-trend test: {test}** — rejection of parallel trends (true) at 5%, % "
              f"({n}Monte Carlo s.e.)", f"pretrend {test}",
              lambda r: _pct(r["reject"], r["reject_se"], TARGET))
    eff = summary[(summary["scenario"] == "heterogeneous") & summary["power"].notna()
                  & ~summary["aggregate"].str.startswith("pretrend")]
    if len(eff):
        lines += ["**heterogeneous** — power: rejection of zero at 5%, % (Monte Carlo s.e.)", "",
                  "| method | " + " | ".join(dict.fromkeys(eff["aggregate"])) + " |",
                  "|---|" + "---|" * eff["aggregate"].nunique()]
        for m in dict.fromkeys(eff["method"]):
            r = eff[eff["method"] == m].set_index("aggregate")
            lines.append(f"| {m} | " + " | ".join(_pct(r.loc[a, "power"], r.loc[a, "power_se"])
                                                  for a in dict.fromkeys(eff["aggregate"])) + " |")
        lines.append("")
    return "\n".join(lines)


def _done(raw: Path | None) -> pd.DataFrame:
    if raw is None or not raw.exists():
        return pd.DataFrame()
    return pd.read_csv(raw)


def _redo_analytic_pretrend(a: argparse.Namespace) -> None:
    """Replace the analytic pre-trend rows of the raw file by a fresh computation."""
    raw = _done(a.raw)
    keys = sorted(set(zip(raw["scenario"], raw["rep"], strict=True)))
    with ProcessPoolExecutor(max_workers=a.jobs) as ex:
        futs = [ex.submit(analytic_pretrend, r, a.seed, s) for s, r in keys]
        new = pd.DataFrame([x for f in futs for x in f.result()])
    old = (raw["method"] == "analytic") & raw["aggregate"].astype(str).str.startswith("pretrend")
    out = pd.concat([raw[~old], new], ignore_index=True)
    tmp = a.raw.with_suffix(".tmp")
    out.to_csv(tmp, index=False)
    tmp.replace(a.raw)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--n-boot", type=int, default=399)
    ap.add_argument("--n-perm", type=int, default=399)
    ap.add_argument("--scenarios", default=",".join(worlds.SCENARIOS))
    ap.add_argument("--no-pretrend", action="store_true")
    ap.add_argument("--raw", type=Path, default=None,
                    help="CSV (optionally .gz) the raw rows are appended to, block by block")
    ap.add_argument("--out", type=Path, default=None, help="markdown file for the tables")
    ap.add_argument("--redo-analytic-pretrend", action="store_true",
                    help="recompute the analytic pre-trend rows of --raw (same worlds), then report")
    a = ap.parse_args(argv)
    if a.redo_analytic_pretrend:
        _redo_analytic_pretrend(a)
    scen = [s for s in a.scenarios.split(",") if s]
    done = _done(a.raw)
    have = set(zip(done.get("scenario", []), done.get("rep", []), strict=True))
    todo = [(s, r) for r in range(a.reps) for s in scen if (s, r) not in have]
    t0 = time.perf_counter()
    rows: list[dict] = []
    block = 25 * a.jobs
    for start in range(0, len(todo), block):
        # a fresh pool per block: the resampling methods' per-fit caches are freed with the process
        with ProcessPoolExecutor(max_workers=a.jobs) as ex:
            futs = [ex.submit(one, r, a.seed, s, a.n_boot, a.n_perm, not a.no_pretrend)
                    for s, r in todo[start:start + block]]
            new = [x for f in futs for x in f.result()]
        rows += new
        if a.raw is not None:
            pd.DataFrame(new).to_csv(a.raw, mode="a", header=not a.raw.exists(), index=False)
        print(f"{min(start + block, len(todo))}/{len(todo)} worlds, "
              f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    df = pd.concat([done, pd.DataFrame(rows)], ignore_index=True)
    df = df[df["scenario"].isin(scen) & (df["rep"] < a.reps)]
    summary = summarise(df)
    n = int(df.groupby("scenario")["rep"].nunique().min())
    head = (f"{n} worlds per scenario (replications 0–{a.reps - 1}), {a.n_boot} Webb draws, "
            f"{a.n_perm} permutations, seed {a.seed}; this run: {len(todo)} worlds in "
            f"{time.perf_counter() - t0:.0f} s with {a.jobs} processes.")
    text = head + "\n\n" + table(summary)
    print(text)
    if a.out:
        a.out.write_text(text + "\n", encoding="utf-8")
        summary.to_csv(a.out.with_suffix(".csv"), index=False, float_format="%.6g")


if __name__ == "__main__":
    main()
