"""From how many counties is the analytic inference of the reform estimate adequate?

With the demo's 11 counties only the restricted wild cluster bootstrap holds its size
(``validation/monte_carlo_results.md``); the analytic clustered standard error with t(G − 1)
critical values rejects 6–17% of true nulls. The resampling methods cost too much at provincial
scale (183 counties in Sichuan), so the package needs a cluster count above which the analytic
row can be read. This Monte Carlo measures the analytic test's size as the number of counties
grows, with the wild bootstrap beside it where it is affordable.

Worlds: the null worlds of ``validation/worlds.py`` with their counties replicated ``n`` times
(:func:`worlds.scaled`): ``11 n`` counties — ``n`` counties adopting in 2020Q3, ``2 n`` in each of
2021Q1, 2021Q3, 2022Q1 and 2022Q3, ``2 n`` never — adopting counties of 2 to 14 institutions
(the nine geometric sizes repeated ``n`` times, shuffled), never-treated counties as the scenario
says. ``n`` = 1, 2, 4, 8, 16 gives G = 11, 22, 44, 88, 176. Scenarios ``unequal``,
``large_never``, ``noisy_never`` and ``one_county_cohorts`` (there: nine cohorts of ``n``
counties each).

Inference as the build reports it (``analysis.inference.aggregate`` on ``analysis.did.att_gt``,
the aggregates of ``validation/monte_carlo.py``: simple, headline balanced dynamic with the
build's window, full dynamic): ``analytic`` (clustered influence-function standard error,
t(G − 1)) in every world, ``analytic normal`` (the same standard error, normal critical values)
for reference, and ``wild_bootstrap`` (TWFE restricted model, CV3, Webb weights, 199 draws) in the
first worlds of the cells where it is affordable. The world of replication ``rep`` is drawn from
the stream ``[seed, rep]``, so both methods see the same world (common random numbers), and the
worlds with ``n = 1`` are those of ``validation/monte_carlo.py`` (their rows agree with that
script's to the ten digits the raw files keep, wild bootstrap included).

Per cell (G × scenario × method × aggregate): rejection of the true null (zero) at 5%, coverage
of the 95% interval, mean length, each with its Monte Carlo standard error; and the threshold:
the smallest G from which on (that G and every larger one tested) the analytic t(G − 1) test
rejects within 3.5–6.5%, or within one Monte Carlo standard error of it, in every scenario and
aggregate (:data:`RULES`; the strict band and "not significantly outside" bracket it).

Usage (from the project root; raw rows are appended to ``--raw`` block by block, so a stopped run
resumes where it stopped; ``--max-minutes`` stops submitting work after that long)::

    nice -n 10 .venv/bin/python validation/cluster_count.py --jobs 2 \\
        --raw validation/cluster_count_raw.csv.gz --out validation/cluster_count_results.md
    # the report alone, from the raw rows (no wild bootstrap worlds asked for, none run):
    .venv/bin/python validation/cluster_count.py --wild "" \\
        --raw validation/cluster_count_raw.csv.gz --out validation/cluster_count_results.md
    .venv/bin/python validation/cluster_count.py --reps 5 --wild 1:2 --jobs 1   # smoke run
    .venv/bin/python validation/cluster_count.py --timing 16     # one world at G = 176, timed
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# one thread per process: the worlds are small, and the machine is shared
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import monte_carlo  # noqa: E402
import worlds  # noqa: E402

from analysis.did import att_gt  # noqa: E402
from analysis.inference import aggregate  # noqa: E402

SCENARIOS = ("unequal", "large_never", "noisy_never", "one_county_cohorts")
COPIES = (1, 2, 4, 8, 16)
#: worlds with the wild bootstrap per number of copies (the first of each cell) and its scenarios:
#: what fitted in the run's time on a shared 2-core machine (``validation/cluster_count_results.md``)
WILD = {1: 36, 2: 29, 4: 15}
WILD_SCENARIOS = ("unequal", "large_never", "noisy_never")
TARGET = monte_carlo.TARGET
ALPHA = monte_carlo.ALPHA
COLUMNS = ("scenario", "copies", "G", "rep", "method", "aggregate", "att", "se", "ci_low",
           "ci_high", "p0", "reject", "truth", "window", "seconds")


def n_counties(scenario: str, copies: int) -> int:
    """The number of counties (clusters) of ``scenario`` replicated ``copies`` times."""
    return len(worlds.scaled(worlds.SCENARIOS[scenario], copies).cohorts)


def one(rep: int, seed: int, scenario: str, copies: int, method: str,
        n_boot: int = 199) -> list[dict]:
    """One world of ``scenario`` with ``copies`` copies of its counties, and one inference on
    it: ``"analytic"`` (with the ``analytic normal`` reference rows) or ``"wild_bootstrap"``.
    One row per method and aggregate; ``reject`` is the rejection of the true null (zero) at 5%,
    ``seconds`` the time of the whole world (generation, ``att_gt``, the three aggregates)."""
    t0 = time.perf_counter()
    design = worlds.scaled(worlds.SCENARIOS[scenario], copies)
    if design.effect is not None:
        raise ValueError(f"{scenario}: the cluster-count Monte Carlo uses null worlds only")
    d = worlds.world(np.random.default_rng([seed, rep]), design)
    res = att_gt(d, outcome="y", unit="institution_id", time="t", group="adoption_t",
                 cluster="county_code")
    G = res.n_clusters
    assert G == len(design.cohorts)
    t_crit = stats.t.ppf(1 - ALPHA / 2, G - 1)
    z = stats.norm.ppf(1 - ALPHA / 2)
    out = []
    for name, (kind, kw) in monte_carlo._aggregates(res).items():
        tab = aggregate(res, kind, inference=(method,), n_boot=n_boot, n_perm=1, seed=rep,
                        **kw).tidy()
        r = tab[tab["is_overall"]].set_index("inference").loc[method]
        rows = [(method, r["att"], r["std_error"], r["ci_low"], r["ci_high"], r["p_value"])]
        if method == "analytic":
            # the analytic interval must be the t(G − 1) interval (a check of the build)
            assert abs(r["ci_high"] - r["att"] - t_crit * r["std_error"]) \
                < 1e-8 * (1 + abs(r["att"]))
            rows.append(("analytic normal", r["att"], r["std_error"],
                         r["att"] - z * r["std_error"], r["att"] + z * r["std_error"],
                         2 * stats.norm.sf(abs(r["att"] / r["std_error"]))))
        for m, att, se, lo, hi, p in rows:
            out.append({"method": m, "aggregate": name, "att": att, "se": se, "ci_low": lo,
                        "ci_high": hi, "p0": p, "reject": bool(p <= ALPHA), "truth": 0.0,
                        "window": kw.get("max_e", np.nan)})
    seconds = time.perf_counter() - t0
    for o in out:
        o.update(scenario=scenario, copies=copies, G=G, rep=rep, seconds=seconds)
    del res, d
    gc.collect()
    return [{c: o[c] for c in COLUMNS} for o in out]


def _one(task: tuple) -> list[dict]:
    return one(*task)


def tasks(reps: int, copies: tuple[int, ...], scenarios: tuple[str, ...],
          wild: dict[int, int], wild_scenarios: tuple[str, ...], seed: int, n_boot: int,
          done: set[tuple]) -> list[tuple]:
    """Every (rep, seed, scenario, copies, method, n_boot) not yet in ``done`` (keys
    ``(scenario, copies, rep, method)``): the analytic worlds first, replication by replication
    across all cells, then the wild bootstrap's, ordered by the share of each cell's worlds done,
    so that a run stopped early leaves every cell with a similar share of its worlds."""
    out = [(r, seed, s, n, "analytic", n_boot) for r in range(reps) for n in copies
           for s in scenarios if (s, n, r, "analytic") not in done]
    wt = [(r / wild[n], r, seed, s, n, "wild_bootstrap", n_boot) for n in copies if n in wild
          for r in range(min(wild[n], reps)) for s in wild_scenarios if s in scenarios
          and (s, n, r, "wild_bootstrap") not in done]
    return out + [t[1:] for t in sorted(wt, key=lambda t: (t[0], t[4], t[3]))]


def _done(raw: Path | None) -> pd.DataFrame:
    if raw is None or not raw.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.read_csv(raw)


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """One row per G × scenario × aggregate × method: worlds, rejection of the true null,
    coverage, mean length (Monte Carlo standard errors), the headline window, mean seconds per
    world; ``validation/monte_carlo.py``'s summary, per number of counties."""
    parts = []
    for (n, G), g in df.groupby(["copies", "G"], sort=True):
        with warnings.catch_warnings():
            # the median window of the aggregates without one is an empty slice
            warnings.simplefilter("ignore", RuntimeWarning)
            s = monte_carlo.summarise(g.drop(columns=["reject"]))
        s.insert(0, "G", G)
        s.insert(0, "copies", n)
        sec = g.groupby(["scenario", "aggregate", "method"])["seconds"].mean().rename("seconds")
        s = s.join(sec, on=["scenario", "aggregate", "method"])
        parts.append(s.drop(columns=["power", "power_se"]))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def within(p: float, se: float, tolerance: float = 0.0) -> bool:
    """A rejection rate within the target 3.5–6.5%; with ``tolerance`` (in Monte Carlo standard
    errors), not further outside it than that."""
    return TARGET[0] - tolerance * se <= p <= TARGET[1] + tolerance * se


