"""Callaway–Sant'Anna against outside references: R ``did`` 2.5.0 on mpdta (every ATT(g,t),
aggregation and analytic standard error; never-treated and not-yet-treated comparisons, and the
outcome-regression scenario with ``lpop``), ``csdid`` on the demo world's county panel, and the
unbalanced-panel and anticipation options against ``diff-diff`` and ``csdid`` where each follows
R's rules."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file

from analysis.did import att_gt
from analysis.errors import SpecificationError
from analysis.inference import aggregate

SCENARIOS = {"mpdta_nev_dr": "nevertreated", "mpdta_nyt_dr": "notyettreated",
             "mpdta_nev_reg_cov": "nevertreated"}
COVARIATES = {"mpdta_nev_reg_cov": ["lpop"]}
TOL = 1e-9


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(reference_file("mpdta.csv"))


def _fit(mpdta, scenario):
    return att_gt(mpdta, outcome="lemp", unit="countyreal", time="year", group="first.treat",
                  control_group=SCENARIOS[scenario], covariates=COVARIATES.get(scenario, ()))


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_attgt_matches_r_did(mpdta, scenario):
    ref = pd.read_csv(reference_file("mpdta_r_did_attgt.csv"))
    ref = ref[ref["scenario"] == scenario]
    got = _fit(mpdta, scenario).tidy()
    m = got.merge(ref, left_on=["group", "period"], right_on=["group", "t"], validate="1:1")
    assert len(m) == len(ref) == 12
    np.testing.assert_allclose(m["att_x"], m["att_y"], atol=TOL, rtol=0)
    np.testing.assert_allclose(m["std_error"], m["se"], atol=TOL, rtol=0)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("kind", ["simple", "group", "dynamic", "calendar"])
def test_aggte_matches_r_did(mpdta, scenario, kind):
    ref = pd.read_csv(reference_file("mpdta_r_did_aggte.csv"))
    ref = ref[(ref["scenario"] == scenario) & (ref["type"] == kind)]
    agg = _fit(mpdta, scenario).aggregate(kind).tidy()
    overall = agg[agg["is_overall"]].iloc[0]
    assert abs(overall["att"] - ref["overall_att"].iloc[0]) < TOL
    assert abs(overall["std_error"] - ref["overall_se"].iloc[0]) < TOL
    if kind != "simple":
        keys = agg[~agg["is_overall"]].assign(key=lambda d: d["key"].astype(float))
        m = keys.merge(ref, left_on="key", right_on="egt", validate="1:1")
        assert len(m) == len(ref)
        np.testing.assert_allclose(m["att"], m["att_egt"], atol=TOL, rtol=0)
        np.testing.assert_allclose(m["std_error"], m["se_egt"], atol=TOL, rtol=0)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_normal_critical_values_reproduce_r_did_intervals(mpdta, scenario):
    """``critical="normal"`` gives R ``did``'s analytic intervals and p-values exactly
    (``att ± qnorm(0.975)·se``, ``2Φ(−|att/se|)`` of its own att and se), for the ATT(g,t) and the
    overall of every aggregation; the default t(G − 1) only widens them (``G`` = 500 counties,
    each its own cluster here, so by 0.3%)."""
    from scipy import stats

    z = stats.norm.ppf(0.975)
    ref = pd.read_csv(reference_file("mpdta_r_did_attgt.csv"))
    ref = ref[ref["scenario"] == scenario]
    kw = dict(outcome="lemp", unit="countyreal", time="year", group="first.treat",
              control_group=SCENARIOS[scenario], covariates=COVARIATES.get(scenario, ()))
    res = att_gt(mpdta, critical="normal", **kw)
    m = res.tidy().merge(ref, left_on=["group", "period"], right_on=["group", "t"])
    np.testing.assert_allclose(m["ci_low"], m["att_y"] - z * m["se"], atol=TOL, rtol=0)
    np.testing.assert_allclose(m["ci_high"], m["att_y"] + z * m["se"], atol=TOL, rtol=0)
    np.testing.assert_allclose(m["p_value"], 2 * stats.norm.sf(np.abs(m["att_y"] / m["se"])),
                               atol=TOL, rtol=0)
    agg_ref = pd.read_csv(reference_file("mpdta_r_did_aggte.csv"))
    for kind in ("simple", "group", "dynamic", "calendar"):
        r = agg_ref[(agg_ref["scenario"] == scenario) & (agg_ref["type"] == kind)].iloc[0]
        o = res.aggregate(kind).overall()
        assert abs(o["ci_low"] - (r["overall_att"] - z * r["overall_se"])) < TOL
        assert abs(o["ci_high"] - (r["overall_att"] + z * r["overall_se"])) < TOL
        assert o["critical"] == "normal"
    t = att_gt(mpdta, **kw).aggregate("simple").overall()
    n = mpdta["countyreal"].nunique()
    assert t["df"] == n - 1
    assert abs((t["ci_high"] - t["att"]) / t["std_error"] - stats.t.ppf(0.975, n - 1)) < 1e-12


def test_balance_e_window(mpdta):
    """Balanced event-time window: only cohorts observed for e = 0..1 enter (R did's balance_e)."""
    res = _fit(mpdta, "mpdta_nev_dr")
    agg = res.aggregate("dynamic", balance_e=1).tidy()
    keys = agg.loc[~agg["is_overall"], "key"].astype(int).tolist()
    assert max(keys) == 1
    # cohort 2007 has no e = 1 in the window, so it drops out: e = 0 averages cohorts 2004, 2006
    t = res.tidy()
    sub = t[(t["event_time"] == 0) & (t["group"] < 2007)]
    n = mpdta.drop_duplicates("countyreal")["first.treat"].value_counts()
    w = sub["group"].map(n)
    e0 = agg.loc[agg["key"] == 0, "att"].iloc[0]
    assert abs(e0 - np.average(sub["att"], weights=w)) < 1e-12


def test_invariant_to_row_order_and_unit_labels(mpdta):
    base = _fit(mpdta, "mpdta_nyt_dr").aggregate("dynamic").tidy()
    ids = mpdta["countyreal"].unique()
    relabel = dict(zip(ids, np.random.default_rng(3).permutation(len(ids)).astype(str),
                       strict=True))
    shuffled = mpdta.sample(frac=1.0, random_state=3).assign(
        countyreal=lambda d: "u" + d["countyreal"].map(relabel))
    other = att_gt(shuffled, outcome="lemp", unit="countyreal", time="year", group="first.treat",
                   control_group="notyettreated").aggregate("dynamic").tidy()
    np.testing.assert_allclose(base["att"], other["att"], atol=1e-12)
    np.testing.assert_allclose(base["std_error"], other["std_error"], atol=1e-12)


def test_unbalanced_panel_uses_pairwise_units(mpdta):
    """Dropping one unit-year changes only the cells that use that year for that unit's cohort."""
    d = mpdta[~((mpdta["countyreal"] == mpdta["countyreal"].iloc[0]) & (mpdta["year"] == 2005))]
    res = att_gt(d, outcome="lemp", unit="countyreal", time="year", group="first.treat",
                 control_group="nevertreated").tidy()
    # brute force for cell (g=2007, t=2006): base 2005, treated cohort 2007, never-treated controls
    w = d.pivot(index="countyreal", columns="year", values="lemp")
    g = mpdta.drop_duplicates("countyreal").set_index("countyreal")["first.treat"]
    dy = (w[2006] - w[2005]).dropna()
    exp = dy[g.loc[dy.index] == 2007].mean() - dy[g.loc[dy.index] == 0].mean()
    got = res[(res["group"] == 2007) & (res["period"] == 2006)]["att"].iloc[0]
    assert abs(got - exp) < 1e-12


def test_bad_options_raise(mpdta):
    with pytest.raises(SpecificationError, match="control_group"):
        att_gt(mpdta, outcome="lemp", unit="countyreal", time="year", group="first.treat",
               control_group="never")
    with pytest.raises(SpecificationError, match="not in the data"):
        att_gt(mpdta, outcome="nope", unit="countyreal", time="year", group="first.treat")
    with pytest.raises(SpecificationError, match="balance_e"):
        _fit(mpdta, "mpdta_nev_dr").aggregate("group", balance_e=1)


def test_matches_csdid_on_demo_county_panel(demo):
    """Independent implementation: csdid (Python port of R did) on the demo world's balanced
    county × quarter panel of eligible institutions' mean environment score."""
    csdid = pytest.importorskip("csdid.att_gt")
    from analysis.reform import county_panel, reform_attgt, reform_data

    d = county_panel(reform_data(demo.panel, "environment_score"), "environment_score")
    d = d.assign(gname=d["adoption_t"].fillna(0).astype(int),
                 idn=pd.factorize(d["county_code"])[0] + 1)
    assert d.groupby("county_code")["t"].nunique().eq(d["t"].nunique()).all()  # balanced
    ours = reform_attgt(demo.panel, outcome="environment_score", level="county").tidy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = csdid.ATTgt(yname="environment_score", tname="t", idname="idn", gname="gname",
                        data=d, control_group="notyettreated").fit(est_method="dr", bstrap=False)
    theirs = pd.DataFrame({"group": m.results["group"], "period": m.results["year"],
                           "att": m.results["att"], "se": m.results["se"]})
    mm = ours.merge(theirs, on=["group", "period"], how="inner", validate="1:1")
    assert len(mm) == len(ours)
    np.testing.assert_allclose(mm["att_x"], mm["att_y"], atol=1e-9)
    # csdid's analytic s.e. is clustered by unit (= county here) without the G/(G-1) factor
    C = d["county_code"].nunique()
    ok = mm["se"].notna()
    np.testing.assert_allclose(mm.loc[ok, "std_error"], mm.loc[ok, "se"] * np.sqrt(C / (C - 1)),
                               rtol=1e-7)


def test_anticipation_cell_by_brute_force(mpdta):
    """anticipation=1: cohort 2007's post cells use base 2005 and controls untreated by t+1."""
    res = att_gt(mpdta, outcome="lemp", unit="countyreal", time="year", group="first.treat",
                 control_group="notyettreated", anticipation=1).tidy()
    w = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    g = mpdta.drop_duplicates("countyreal").set_index("countyreal")["first.treat"]
    # cell g=2006, t=2005 (an anticipation period): base 2004, controls: never or G > 2005 + 1
    dy = w[2005] - w[2004]
    ctrl = (g == 0) | ((g > 2006) & (g != 2006))
    exp = dy[g == 2006].mean() - dy[ctrl].mean()
    got = res[(res["group"] == 2006) & (res["period"] == 2005)]
    assert got["base_period"].iloc[0] == 2004
    assert abs(got["att"].iloc[0] - exp) < 1e-12


def test_integer_weights_equal_duplicated_units(mpdta):
    rng = np.random.default_rng(0)
    wts = pd.Series(rng.integers(1, 4, mpdta["countyreal"].nunique()),
                    index=mpdta["countyreal"].unique())
    d = mpdta.assign(w=mpdta["countyreal"].map(wts))
    a = att_gt(d, outcome="lemp", unit="countyreal", time="year", group="first.treat",
               weights="w").aggregate("dynamic").tidy()
    dup = pd.concat([mpdta[mpdta["countyreal"].map(wts) > k].assign(
        countyreal=lambda x, k=k: x["countyreal"] * 10 + k) for k in range(3)])
    b = att_gt(dup, outcome="lemp", unit="countyreal", time="year",
               group="first.treat").aggregate("dynamic").tidy()
    np.testing.assert_allclose(a["att"], b["att"], atol=1e-12)


def test_covariates_refuse_randomization(mpdta):
    res = _fit(mpdta, "mpdta_nev_reg_cov")
    with pytest.raises(SpecificationError, match="covariates"):
        aggregate(res, "simple", inference=("randomization",))


# ---- unbalanced panels and anticipation against second implementations ----------------------
# diff-diff 3.13 follows R did's anticipation rule (the pre/post split is t < g; inside the
# anticipation window the varying base is t - 1) and its repeated-cross-section estimator for
# allow_unbalanced_panel=TRUE, but has no "drop units" mode (an unbalanced panel is differenced
# cell by cell, our "pairwise"); its repeated-cross-section s.e. carries the CR1 factor
# sqrt(n/(n-1)), n counting every unit of the input (those the anticipation rule drops included).
# csdid 0.4.3 follows R did's "drop units" default and its repeated-cross-section estimator, but
# not its anticipation window (csdid uses the base g - 1 - anticipation there) nor its universal
# base period (its pre-period cells are those of the varying base, relabelled).
DD_CONTROL = {"nevertreated": "never_treated", "notyettreated": "not_yet_treated"}


@pytest.fixture(scope="module")
def mpdta_holes(mpdta) -> pd.DataFrame:
    """mpdta with about 15% of the unit-years missing."""
    rng = np.random.default_rng(1)
    return mpdta[rng.random(len(mpdta)) > 0.15].reset_index(drop=True)


def _diff_diff(data, control_group, base_period, anticipation, allow_unbalanced_panel=False):
    dd = pytest.importorskip("diff_diff")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = dd.CallawaySantAnna(control_group=DD_CONTROL[control_group], base_period=base_period,
                                anticipation=anticipation,
                                allow_unbalanced_panel=allow_unbalanced_panel).fit(
            data, outcome="lemp", unit="countyreal", time="year", first_treat="first.treat")
    return pd.DataFrame([{"group": g, "period": t, "att_ref": v["effect"], "se_ref": v["se"]}
                         for (g, t), v in m.group_time_effects.items()])


def _csdid(data, control_group, base_period, anticipation, allow_unbalanced_panel):
    csdid = pytest.importorskip("csdid.att_gt")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        m = csdid.ATTgt(yname="lemp", tname="year", idname="countyreal", gname="first.treat",
                        data=data, control_group=control_group, base_period=base_period,
                        anticipation=anticipation,
                        allow_unbalanced_panel=allow_unbalanced_panel).fit(est_method="dr",
                                                                           bstrap=False)
    return pd.DataFrame({"group": m.results["group"], "period": m.results["year"],
                         "att_ref": m.results["att"], "se_ref": m.results["se"]})


def _merged(ours: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    """Our cells beside the reference's; every cell we estimate must be there (the reference may
    list cohorts it cannot estimate as missing)."""
    m = ours.merge(ref, on=["group", "period"], how="left", validate="1:1")
    assert m["att_ref"].notna().all(), m[m["att_ref"].isna()]
    assert ref["att_ref"].notna().sum() == len(ours)
    return m


@pytest.mark.parametrize("anticipation", [1, 2])
@pytest.mark.parametrize("base_period", ["varying", "universal"])
@pytest.mark.parametrize("control_group", ["nevertreated", "notyettreated"])
def test_anticipation_matches_diff_diff(mpdta, anticipation, base_period, control_group):
    ours = att_gt(mpdta, outcome="lemp", unit="countyreal", time="year", group="first.treat",
                  control_group=control_group, base_period=base_period,
                  anticipation=anticipation).tidy()
    m = _merged(ours, _diff_diff(mpdta, control_group, base_period, anticipation))
    np.testing.assert_allclose(m["att"], m["att_ref"], atol=TOL, rtol=0)
    ok = ~ours["base_period"].eq(ours["period"]).to_numpy()  # the universal base's reference
    np.testing.assert_allclose(m.loc[ok, "std_error"], m.loc[ok, "se_ref"], atol=TOL, rtol=0)


@pytest.mark.parametrize("anticipation", [0, 1])
@pytest.mark.parametrize("base_period", ["varying", "universal"])
@pytest.mark.parametrize("control_group", ["nevertreated", "notyettreated"])
def test_repeated_cross_section_matches_diff_diff(mpdta_holes, anticipation, base_period,
                                                  control_group):
    ours = att_gt(mpdta_holes, outcome="lemp", unit="countyreal", time="year",
                  group="first.treat", control_group=control_group, base_period=base_period,
                  anticipation=anticipation, unbalanced="repeated_cross_section")
    assert ours.panel.unbalanced == "repeated_cross_section"
    t = ours.tidy()
    m = _merged(t, _diff_diff(mpdta_holes, control_group, base_period, anticipation,
                              allow_unbalanced_panel=True))
    np.testing.assert_allclose(m["att"], m["att_ref"], atol=TOL, rtol=0)
    ok = ~t["base_period"].eq(t["period"]).to_numpy()
    n = mpdta_holes["countyreal"].nunique()
    np.testing.assert_allclose(m.loc[ok, "std_error"] * np.sqrt(n / (n - 1)),
                               m.loc[ok, "se_ref"], atol=TOL, rtol=0)


@pytest.mark.parametrize("anticipation", [0, 1])
@pytest.mark.parametrize("unbalanced", ["drop_units", "repeated_cross_section"])
@pytest.mark.parametrize("control_group", ["nevertreated", "notyettreated"])
def test_unbalanced_modes_match_csdid(mpdta_holes, anticipation, unbalanced, control_group):
    """Varying base with anticipation 0 and 1 (where csdid's anticipation window coincides with
    R's: with one period of anticipation t - 1 = g - 1 - anticipation). Cells, every aggregate
    and its overall, estimates and analytic standard errors."""
    res = att_gt(mpdta_holes, outcome="lemp", unit="countyreal", time="year",
                 group="first.treat", control_group=control_group, anticipation=anticipation,
                 unbalanced=unbalanced)
    ref = _csdid(mpdta_holes, control_group, "varying", anticipation,
                 allow_unbalanced_panel=unbalanced == "repeated_cross_section")
    m = _merged(res.tidy(), ref)
    np.testing.assert_allclose(m["att"], m["att_ref"], atol=TOL, rtol=0)
    np.testing.assert_allclose(m["std_error"], m["se_ref"], atol=TOL, rtol=0)


@pytest.mark.parametrize("unbalanced", ["drop_units", "repeated_cross_section"])
@pytest.mark.parametrize("kind", ["simple", "dynamic", "group", "calendar"])
def test_unbalanced_aggregates_match_csdid(mpdta_holes, unbalanced, kind):
    csdid = pytest.importorskip("csdid.att_gt")
    res = att_gt(mpdta_holes, outcome="lemp", unit="countyreal", time="year",
                 group="first.treat", control_group="notyettreated", unbalanced=unbalanced)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        m = csdid.ATTgt(yname="lemp", tname="year", idname="countyreal", gname="first.treat",
                        data=mpdta_holes, control_group="notyettreated",
                        allow_unbalanced_panel=unbalanced == "repeated_cross_section").fit(
            est_method="dr", bstrap=False)
        m.aggte(typec=kind, bstrap=False)
    overall = res.aggregate(kind).tidy().query("is_overall").iloc[0]
    assert abs(overall["att"] - m.atte["overall_att"]) < TOL
    assert abs(overall["std_error"] - m.atte["overall_se"]) < TOL
