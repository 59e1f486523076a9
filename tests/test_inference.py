"""Few-cluster inference: the one p-value convention and test inversion, weight draws, the
restricted wild cluster bootstrap of CS aggregates (linear-map route vs brute-force re-estimation
on regenerated outcomes, for both restricted models, CV1 and CV3 studentisation, cluster and
subcluster weights), randomisation inference (vectorised route vs re-fitting on permuted
adoption dates, studentised statistic vs re-fitted standard errors, anticipation, exact
enumeration, pre-period balance), t(G−1) critical values, what each aggregate rests on, pre-trend
tests and contrasts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.did import att_gt, contrast_spec
from analysis.errors import SpecificationError
from analysis.inference import (
    WEBB_POINTS,
    WildOptions,
    aggregate,
    aggregate_spec,
    invert_test,
    pretrend_test,
    rademacher,
    resampling_pvalue,
    webb,
)
from analysis.inference.multiplier import bootstrap_keys, group_codes
from analysis.inference.randomization import (
    PermutationEstimator,
    assignments,
    balance_table,
    n_distinct_assignments,
)
from analysis.inference.restricted import restricted_model
from analysis.inference.weights import draw_weights
from analysis.within import demean


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
def _long(p, Y, drop=None, x=None):
    """The panel arrays ``Y`` back in long form (optionally without cluster ``drop``)."""
    ui, ti = np.nonzero(p.obs)
    long = pd.DataFrame({"unit": p.units[ui], "t": p.times[ti], "y": Y[ui, ti],
                         "g": np.where(np.isinf(p.G[ui]), np.nan, p.G[ui]),
                         "county": p.cluster_labels[p.cl[ui]]})
    if x is not None:
        long["x"] = x[ui, ti]
    return long if drop is None else long[long["county"] != drop]


def _refit(p, Y, drop=None, x=None, **kw):
    return att_gt(_long(p, Y, drop, x), outcome="y", unit="unit", time="t", group="g",
                  cluster="county", covariates=["x"] if x is not None else (), **kw)


def _row(agg, key):
    """The estimate of ``key`` in an aggregation (NaN when the key does not exist there)."""
    t = agg.tidy()
    hit = t[t["key"].astype(str) == str(key)]
    return hit["att"].iloc[0] if len(hit) else np.nan


@pytest.mark.parametrize(("model", "studentization", "level"), [
    ("twfe", "cv1", "cluster"), ("cohort_period", "cv1", "cluster"),
    ("cohort_period", "cv3", "cluster"), ("cohort_period", "cv1", "subcluster")])
@pytest.mark.parametrize("kind", ["simple", "dynamic"])
def test_wild_bootstrap_linear_maps_match_brute_force(model, studentization, level, kind):
    """Each bootstrap t statistic equals re-estimating on the regenerated outcome
    ``y* = F + w ⊙ ẽ`` (restricted fit F, restricted residuals ẽ, the same weights), studentised
    by the re-fitted clustered s.e. (CV1) or by re-fitting without each county (CV3); and the
    restricted fit's aggregate is the hypothesised value."""
    d = sim_panel(seed=2)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    p = res.panel
    spec = res.spec(kind)
    opt = WildOptions(model, studentization, level)
    boots = bootstrap_keys(res, spec, n_boot=2, seed=5, options=opt)
    codes, ng = group_codes(res, level)
    W = draw_weights(np.random.default_rng(5), ng, 2, "webb")
    rm = restricted_model(res, spec, model)
    J = len(spec.keys) + 1
    keys = [J - 1] if kind == "simple" else [J - 1, 2, spec.keys.index(1)]
    for j in keys:
        key = "" if kind == "simple" else ("overall" if j == J - 1 else spec.keys[j])
        bt = boots[j]
        tau0 = 0.7 if rm.restricted[j] else 0.0
        E = rm.E0(j) - tau0 * rm.h[j]
        F = p.Y - E
        assert abs(_row(_refit(p, F).aggregate(kind), key) - tau0) < 1e-10
        fast = bt.tstar(np.array([tau0]))[:, 0]
        for b in range(2):
            ystar = F + W[b, codes][:, None] * E
            r2 = _refit(p, ystar)
            a2 = r2.aggregate(kind).tidy()
            hit = a2[a2["key"].astype(str) == str(key)].iloc[0]
            if studentization == "cv1":
                se = hit["std_error"]
            else:
                loo = np.array([_row(_refit(p, ystar, drop=c).aggregate(kind), key)
                                for c in p.cluster_labels])
                C = len(loo)
                se = np.sqrt((C - 1) / C * ((loo - hit["att"]) ** 2).sum())
            assert abs((hit["att"] - tau0) / se - fast[b]) < 1e-8