def threshold(summary: pd.DataFrame, method: str = "analytic", aggregates=None,
              tolerance: float = 0.0) -> int | None:
    """The smallest G tested from which on (that G and every larger one tested) ``method``
    rejects the true null within the target in every scenario and the given aggregates (all by
    default); ``None`` when not even the largest does."""
    s = summary[summary["method"] == method]
    if aggregates is not None:
        s = s[s["aggregate"].isin(aggregates)]
    ok = s.groupby("G").apply(lambda g: all(within(p, e, tolerance) for p, e in
                                            zip(g["reject"], g["reject_se"], strict=True)),
                              include_groups=False)
    best = None
    for G in sorted(ok.index, reverse=True):
        if not ok[G]:
            break
        best = int(G)
    return best


AGG_NAMES = {"simple": "simple", "dynamic_balanced": "headline dynamic",
             "dynamic": "full dynamic"}


def _cell(r: pd.Series, what: str) -> str:
    if what == "length":
        return f"{r['length']:.2f} ({r['length_se']:.2f})"
    target = TARGET if what == "reject" else monte_carlo.COVERAGE_TARGET
    return monte_carlo._pct(r[what], r[f"{what}_se"], target)


def table(summary: pd.DataFrame) -> str:
    """Markdown: per aggregate and measure, rows scenario × method, columns G."""
    Gs = sorted(summary["G"].unique())
    scen = list(dict.fromkeys(summary["scenario"]))
    methods = [m for m in ("analytic", "wild_bootstrap", "analytic normal")
               if m in set(summary["method"])]
    lines = []
    measures = {"reject": "rejection of the true null at 5%, % (Monte Carlo s.e.; ✗ outside "
                          f"{100 * TARGET[0]:.1f}–{100 * TARGET[1]:.1f})",
                "coverage": "coverage of the 95% interval, % (Monte Carlo s.e.; ✗ outside "
                            "93–97)",
                "length": "mean length of the 95% interval (Monte Carlo s.e.)"}
    for agg in AGG_NAMES:
        for what, title in measures.items():
            sub = summary[summary["aggregate"] == agg]
            lines += [f"**{AGG_NAMES[agg]}** — {title}", "",
                      "| scenario | method | " + " | ".join(f"G = {G}" for G in Gs) + " |",
                      "|---|---|" + "---|" * len(Gs)]
            for s in scen:
                for m in methods:
                    r = sub[(sub["scenario"] == s) & (sub["method"] == m)].set_index("G")
                    if r.empty:
                        continue
                    cells = [_cell(r.loc[G], what) if G in r.index else "—" for G in Gs]
                    lines.append(f"| {s} | {m} | " + " | ".join(cells) + " |")
            lines.append("")
    win = summary[summary["aggregate"] == "dynamic_balanced"].groupby("G")["window"].median()
    lines += ["Headline window (event times 0–E, median over worlds): "
              + ", ".join(f"G = {G}: E = {w:.0f}" for G, w in win.items()), ""]
    return "\n".join(lines)


