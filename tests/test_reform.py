"""County-management reform: planted effects of the demo world recovered, placebo, Bacon
decomposition exactness (two routes to the TWFE coefficient), triple difference, results files
(t(G−1) analytic rows, the counties behind each estimate, the headline balanced window, the
pre-period balance of randomisation inference)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analysis import reform
from analysis.domain import ALL_OUTCOMES, period_to_t
from analysis.errors import SpecificationError
from analysis.within import fe_ols

SCORES = ("environment_score", "service_score", "happiness_score", "safety_hazards")
METHODS = ("analytic", "wild_bootstrap", "randomization")


@pytest.fixture(scope="module")
def agg(demo) -> pd.DataFrame:
    return demo.result("reform_aggregate")


@pytest.fixture(scope="module")
def diag(demo) -> pd.DataFrame:
    return demo.result("reform_diagnostics")


def test_results_files_columns_and_labels(demo, agg, diag):
    attgt = demo.result("reform_attgt")
    for col in ("outcome", "group", "period", "att", "std_error", "n_clusters", "warning"):
        assert col in attgt.columns
    assert set(attgt["outcome"]) == set(ALL_OUTCOMES)
    assert attgt["group"].str.fullmatch(r"\d{4}Q[1-4]").all()
    assert attgt["period"].str.fullmatch(r"\d{4}Q[1-4]").all()
    for col in ("outcome", "aggregation", "key", "att", "std_error", "ci_low", "ci_high",
                "p_value", "inference", "n_clusters", "warning"):
        assert col in agg.columns
    assert set(agg["aggregation"]) == {"simple", "dynamic", "group", "calendar",
                                       "dynamic_balanced"}
    assert set(agg["inference"]) == set(METHODS)
    assert (agg.loc[agg["aggregation"] == "simple", "key"] == "").all()
    g = agg.loc[(agg["aggregation"] == "group") & (agg["key"] != "overall"), "key"]
    assert g.map(lambda k: bool(re.fullmatch(r"\d{4}Q[1-4]", k))).all()
    assert (agg["n_clusters"] == 11).all()
    assert agg["warning"].str.contains("Only 11 counties").all()
    assert {"pretrend", "twfe_static", "twfe_event", "bacon", "triple_difference",
            "placebo_ineligible"} <= set(diag["diagnostic"])


@pytest.mark.parametrize("outcome", SCORES)
def test_planted_simple_att_inside_few_cluster_intervals(agg, truth, outcome):
    planted = truth["reform"]["att_simple"][outcome]
    s = agg[(agg["outcome"] == outcome) & (agg["aggregation"] == "simple")].set_index("inference")
    for m in METHODS:
        assert s.loc[m, "ci_low"] <= planted <= s.loc[m, "ci_high"], (m, s.loc[m].to_dict())


def test_planted_event_time_effects_coverage(agg, truth):
    """Event times 0..7 of the four scores (32 intervals per method): at 95% a miss or two is
    expected; many misses would mean the intervals are too short."""
    d = agg[agg["aggregation"] == "dynamic"]
    for m in ("wild_bootstrap", "randomization"):
        hits, n = 0, 0
        for y in SCORES:
            for e in range(8):
                r = d[(d["outcome"] == y) & (d["key"] == str(e)) & (d["inference"] == m)].iloc[0]
                planted = truth["reform"]["att_by_event_time"][y][str(e)]
                hits += r["ci_low"] <= planted <= r["ci_high"]
                n += 1
        assert hits / n >= 0.85, (m, hits, n)


@pytest.mark.parametrize("method", ["wild_bootstrap", "randomization"])
def test_placebo_on_ineligible_not_significant_familywise(diag, method):
    """Ineligible institutions were never treated (TRUTH: att_ineligible = 0): the placebo's
    few-cluster tests, Holm-adjusted over the five outcomes, do not reject."""
    p = diag[(diag["diagnostic"] == "placebo_ineligible") & (diag["term"] == "simple")
             & (diag["inference"] == method)]
    assert len(p) == len(ALL_OUTCOMES)
    ps = np.sort(p["p_value"].to_numpy())
    holm = np.maximum.accumulate(ps * (len(ps) - np.arange(len(ps))))
    assert (holm > 0.05).all(), p[["outcome", "estimate", "p_value"]]


@pytest.mark.parametrize("kind", ["group", "calendar"])
def test_planted_group_and_calendar_effects_coverage(agg, truth, kind):
    """TRUTH.json's planted cohort and calendar aggregations inside the few-cluster intervals
    (at least 85% of them; 95% nominal)."""
    planted = truth["reform"][f"att_{kind}"]
    d = agg[(agg["aggregation"] == kind) & agg["outcome"].isin(SCORES)]
    d = d.assign(truth=[planted.get(o, {}).get(k) for o, k in zip(d["outcome"], d["key"],
                                                                   strict=True)])
    d = d[d["truth"].notna()]
    assert len(d) > 3 * 4 * 5
    for m in ("wild_bootstrap", "randomization"):
        s = d[d["inference"] == m]
        cover = ((s["ci_low"] <= s["truth"]) & (s["truth"] <= s["ci_high"])).mean()
        assert cover >= 0.85, (m, cover)


def test_pretrend_tests_exist_and_do_not_reject_planted_parallel_trends(diag):
    pt = diag[diag["diagnostic"] == "pretrend"]
    for m in ("wild_bootstrap", "randomization"):
        ps = pt.loc[pt["inference"] == m, "p_value"]
        assert len(ps) == len(ALL_OUTCOMES) and ps.between(0, 1).all()
        assert (ps > 0.01).all()


@pytest.mark.parametrize("outcome", ["environment_score", "composite"])
def test_bacon_weights_sum_back_to_twfe_exactly(demo, outcome):
    b = reform.reform_bacon(demo.panel, outcome=outcome)
    t = b.tidy()
    assert abs(t["weight"].sum() - 1) < 1e-12
    assert abs((t["weight"] * t["estimate"]).sum() - b.twfe_coef) < 1e-10
    # second route: the static TWFE by the within estimator on the same county panel
    c = reform.county_panel(reform.reform_data(demo.panel, outcome), outcome)
    c = c.assign(D=(c["t"] >= c["adoption_t"]).astype(float))
    r = fe_ols(c, y=outcome, x=["D"], fe=["county_code", "t"])
    assert abs(r.coef[0] - b.twfe_coef) < 1e-9


def test_bacon_with_always_treated_and_no_never_treated():
    rng = np.random.default_rng(0)
    rows = []
    for u, g in enumerate([0, 0, 3, 3, 5, 6, 6, 6]):  # g=0 adopts in the first period
        for t in range(8):
            rows.append({"u": u, "t": t, "g": g, "y": rng.normal() + (t >= g) * (1 + 0.5 * t)})
    d = pd.DataFrame(rows)
    b = reform.bacon_decomposition(d.assign(g=d["g"].replace(0, -1)), outcome="y", unit="u",
                                   time="t", group="g")
    t = b.tidy()
    assert abs(t["weight"].sum() - 1) < 1e-12
    assert abs((t["weight"] * t["estimate"]).sum() - b.twfe_coef) < 1e-10
    with pytest.raises(SpecificationError, match="balanced"):
        reform.bacon_decomposition(d.iloc[1:], outcome="y", unit="u", time="t", group="g")


def _mini_panel(seed: int, shock_sd: float = 3.0) -> pd.DataFrame:
    """Panel-shaped data: 8 counties, eligible and ineligible institutions sharing large
    county × quarter shocks; the reform adds 2.0 to eligible institutions after adoption."""
    rng = np.random.default_rng(seed)
    adopt = [8082, 8082, 8084, 8084, 8086, 8086, np.nan, np.nan]
    ts = np.arange(8076, 8092)
    rows = []
    for c, a in enumerate(adopt):
        shock = rng.normal(0, shock_sd, len(ts))
        for i in range(6):
            elig = i < 3
            alpha = rng.normal(0, 2)
            for k, t in enumerate(ts):
                treated = elig and not np.isnan(a) and t >= a
                rows.append({"institution_id": f"I{c}{i}", "county_code": f"5111{c:02d}",
                             "t": t, "period": f"{t // 4}Q{t % 4 + 1}", "eligible": elig,
                             "adoption_t": a,
                             "environment_score": 60 + alpha + shock[k] + 2.0 * treated
                             + rng.normal(0, 0.5)})
    return pd.DataFrame(rows)


def test_triple_difference_removes_county_quarter_shocks():
    errs_dd, errs_ddd = [], []
    for s in range(5):
        p = _mini_panel(s)
        dd = reform.reform_attgt(p).aggregate("simple").overall()["att"]
        ddd = reform.triple_difference(p).aggregate("simple").overall()["att"]
        errs_dd.append(dd - 2.0)
        errs_ddd.append(ddd - 2.0)
    assert np.sqrt(np.mean(np.square(errs_ddd))) < 0.5
    assert np.sqrt(np.mean(np.square(errs_ddd))) < 0.5 * np.sqrt(np.mean(np.square(errs_dd)))


def test_placebo_and_county_level_variants_run():
    p = _mini_panel(1, shock_sd=0.5)
    pl = reform.reform_attgt(p, sample="ineligible").aggregate("simple").overall()
    assert abs(pl["att"]) < 4 * pl["std_error"]
    cty = reform.reform_attgt(p, level="county").aggregate("simple").overall()
    assert abs(cty["att"] - 2.0) < 1.0


def test_twfe_static_and_event(demo):
    st = reform.twfe(demo.panel, outcome="environment_score", n_boot=199).tidy()
    assert set(st["inference"]) == {"analytic", "wild_bootstrap"}
    ev = reform.twfe(demo.panel, outcome="environment_score", kind="event").tidy()
    assert -1 not in set(ev["event_time"]) and len(ev) > 10


def test_bad_specification_messages(demo):
    with pytest.raises(SpecificationError, match="outcome"):
        reform.reform_attgt(demo.panel, outcome="happiness")
    with pytest.raises(SpecificationError, match="level"):
        reform.reform_attgt(demo.panel, level="city")


def test_build_results_without_any_adoption_says_why():
    from types import SimpleNamespace

    p = _mini_panel(2).assign(adoption_t=np.nan)
    p = p.assign(service_score=p["environment_score"], happiness_score=p["environment_score"],
                 safety_hazards=3.0, year=p["t"] // 4, residents=10.0, kind="elderly",
                 operator="public", area="rural")
    out = reform.build_results(SimpleNamespace(panel=p), n_boot=19, n_perm=19)
    assert out["reform_attgt"].empty and out["reform_aggregate"].empty
    d = out["reform_diagnostics"]
    assert (d["diagnostic"] == "not_estimated").any()
    assert d["term"].str.contains("No unit is treated").any()


def test_every_row_says_what_it_rests_on(demo, agg):
    """Treated and comparison counties on every aggregate and ATT(g,t) row, recomputed from the
    panel for the cells; a warning wherever a cell with weight has fewer than three comparison
    counties; analytic rows on t(10)."""
    attgt = demo.result("reform_attgt")
    for col in ("n_treated_counties", "n_comparison_counties", "comparison_warning", "critical",
                "df"):
        assert col in attgt.columns
    assert (attgt["critical"] == "t").all() and (attgt["df"] == 10).all()
    p = demo.panel[demo.panel["eligible"].astype(bool)]
    counties = p.groupby("county_code")["adoption_t"].first()
    env = attgt[attgt["outcome"] == "environment_score"]
    seen = p.dropna(subset=["environment_score"])
    for _, c in env.sample(15, random_state=0).iterrows():
        units = (set(seen.loc[seen["t"] == c["period_t"], "institution_id"])
                 & set(seen.loc[seen["t"] == period_to_t(c["base_period"]), "institution_id"]))
        both = p.loc[p["institution_id"].isin(units), "county_code"].unique()
        g = counties[list(both)]
        treated = int((g == c["group_t"]).sum())
        later = max(c["period_t"], period_to_t(c["base_period"]))
        comparison = int((g.isna() | ((g > later) & (g != c["group_t"]))).sum())
        assert (c["n_treated_counties"], c["n_comparison_counties"]) == (treated, comparison)
        assert bool(c["comparison_warning"]) == (comparison < 3)
    for col in ("n_treated_counties", "n_comparison_counties", "min_comparison_counties",
                "few_comparison_weight", "comparison_warning", "critical", "df", "detail"):
        assert col in agg.columns
    an = agg[agg["inference"] == "analytic"]
    assert (an["critical"] == "t").all() and (an["df"] == 10).all()
    assert agg.loc[agg["inference"] != "analytic", "critical"].isna().all()
    simple = agg[(agg["aggregation"] == "simple")]
    # the simple aggregate uses every post cell: all 9 adopting counties, and its latest cells
    # compare with the two never-treated counties only
    assert (simple["n_treated_counties"] == 9).all()
    assert (simple["min_comparison_counties"] == 2).all()
    assert simple["comparison_warning"].str.contains("fewer than 3 comparison counties").all()
    late = agg[(agg["aggregation"] == "dynamic") & (agg["key"] == "12")]
    assert (late["n_comparison_counties"] == 2).all() and (late["few_comparison_weight"] == 1).all()


def test_headline_is_a_balanced_window_with_three_comparison_counties(agg):
    """The headline dynamic summary: event times 0..E on the cohorts observed E quarters after
    adoption, every event time with at least three comparison counties; the full table stays."""
    bal = agg[agg["aggregation"] == "dynamic_balanced"]
    assert len(bal) and bal["balance_e"].nunique() == 1
    E = int(bal["balance_e"].iloc[0])
    keys = bal.loc[~bal["is_overall"], "key"].astype(int)
    assert set(keys) == set(range(E + 1)) and (bal["max_e"] == E).all()
    assert (bal.loc[~bal["is_overall"], "n_comparison_counties"] >= 3).all()
    head = agg[agg["headline"]]
    assert len(head) == len(ALL_OUTCOMES) * len(METHODS)
    assert (head["aggregation"] == "dynamic_balanced").all() and head["is_overall"].all()
    # one more event time would rest on the two never-treated counties only
    full = agg[(agg["aggregation"] == "dynamic") & (agg["key"] == str(E + 1))]
    assert (full["n_comparison_counties"] < 3).all()
    assert len(agg[agg["aggregation"] == "dynamic"]) > len(bal)


def test_randomization_balance_rows(diag):
    b = diag[diag["diagnostic"] == "randomization_balance"]
    assert set(b["term"]) == {"pre_mean", "pre_mean_t", "pre_mean_t2"}
    assert len(b) == 3 * len(ALL_OUTCOMES)
    assert b["p_value"].between(0, 1).all()
    assert (b["perm_q05"] <= b["perm_median"]).all() and (b["perm_median"] <= b["perm_q95"]).all()
    assert (b["n_assignments"] == 1000).all()
