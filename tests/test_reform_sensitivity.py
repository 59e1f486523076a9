"""Sensitivity to violations of parallel trends (Rambachan & Roth 2023, ``analysis.did.honest``),
checked against numbers derived independently: the smoothness interval at ``M = 0`` is the
generalised-least-squares linear extrapolation; the relative-magnitudes interval at ``M̄ = 0`` with
the conditional test is the original interval, and with the hybrid it is the closed form of the
truncated-normal test at its own least-favourable critical value; as the covariance vanishes the
intervals shrink to the identified set (computed by diff-diff); intervals widen with ``M``; the
breakdown value is where the interval first covers zero; the FLCI's half-length agrees with
diff-diff's optimiser; the cluster jackknife equals refits without each cluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file
from scipy import special, stats

from analysis.did import att_gt
from analysis.did.honest import (
    _RMProblem,
    breakdown_m,
    cluster_jackknife,
    cv_folded_normal,
    event_study_vector,
    flci,
    honest_did,
    linear_extrapolation_ci,
    rm_interval,
)
from analysis.errors import SpecificationError

Z = stats.norm.ppf(0.975)


def _problem(K: int, P: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(K + P, K + P + 3))
    return rng.normal(size=K + P) * 0.5, A @ A.T / 10


def test_cv_folded_normal_is_the_folded_normal_quantile():
    t = np.array([0.0, 0.3, 1.0, 2.5, 8.0])
    np.testing.assert_allclose(cv_folded_normal(t, 0.05), stats.foldnorm.ppf(0.95, t), rtol=1e-10)


@pytest.mark.parametrize("K,P", [(4, 4), (3, 1), (5, 2)])
def test_smoothness_m0_is_the_linear_extrapolation(K, P):
    """With pre- and post-period coefficients independent, the best estimator unbiased under a
    linear trend through the reference extrapolates the GLS slope of the pre-periods:
    θ̂ = l'β̂_post − ŝ Σ_s s l_s, var = l'Σ_post l + (Σ_s s l_s)² / (t'Σ_pre⁻¹t)."""
    b, S = _problem(K, P, 1)
    S[:K, K:] = 0
    S[K:, :K] = 0
    lv = np.full(P, 1 / P)
    t = np.arange(-K, 0, dtype=float)
    Si = np.linalg.inv(S[:K, :K])
    slope = (t @ Si @ b[:K]) / (t @ Si @ t)
    k = lv @ np.arange(1, P + 1)
    est = lv @ b[K:] - slope * k
    sd = np.sqrt(lv @ S[K:, K:] @ lv + k**2 / (t @ Si @ t))
    lo, hi, _ = flci(b, S, K, P, lv, 0.0)
    assert abs(lo - (est - Z * sd)) < 1e-10 and abs(hi - (est + Z * sd)) < 1e-10
    lo2, hi2, _ = linear_extrapolation_ci(b, S, K, P, lv)
    assert (lo2, hi2) == (lo, hi)
    # the optimiser's path for M > 0 is continuous at 0
    lo3, hi3, _ = flci(b, S, K, P, lv, 1e-9)
    assert abs(lo3 - lo) < 1e-6 and abs(hi3 - hi) < 1e-6


@pytest.mark.parametrize("K,P", [(4, 4), (3, 1), (5, 2)])
def test_flci_half_length_matches_diff_diff_and_widens_with_m(K, P):
    """Half-lengths of the optimal FLCI agree with diff-diff's (its own parametrisation and
    optimiser); the optimum is flat in the estimator's weights, so the centres may differ by a
    little."""
    dd = pytest.importorskip("diff_diff.honest_did")
    b, S = _problem(K, P, 2)
    lv = np.full(P, 1 / P)
    widths = []
    for M in (0.0, 0.05, 0.2, 1.0):
        lo, hi, _ = flci(b, S, K, P, lv, M)
        lo2, hi2, _ = dd._flci_solve(b[:K], b[K:], S, lv, K, P, M)
        assert (hi - lo) <= (hi2 - lo2) * (1 + 1e-6)  # ours never longer
        assert (hi - lo) == pytest.approx(hi2 - lo2, rel=1e-6)
        assert abs(0.5 * (lo + hi) - 0.5 * (lo2 + hi2)) < 1e-2 * (hi - lo)
        widths.append(hi - lo)
    assert np.all(np.diff(widths) > 0)


@pytest.mark.parametrize("K,P,lv", [(3, 1, [1.0]), (4, 3, [1.0, 0.0, 0.0])])
def test_relative_magnitude_mbar0_conditional_is_the_original_interval(K, P, lv):
    """M̄ = 0 forces δ_post = 0: the conditional test of the two moments ±(β₁ − θ) ≤ 0 is the
    two-sided z-test, whatever the other post-periods (free nuisance directions)."""
    b, S = _problem(K, P, 3)
    lv = np.asarray(lv)
    lo, hi = rm_interval(b, S, K, P, lv, 0.0, method="conditional")
    est, sd = lv @ b[K:], np.sqrt(lv @ S[K:, K:] @ lv)
    assert abs(lo - (est - Z * sd)) < 1e-7 * sd and abs(hi - (est + Z * sd)) < 1e-7 * sd


def test_relative_magnitude_mbar0_hybrid_closed_form():
    """One post-period, M̄ = 0: first stage |β̂ − θ|/σ ≤ c_LF, second stage the normal truncated to
    [0, c_LF] at level (α − κ)/(1 − κ): θ accepted iff |β̂ − θ|/σ ≤ q with
    Φ(q) = Φ(c_LF) − (α − κ)/(1 − κ) (Φ(c_LF) − 1/2)."""
    K, P = 3, 1
    b, S = _problem(K, P, 4)
    lv = np.array([1.0])
    prob = _RMProblem(b, S, K, P, lv, 0.05, "C-LF", 7, 5_000)
    tests = prob.tests(0.0)
    sd = np.sqrt(S[K, K])
    lf = tests[0].lf_cv  # η is in standard-deviation units; every polyhedron shares the draws
    assert all(t.lf_cv == tests[0].lf_cv for t in tests)
    kappa = 0.005
    a_t = (0.05 - kappa) / (1 - kappa)
    q = special.ndtri(special.ndtr(lf) - a_t * (special.ndtr(lf) - 0.5))
    lo, hi = rm_interval(b, S, K, P, lv, 0.0, method="C-LF", seed=7)
    assert abs(lo - (b[K] - q * sd)) < 1e-7 * sd and abs(hi - (b[K] + q * sd)) < 1e-7 * sd
    assert abs(lf - stats.norm.ppf(1 - kappa / 2)) < 0.15  # simulated c_LF near z_{1-κ/2}


@pytest.mark.parametrize("lv", [[0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0]])
@pytest.mark.parametrize("Mbar", [0.5, 1.0])
def test_relative_magnitude_tends_to_the_identified_set(lv, Mbar):
    """As the covariance vanishes the interval shrinks to the identified set, here computed by
    diff-diff's union of linear programmes."""
    dd = pytest.importorskip("diff_diff.honest_did")
    K, P = 4, 4
    b, S = _problem(K, P, 5)
    lv = np.asarray(lv)
    idl, idu = dd._solve_rm_bounds_union(b[:K], b[K:], lv, K, Mbar)
    for method in ("conditional", "C-LF"):
        lo, hi = rm_interval(b, S * 1e-12, K, P, lv, Mbar, method=method)
        assert abs(lo - idl) < 1e-4 and abs(hi - idu) < 1e-4


def test_intervals_widen_with_m_and_breakdown_is_where_zero_enters():
    K, P = 4, 2
    b, S = _problem(K, P, 6)
    b[K:] += 2.0  # an effect clearly away from zero
    lv = np.full(P, 1 / P)
    rm = [rm_interval(b, S, K, P, lv, m) for m in (0, 0.25, 0.5, 1, 2)]
    assert all(a[0] >= c[0] - 1e-9 and a[1] <= c[1] + 1e-9 for a, c in zip(rm[:-1], rm[1:], strict=True))
    for fn in (lambda m: rm_interval(b, S, K, P, lv, m),
               lambda m: flci(b, S, K, P, lv, m)[:2]):
        bd = breakdown_m(fn, m_max=20.0, tol=1e-5)
        assert 0 < bd < 20
        lo, hi = fn(bd)
        assert lo <= 1e-6 <= hi or lo <= 0 <= hi
        lo, hi = fn(bd * (1 - 1e-3))
        assert lo > 0  # just below the breakdown value the interval excludes zero


@pytest.fixture(scope="module")
def mpdta_fit():
    d = pd.read_csv(reference_file("mpdta.csv"))
    d["state"] = d["countyreal"] % 13  # thirteen clusters
    return d, att_gt(d, outcome="lemp", unit="countyreal", time="year", group="first.treat",
                     cluster="state", base_period="universal")


def test_cluster_jackknife_equals_refits_without_each_cluster(mpdta_fit):
    d, res = mpdta_fit
    spec = res.spec("dynamic")
    L, V = cluster_jackknife(res, spec)
    for c, label in enumerate(res.panel.cluster_labels):
        sub = d[d["state"].astype(str) != str(label)]
        r = att_gt(sub, outcome="lemp", unit="countyreal", time="year", group="first.treat",
                   cluster="state", base_period="universal").aggregate("dynamic").tidy()
        r = r[~r["is_overall"]]
        np.testing.assert_allclose(L[c], r["att"].to_numpy(float), atol=1e-12)
    C = len(L)
    full = res.aggregate("dynamic").tidy().query("not is_overall")["att"].to_numpy(float)
    D = L - full
    np.testing.assert_allclose(V, (C - 1) / C * D.T @ D, atol=1e-15)


def test_honest_did_needs_a_universal_base_and_enough_clusters(mpdta_fit):
    d, res = mpdta_fit
    varying = att_gt(d, outcome="lemp", unit="countyreal", time="year", group="first.treat",
                     cluster="state")
    with pytest.raises(SpecificationError, match="universal"):
        honest_did(varying, num_pre=2, num_post=2)
    with pytest.raises(SpecificationError, match="Event times"):
        honest_did(res, num_pre=5, num_post=2)


def test_honest_did_table(mpdta_fit):
    _, res = mpdta_fit
    h = honest_did(res, num_pre=2, num_post=3, m_grid={"relative_magnitude": [0, 0.5, 1],
                                                       "smoothness": [0, 0.01, 0.02]})
    t = h.table
    assert set(t["restriction"]) == {"relative_magnitude", "smoothness"}
    spec, keys, beta = event_study_vector(res, 2, 3)
    assert list(keys) == [-3, -2, 0, 1, 2]
    assert t["estimate"].iloc[0] == pytest.approx(beta[2:].mean())
    for _, g in t.groupby("restriction"):
        assert (np.diff(g["ci_high"] - g["ci_low"]) > -1e-9).all()
        assert g["breakdown_m"].nunique() == 1
    sm0 = t[(t["restriction"] == "smoothness") & (t["m"] == 0)].iloc[0]
    _, V = cluster_jackknife(res, spec)
    pos = np.searchsorted(np.array([float(k) for k in spec.keys]), keys)
    lo, hi, _ = linear_extrapolation_ci(beta, V[np.ix_(pos, pos)], 2, 3, np.full(3, 1 / 3))
    assert (sm0["ci_low"], sm0["ci_high"]) == pytest.approx((lo, hi), abs=1e-12)


# ---- attrition: Lee (2009) bounds ------------------------------------------------------------
def test_trimmed_mean_by_hand():
    from analysis.did.attrition import trimmed_mean

    y = np.arange(10.0)
    # a quarter of the weight off the top: 9 and 8 whole, 7 at half weight
    assert trimmed_mean(y, np.ones(10), 0.25, "top") == pytest.approx(24.5 / 7.5)
    assert trimmed_mean(y, np.ones(10), 0.25, "bottom") == pytest.approx((42 + 2 * 0.5) / 7.5)
    assert trimmed_mean(y, np.ones(10), 0.0, "top") == pytest.approx(4.5)


def _selective_world(drop: float, seed: int = 0) -> pd.DataFrame:
    """Units of two cohorts and never-treated ones; true effect 1 after adoption; after adoption
    the treated units whose own shock is lowest go unobserved (share ``drop``)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(600):
        g = (6, 8, 0)[i % 3]
        alpha = rng.normal(0, 2)
        e = rng.normal(0, 1, 10)
        t = np.arange(10)
        d = (g > 0) & (t >= g)
        y = alpha + 0.3 * t + 1.0 * d + e
        seen = np.ones(10, bool)
        if g > 0:
            seen &= ~(d & (e < np.quantile(rng.normal(0, 1, 100_000), drop)))
        rows.append(pd.DataFrame({"unit": i, "t": t, "g": g, "y": np.where(seen, y, np.nan),
                                  "observed": seen.astype(float), "cl": i % 12}))
    return pd.concat(rows, ignore_index=True)


def test_lee_bounds_cover_the_planted_effect_under_selective_attrition():
    from analysis.did.attrition import lee_bounds

    d = _selective_world(0.25)
    kw = {"unit": "unit", "time": "t", "group": "g", "cluster": "cl",
          "control_group": "nevertreated"}
    res = att_gt(d, outcome="y", **kw)
    obs = att_gt(d, outcome="observed", **kw)
    lb = lee_bounds(res, obs)
    s = lb[lb["key"] == "simple"].iloc[0]
    assert s["att"] > 1.2  # the survivors had good shocks: the naive estimate is biased up
    assert s["attrition"] == pytest.approx(-0.25, abs=0.03)
    assert s["lower"] <= 1.0 <= s["upper"]
    cells = lb[lb["key"] == "cell"]
    assert (cells["trimmed"] == "comparison").all()  # the reform lowers observation
    assert ((cells["lower"] <= cells["att"]) & (cells["att"] <= cells["upper"])).all()


def test_lee_bounds_without_attrition_are_the_estimate():
    from analysis.did.attrition import lee_bounds

    d = _selective_world(0.0)
    kw = {"unit": "unit", "time": "t", "group": "g", "cluster": "cl",
          "control_group": "nevertreated"}
    lb = lee_bounds(att_gt(d, outcome="y", **kw), att_gt(d, outcome="observed", **kw))
    np.testing.assert_allclose(lb["lower"], lb["att"], atol=1e-12)
    np.testing.assert_allclose(lb["upper"], lb["att"], atol=1e-12)
    with pytest.raises(SpecificationError, match="panel cells"):
        dd = d[np.random.default_rng(1).random(len(d)) > 0.05]
        lee_bounds(att_gt(dd, outcome="y", **kw, unbalanced="repeated_cross_section"),
                   att_gt(d, outcome="observed", **kw))


# ---- the build's results --------------------------------------------------------------------
def test_demo_build_writes_the_sensitivity_results(demo):
    """reform_sensitivity.parquet: every outcome, both restrictions, intervals that widen with M
    and a breakdown value consistent with the grid (the grid's intervals exclude zero below it and
    include it from the first grid point above it); reform_pretrends and reform_attrition beside
    it."""
    s = demo.result("reform_sensitivity")
    assert {"outcome", "restriction", "m", "ci_low", "ci_high", "breakdown_m"} <= set(s.columns)
    assert set(s["restriction"]) == {"relative_magnitude", "smoothness"}
    assert s["outcome"].nunique() == 5
    for _, g in s.groupby(["outcome", "restriction"]):
        g = g.sort_values("m")
        assert (np.diff(g["ci_high"] - g["ci_low"]) > -1e-9).all()
        bd = g["breakdown_m"].iloc[0]
        covers = (g["ci_low"] <= 0) & (g["ci_high"] >= 0)
        assert not covers[g["m"] < bd * (1 - 1e-9)].any()
        assert covers[g["m"] > bd * (1 + 1e-3)].all()
    p = demo.result("reform_pretrends")
    assert set(p["test"]) == {"slope", "last_four"}
    assert set(p["inference"]) == {"analytic", "wild_bootstrap", "randomization"}
    a = demo.result("reform_attrition")
    assert set(a["term"]) == {"attrition_simple", "lee_bounds_simple"}
    lee = a[a["term"] == "lee_bounds_simple"]
    assert (lee["lower"] <= lee["estimate"]).all() and (lee["estimate"] <= lee["upper"]).all()