def worlds_table(summary: pd.DataFrame) -> str:
    """Markdown: worlds per cell and mean seconds per world, by G and method."""
    g = summary[summary["aggregate"] == "simple"].groupby(["G", "method"])
    t = g.agg(worlds_min=("worlds", "min"), worlds_max=("worlds", "max"),
              seconds=("seconds", "mean")).reset_index()
    lines = ["| G | method | worlds per scenario | mean seconds per world |", "|---|---|---|---|"]
    for _, r in t[t["method"] != "analytic normal"].iterrows():
        w = f"{r['worlds_min']}" if r["worlds_min"] == r["worlds_max"] \
            else f"{r['worlds_min']}–{r['worlds_max']}"
        lines.append(f"| {r['G']} | {r['method']} | {w} | {r['seconds']:.2f} |")
    return "\n".join(lines) + "\n"


#: the rules for "adequate", in Monte Carlo standard errors of tolerance around 3.5–6.5%: the
#: first is the recommendation's, the others bracket it
RULES = ((1.0, "every scenario's rejection rate inside 3.5–6.5% or within one Monte Carlo s.e. "
               "of it"),
         (0.0, "every scenario's rejection rate inside 3.5–6.5%"),
         (1.96, "no scenario's rejection rate significantly outside 3.5–6.5% (within 1.96 "
                "Monte Carlo s.e. of it)"))


