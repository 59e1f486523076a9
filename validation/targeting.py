"""What targeting does to the dose-response: FE bias, the lead placebo's power, the IV's bias.

Worlds are the demo world's generator with help re-allocated towards the homes that had a bad
quarter (``analysis.synth.generate(seed, targeting=κ, supply_sd=σ, effect_scale=s,
persistence=ρ)``; ``analysis.synth.targeting`` explains the mechanism): the expected activities of
a home rise by ``exp(κ)`` per SD of its previous-quarter shortfall against its county's mean,
every unit has quarterly supply shocks of SD ``σ`` (log scale, default 1.0) common to the homes it
serves, and with ``ρ > 0`` the three scores share a persistent institution shock (AR(1) with
coefficient ``ρ``, marginal SD twice each score's transitory noise SD; ``ρ = 0``: none). The
default grid crosses ``κ`` ∈ {0, 0.5} with ``ρ`` ∈ {0, 0.7} and a zero true effect (``s = 0``)
and the planted effect (``s = 1``: 1.5 points of environment score per unit of
``log1p(activities_lag1)``); ``--strengths``, ``--persistences``, ``--scales`` and
``--supply-sd`` choose other cells.

Estimators, on the environment score (each world's panel from ``analysis.panel.derive_panel``):

* ``fe`` — the build's primary fixed-effects dose-response (institution and quarter effects,
  reform and re-pairing controls), its coefficient on ``log1p(activities_lag1)``; bias against
  the planted value, coverage of its institution-clustered interval and of the county-clustered
  one with ``t(G − 1)``;
* ``lead placebo`` — the same model with next quarter's intensity added
  (``dose_response(placebo=True)``); the rejection rate at 5 % of its lead coefficient, by the
  analytic institution-clustered t test and by the county-clustered one with ``t(G − 1)``;
* ``reduced form`` — the outcome on the instrument ``log1p(partner_activity_lag1)`` with the
  same effects and controls, clustered by county: under a zero effect its coefficient is 0 in
  expectation exactly when the instrument is valid (the partner units' activity elsewhere does
  not move with this home's shocks);
* ``iv`` — ``analysis.effectiveness.iv.dose_response_iv`` (the partner units' leave-one-out
  activity as instrument): bias (mean and median: 2SLS has no finite mean when the instrument is
  weak), the coverage of its county-clustered ``t(G − 1)`` interval, and the first-stage F
  (median and minimum over the worlds).

Seeds: world ``r`` of every cell uses ``generate`` seed ``seed + r`` (default ``seed`` 7000), so
all cells share the demo generator's draws and all estimators share each world (common random
numbers across estimators and across the grid); the re-allocation stream is
``default_rng([seed + r, TARGETING_STREAM])`` and the persistent shock's
``default_rng([seed + r, TARGETING_STREAM, PERSISTENT_STREAM])``. Monte Carlo standard errors:
``sd/√R`` for means, ``√(p(1 − p)/R)`` for rates, for medians the width of the order statistics'
95 % interval divided by 2 × 1.96.

Usage (from the project root, niced on a shared machine; ``--raw`` appends each world's rows as
it finishes, so a run can be stopped and continued with ``--first``)::

    nice -n 10 .venv/bin/python validation/targeting.py --reps 200 --jobs 2 --raw raw.csv
    .venv/bin/python validation/targeting.py --summarise raw.csv [more.csv] \
        --out validation/targeting_results.md
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from analysis.effectiveness import dose_response  # noqa: E402
from analysis.effectiveness.iv import dose_response_iv  # noqa: E402
from analysis.panel import derive_panel  # noqa: E402
from analysis.synth import OUTCOME_MODEL, generate  # noqa: E402
from analysis.within import fe_ols  # noqa: E402

STRENGTHS = (0.0, 0.5)
SCALES = (0.0, 1.0)
PERSISTENCES = (0.0, 0.7)
SUPPLY_SD = 1.0
CONTROLS = ("reform_treated", "repaired")
FE = ["institution_id", "period"]
OUTCOME = "environment_score"
LEAD = "log1p(activities_lead1)"


def one(rep: int, seed: int, strengths: tuple[float, ...] = STRENGTHS,
        scales: tuple[float, ...] = SCALES,
        persistences: tuple[float, ...] = PERSISTENCES,
        supply_sd: float = SUPPLY_SD) -> list[dict]:
    """Every cell of the grid on world ``rep`` (the same generator seed in each cell)."""
    out = []
    for scale in scales:
        truth = scale * OUTCOME_MODEL[OUTCOME]["dose"]
        for rho in persistences:
            for kappa in strengths:
                tables, _ = generate(seed + rep, targeting=kappa, supply_sd=supply_sd,
                                     effect_scale=scale, persistence=rho)
                panel = derive_panel(tables)
                out.append({"rep": rep, "effect_scale": scale, "truth": truth,
                            "supply_sd": supply_sd, "targeting": kappa, "persistence": rho,
                            **estimates(panel, tables, truth)})
    return out


def estimates(panel: pd.DataFrame, tables: dict, truth: float) -> dict:
    """The FE, lead placebo, reduced form and IV of one world against the planted ``truth``."""
    fe = dose_response(panel, outcome=OUTCOME, inference=("analytic",)).coefficient()
    pl = dose_response(panel, outcome=OUTCOME, placebo=True, inference=("analytic",))
    lead = pl.coefficient(LEAD)
    d = model_data(panel, tables)
    # the FE dose-response and the placebo model clustered by county, t(G - 1)
    fe_c = fe_ols(d, y=OUTCOME, x=["x", *CONTROLS], fe=FE, cluster="county_code")
    se_c = float(np.sqrt(fe_c.vcov[0, 0]))
    q = stats.t.ppf(0.975, fe_c.n_clusters - 1)
    dl = d.dropna(subset=["lead"])
    fit = fe_ols(dl, y=OUTCOME, x=["x", "lead", *CONTROLS], fe=FE, cluster="county_code")
    t_lead = fit.coef[1] / np.sqrt(fit.vcov[1, 1])
    p_county = 2 * stats.t.sf(abs(t_lead), fit.n_clusters - 1)
    # the reduced form: the outcome on the instrument (0 in expectation under a zero effect
    # when the instrument is valid)
    dz = d.dropna(subset=["z"])
    rf = fe_ols(dz, y=OUTCOME, x=["z", *CONTROLS], fe=FE, cluster="county_code")
    iv = dose_response_iv(panel, tables, outcome=OUTCOME, jackknife=False)
    ivr = iv.coefficient("county_code", "analytic")
    return {
        "fe": float(fe["estimate"]),
        "fe_cover": bool(fe["ci_low"] <= truth <= fe["ci_high"]),
        "fe_cover_county": bool(abs(fe_c.coef[0] - truth) <= q * se_c),
        "lead": float(lead["estimate"]),
        "lead_reject_inst": bool(lead["p_value"] < 0.05),
        "lead_reject_county": bool(p_county < 0.05),
        "rf": float(rf.coef[0]),
        "rf_reject_county": bool(2 * stats.t.sf(abs(rf.coef[0]) / np.sqrt(rf.vcov[0, 0]),
                                                rf.n_clusters - 1) < 0.05),
        "iv": float(ivr["estimate"]),
        "iv_cover": bool(ivr["ci_low"] <= truth <= ivr["ci_high"]),
        "iv_f": float(ivr["first_stage_f"]),
    }


def model_data(panel: pd.DataFrame, tables: dict) -> pd.DataFrame:
    """The models' columns: dose ``x``, ``lead``, instrument ``z`` (all ``log1p``), controls."""
    from analysis.effectiveness import with_outcome
    from analysis.effectiveness.prepare import partner_activity

    d = with_outcome(panel, OUTCOME)
    z = partner_activity(tables, d)["partner_activity_lag1"].to_numpy(float)
    d = d.assign(x=np.log1p(d["activities_lag1"]), lead=np.log1p(d["activities_lead1"]),
                 z=np.log1p(z))
    return d.dropna(subset=[OUTCOME, "x", *CONTROLS])


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per cell: biases, rates and their Monte Carlo standard errors."""
    rows = []
    for (sigma, _scale, rho, kappa), g in df.groupby(
            ["supply_sd", "effect_scale", "persistence", "targeting"], sort=True):
        r = len(g)
        truth = float(g["truth"].iloc[0])

        def rate(col: str, g: pd.DataFrame = g, r: int = r) -> tuple[float, float]:
            p = float(g[col].mean())
            return p, float(np.sqrt(p * (1 - p) / r))

        def mean(v: pd.Series, r: int = r) -> tuple[float, float]:
            return float(v.mean()), float(v.std(ddof=1) / np.sqrt(r)) if r > 1 else float("nan")

        iv_b = g["iv"] - truth
        rows.append({
            "supply_sd": sigma, "effect": truth, "persistence": rho, "targeting": kappa,
            "worlds": r,
            "fe_bias": mean(g["fe"] - truth), "fe_sd": g["fe"].std(ddof=1),
            "fe_cover": rate("fe_cover"), "fe_cover_county": rate("fe_cover_county"),
            "lead_mean": g["lead"].mean(),
            "lead_power_inst": rate("lead_reject_inst"),
            "lead_power_county": rate("lead_reject_county"),
            "rf": mean(g["rf"]), "rf_reject": rate("rf_reject_county"),
            "iv_bias": mean(iv_b), "iv_median_bias": median(iv_b), "iv_sd": g["iv"].std(ddof=1),
            "iv_cover": rate("iv_cover"), "iv_f_median": g["iv_f"].median(),
            "iv_f_min": g["iv_f"].min(),
        })
    return pd.DataFrame(rows)


def median(v: pd.Series) -> tuple[float, float]:
    """The median and its Monte Carlo s.e. from the order statistics' 95 % interval
    (binomial, ``n/2 ± 1.96·√n/2``) divided by 2 × 1.96."""
    x = np.sort(v.to_numpy(float))
    n = len(x)
    if n < 2:
        return float(np.median(x)), float("nan")
    lo = int(np.clip(np.floor(n / 2 - 1.96 * np.sqrt(n) / 2), 0, n - 1))
    hi = int(np.clip(np.ceil(n / 2 + 1.96 * np.sqrt(n) / 2), 0, n - 1))
    return float(np.median(x)), float((x[hi] - x[lo]) / (2 * 1.96))


def table(s: pd.DataFrame) -> str:
    def pm(p: tuple[float, float], k: int = 3) -> str:
        return f"{p[0]:.{k}f} ± {p[1]:.{k}f}"

    lines = [
        "| σ | true effect | ρ | κ | worlds | FE bias | FE sd | FE 95% coverage (inst.) | FE 95% "
        "coverage (county) | lead coef. (mean) | lead power (inst.) | lead power (county) | "
        "reduced form (mean) | reduced form rejects (county) | IV bias (mean) | IV bias "
        "(median) | IV sd | IV 95% coverage (county) | IV first-stage F (median; min) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in s.iterrows():
        lines.append(
            f"| {r['supply_sd']:.1f} | {r['effect']:.1f} | {r['persistence']:.1f} | {r['targeting']:.2f} | "
            f"{r['worlds']} | {pm(r['fe_bias'])} | {r['fe_sd']:.3f} | {pm(r['fe_cover'])} | "
            f"{pm(r['fe_cover_county'])} | {r['lead_mean']:.3f} | {pm(r['lead_power_inst'])} | "
            f"{pm(r['lead_power_county'])} | {pm(r['rf'])} | {pm(r['rf_reject'])} | "
            f"{pm(r['iv_bias'])} | {pm(r['iv_median_bias'])} | {r['iv_sd']:.3f} | "
            f"{pm(r['iv_cover'])} | {r['iv_f_median']:.1f}; {r['iv_f_min']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--first", type=int, default=0, help="first world (runs in batches)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7000)
    ap.add_argument("--supply-sd", type=float, default=SUPPLY_SD)
    ap.add_argument("--strengths", type=float, nargs="+", default=STRENGTHS)
    ap.add_argument("--persistences", type=float, nargs="+", default=PERSISTENCES)
    ap.add_argument("--scales", type=float, nargs="+", default=SCALES)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--raw", type=Path,
                    help="append every world's estimates to this CSV as each world finishes")
    ap.add_argument("--summarise", type=Path, nargs="+", metavar="RAW",
                    help="run nothing: summarise these raw CSVs (worlds of earlier batches)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    if a.summarise:
        df = pd.concat([pd.read_csv(f) for f in a.summarise], ignore_index=True)
        df = df.drop_duplicates(["rep", "supply_sd", "effect_scale", "persistence",
                                 "targeting"])
        took = ""
    else:
        reps = range(a.first, a.first + a.reps)
        grid = partial(one, seed=a.seed, strengths=tuple(a.strengths), scales=tuple(a.scales),
                       persistences=tuple(a.persistences), supply_sd=a.supply_sd)
        rows: list[dict] = []
        if a.jobs > 1:
            with ProcessPoolExecutor(a.jobs) as ex:
                for part in ex.map(grid, reps, chunksize=1):
                    rows.extend(part)
                    _append(a.raw, part)
        else:
            for r in reps:
                part = grid(r)
                rows.extend(part)
                _append(a.raw, part)
        df = pd.DataFrame(rows)
        took = (f"; {(time.perf_counter() - t0) / 60:.1f} min with {a.jobs} process(es)")
    s = summarise(df)
    md = table(s)
    worlds = sorted(df["rep"].unique())
    head = (f"{s['worlds'].min()}–{s['worlds'].max()} worlds per cell (world r: seed "
            f"{a.seed} + r, r in {worlds[0]}..{worlds[-1]}), outcome {OUTCOME}{took}.")
    print(head)
    print(md)
    if a.out:
        a.out.write_text(RESULTS_HEAD + head + "\n\n" + md + "\n" + RESULTS_TAIL, encoding="utf-8")


def _append(raw: Path | None, part: list[dict]) -> None:
    if raw is not None:
        pd.DataFrame(part).to_csv(raw, mode="a", header=not raw.exists(), index=False)


RESULTS_HEAD = """# Targeting: FE bias, the lead placebo's power and the IV (validation/targeting.py)

Monte Carlo of `validation/targeting.py` (its docstring states the worlds, estimators and seeds).
Entries are mean ± Monte Carlo standard error (medians: ± the s.e. from the order statistics); σ
is the SD of the units' supply shocks, ρ the persistence of the institution shock (0: none), κ
the targeting strength (expected help × exp(κ) per SD of the previous quarter's shortfall against
the county mean); "inst." = clustered by institution, "county" = clustered by county with t(10).
The bias of a median is the median of the estimates minus the truth.

"""

RESULTS_TAIL = """
How to read it: see `docs/methods_effectiveness.md` ("Targeting") and caveat E1 in
`docs/caveats.md`.
"""


if __name__ == "__main__":
    main()