def test_wild_bootstrap_linear_maps_with_covariates_match_brute_force():
    """With outcome-regression adjustment the estimator stays linear in the outcome, so the
    linear-map bootstrap still equals re-estimation on regenerated outcomes."""
    d = sim_panel(seed=12)
    d["x"] = np.random.default_rng(0).normal(size=len(d))
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county",
                 covariates=["x"])
    p = res.panel
    spec = res.spec("simple")
    bt = bootstrap_keys(res, spec, n_boot=2, seed=2,
                        options=WildOptions("cohort_period", "cv1", "cluster"))[-1]
    W = draw_weights(np.random.default_rng(2), p.n_clusters, 2, "webb")
    rm = restricted_model(res, spec, "cohort_period")
    tau0 = -0.4
    E = rm.E0(1) - tau0 * rm.h[1]
    fast = bt.tstar(np.array([tau0]))[:, 0]
    for b in range(2):
        ystar = p.Y - E + W[b, p.cl][:, None] * E
        o = _refit(p, ystar, x=p.X[:, :, 0]).aggregate("simple").overall()
        assert abs((o["att"] - tau0) / o["std_error"] - fast[b]) < 1e-8


def test_twfe_model_is_the_constant_effect_restriction():
    """``model="twfe"`` restricts to unit and period effects plus τ₀·D: its residuals at τ₀ are
    the two-way demeaned ``y − τ₀ D`` (computed here by the within transformation directly)."""
    d = sim_panel(seed=3)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    p = res.panel
    rm = restricted_model(res, res.spec("simple"), "twfe")
    ui, ti = np.nonzero(p.obs)
    D = (p.times[ti] >= p.G[ui]).astype(float)
    tau0 = 1.3
    direct = demean(p.Y[ui, ti] - tau0 * D, [ui, ti])
    got = (rm.E0(1) - tau0 * rm.h[1])[ui, ti]
    np.testing.assert_allclose(got, direct, atol=1e-8)


def test_cohort_period_model_keeps_heterogeneous_effects_out_of_the_residuals():
    """With effects that differ by cohort and grow with event time and little noise, the
    constant-effect restriction puts the heterogeneity into the bootstrap residuals (wide
    intervals); the saturated model imposes only the tested restriction (narrow ones)."""
    ratios = []
    for s in range(4):
        rng = np.random.default_rng(40 + s)
        d = sim_panel(seed=40 + s, effect=0.0, missing=0.0)
        g = d["g"].to_numpy()
        e = d["t"].to_numpy() - g
        het = np.where(np.isfinite(g) & (e >= 0), (g - 2.0) * (1 + e), 0.0)
        d = d.assign(y=d["y"] * 0.2 + het + rng.normal(0, 0.05, len(d)))
        res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
        w = {}
        for model in ("twfe", "cohort_period"):
            r = aggregate(res, "simple", inference=("wild_bootstrap",), n_boot=199, seed=s,
                          wild_model=model).tidy().iloc[0]
            w[model] = r["ci_high"] - r["ci_low"]
        ratios.append(w["cohort_period"] / w["twfe"])
    assert np.median(ratios) < 0.8, ratios


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
    row = aggregate(res, "simple", inference=("randomization",), n_perm=299,
                    ri_statistic="unstudentized").tidy().iloc[0]
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
    for s in ("sum_t2", "mean_t2"):
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
    d = sim_panel(seed=6)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    n_boot, seed = 299, 4
    row = aggregate(res, "simple", inference=("wild_bootstrap",), n_boot=n_boot,
                    seed=seed).tidy().iloc[0]
    bt = bootstrap_keys(res, res.spec("simple"), n_boot=n_boot, seed=seed)[-1]
    est, se = row["att"], row["std_error"]

    def p(tau):
        tstar = np.abs(bt.tstar(np.array([tau]))[:, 0])
        return (1 + np.sum(tstar >= abs(est - tau) / se - 1e-12)) / (n_boot + 1)

    assert row["p_value"] == p(0.0)
    assert row["detail"] == "twfe, cv3, cluster"
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