def recommendation(summary: pd.DataFrame) -> str:
    """The thresholds, in words: the smallest G from which on the analytic t(G − 1) test is
    adequate in every scenario and aggregate, then per aggregate, under each rule."""
    def say(G: int | None) -> str:
        return f"from {G} counties on" if G is not None else \
            f"not reached by {int(summary['G'].max())} counties"

    tol, _ = RULES[0]
    top = int(summary["G"].max())
    lines = [f"**Recommendation: analytic t(G − 1) inference "
             f"{say(threshold(summary, tolerance=tol))}** (rule: {RULES[0][1]}, in every "
             "aggregate tested).", ""]
    for agg, name in AGG_NAMES.items():
        lines.append(f"* {name} alone: "
                     f"{say(threshold(summary, aggregates=[agg], tolerance=tol))}")
    lines += ["", f"The rule and two that bracket it (the largest G tested is {top}: \"from "
              f"{top} counties on\" says that it holds there and fails at the next smaller G tested, so "
              "the threshold lies between the two):",
              "", "| rule | all aggregates | " + " | ".join(AGG_NAMES.values())
              + " | normal critical values, all aggregates |", "|---|---|---|---|---|---|"]
    for tol, label in RULES:
        cells = [say(threshold(summary, tolerance=tol))]
        cells += [say(threshold(summary, aggregates=[agg], tolerance=tol)) for agg in AGG_NAMES]
        cells.append(say(threshold(summary, "analytic normal", tolerance=tol)))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def timing(copies: int, scenario: str, seed: int, n_boot: int) -> str:
    """One world of ``scenario`` with ``copies`` copies timed with each method, and the peak
    resident memory of the process."""
    out = []
    for method in ("analytic", "wild_bootstrap"):
        rows = one(0, seed, scenario, copies, method, n_boot)
        out.append(f"{method}: {rows[0]['seconds']:.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (f"{scenario}, G = {n_counties(scenario, copies)}, one world, {n_boot} draws: "
            + ", ".join(out) + f"; peak resident memory {peak:.0f} MB")


