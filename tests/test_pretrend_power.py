"""The focused pre-trend tests (the slope of the leads, the last four leads) on a universal base:
a small Monte Carlo that can fail — they hold their size when parallel trends hold and detect a
linear pre-trend of a stated size (the full power table: ``validation/pretrend_power.py``) — and
the contrast itself checked against the event-study coefficients."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from analysis.did import att_gt
from analysis.did.pretrend import last_leads_min_e, lead_slope_spec, lead_slope_weights

VALIDATION = Path(__file__).resolve().parents[1] / "validation" / "pretrend_power.py"


@pytest.fixture(scope="module")
def power():
    spec = importlib.util.spec_from_file_location("pretrend_power", VALIDATION)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_slope_weights_recover_a_linear_trend_exactly():
    e = np.arange(-9, -1, dtype=float)
    w = lead_slope_weights(e, "universal")
    assert w @ (0.3 * (e + 1)) == pytest.approx(0.3)
    assert lead_slope_weights(e, "varying") @ np.full(len(e), 0.3) == pytest.approx(0.3)


def test_stated_size_is_the_leads_slope_without_noise(power):
    """The world's violation is calibrated so that the noise-free leads have the stated slope; and
    the slope contrast equals the least-squares slope of the event-study leads through the
    reference (two routes to one number)."""
    rng = np.random.default_rng(0)
    d = power.world(rng, 0.3)
    d["y"] = 0.0
    # rebuild the noise-free outcome: each county's own trend only
    for c, g in enumerate(power.COHORTS):
        sel = d["county_code"] == f"C{c:02d}"
        d.loc[sel, "y"] = 0.3 / power.lead_slope_per_kappa() * power._county_trend(g) * (
            d.loc[sel, "t"] - power.T0)
    res = att_gt(d, outcome="y", unit="institution_id", time="t", group="adoption_t",
                 cluster="county_code", base_period="universal")
    spec = lead_slope_spec(res, min_e=last_leads_min_e(res, 8))
    est, _ = res.estimates(spec)
    assert est[-1] == pytest.approx(0.3, rel=0.01)  # exact on the balanced panel; 4% missing here
    dyn = res.aggregate("dynamic", min_e=-9, max_e=-2).tidy()
    dyn = dyn[~dyn["is_overall"]]
    x = dyn["key"].astype(float).to_numpy() + 1
    assert (x @ dyn["att"].to_numpy()) / (x @ x) == pytest.approx(est[-1], abs=1e-12)


def test_slope_test_holds_size_and_detects_a_linear_pretrend(power):
    """16 null worlds and 16 worlds whose leads rise by 0.5 a quarter (4 points over the last
    eight quarters), 99 draws: each few-cluster slope test rejects at most 4 null worlds (a true
    rate of 5% exceeds that with probability 0.007) and at least 9 of the others (0.78–0.86 power
    measured in validation/pretrend_power.md)."""
    import pandas as pd

    rows = []
    for rep in range(16):
        rows += power.one(rep, 7, 99, 99, slopes=(0.0, 0.5), which=("slope",))
    df = pd.DataFrame(rows).dropna(subset=["p_value"])
    rej = df.assign(r=df["p_value"] <= 0.05).groupby(["inference", "slope"])["r"].sum()
    for inf in ("wild_bootstrap", "randomization"):
        assert rej[(inf, 0.0)] <= 4
        assert rej[(inf, 0.5)] >= 9


def test_wald_reference_is_hotelling_with_clusters_and_chi2_for_r():
    """One restriction: the Hotelling reference is the square of the t(G − 1) test the scalar rows
    use; ``critical="normal"`` (and no clusters) is R ``did``'s χ²; with four restrictions and 11
    clusters Hotelling's reference is far more conservative than χ² (which rejected 27–38% of true
    nulls in demo-like worlds)."""
    from scipy import stats

    from analysis.did.pretrend import wald_pvalue

    t = 2.1
    assert wald_pvalue(t**2, 1, 11, "t") == pytest.approx(2 * stats.t.sf(t, 10), rel=1e-12)
    assert wald_pvalue(9.0, 4, 11, "normal") == pytest.approx(stats.chi2.sf(9.0, 4), rel=1e-12)
    assert wald_pvalue(9.0, 4, None, "t") == pytest.approx(stats.chi2.sf(9.0, 4), rel=1e-12)
    assert wald_pvalue(9.0, 4, 11, "t") > 2 * wald_pvalue(9.0, 4, 11, "normal")
    # the F reference needs more clusters than restrictions
    assert wald_pvalue(9.0, 11, 11, "t") == pytest.approx(stats.chi2.sf(9.0, 11), rel=1e-12)
