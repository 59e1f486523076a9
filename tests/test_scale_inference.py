"""The switch from resampling to analytic inference at many counties (analysis.inference.policy).

The demo has 11 counties, below the switch: every test here lowers the switch on the demo (the
module reads it at call time) instead of building a provincial world, so that the mechanism is
tested in seconds; the size of the analytic test at the switch is in
``validation/cluster_count_results.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.effectiveness import dose_response
from analysis.effectiveness.survival import COX_COUNTY_DUMMIES_MAX, problem_survival
from analysis.inference import policy
from analysis.reform import build_results as reform_results
from analysis.reports.evidence import dose_evidence, grade, reform_evidence
from analysis.within import fe_ols


def test_methods_for_switches_at_the_threshold():
    n = policy.ANALYTIC_FROM_CLUSTERS
    assert policy.methods_for(n - 1) == ("analytic", "wild_bootstrap", "randomization")
    assert policy.methods_for(n) == ("analytic",)
    assert policy.methods_for(n, ("analytic", "wild_bootstrap")) == ("analytic",)
    assert policy.resampling_applies(11)
    assert not policy.analytic_adequate(None) and not policy.analytic_adequate("x")
    assert policy.analytic_adequate(float(n)) and not policy.analytic_adequate(float("nan"))


def test_reform_build_runs_analytic_only_above_the_switch(demo, monkeypatch):
    few = reform_results(demo, n_boot=19, n_perm=19, seed=1)
    assert {"wild_bootstrap", "randomization"} <= set(few["reform_aggregate"]["inference"])
    monkeypatch.setattr(policy, "ANALYTIC_FROM_CLUSTERS", 5)
    many = reform_results(demo, n_boot=19, n_perm=19, seed=1)
    for name in ("reform_aggregate", "reform_pretrends"):
        assert set(many[name]["inference"].dropna()) == {"analytic"}, name
    diag = many["reform_diagnostics"]
    assert not diag["inference"].isin(["wild_bootstrap", "randomization"]).any()
    # the analytic rows themselves do not change: same estimate, same interval
    keys = ["outcome", "aggregation", "key"]
    a = few["reform_aggregate"].query("inference == 'analytic'").set_index(keys)
    b = many["reform_aggregate"].set_index(keys)
    pd.testing.assert_series_equal(a["ci_low"].sort_index(), b["ci_low"].sort_index())
    # Holm across the four targets on the analytic rows only
    adj = many["reform_aggregate"].dropna(subset=["p_adjusted"])
    assert set(adj["adjustment"]) == {"holm"} and len(adj) == 4


def test_dose_response_county_clustered_rows_match_fe_ols(demo):
    r = dose_response(demo.panel, outcome="composite", inference=("analytic", "analytic_county"))
    t = r.table
    county = t[(t["inference"] == "analytic") & (t["cluster"] == "county_code")]
    inst = t[(t["inference"] == "analytic") & (t["cluster"] == "institution_id")]
    assert len(county) == len(inst) == 1
    assert county["headline"].all() and not inst["headline"].any()
    assert int(county["n_clusters"].iloc[0]) == 11 and float(county["df"].iloc[0]) == 10
    # a second route: the same regression through fe_ols clustered by county
    row = r.coefficient(inference="analytic_county")
    assert float(row["estimate"]) == pytest.approx(float(inst["estimate"].iloc[0]))
    d = demo.panel.copy()
    from analysis.effectiveness.prepare import with_outcome

    d = with_outcome(d, "composite").dropna(
        subset=["composite", "activities_lag1", "reform_treated", "repaired"])
    d["x"] = np.log1p(d["activities_lag1"].to_numpy(float))
    controls = [c for c in ("reform_treated", "repaired") if d[c].nunique() > 1]
    ref = fe_ols(d.reset_index(drop=True), y="composite", x=["x", *controls],
                 fe=["institution_id", "period"], cluster="county_code").coef_table()
    assert float(row["std_error"]) == pytest.approx(float(ref["std_error"].iloc[0]), rel=1e-9)
    assert float(row["p_value"]) == pytest.approx(float(ref["p_value"].iloc[0]), rel=1e-9)


def test_evidence_ladder_credits_analytic_only_with_enough_counties():
    n = policy.ANALYTIC_FROM_CLUSTERS
    args = (0.5, 0.3, 0.7, 0.001)
    capped = grade(*args, method="analytic", n_clusters=11, breakdown_m=2.0)
    assert capped.level == "some" and "analytic_only" in capped.reasons
    free = grade(*args, method="analytic", n_clusters=n, breakdown_m=2.0)
    assert free.level == "strong" and "analytic_only" not in free.reasons
    # institution clusters never lift the cap: the dose-response reader passes counties only
    eff = pd.DataFrame({
        "model": "dose_response", "outcome": "composite", "term": "log1p(activities_lag1)",
        "estimate": 0.5, "ci_low": [0.3, 0.35], "ci_high": [0.7, 0.65], "p_value": 0.001,
        "inference": "analytic", "cluster": ["institution_id", "county_code"],
        "n_clusters": [5000, n]})
    ev = dose_evidence(eff, "composite")
    assert ev.ci_low == 0.3 + 0.05 and "analytic_only" not in ev.reasons
    only_inst = eff.iloc[[0]]
    assert "analytic_only" in dose_evidence(only_inst, "composite").reasons
    agg = pd.DataFrame({"outcome": "composite", "aggregation": "simple", "key": "", "att": 0.5,
                        "ci_low": 0.3, "ci_high": 0.7, "p_value": 0.001, "inference": "analytic",
                        "n_clusters": [n], "n_treated_counties": 40,
                        "n_comparison_counties": 50}, index=[0])
    assert "analytic_only" not in reform_evidence(agg, "composite", aggregation="simple").reasons
    # a reform estimate resting on few treated counties stays capped (the headline window's
    # over-rejection at 22-88 counties in validation/cluster_count_results.md)
    few = agg.assign(n_treated_counties=policy.ANALYTIC_MIN_TREATED - 1)
    assert "analytic_only" in reform_evidence(few, "composite", aggregation="simple").reasons


def test_cox_stratifies_by_county_above_the_dummy_limit(demo, monkeypatch):
    dummies = problem_survival(demo, by="category", cox=True).cox
    assert dummies["covariate"].str.startswith("county_code").any()
    assert set(dummies["strata"]) == {"size_band"}
    import analysis.effectiveness.survival as survival

    monkeypatch.setattr(survival, "COX_COUNTY_DUMMIES_MAX", 5)
    strata = problem_survival(demo, by="category", cox=True)
    assert not strata.cox["covariate"].str.startswith("county_code").any()
    assert set(strata.cox["strata"]) == {"size_band"}  # the demo is one prefecture
    assert any("no hazard ratio per county" in n for n in strata.notes)
    # with counties in several prefectures the prefecture is a stratum
    t = dict(demo.tables)
    inst = t["institutions"].copy()
    inst["county_code"] = inst["county_code"].astype(str).map(
        lambda c: c if c < "511120" else "5112" + c[4:])
    t["institutions"] = inst
    pref = problem_survival(t, by="category", cox=True)
    assert set(pref.cox["strata"]) == {"size_band+prefecture_code"}
    assert COX_COUNTY_DUMMIES_MAX >= 11  # the demo keeps a hazard ratio per county