# ---- studentised randomisation inference ---------------------------------------------------
@pytest.mark.parametrize("kind", ["simple", "dynamic", "group", "calendar"])
def test_permuted_standard_errors_match_refits(kind):
    """Under permuted assignments the cluster sums of the aggregates' influence functions (from
    county × cell sums only) give the standard errors a re-fit on the permuted adoption dates
    reports; for the observed assignment, the analytic ones."""
    d = sim_panel(seed=7)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county",
                 anticipation=1)
    spec = res.spec(kind)
    pe = PermutationEstimator(res)
    rng = np.random.default_rng(1)
    A = np.vstack([pe.gc] + [rng.permutation(pe.gc) for _ in range(3)])
    est, psi = pe.estimate_psi(A, "Y", spec)
    se = np.sqrt(pe.se_factor * (psi**2).sum(1)) / pe.n
    e0, s0 = res.estimates(spec)
    np.testing.assert_allclose(se[0], s0, atol=1e-12)
    checked = 0
    for p in range(1, A.shape[0]):
        gmap = dict(zip(res.panel.cluster_labels, A[p], strict=True))
        dp = d.assign(g=d["county"].map(gmap).replace(np.inf, np.nan))
        r2 = att_gt(dp, outcome="y", unit="unit", time="t", group="g", cluster="county",
                    anticipation=1)
        if len(r2.cells) != len(res.cells) or r2.spec(kind).keys != spec.keys:
            continue
        e2, s2 = r2.estimates(r2.spec(kind))
        np.testing.assert_allclose(e2, est[p], atol=1e-10)
        np.testing.assert_allclose(s2, se[p], atol=1e-10)
        checked += 1
    assert checked >= 2


def test_studentized_ri_is_the_default_and_differs_from_unstudentized():
    d = sim_panel(seed=9)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    stud = aggregate(res, "simple", inference=("randomization",), n_perm=299)
    raw = aggregate(res, "simple", inference=("randomization",), n_perm=299,
                    ri_statistic="unstudentized")
    assert stud.tidy()["detail"].iloc[0] == "studentized"
    assert raw.tidy()["detail"].iloc[0] == "unstudentized"
    assert stud.tidy()["p_value"].iloc[0] != raw.tidy()["p_value"].iloc[0]
    assert any("Roth & Sant'Anna" in n for n in stud.notes)
    # the studentised p-value written out: |t| of every assignment, t from the permuted s.e.
    pe = PermutationEstimator(res)
    A, _ = assignments(pe.gc, 299, seed=0)
    est, psi = pe.estimate_psi(A, "Y", res.spec("simple"))
    t = est[:, -1] / (np.sqrt(pe.se_factor * (psi[:, :, -1] ** 2).sum(1)) / pe.n)
    assert stud.tidy()["p_value"].iloc[0] == (1 + np.sum(np.abs(t[1:]) >= abs(t[0]) - 1e-12)) / 300
    an = res.aggregate("simple").overall()
    assert abs(t[0] - an["att"] / an["std_error"]) < 1e-10


