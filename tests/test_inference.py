"""Few-cluster inference: the one p-value convention and test inversion, weight draws, the
restricted wild cluster bootstrap of CS aggregates (linear-map route vs brute-force re-estimation
on regenerated outcomes), randomisation inference (vectorised route vs re-fitting on permuted
adoption dates, exact enumeration), pre-trend tests, and the layering (``analysis.did`` never
imports ``analysis.inference``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.did import att_gt
from analysis.errors import SpecificationError
from analysis.inference import (
    WEBB_POINTS,
    aggregate,
    invert_test,
    pretrend_test,
    rademacher,
    resampling_pvalue,
    webb,
)
from analysis.inference.multiplier import LinearBootstrap, linear_maps, twfe_residuals
from analysis.inference.randomization import (
    PermutationEstimator,
    assignments,
    n_distinct_assignments,
)


def sim_panel(seed: int = 0, n_counties: int = 7, per: int = 3, T: int = 8, effect: float = 1.0,
              missing: float = 0.1) -> pd.DataFrame:
    """Small staggered county panel with county × period shocks and missing cells."""
    rng = np.random.default_rng(seed)
    adopt = np.array([3, 3, 5, 5, 6, np.nan, np.nan, 4, 7, np.nan][:n_counties], float)
    rows = []
    shock = rng.normal(0, 1.0, (n_counties, T))
    for c in range(n_counties):
        for j in range(per):
            a = rng.normal(0, 2)
            for t in range(T):
                if rng.random() < missing:
                    continue
                d = (not np.isnan(adopt[c])) and t >= adopt[c]
                y = a + 0.3 * t + shock[c, t] + effect * d + rng.normal(0, 1)
                rows.append({"unit": f"c{c}i{j}", "county": f"C{c}", "t": t, "y": y,
                             "g": adopt[c]})
    return pd.DataFrame(rows)


# ---- weights -----------------------------------------------------------------------------
def test_webb_and_rademacher_draws():
    w = webb(np.random.default_rng(1), 11, 60_000)
    assert w.shape == (60_000, 11)
    assert set(np.round(np.unique(w), 12)) == set(np.round(WEBB_POINTS, 12))
    assert abs(w.mean()) < 0.01 and abs(w.var() - 1) < 0.01
    r = rademacher(np.random.default_rng(1), 4, 1000)
    assert r.shape == (1000, 4) and set(np.unique(r)) == {-1.0, 1.0}
    with pytest.raises(SpecificationError):
        webb(np.random.default_rng(1), 0, 10)


# ---- wild bootstrap: linear maps == brute force ------------------------------------------
@pytest.mark.parametrize("kind", ["simple", "dynamic", "group", "calendar"])
def test_wild_bootstrap_linear_maps_match_brute_force(kind):
    d = sim_panel(seed=2)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    spec = res.spec(kind)
    eY, eD = twfe_residuals(res)
    TY, MY = linear_maps(res, spec, eY)
    TD, MD = linear_maps(res, spec, eD)
    C = res.panel.n_clusters
    W = webb(np.random.default_rng(5), C, 3)
    tau0 = 0.7
    j = len(spec.keys)  # the overall aggregate
    lb = LinearBootstrap(TY[:, j], TD[:, j], MY[:, :, j], MD[:, :, j], W, res.panel.n, C / (C - 1))
    fast = lb.tstar(np.array([tau0]))[:, 0]
    p = res.panel
    fitted = p.Y - (eY - tau0 * eD)  # restricted fit: unit + period effects + tau0 * D
    for b in range(W.shape[0]):
        ystar = fitted + W[b, p.cl][:, None] * (eY - tau0 * eD)
        ui, ti = np.nonzero(p.obs)
        long = pd.DataFrame({"unit": p.units[ui], "t": p.times[ti], "y": ystar[ui, ti],
                             "g": p.G[ui], "county": p.cluster_labels[p.cl[ui]]})
        long["g"] = long["g"].replace(np.inf, np.nan)
        r2 = att_gt(long, outcome="y", unit="unit", time="t", group="g", cluster="county")
        o = r2.aggregate(kind).overall()
        assert abs((o["att"] - tau0) / o["std_error"] - fast[b]) < 1e-8


def test_wild_bootstrap_rows_and_interval_contains_estimate():
    d = sim_panel(seed=4)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    t = aggregate(res, "simple", inference=("analytic", "wild_bootstrap"), n_boot=499).tidy()
    wb = t[t["inference"] == "wild_bootstrap"].iloc[0]
    assert wb["ci_low"] < wb["att"] < wb["ci_high"]
    assert 0 <= wb["p_value"] <= 1
    an = t[t["inference"] == "analytic"].iloc[0]
    assert wb["att"] == an["att"]
    # same seed -> same interval; different seed -> (almost surely) different
    t2 = aggregate(res, "simple", inference=("wild_bootstrap",), n_boot=499).tidy().iloc[0]
    assert t2["ci_low"] == wb["ci_low"]


def test_wild_bootstrap_needs_clusters():
    d = sim_panel(seed=4)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g")
    with pytest.raises(SpecificationError, match="cluster"):
        aggregate(res, "simple", inference=("wild_bootstrap",))


# ---- randomisation inference -------------------------------------------------------------
def test_assignments_exact_enumeration():
    labels = np.array([3.0, 3.0, 5.0, np.inf, np.inf])
    assert n_distinct_assignments(labels) == 30
    A, exact = assignments(labels, 999, seed=0)
    assert exact and A.shape == (30, 5)
    assert np.array_equal(A[0], labels)
    assert len({tuple(r) for r in A}) == 30
    A2, exact2 = assignments(labels, 10, seed=0)
    assert not exact2 and A2.shape == (11, 5)


@pytest.mark.parametrize("kind", ["simple", "dynamic", "group", "calendar"])
@pytest.mark.parametrize("control_group", ["notyettreated", "nevertreated"])
def test_permutation_estimator_matches_refit(kind, control_group):
    d = sim_panel(seed=7)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county",
                 control_group=control_group)
    spec = res.spec(kind)
    pe = PermutationEstimator(res)
    rng = np.random.default_rng(11)
    A = np.vstack([pe.gc] + [rng.permutation(pe.gc) for _ in range(3)])
    fast = pe.estimate(A, "Y", spec)
    fastD = pe.estimate(A, "D", spec)
    D_obs = (d["t"] >= d["g"]).astype(float)
    labels = res.panel.cluster_labels
    checked = 0
    for p in range(A.shape[0]):
        gmap = dict(zip(labels, A[p], strict=True))
        dp = d.assign(g=d["county"].map(gmap).replace(np.inf, np.nan))
        for col, got in (("y", fast[p]), ("D", fastD[p])):
            dp2 = dp.assign(D=D_obs.to_numpy())
            r2 = att_gt(dp2, outcome=col, unit="unit", time="t", group="g", cluster="county",
                        control_group=control_group)
            if len(r2.cells) != len(res.cells):
                continue  # a permutation that empties a cell is handled as NaN
            sp2 = r2.spec(kind)
            if sp2.keys != spec.keys:
                continue
            t = r2.aggregate(kind).tidy()
            expect = got[-1:] if kind == "simple" else got  # simple: key row == overall
            np.testing.assert_allclose(expect, t["att"].to_numpy(), atol=1e-10)
            checked += p > 0
    assert checked >= 4  # at least two permuted assignments compared for Y and D


def test_randomization_rows_exact_when_few_assignments():
    d = sim_panel(seed=3, n_counties=5)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    agg = aggregate(res, "simple", inference=("randomization",), n_perm=999)
    row = agg.tidy().iloc[0]
    assert row["inference"] == "randomization"
    assert any("exact enumeration" in n for n in agg.notes)
    # 5 counties with adoption dates {3,3,5,5,6}: 30 assignments, p-value on the 1/30 grid
    assert abs(row["p_value"] * 30 - round(row["p_value"] * 30)) < 1e-9


def test_ri_interval_inverts_the_test():
    """The interval endpoints are where the p-value crosses alpha: just inside is not rejected."""
    d = sim_panel(seed=9)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    row = aggregate(res, "simple", inference=("randomization",), n_perm=299).tidy().iloc[0]
    assert row["ci_low"] < row["att"] < row["ci_high"]
    pe = PermutationEstimator(res)
    A, _ = assignments(pe.gc, 299, seed=0)
    spec = res.spec("simple")
    SY, SD = pe.estimate(A, "Y", spec)[:, -1], pe.estimate(A, "D", spec)[:, -1]

    def p(tau):  # the convention written out: (1 + #{others at least as extreme}) / P
        s = np.abs(SY - tau * SD)
        return (1 + np.sum(s[1:] >= s[0] - 1e-12)) / len(s)

    eps = 1e-4 * (row["ci_high"] - row["ci_low"])
    assert p(row["ci_low"] + eps) > 0.05 and p(row["ci_high"] - eps) > 0.05
    assert p(row["ci_low"] - 10 * eps) <= 0.05 or p(row["ci_high"] + 10 * eps) <= 0.05
    assert row["p_value"] == p(0.0)


def test_ri_needs_cluster_level_adoption():
    d = sim_panel(seed=1)
    d.loc[d["unit"] == "c0i0", "g"] = 6.0  # one unit adopts at another date than its county
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    with pytest.raises(SpecificationError, match="adoption date"):
        aggregate(res, "simple", inference=("randomization",))


def test_pretrend_test_exists_with_few_clusters():
    # 5 clusters, 6 pre-period event times: the clustered covariance is singular, no Wald test
    d = sim_panel(seed=5, n_counties=5)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    pt = pretrend_test(res, n_boot=199, n_perm=199)
    t = pt.tidy().set_index("statistic")
    assert np.isnan(t.loc["wald", "p_value"]) and any("rank" in n for n in pt.notes)
    for s in ("sum_t2", "mean_sq"):
        assert 0 < t.loc[s, "p_value"] <= 1
    # 10 clusters, 6 pre-periods: the Wald test exists and is reported
    d = sim_panel(seed=5, n_counties=10)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    t = pretrend_test(res, n_boot=199, n_perm=199).tidy().set_index("statistic")
    assert 0 < t.loc["wald", "p_value"] <= 1


def test_size_under_null_small_monte_carlo():
    """A quick size check (the full Monte Carlo lives in validation/): under a true null, with
    7 clusters, WCB and RI reject at 10% in roughly 10% of 60 worlds, not the 20%+ that the
    analytic interval reaches in such designs."""
    rej = {"wild_bootstrap": 0, "randomization": 0}
    n = 60
    for s in range(n):
        d = sim_panel(seed=100 + s, effect=0.0, missing=0.0)
        res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
        t = aggregate(res, "simple", inference=("wild_bootstrap", "randomization"), n_boot=199,
                      n_perm=199, seed=s).tidy().set_index("inference")
        for k in rej:
            rej[k] += t.loc[k, "p_value"] <= 0.10
    for k, v in rej.items():
        assert v / n <= 0.2, (k, v / n)


def test_wild_bootstrap_linear_maps_with_covariates_match_brute_force():
    """With outcome-regression adjustment the estimator stays linear in the outcome, so the
    linear-map bootstrap still equals re-estimation on regenerated outcomes."""
    d = sim_panel(seed=12)
    d["x"] = np.random.default_rng(0).normal(size=len(d))
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county",
                 covariates=["x"])
    spec = res.spec("simple")
    eY, eD = twfe_residuals(res)
    TY, MY = linear_maps(res, spec, eY)
    TD, MD = linear_maps(res, spec, eD)
    C = res.panel.n_clusters
    W = webb(np.random.default_rng(2), C, 2)
    lb = LinearBootstrap(TY[:, 1], TD[:, 1], MY[:, :, 1], MD[:, :, 1], W, res.panel.n, C / (C - 1))
    tau0 = -0.4
    fast = lb.tstar(np.array([tau0]))[:, 0]
    p = res.panel
    fitted = p.Y - (eY - tau0 * eD)
    for b in range(2):
        ystar = fitted + W[b, p.cl][:, None] * (eY - tau0 * eD)
        ui, ti = np.nonzero(p.obs)
        long = pd.DataFrame({"unit": p.units[ui], "t": p.times[ti], "y": ystar[ui, ti],
                             "g": np.where(np.isinf(p.G[ui]), np.nan, p.G[ui]),
                             "county": p.cluster_labels[p.cl[ui]], "x": p.X[ui, ti, 0]})
        r2 = att_gt(long, outcome="y", unit="unit", time="t", group="g", cluster="county",
                    covariates=["x"])
        o = r2.aggregate("simple").overall()
        assert abs((o["att"] - tau0) / o["std_error"] - fast[b]) < 1e-8


def test_pretrend_inference_option_selects_rows_and_checks_names():
    """``inference`` runs only the asked tests; an unknown name is refused with the allowed set."""
    rng = np.random.default_rng(3)
    rows = []
    adoption = {c: g for c, g in zip(range(8), [4, 4, 5, 5, 6, 6, np.nan, np.nan], strict=True)}
    for c in range(8):
        for i in range(3):
            for t in range(1, 9):
                rows.append({"unit": c * 10 + i, "county": c, "t": t, "g": adoption[c],
                             "y": rng.normal() + (t >= (adoption[c] or 99)) * 1.0})
    df = pd.DataFrame(rows)
    res = att_gt(df, outcome="y", unit="unit", time="t", group="g", cluster="county")
    only_wcb = pretrend_test(res, inference=("wild_bootstrap",), n_boot=99)
    assert list(only_wcb.tidy()["inference"]) == ["wild_bootstrap"]
    both = pretrend_test(res, inference=("analytic", "randomization"), n_perm=99)
    assert set(both.tidy()["inference"]) == {"analytic", "randomization"}
    with pytest.raises(SpecificationError, match="bootstrap"):
        pretrend_test(res, inference=("bootstrap",))  # type: ignore[arg-type]


# ---- one p-value convention, one test inversion --------------------------------------------
def test_resampling_pvalue_counts_the_observed_statistic():
    draws = np.array([1.0, 2.0, 3.0, 4.0])
    assert resampling_pvalue(2.5, draws) == (1 + 2) / (4 + 1)
    assert resampling_pvalue(10.0, draws) == 1 / 5  # never 0
    assert resampling_pvalue(3.0 + 1e-13, draws) == (1 + 2) / 5  # a tie within 1e-12 counts
    assert resampling_pvalue(1.0, np.array([np.nan, 0.5, 2.0])) == (1 + 1) / 4  # NaN: not extreme
    # vectorised over the trailing axes: one p-value per column
    got = resampling_pvalue(np.array([2.5, 0.0]), np.column_stack([draws, draws]))
    np.testing.assert_array_equal(got, [0.6, 1.0])


def test_invert_test_finds_where_the_pvalue_crosses_alpha():
    est, se = 1.3, 0.4

    def normal_p(tau):
        return 2 * stats.norm.sf(np.abs(est - np.asarray(tau)) / se)

    lo, hi = invert_test(normal_p, est, se, 0.05)
    z = stats.norm.ppf(0.975)
    assert abs(lo - (est - z * se)) < 1e-6 * se and abs(hi - (est + z * se)) < 1e-6 * se
    # a p-value curve that dips below alpha inside the set does not cut the interval short
    dip = lambda tau: np.where(np.abs(np.asarray(tau) - 1.5) < 0.01, 0.0, normal_p(tau))  # noqa: E731
    assert invert_test(dip, est, se, 0.05) == pytest.approx((lo, hi), abs=1e-9)
    assert invert_test(lambda tau: np.ones(len(tau)), est, se, 0.05) == (-np.inf, np.inf)
    assert np.isnan(invert_test(lambda tau: np.zeros(len(tau)), est, se, 0.05)).all()


def test_cs_wild_bootstrap_pvalue_and_interval_follow_the_convention():
    """The CS wild-bootstrap row is (1 + #{|t*| >= |t|}) / (B + 1) of its own draws, and its
    interval ends are where that p-value crosses alpha (rejected just outside, not just inside)."""
    from analysis.inference.weights import draw_weights

    d = sim_panel(seed=6)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    n_boot, seed = 299, 4
    row = aggregate(res, "simple", inference=("wild_bootstrap",), n_boot=n_boot,
                    seed=seed).tidy().iloc[0]
    spec = res.spec("simple")
    eY, eD = twfe_residuals(res)
    TY, MY = linear_maps(res, spec, eY)
    TD, MD = linear_maps(res, spec, eD)
    C = res.panel.n_clusters
    W = draw_weights(np.random.default_rng(seed), C, n_boot)
    lb = LinearBootstrap(TY[:, 1], TD[:, 1], MY[:, :, 1], MD[:, :, 1], W, res.panel.n, C / (C - 1))
    est, se = row["att"], row["std_error"]

    def p(tau):
        tstar = np.abs(lb.tstar(np.array([tau]))[:, 0])
        return (1 + np.sum(tstar >= abs(est - tau) / se - 1e-12)) / (n_boot + 1)

    assert row["p_value"] == p(0.0)
    eps = 1e-5 * se
    for end, inward in ((row["ci_low"], 1.0), (row["ci_high"], -1.0)):
        assert p(end + inward * eps) > 0.05 >= p(end - inward * eps)


def test_analytic_rows_are_the_same_with_or_without_resampling():
    d = sim_panel(seed=8)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    for kind in ("simple", "dynamic", "group", "calendar"):
        alone = res.aggregate(kind).tidy()
        both = aggregate(res, kind, n_boot=99, n_perm=99).tidy()
        pd.testing.assert_frame_equal(both[both["inference"] == "analytic"].reset_index(drop=True),
                                      alone)
        assert list(dict.fromkeys(both["inference"])) == ["analytic", "wild_bootstrap",
                                                          "randomization"]


def test_options_are_checked_against_their_literals():
    d = sim_panel(seed=8)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    with pytest.raises(SpecificationError, match="kind='weekly'"):
        aggregate(res, "weekly")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="'analytic', 'wild_bootstrap', 'randomization'"):
        aggregate(res, "simple", inference=("cluster",))  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="weights='mammen'"):
        aggregate(res, "simple", inference=("wild_bootstrap",),
                  boot_weights="mammen")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="seed"):
        aggregate(res, "simple", seed=1.5)  # type: ignore[arg-type]
