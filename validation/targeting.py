"""What targeting does to the dose-response: FE bias, the lead placebo's power, the IV's bias.

Worlds are the demo world's generator with help re-allocated towards the homes that had a bad
quarter (``analysis.synth.generate(seed, targeting=κ, supply_sd=σ, effect_scale=s)``;
``analysis.synth.targeting`` explains the mechanism): the expected activities of a home rise by
``exp(κ)`` per SD of its previous-quarter shortfall against its county's mean, and every unit has
quarterly supply shocks of SD ``σ`` = 0.5 (log scale) common to the homes it serves. The grid
crosses the targeting strength ``κ`` with a zero true effect (``s = 0``) and the planted effect
(``s = 1``: 1.5 points of environment score per unit of ``log1p(activities_lag1)``).

Estimators, on the environment score (each world's panel from ``analysis.panel.derive_panel``):

* ``fe`` — the build's primary fixed-effects dose-response (institution and quarter effects,
  reform and re-pairing controls), its coefficient on ``log1p(activities_lag1)``; bias against
  the planted value;
* ``lead placebo`` — the same model with next quarter's intensity added
  (``dose_response(placebo=True)``); the rejection rate at 5 % of its lead coefficient, by the
  analytic institution-clustered t test and by the county-clustered one with ``t(G − 1)``;
* ``iv`` — ``analysis.effectiveness.iv.dose_response_iv`` (the partner units' leave-one-out
  activity as instrument): bias (mean and median: 2SLS has no finite mean when the instrument is
  weak), the coverage of its county-clustered ``t(G − 1)`` interval, and the median first-stage F.

Seeds: world ``r`` of every cell uses ``generate`` seed ``seed + r`` (default ``seed`` 7000), so
all cells share the demo generator's draws and all estimators share each world (common random
numbers across estimators and across the grid); the re-allocation stream is
``default_rng([seed + r, TARGETING_STREAM])``. Monte Carlo standard errors: ``sd/√R`` for
means, ``√(p(1 − p)/R)`` for rates.

Usage (from the project root, niced on a shared machine)::

    nice -n 10 .venv/bin/python validation/targeting.py --reps 200 --jobs 2 \
        --out validation/targeting_results.md
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

from analysis.effectiveness import dose_response  # noqa: E402
from analysis.effectiveness.iv import dose_response_iv  # noqa: E402
from analysis.panel import derive_panel  # noqa: E402
from analysis.synth import OUTCOME_MODEL, generate  # noqa: E402
from analysis.within import fe_ols  # noqa: E402

STRENGTHS = (0.0, 0.5, 1.0)
SCALES = (0.0, 1.0)
SUPPLY_SD = 0.5
OUTCOME = "environment_score"
LEAD = "log1p(activities_lead1)"


def one(rep: int, seed: int, strengths: tuple[float, ...] = STRENGTHS,
        scales: tuple[float, ...] = SCALES) -> list[dict]:
    """Every cell of the grid on world ``rep`` (the same generator seed in each cell)."""
    out = []
    for scale in scales:
        truth = scale * OUTCOME_MODEL[OUTCOME]["dose"]
        for kappa in strengths:
            tables, _ = generate(seed + rep, targeting=kappa, supply_sd=SUPPLY_SD,
                                 effect_scale=scale)
            panel = derive_panel(tables)
            fe = dose_response(panel, outcome=OUTCOME, inference=("analytic",))
            pl = dose_response(panel, outcome=OUTCOME, placebo=True, inference=("analytic",))
            lead = pl.coefficient(LEAD)
            # the same placebo model clustered by county, t(G - 1)
            d = pl_data(panel)
            fit = fe_ols(d, y=OUTCOME, x=["x", "lead", "reform_treated", "repaired"],
                         fe=["institution_id", "period"], cluster="county_code")
            t_lead = fit.coef[1] / np.sqrt(fit.vcov[1, 1])
            p_county = 2 * stats.t.sf(abs(t_lead), fit.n_clusters - 1)
            iv = dose_response_iv(panel, tables, outcome=OUTCOME, jackknife=False)
            ivr = iv.coefficient("county_code", "analytic")
            out.append({
                "rep": rep, "effect_scale": scale, "truth": truth, "targeting": kappa,
                "fe": float(fe.coefficient()["estimate"]),
                "fe_cover": bool(fe.coefficient()["ci_low"] <= truth <= fe.coefficient()["ci_high"]),
                "lead": float(lead["estimate"]),
                "lead_reject_inst": bool(lead["p_value"] < 0.05),
                "lead_reject_county": bool(p_county < 0.05),
                "iv": float(ivr["estimate"]),
                "iv_cover": bool(ivr["ci_low"] <= truth <= ivr["ci_high"]),
                "iv_f": float(ivr["first_stage_f"]),
            })
    return out


def pl_data(panel: pd.DataFrame) -> pd.DataFrame:
    """The placebo model's columns (dose, lead, controls) for the county-clustered fit."""
    from analysis.effectiveness import with_outcome

    d = with_outcome(panel, OUTCOME)
    d = d.assign(x=np.log1p(d["activities_lag1"]), lead=np.log1p(d["activities_lead1"]))
    return d.dropna(subset=[OUTCOME, "x", "lead", "reform_treated", "repaired"])


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per cell: biases, rates and their Monte Carlo standard errors."""
    rows = []
    for (_scale, kappa), g in df.groupby(["effect_scale", "targeting"], sort=True):
        r = len(g)
        truth = float(g["truth"].iloc[0])

        def rate(col: str, g: pd.DataFrame = g, r: int = r) -> tuple[float, float]:
            p = float(g[col].mean())
            return p, float(np.sqrt(p * (1 - p) / r))

        fe_b = g["fe"] - truth
        iv_b = g["iv"] - truth
        rows.append({
            "effect": truth, "targeting": kappa, "worlds": r,
            "fe_bias": fe_b.mean(), "fe_bias_se": fe_b.std(ddof=1) / np.sqrt(r),
            "fe_sd": g["fe"].std(ddof=1), "fe_cover": rate("fe_cover"),
            "lead_mean": g["lead"].mean(),
            "lead_power_inst": rate("lead_reject_inst"),
            "lead_power_county": rate("lead_reject_county"),
            "iv_bias": iv_b.mean(), "iv_bias_se": iv_b.std(ddof=1) / np.sqrt(r),
            "iv_median_bias": iv_b.median(), "iv_sd": g["iv"].std(ddof=1),
            "iv_cover": rate("iv_cover"), "iv_f_median": g["iv_f"].median(),
        })
    return pd.DataFrame(rows)


def table(s: pd.DataFrame) -> str:
    def pm(v: float, se: float, k: int = 3) -> str:
        return f"{v:.{k}f} ± {se:.{k}f}"

    def pr(p: tuple[float, float]) -> str:
        return f"{p[0]:.3f} ± {p[1]:.3f}"

    lines = [
        "| true effect | κ | worlds | FE bias | FE sd | FE 95% coverage (inst.) | lead coef. "
        "(mean) | lead power (inst.) | lead power (county, t(G−1)) | IV bias (mean) | IV bias "
        "(median) | IV sd | IV 95% coverage (county, t(G−1)) | IV first-stage F (median) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in s.iterrows():
        lines.append(
            f"| {r['effect']:.1f} | {r['targeting']:.2f} | {r['worlds']} | "
            f"{pm(r['fe_bias'], r['fe_bias_se'])} | {r['fe_sd']:.3f} | {pr(r['fe_cover'])} | "
            f"{r['lead_mean']:.3f} | {pr(r['lead_power_inst'])} | {pr(r['lead_power_county'])} | "
            f"{pm(r['iv_bias'], r['iv_bias_se'])} | {r['iv_median_bias']:.3f} | "
            f"{r['iv_sd']:.3f} | {pr(r['iv_cover'])} | {r['iv_f_median']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7000)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as ex:
            parts = list(ex.map(one, range(a.reps), [a.seed] * a.reps, chunksize=4))
    else:
        parts = [one(r, a.seed) for r in range(a.reps)]
    df = pd.DataFrame([row for part in parts for row in part])
    md = table(summarise(df))
    took = time.perf_counter() - t0
    head = (f"{a.reps} worlds per cell, seeds {a.seed}..{a.seed + a.reps - 1}, supply_sd "
            f"{SUPPLY_SD}, outcome {OUTCOME}; {took / 60:.1f} min with {a.jobs} process(es).")
    print(head)
    print(md)
    if a.out:
        a.out.write_text(RESULTS_HEAD + head + "\n\n" + md + "\n" + RESULTS_TAIL, encoding="utf-8")


RESULTS_HEAD = """# Targeting: FE bias, the lead placebo's power and the IV (validation/targeting.py)

Monte Carlo of `validation/targeting.py` (its docstring states the worlds, estimators and seeds).
Entries are mean ± Monte Carlo standard error; κ is the targeting strength (expected help ×
exp(κ) per SD of the previous quarter's shortfall against the county mean); "inst." = clustered by
institution with t(G − 1); "county" = clustered by county with t(10).

"""

RESULTS_TAIL = """
How to read it: see `docs/methods_effectiveness.md` ("Targeting") and caveat E1 in
`docs/caveats.md`.
"""


if __name__ == "__main__":
    main()