def test_randomization_honours_anticipation():
    """Effects that start one period before adoption (anticipation=1), no noise: the sharp null
    at the true effect removes them exactly, so every permuted estimate is zero and the true
    effect has p-value 1. Ignoring the anticipation period would leave effects behind."""
    rng = np.random.default_rng(0)
    adopt = {0: 3, 1: 3, 2: 5, 3: 5, 4: 6, 5: np.inf, 6: np.inf}
    rows = []
    for c, g in adopt.items():
        for i in range(3):
            a = rng.normal()
            for t in range(8):
                rows.append({"unit": f"{c}-{i}", "county": c, "t": t,
                             "g": g if np.isfinite(g) else np.nan,
                             "y": a + 0.3 * t + 2.0 * (t >= g - 1)})
    d = pd.DataFrame(rows)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county",
                 anticipation=1)
    spec = res.spec("simple")
    pe = PermutationEstimator(res)
    A, _ = assignments(pe.gc, 999, seed=0)
    z = pe.estimate(A, "Y", spec)[:, -1] - 2.0 * pe.estimate(A, "D", spec)[:, -1]
    assert np.nanmax(np.abs(z)) < 1e-10
    row = aggregate(res, "simple", inference=("randomization",),
                    ri_statistic="unstudentized").tidy().iloc[0]
    assert row["ci_low"] <= 2.0 <= row["ci_high"]


def _timing_panel(seed: int, adopters_slope: float) -> pd.DataFrame:
    """12 counties, five cohorts of two and two never-treated; the adopting counties' outcomes
    rise by ``adopters_slope`` per period, the never-treated counties' do not."""
    rng = np.random.default_rng(seed)
    rows = []
    for c, g in enumerate([4, 4, 5, 5, 6, 6, 7, 7, 8, 8, np.nan, np.nan]):
        slope = adopters_slope if np.isfinite(g) else 0.0
        shock = rng.normal(0, 1, 10)
        for i in range(3):
            a = rng.normal()
            for t in range(10):
                rows.append({"unit": f"{c}-{i}", "county": c, "t": t, "g": g,
                             "y": a + slope * t + shock[t] + rng.normal()})
    return pd.DataFrame(rows)


def test_balance_table_two_routes_and_a_planted_pretrend():
    """The actual placebo is the cohort-share weighted mean, by event time, of the ATT(g,t) of the
    periods before the first adoption, averaged over event times; when the timing of adoption
    goes with pre-period paths (adopting counties rising, never-treated ones flat) the actual
    assignment sits in the tail of the permuted ones."""
    d = sim_panel(seed=5, effect=0.0)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    bal = balance_table(res, n_perm=999).set_index("statistic")
    cells = res.tidy()
    first = d["g"].min()
    clean = cells[(cells["period"] < first) & (cells["base_period"] < first)].copy()
    share = d.drop_duplicates("unit")["g"].value_counts()
    clean["w"] = clean["group"].map(share)
    by_e = clean.groupby("event_time").apply(lambda x: np.average(x["att"], weights=x["w"]),
                                             include_groups=False)
    assert abs(bal.loc["pre_mean", "actual"] - by_e.mean()) < 1e-10
    assert set(bal.index) == {"pre_mean", "pre_mean_t", "pre_mean_t2"}
    assert bal["p_value"].between(0, 1).all()
    assert bal.loc["pre_mean", "n_assignments"] == n_distinct_assignments(
        PermutationEstimator(res).gc)
    hits = 0
    for seed in range(4):
        r = att_gt(_timing_panel(seed, 5.0), outcome="y", unit="unit", time="t", group="g",
                   cluster="county")
        hits += balance_table(r, n_perm=999).set_index("statistic").loc["pre_mean",
                                                                        "p_value"] <= 0.05
    assert hits >= 3
    agg = aggregate(res, "simple", inference=("randomization",), n_perm=999)
    pd.testing.assert_frame_equal(agg.tables()["randomization_balance"], bal.reset_index())


