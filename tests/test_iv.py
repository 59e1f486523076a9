"""The instrumented dose-response: two routes to the 2SLS coefficient (indirect least squares
with the package's fixed-effects OLS), the first-stage F against the first stage fitted by
``fe_ols``, the leave-one-out instrument by brute force, recovery of the planted effect on a
targeting world where help follows last quarter's shortfall, and a targeting world with a
persistent shock where the fixed-effects estimate is biased and the instrumented one is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.effectiveness import dose_response, dose_response_iv, with_outcome
from analysis.effectiveness.iv import EFFECTIVE_F_CRITICAL, ENDOGENOUS, INSTRUMENT
from analysis.effectiveness.prepare import partner_activity
from analysis.panel import derive_panel
from analysis.synth import generate
from analysis.within import fe_ols


@pytest.fixture(scope="module")
def world():
    tables, truth = generate(41, targeting=0.5, supply_sd=1.0)
    return tables, truth, derive_panel(tables)


def _data(tables, panel):
    d = with_outcome(panel, "environment_score")
    z = partner_activity(tables, d)
    d = d.assign(**{INSTRUMENT: np.log1p(z["partner_activity_lag1"].to_numpy(float)),
                    ENDOGENOUS: np.log1p(d["activities_lag1"].to_numpy(float))})
    return d.dropna(subset=["environment_score", ENDOGENOUS, INSTRUMENT, "reform_treated",
                            "repaired"])


def test_2sls_equals_indirect_least_squares_and_first_stage_f(world):
    tables, _, panel = world
    iv = dose_response_iv(panel, tables, outcome="environment_score")
    d = _data(tables, panel)
    ctrl = ["reform_treated", "repaired"]
    fe = ["institution_id", "period"]
    first = fe_ols(d, y=ENDOGENOUS, x=[INSTRUMENT, *ctrl], fe=fe, cluster="county_code")
    reduced = fe_ols(d, y="environment_score", x=[INSTRUMENT, *ctrl], fe=fe,
                     cluster="county_code")
    row = iv.coefficient("county_code")
    assert row["estimate"] == pytest.approx(reduced.coef[0] / first.coef[0], rel=1e-8)
    assert row["first_stage_f"] == pytest.approx(first.coef[0] ** 2 / first.vcov[0, 0], rel=1e-8)
    assert row["n_obs"] == first.n_obs
    assert row["df"] == 10 and row["critical"] == "t"
    inst = iv.coefficient("institution_id")
    assert inst["estimate"] == row["estimate"] and inst["n_clusters"] == 104
    assert row["headline"] and not inst["headline"]
    assert row["cv3_std_error"] > 0 and np.isnan(inst["cv3_std_error"])


def test_partner_activity_by_brute_force(world):
    tables, _, panel = world
    z = partner_activity(tables, panel)
    pa, act = tables["pairings"], tables["activities"].dropna(subset=["unit_id"])
    rng = np.random.default_rng(0)
    for k in rng.choice(np.flatnonzero(panel["t"].to_numpy() >= 2021 * 4), 25, replace=False):
        iid, period = panel["institution_id"].iloc[k], panel["period"].iloc[k]
        start, end = pd.Period(period, "Q").start_time, pd.Period(period, "Q").end_time.normalize()
        cov = pa[(pa["start_date"] <= end) & (pa["end_date"].isna() | (pa["end_date"] >= start))]
        want = 0.0
        for u in cov.loc[cov["institution_id"] == iid, "unit_id"].unique():
            others = set(cov.loc[cov["unit_id"] == u, "institution_id"]) - {iid}
            if not others:
                continue
            a = act[(act["unit_id"] == u) & (act["date"] >= start) & (act["date"] <= end)]
            want += a["institution_id"].isin(others).sum() / len(others)
        assert z["partner_activity"].iloc[k] == pytest.approx(want), (iid, period)


def test_iv_recovers_the_planted_effect_on_a_targeting_world(world):
    """Help follows last quarter's shortfall (κ = 0.5, persistent shock ρ = 0.7 by default): the
    lead placebo flags it, and the instrumented estimate's county interval covers the planted
    1.5."""
    tables, truth, panel = world
    planted = truth["dose_response"]["effects"]["environment_score"]
    assert planted == 1.5
    lead = dose_response(panel, outcome="environment_score", placebo=True,
                         inference=("analytic",)).coefficient("log1p(activities_lead1)")
    assert lead["p_value"] < 0.01
    iv = dose_response_iv(panel, tables, outcome="environment_score").coefficient("county_code")
    assert iv["ci_low"] <= planted <= iv["ci_high"]
    assert iv["first_stage_f"] > 10


def test_fe_is_biased_by_targeting_on_a_persistent_shock_and_the_iv_is_not():
    """One targeting world (seed 43: help × exp(1) per SD of last quarter's shortfall, unit
    supply shocks of SD 1.5, planted 1.5) drawn twice: with the persistent institution shock
    (ρ = 0.7) and without it (ρ = 0; everything else the same draws).

    With the shock, help goes to homes whose low scores persist, so the fixed-effects estimate
    falls well below the truth and its interval excludes it, while the instrumented estimate's
    county interval covers the truth with a strong first stage. Without the shock the same seed
    gives an unbiased fixed-effects estimate. The lead placebo rejects in both worlds: a failing
    placebo does not say whether the FE estimate is biased.

    Why it is seed-robust and cannot pass by accident (``validation/targeting_results.md``, this
    cell and its ρ = 0 twin, 100 worlds each, seeds 7000–7099, none of them this test's seed):
    the FE assertion held in 98 of 100 worlds with the shock and the FE estimate was never 0.25
    below the truth without it (lowest 1.29; FE sd 0.08), so it detects the mechanism, not a
    seed; the IV assertion held in 97, the ρ = 0 one in 97, all of them together in 92. The IV
    assertion alone is weak evidence (its interval's half-width is about 1.4): that the IV
    removes the bias is the Monte Carlo's finding (IV bias +0.15 ± 0.06 against the FE's
    −0.55 ± 0.01 in this cell), not this test's."""
    planted = 1.5
    est = {}
    for rho in (0.0, 0.7):
        tables, truth = generate(43, targeting=1.0, supply_sd=1.5, persistence=rho)
        assert truth["dose_response"]["effects"]["environment_score"] == planted
        panel = derive_panel(tables)
        fe = dose_response(panel, outcome="environment_score", inference=("analytic",))
        lead = dose_response(panel, outcome="environment_score", placebo=True,
                             inference=("analytic",)).coefficient("log1p(activities_lead1)")
        iv = dose_response_iv(panel, tables, outcome="environment_score", jackknife=False)
        est[rho] = (fe.coefficient(), lead, iv.coefficient("county_code"))
    fe, lead, iv = est[0.7]
    assert fe["estimate"] < planted - 0.25 and fe["ci_high"] < planted
    assert iv["ci_low"] <= planted <= iv["ci_high"]
    assert iv["first_stage_f"] > EFFECTIVE_F_CRITICAL
    assert lead["p_value"] < 0.01
    fe0, lead0, iv0 = est[0.0]
    assert abs(fe0["estimate"] - planted) < 0.25 and fe0["ci_low"] <= planted <= fe0["ci_high"]
    assert lead0["p_value"] < 0.01
