"""Allocation on the built demo world: the results hook, the plan through the independent
checker, the response read from the effectiveness results."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.allocation import (
    allocation_inputs,
    build_results,
    check_assignment,
    recommend_budget,
    recommend_pairs,
    response_for,
)


@pytest.fixture(scope="module")
def results(demo):
    return build_results(demo)


def test_results_hook_tables(results, demo):
    plan = results["allocation_plan"]
    assert {"unit_id", "institution_id", "current", "recommended", "predicted_gain"} <= set(
        plan.columns)
    assert plan["current"].dtype == bool and plan["recommended"].dtype == bool
    n_inst = len(demo.tables["institutions"])
    assert len(results["need"]) == n_inst and results["need"]["need"].between(0, 1).all()
    eq = results["equity"].query("county_code == ''").pivot(index="measure", columns="statistic",
                                                           values="value")
    assert set(eq.index) == {"value_rmb", "activities", "visits"}
    np.testing.assert_allclose(eq["theil_within"] + eq["theil_between"], eq["theil"], rtol=1e-10)
    # every institution keeps at least one unit (全覆盖) and at most 36 pairs change each way
    rec = plan[plan["recommended"]]
    assert rec["institution_id"].nunique() == n_inst
    assert (plan["recommended"] & ~plan["current"]).sum() <= 36
    assert (~plan["recommended"] & plan["current"]).sum() <= 36


def test_plan_passes_independent_checker_and_uses_estimated_response(demo):
    resp, why = response_for(demo)
    if demo.has_result("effectiveness"):
        eff = demo.result("effectiveness")
        row = eff[(eff["model"] == "dose_response") & (eff["term"] == "log1p(activities_lag1)")
                  & (eff["outcome"] == "composite") & (eff["inference"] == "analytic")]
        assert resp.source == "estimated" and resp.beta == pytest.approx(row["estimate"].iloc[0])
    else:
        assert resp.source == "default" and "default" in why
    res = recommend_pairs(demo, max_changes=20, equity_floor=None, marginal_values=False,
                          compare_unconstrained=False)
    inp = allocation_inputs(demo)
    report = check_assignment(res, inp.units, inp.institutions, inp.current, max_changes=20)
    assert report.ok, report.violations
    assert res.solver_status == "optimal" and res.gain_vs_status_quo >= -1e-9
    # the current pairs reproduce the status quo the optimiser reports
    assert report.status_quo_objective == pytest.approx(res.status_quo_objective)


def test_inputs_follow_the_ledgers(demo):
    inp = allocation_inputs(demo)
    pair = demo.tables["pairings"]
    assert len(inp.current) == len(pair[pair["end_date"].isna()][["unit_id", "institution_id"]]
                                   .drop_duplicates())
    assert (inp.units["capacity"] >= 1).all() and (inp.units["rate"] >= 0).all()
    assert inp.cost_per_activity > 0


def test_budget_on_demo(demo):
    res = recommend_budget(demo)
    assert res.plan["recommended"].sum() == pytest.approx(res.plan["current"].sum(), rel=1e-9)
    assert res.gain_vs_unconstrained <= 1e-9
    assert (res.plan["recommended"] >= res.plan["floor"] - 1e-6).all()