# ---- analytic critical values ----------------------------------------------------------------
def test_analytic_rows_use_t_with_g_minus_1_degrees_of_freedom():
    d = sim_panel(seed=8)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    nor = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county",
                 critical="normal")
    G = res.n_clusters
    for kind in ("simple", "dynamic"):
        a, b = res.aggregate(kind).tidy(), nor.aggregate(kind).tidy()
        np.testing.assert_allclose(a["std_error"], b["std_error"])
        half_t = (a["ci_high"] - a["att"]) / a["std_error"]
        half_z = (b["ci_high"] - b["att"]) / b["std_error"]
        np.testing.assert_allclose(half_t, stats.t.ppf(0.975, G - 1))
        np.testing.assert_allclose(half_z, stats.norm.ppf(0.975))
        np.testing.assert_allclose(a["p_value"], 2 * stats.t.sf(np.abs(a["att"] / a["std_error"]),
                                                               G - 1))
        assert (a["critical"] == "t").all() and (a["df"] == G - 1).all()
        assert (b["critical"] == "normal").all() and np.isinf(b["df"]).all()
    cells = res.tidy()
    np.testing.assert_allclose((cells["ci_high"] - cells["att"]) / cells["std_error"],
                               stats.t.ppf(0.975, G - 1))
    assert any(f"t({G - 1})" in n for n in res.aggregate("simple").notes)
    # resampling rows carry no analytic critical value
    t = aggregate(res, "simple", n_boot=49, n_perm=49).tidy().set_index("inference")
    assert t.loc["wild_bootstrap", "critical"] is None and np.isnan(t.loc["randomization", "df"])
    with pytest.raises(SpecificationError, match="critical"):
        att_gt(d, outcome="y", unit="unit", time="t", group="g", critical="z")


# ---- what each number rests on ---------------------------------------------------------------
def test_treated_and_comparison_counties_by_brute_force():
    d = sim_panel(seed=4, missing=0.3)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    cells = res.tidy()
    wide = d.pivot(index="unit", columns="t", values="y")
    county = d.groupby("unit")["county"].first()
    g = d.groupby("unit")["g"].first().fillna(np.inf)
    for _, c in cells.sample(12, random_state=1).iterrows():
        both = wide[c["period"]].notna() & wide[c["base_period"]].notna()
        tr = both & (g == c["group"])
        ct = both & ((g == np.inf) | ((g > max(c["period"], c["base_period"])) & (g != c["group"])))
        assert c["n_treated_clusters"] == county[tr].nunique()
        assert c["n_comparison_clusters"] == county[ct].nunique()
    # an aggregate's counties are the union over its cells; its fewest is the minimum
    agg = res.aggregate("dynamic").tidy().set_index("key")
    post = cells[cells["event_time"] == 1]
    treated, comparison = res.cell_clusters()
    idx = np.flatnonzero((res.cells.t - res.cells.g) == 1)
    assert agg.loc[1, "n_treated_clusters"] == treated[idx].any(0).sum()
    assert agg.loc[1, "n_comparison_clusters"] == comparison[idx].any(0).sum()
    assert agg.loc[1, "min_comparison_clusters"] == post["n_comparison_clusters"].min()


def test_few_comparison_warning_and_headline_window():
    """Late event times compared with the two never-treated counties only are flagged, with the
    share of weight they carry; the headline window stops before them."""
    d = sim_panel(seed=1, n_counties=7, missing=0.0)  # cohorts 3,3,5,5,6; two never treated
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    dyn = res.aggregate("dynamic").tidy().set_index("key")
    # from t = 6 on nobody is "not yet treated": event time 4 (t = 7 for cohort 3) uses only the
    # two never-treated counties
    assert dyn.loc[4, "n_comparison_clusters"] == 2
    assert dyn.loc[4, "few_comparison_weight"] == 1.0
    assert "fewer than 3 comparison counties" in dyn.loc[4, "comparison_warning"]
    assert dyn.loc[0, "n_comparison_clusters"] >= 3
    E = res.headline_window()
    assert E is not None
    for e in range(E + 1):
        spec = res.spec("dynamic", balance_e=E, min_e=0, max_e=E)
        assert res.support(spec)["n_comparison_clusters"].iloc[e] >= 3
    spec = res.spec("dynamic", balance_e=E + 1, min_e=0, max_e=E + 1)
    sup = res.support(spec)["n_comparison_clusters"].iloc[:-1]
    assert len(sup) < E + 2 or (sup < 3).any()