def _parse_wild(text: str) -> dict[int, int]:
    return {int(k): int(v) for k, v in (p.split(":") for p in text.split(",") if p)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=500, help="analytic worlds per cell")
    ap.add_argument("--copies", default=",".join(map(str, COPIES)),
                    help="copies of the 11 counties (G = 11 × copies)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--wild", default=",".join(f"{k}:{v}" for k, v in WILD.items()),
                    help="copies:worlds with the wild bootstrap, e.g. 1:36,2:29,4:15")
    ap.add_argument("--wild-scenarios", default=",".join(WILD_SCENARIOS))
    ap.add_argument("--n-boot", type=int, default=199)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--raw", type=Path, default=None,
                    help="CSV (optionally .gz) the raw rows are appended to, block by block")
    ap.add_argument("--out", type=Path, default=None, help="markdown file for the tables")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="submit no new block after this many minutes")
    ap.add_argument("--note", default="", help="a sentence added to the report's first paragraph")
    ap.add_argument("--timing", type=int, default=None, metavar="COPIES",
                    help="time one world with each method at this many copies, then stop")
    a = ap.parse_args(argv)
    scen = tuple(s for s in a.scenarios.split(",") if s)
    if a.timing is not None:
        print(timing(a.timing, scen[0], a.seed, a.n_boot))
        return
    copies = tuple(int(x) for x in a.copies.split(",") if x)
    wild = _parse_wild(a.wild)
    done = _done(a.raw)
    have = set(zip(done["scenario"], done["copies"], done["rep"], done["method"], strict=True))
    todo = tasks(a.reps, copies, scen, wild, tuple(a.wild_scenarios.split(",")), a.seed,
                 a.n_boot, have)
    t0 = time.perf_counter()
    rows: list[dict] = []
    start, stopped = 0, False
    while start < len(todo):
        if a.max_minutes is not None and time.perf_counter() - t0 > 60 * a.max_minutes:
            stopped = True
            break
        # analytic worlds are cheap: big blocks; the wild bootstrap's a few per process
        size = 200 * a.jobs if todo[start][4] == "analytic" else 4 * a.jobs
        part = [t for t in todo[start:start + size] if t[4] == todo[start][4]]
        with ProcessPoolExecutor(max_workers=a.jobs) as ex:
            new = [x for r in ex.map(_one, part, chunksize=max(1, len(part) // (4 * a.jobs)))
                   for x in r]
        rows += new
        if a.raw is not None:
            pd.DataFrame(new, columns=list(COLUMNS)).to_csv(
                a.raw, mode="a", header=not a.raw.exists(), index=False, float_format="%.10g")
        start += len(part)
        print(f"{start}/{len(todo)} tasks, {time.perf_counter() - t0:.0f} s", file=sys.stderr,
              flush=True)
    df = pd.concat([d for d in (done, pd.DataFrame(rows, columns=list(COLUMNS))) if len(d)],
                   ignore_index=True)
    df = df[df["scenario"].isin(scen) & df["copies"].isin(copies) & (df["rep"] < a.reps)]
    summary = summarise(df)
    wild_n = df[df["method"] == "wild_bootstrap"].groupby(["G", "scenario"])["rep"].nunique()
    ana_n = df[df["method"] == "analytic"].groupby(["G", "scenario"])["rep"].nunique()
    def span(x: pd.Series) -> str:
        return f"{x.min()}" if x.min() == x.max() else f"{x.min()}–{x.max()}"

    wild_txt = "; ".join(
        f"G = {G}: {span(w)} worlds in {', '.join(w.index.get_level_values('scenario'))}"
        for G, w in wild_n.groupby(level="G")) if len(wild_n) else "none"
    head = (f"Null worlds of `validation/worlds.py` (synthetic data), the 11 counties replicated "
            f"{', '.join(map(str, copies))} times (G = "
            f"{', '.join(str(n_counties(scen[0], n)) for n in copies)}), seed {a.seed}. "
            f"Analytic: {span(ana_n)} worlds per cell. Wild bootstrap "
            f"({a.n_boot} Webb draws, the first worlds of each cell, the same worlds as the "
            f"analytic rows): {wild_txt}."
            + (f" This invocation: {start} tasks in {time.perf_counter() - t0:.0f} s with "
               f"{a.jobs} processes{' (stopped at --max-minutes)' if stopped else ''}."
               if start else "")
            + (f" {a.note}" if a.note else ""))
    text = "\n\n".join([head, worlds_table(summary), recommendation(summary), table(summary)])
    print(text)
    if a.out:
        a.out.write_text(text + "\n", encoding="utf-8")
        summary.to_csv(a.out.with_suffix(".csv"), index=False, float_format="%.6g")


if __name__ == "__main__":
    main()