# ---- contrasts and the cluster-level influence functions -----------------------------------
def test_contrast_spec_is_tested_like_an_aggregate():
    """A contrast of the pre-period event-time ATTs: its estimate is Σ c_e θ_e, its analytic s.e.
    sqrt(c'Vc) from the keys' cluster sums, and the resampling rows test it as a pre-period null."""
    d = sim_panel(seed=3)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    base = res.spec("dynamic", max_e=-1)
    e = np.array([float(k) for k in base.keys])
    c = (e - e.mean()) / ((e - e.mean()) ** 2).sum()  # the OLS slope of θ_e on e
    spec = contrast_spec(base, c, name="slope")
    est, se = res.estimates(spec)
    assert abs(est[-1] - c @ est[:-1]) < 1e-12
    psi = res.aggregate_psi(spec, res.att[None], res.inf[None])[0]
    C = res.n_clusters
    V = C / (C - 1) * psi[:, :-1].T @ psi[:, :-1] / res.panel.n**2
    assert abs(se[-1] - np.sqrt(c @ V @ c)) < 1e-12
    assert spec.pre[-1]
    t = aggregate_spec(res, spec, n_boot=99, n_perm=99).tidy()
    slope = t[t["key"] == "slope"].set_index("inference")
    assert set(slope.index) == {"analytic", "wild_bootstrap", "randomization"}
    assert slope["p_value"].between(0, 1).all()
    with pytest.raises(SpecificationError, match="one finite number per key"):
        contrast_spec(base, c[:-1])


@pytest.mark.parametrize("kind", ["simple", "dynamic", "group", "calendar"])
@pytest.mark.parametrize("cluster", ["county", None])
def test_cluster_level_influence_equals_summed_unit_level(kind, cluster):
    from analysis.did import aggregate_influence, group_shares

    d = sim_panel(seed=2)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster=cluster)
    spec = res.spec(kind)
    pgg = None
    if spec.overall == "pgg":
        pgg = group_shares(res.panel.G, res.panel.w, np.asarray(spec.key_groups, float))
    kif, oif = aggregate_influence(spec, res.att[None], res.inf[None], res.panel.G, res.panel.w,
                                   res.cells, res.cohort_shares(), pgg)
    unit_level = res.psi(np.concatenate([kif, oif[:, :, None]], axis=2))
    np.testing.assert_allclose(res.aggregate_psi(spec, res.att[None], res.inf[None]), unit_level,
                               atol=1e-12)


def test_wild_options_are_checked():
    d = sim_panel(seed=8)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    with pytest.raises(SpecificationError, match="studentization='cv2'"):
        aggregate(res, "simple", studentization="cv2")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="wild_model"):
        aggregate(res, "simple", wild_model="ols")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="ri_statistic"):
        aggregate(res, "simple", ri_statistic="t")  # type: ignore[arg-type]


def test_cv3_falls_back_to_cv1_where_the_jackknife_does_not_exist():
    """An event time observed for one county only has no delete-one-county estimate: its row is
    studentised by CV1 and says so; the others carry the jackknife standard error."""
    d = sim_panel(seed=2)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")
    t = aggregate(res, "dynamic", inference=("analytic", "wild_bootstrap"), n_boot=99,
                  wild_model="twfe", studentization="cv3").tidy()
    an = t[t["inference"] == "analytic"].set_index("key")
    wb = t[t["inference"] == "wild_bootstrap"].set_index("key")
    alone = wb["detail"].str.contains("no cv3")
    assert alone.any() and (~alone).any()
    np.testing.assert_allclose(wb.loc[alone, "std_error"], an.loc[alone[alone].index, "std_error"])
    assert (wb.loc[~alone, "detail"] == "twfe, cv3, cluster").all()
    # the jackknife s.e. of a key that has one, by re-fitting without each county
    key = 1
    loo = np.array([_row(_refit(res.panel, res.panel.Y, drop=c).aggregate("dynamic"), key)
                    for c in res.panel.cluster_labels])
    C = len(loo)
    cv3 = np.sqrt((C - 1) / C * ((loo - an.loc[key, "att"]) ** 2).sum())
    assert abs(wb.loc[key, "std_error"] - cv3) < 1e-10
