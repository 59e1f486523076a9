"""The pairing optimiser and the budget allocation against brute force, linear_sum_assignment
and a greedy second route; every plan goes through the independent checker."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from analysis.allocation import (
    Response,
    allocate_budget,
    check_assignment,
    check_budget,
    optimise_pairs,
)
from analysis.allocation.blocks import lp_by_blocks
from analysis.allocation.colgen import solve_config
from analysis.allocation.problem import enumerate_configs, prepare
from analysis.errors import InfeasibleError, SpecificationError

RESP = Response(beta=1.7, breakpoints=(0, 1, 2, 4, 7, 12, 20, 40))


def make(rates, caps, bases, needs, cur_pairs, counties_u=None, counties_i=None):
    units = pd.DataFrame({"unit_id": [f"u{k}" for k in range(len(rates))], "rate": rates,
                          "capacity": caps})
    inst = pd.DataFrame({"institution_id": [f"i{k}" for k in range(len(bases))], "base": bases,
                         "need": needs})
    if counties_u is not None:
        units["county_code"] = counties_u
        inst["county_code"] = counties_i
    cur = pd.DataFrame([(f"u{u}", f"i{i}") for u, i in cur_pairs],
                       columns=["unit_id", "institution_id"])
    return units, inst, cur


def brute_force(units, inst, cur, *, K, floor, share, per_inst, min_units=1, same_county=False):
    """Best objective over every subset of pairs (None when no subset is feasible)."""
    U, Is = list(units["unit_id"]), list(inst["institution_id"])
    pairs = [(u, i) for u in U for i in Is]
    if same_county:
        uc = dict(zip(units["unit_id"], units["county_code"], strict=True))
        ic = dict(zip(inst["institution_id"], inst["county_code"], strict=True))
        curset = set(map(tuple, cur.to_numpy()))
        pairs = [(u, i) for u, i in pairs if uc[u] == ic[i] or (u, i) in curset]
    rate = dict(zip(U, units["rate"], strict=True))
    cap = dict(zip(U, units["capacity"], strict=True))
    base = dict(zip(Is, inst["base"], strict=True))
    curset = set(map(tuple, cur.to_numpy()))
    k = max(1, math.ceil(share * len(Is)))
    neediest = set(inst.sort_values("need", ascending=False, kind="stable")["institution_id"][:k])
    best = None
    for mask in itertools.product((0, 1), repeat=len(pairs)):
        chosen = [p for p, m in zip(pairs, mask, strict=True) if m]
        n_i = {i: 0 for i in Is}
        n_u = {u: 0 for u in U}
        y = dict(base)
        for u, i in chosen:
            n_i[i] += 1
            n_u[u] += 1
            y[i] += rate[u]
        if any(v < min_units for v in n_i.values()) or any(n_u[u] > cap[u] for u in U):
            continue
        s = set(chosen)
        added, ended = s - curset, curset - s
        if K is not None and (len(added) > K or len(ended) > K):
            continue
        if any(sum(1 for p in added if p[1] == i) > per_inst
               or sum(1 for p in ended if p[1] == i) > per_inst for i in Is):
            continue
        if floor is not None and any(y[i] < floor - 1e-9 for i in neediest):
            continue
        val = sum(float(RESP(y[i]) - RESP(base[i])) for i in Is)
        best = val if best is None else max(best, val)
    return best


@st.composite
def instances(draw):
    nu = draw(st.integers(1, 4))
    ni = draw(st.integers(1, 3))
    while nu * ni > 12:
        ni -= 1
    rates = draw(st.lists(st.floats(0, 12).map(lambda v: round(v, 2)), min_size=nu, max_size=nu))
    caps = draw(st.lists(st.integers(0, 2), min_size=nu, max_size=nu))
    bases = draw(st.lists(st.floats(0, 6).map(lambda v: round(v, 2)), min_size=ni, max_size=ni))
    needs = draw(st.lists(st.floats(0, 1), min_size=ni, max_size=ni, unique=True))
    all_pairs = [(u, i) for u in range(nu) for i in range(ni)]
    cur = draw(st.lists(st.sampled_from(all_pairs), max_size=nu * ni, unique=True))
    K = draw(st.one_of(st.none(), st.integers(0, 3)))
    floor = draw(st.one_of(st.none(), st.floats(0, 15).map(lambda v: round(v, 1))))
    per_inst = draw(st.integers(1, 2))
    same = draw(st.booleans())
    cu = draw(st.lists(st.sampled_from("AB"), min_size=nu, max_size=nu))
    ci = draw(st.lists(st.sampled_from("AB"), min_size=ni, max_size=ni))
    return (make(rates, caps, bases, needs, cur, cu, ci), K, floor, per_inst, same)


@pytest.mark.parametrize("lp_route", ["auto", "blocks"])
@settings(max_examples=60, deadline=None)
@given(case=instances())
def test_optimiser_matches_brute_force_and_passes_checker(case, lp_route):
    """Both LP routes (the single LP, and Dantzig–Wolfe over independent blocks such as counties)
    give the brute-force optimum and raise on exactly the infeasible instances."""
    (units, inst, cur), K, floor, per_inst, same = case
    expected = brute_force(units, inst, cur, K=K, floor=floor, share=0.5, per_inst=per_inst,
                           same_county=same)
    kw = dict(max_changes=K, equity_floor=floor, neediest_share=0.5, same_county=same)
    if expected is None:
        with pytest.raises(InfeasibleError):
            optimise_pairs(units, inst, cur, response=RESP, changes_per_institution=per_inst,
                           lp_route=lp_route, **kw)
        return
    res = optimise_pairs(units, inst, cur, response=RESP, changes_per_institution=per_inst,
                         lp_route=lp_route, **kw)
    assert res.solver_status == "optimal"
    assert res.objective == pytest.approx(expected, rel=1e-6, abs=1e-7)
    report = check_assignment(res, units, inst, cur, **kw)
    assert report.ok, report.violations
    assert report.status_quo_objective == pytest.approx(res.status_quo_objective)
    assert res.gain_vs_unconstrained <= 1e-9


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 7), st.integers(0, 10_000))
def test_pure_assignment_matches_linear_sum_assignment(n, seed):
    rng = np.random.default_rng(seed)
    rates, bases = rng.uniform(0, 15, n).round(3), rng.uniform(0, 5, n).round(3)
    units, inst, cur = make(rates, [1] * n, bases, rng.uniform(size=n),
                            [(k, k) for k in range(n)])
    res = optimise_pairs(units, inst, cur, response=RESP, max_units=1)
    gain = RESP(bases[None, :] + rates[:, None]) - RESP(bases)[None, :]
    r, c = linear_sum_assignment(gain, maximize=True)
    assert res.objective == pytest.approx(gain[r, c].sum(), rel=1e-9)
    assert check_assignment(res, units, inst, cur, max_changes=None).ok


def test_checker_detects_every_kind_of_violation():
    units, inst, cur = make([5, 1, 3], [1, 1, 1], [0, 0], [0.9, 0.1], [(0, 0), (1, 1)],
                            ["A", "A", "B"], ["A", "B"])
    good = optimise_pairs(units, inst, cur, response=RESP, max_changes=1)
    assert check_assignment(good, units, inst, cur, max_changes=1).ok
    bad = pd.DataFrame({"unit_id": ["u0", "u0", "u2"], "institution_id": ["i0", "i1", "i1"],
                        "recommended": True})
    rep = check_assignment(bad, units, inst, cur, response=RESP, max_changes=0,
                           same_county=True, equity_floor=9.0, neediest_share=0.5,
                           objective=123.0)
    text = " ".join(rep.violations)
    for word in ("capacity", "max_changes", "same_county", "equity_floor", "objective"):
        assert word in text
    uncovered = pd.DataFrame({"unit_id": ["u0"], "institution_id": ["i0"], "recommended": True})
    assert "coverage" in " ".join(check_assignment(uncovered, units, inst, cur).violations)
    with pytest.raises(SpecificationError):
        rep.raise_if_failed()


def test_infeasible_capacity_message_names_the_shortfall():
    n_i = 104
    units, inst, cur = make([2.0] * 96, [1] * 96, [0.0] * n_i, np.linspace(0, 1, n_i), [])
    with pytest.raises(InfeasibleError, match=r"needs 104 unit slots .* totals 96: raise "
                                              r"capacity by 8"):
        optimise_pairs(units, inst, cur, response=RESP)


def test_infeasible_no_candidate_in_county():
    units, inst, cur = make([2, 2], [2, 2], [0, 0, 0], [0.1, 0.2, 0.3], [],
                            ["A", "A"], ["A", "A", "B"])
    with pytest.raises(InfeasibleError, match=r"i2.*same_county=False|counties B"):
        optimise_pairs(units, inst, cur, response=RESP, same_county=True,
                       changes_per_institution=2)


def test_infeasible_floor_and_change_limit():
    units, inst, cur = make([1, 1], [1, 1], [0, 0], [0.9, 0.1], [(0, 0), (1, 1)])
    with pytest.raises(InfeasibleError, match=r"equity floor of 5 .*\(short by 3\)"):
        optimise_pairs(units, inst, cur, response=RESP, equity_floor=5.0, neediest_share=0.5)
    units, inst, cur = make([1, 1, 1], [1, 1, 1], [0, 0, 0], [0.9, 0.5, 0.1], [(0, 0)])
    with pytest.raises(InfeasibleError, match=r"max_changes=1 .* at least 2 pairs must be added"
                                              r".* by 1"):
        optimise_pairs(units, inst, cur, response=RESP, max_changes=1)


def test_bad_options_raise_specification_error():
    units, inst, cur = make([1], [1], [0], [0.5], [(0, 0)])
    with pytest.raises(SpecificationError):
        optimise_pairs(units, inst, cur, response=RESP, max_changes=-1)
    with pytest.raises(SpecificationError):
        optimise_pairs(units, inst.drop(columns="base"), cur, response=RESP)
    with pytest.raises(SpecificationError):
        Response(beta=-0.2)


def greedy_budget(base, w, floor, B, cost, resp):
    """Second route: fill the steepest remaining segment first (exact for separable concave)."""
    b = np.array(floor, float)
    left = B - b.sum()
    bp = np.asarray(resp.breakpoints, float)
    segs = []
    for i in range(len(base)):
        y0 = base[i] + b[i] / cost
        for k in range(len(bp) - 1):
            lo, hi = max(bp[k], y0), bp[k + 1]
            if hi > lo:
                segs.append((w[i] * resp.slopes[k] / cost, i, (hi - lo) * cost))
        y_last = max(bp[-1], y0)
        segs.append((w[i] * resp.slopes[-1] / cost, i, np.inf if y_last >= bp[-1] else 0))
    for _slope, i, length in sorted(segs, key=lambda s: -s[0]):
        take = min(length, left)
        b[i] += take
        left -= take
        if left <= 0:
            break
    return float(np.sum(w * (resp(base + b / cost) - resp(base))))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(0, 10_000), st.floats(0, 5000))
def test_budget_matches_greedy_and_checker(n, seed, B):
    rng = np.random.default_rng(seed)
    inst = pd.DataFrame({"institution_id": [f"i{k}" for k in range(n)],
                         "base": rng.uniform(0, 8, n), "weight": rng.uniform(0.5, 2, n),
                         "current_spend": rng.uniform(0, 100, n)})
    floors = pd.Series(rng.uniform(0, B / (2 * n) if n else 0, n), index=inst["institution_id"])
    res = allocate_budget(inst, budget=B, cost_per_activity=100.0, response=RESP, floors=floors)
    expected = greedy_budget(inst["base"].to_numpy(), inst["weight"].to_numpy(),
                             floors.to_numpy(), B, 100.0, RESP)
    assert res.objective == pytest.approx(expected, rel=1e-7, abs=1e-8)
    assert check_budget(res, inst, budget=B, cost_per_activity=100.0, floors=floors).ok
    # the status quo (current shares) may break the floors; the unconstrained optimum beats it
    assert res.unconstrained_objective >= res.status_quo_objective - 1e-9
    if np.all(res.plan["current"].to_numpy() >= floors.to_numpy()):
        assert res.gain_vs_status_quo >= -1e-9


def test_budget_shadow_price_is_marginal_gain():
    inst = pd.DataFrame({"institution_id": ["a", "b"], "base": [0.5, 3.0]})
    r1 = allocate_budget(inst, budget=300, cost_per_activity=100, response=RESP)
    r2 = allocate_budget(inst, budget=301, cost_per_activity=100, response=RESP)
    price = r1.constraints.set_index("constraint").loc["budget", "shadow_price"]
    assert r2.objective - r1.objective == pytest.approx(price, rel=1e-6)


def test_options_are_checked_against_their_literal_types():
    from types import SimpleNamespace

    from analysis.allocation import equity_for, recommend_pairs

    units, inst, cur = make([1], [1], [0], [0.5], [(0, 0)])
    with pytest.raises(SpecificationError, match="lp_route='fast'.*'auto', 'blocks', 'single'"):
        optimise_pairs(units, inst, cur, response=RESP, lp_route="fast")
    with pytest.raises(SpecificationError, match="source='guess'"):
        Response(source="guess")
    # checked at the entry, before the processed data is touched
    with pytest.raises(SpecificationError, match="equity_floor='mean'"):
        recommend_pairs(SimpleNamespace(), equity_floor="mean")
    with pytest.raises(SpecificationError, match="weighting='people'"):
        equity_for(SimpleNamespace(), need=SimpleNamespace(), weighting="people")


def test_response_and_budget_results_on_the_protocol():
    assert list(RESP.tables()) == ["response", "segments"]
    assert len(RESP.tables()["segments"]) == len(RESP.breakpoints) - 1
    assert "beta" in RESP.summary() and "segments" in RESP._repr_html_()
    inst = pd.DataFrame({"institution_id": ["a", "b"], "base": [0.5, 3.0]})
    res = allocate_budget(inst, budget=300, cost_per_activity=100, response=RESP)
    assert res.title == "Budget allocation" and list(res.tables())[:2] == ["summary", "constraints"]
    assert "floors" in res.summary()


def test_budget_floors_above_budget_are_infeasible():
    inst = pd.DataFrame({"institution_id": ["a", "b"], "base": [0.0, 0.0]})
    with pytest.raises(InfeasibleError, match=r"floors total 1,200 but the budget is 1,000: "
                                              r"raise the budget by 200"):
        allocate_budget(inst, budget=1000, cost_per_activity=10, floors=600.0)


def test_result_shape_and_rendering():
    units, inst, cur = make([5, 1, 3], [1, 1, 1], [0, 2], [0.9, 0.1], [(0, 0), (1, 1)])
    res = optimise_pairs(units, inst, cur, response=RESP, max_changes=1)
    assert {"unit_id", "institution_id", "current", "recommended", "predicted_gain"} <= set(
        res.plan.columns)
    assert "gain_vs_status_quo" in res.summary() and "<table" in res._repr_html_()
    # one result protocol: the summary metrics first, then constraints, plan and institutions
    assert list(res.tables()) == ["summary", "constraints", "plan", "institutions"]
    assert res.tidy()["metric"].iloc[0] == "problem"
    assert "max_changes" in res.summary() and "<h5>constraints</h5>" in res._repr_html_()
    assert res.title == "Allocation plan"
    import matplotlib
    matplotlib.use("Agg")
    assert res.plot() is not None
    # marginal value of one more change, checked by re-solving
    more = optimise_pairs(units, inst, cur, response=RESP, max_changes=2)
    price = res.constraints.set_index("constraint").loc["max_changes", "shadow_price"]
    assert more.objective - res.objective == pytest.approx(price)


def test_joint_infeasibility_reports_smallest_relaxation():
    # capacity totals 2 for 2 homes, but both homes can only use u0 (Hall's condition fails):
    # no simple count catches it, the phase-one model does
    units, inst, cur = make([3, 3], [1, 1], [0, 0], [0.4, 0.6], [])
    cands = pd.DataFrame({"unit_id": ["u0", "u0"], "institution_id": ["i0", "i1"]})
    with pytest.raises(InfeasibleError, match=r"smallest relaxation: .*by 1"):
        optimise_pairs(units, inst, cur, response=RESP, candidates=cands)


def test_response_from_effectiveness_table_and_fallback():
    from types import SimpleNamespace

    from analysis.allocation import response_for

    eff = pd.DataFrame({
        "outcome": ["composite", "composite", "environment_score", "composite"],
        "model": ["dose_response", "dose_response", "dose_response", "placebo_lead"],
        "term": ["log1p(activities_lag1)"] * 4,
        "inference": ["analytic", "wild_bootstrap", "analytic", "analytic"],
        "estimate": [0.31, 0.31, 1.4, 9.0], "std_error": [0.02, np.nan, 0.1, 1.0],
    })
    r = Response.from_effectiveness(eff)
    assert r.beta == 0.31 and r.source == "estimated" and "0.31" in r.description
    with pytest.raises(SpecificationError):
        Response.from_effectiveness(eff.assign(estimate=-0.1))
    fake = SimpleNamespace(has_result=lambda name: True,
                           result=lambda name: eff.assign(estimate=-0.1))
    resp, why = response_for(fake)
    assert resp.source == "default" and "not positive" in why
    resp, why = response_for(SimpleNamespace(has_result=lambda name: False))
    assert resp.source == "default" and "no effectiveness results" in why
    # the plan does not depend on beta's scale, only the gains do
    units, inst, cur = make([5, 1, 3], [1, 1, 1], [0, 2], [0.9, 0.1], [(0, 0), (1, 1)])
    a = optimise_pairs(units, inst, cur, response=Response(beta=1.0), max_changes=1)
    b = optimise_pairs(units, inst, cur, response=Response(beta=0.31), max_changes=1)
    pd.testing.assert_frame_equal(a.plan[["unit_id", "institution_id", "recommended"]],
                                  b.plan[["unit_id", "institution_id", "recommended"]])
    assert b.objective == pytest.approx(0.31 * a.objective)


def _county_instance(seed, n_counties=25, n_units=80, n_inst=240):
    rng = np.random.default_rng(seed)
    uc = np.concatenate([np.arange(n_counties), rng.integers(0, n_counties, n_units - n_counties)])
    ic = np.concatenate([np.arange(n_counties), rng.integers(0, n_counties, n_inst - n_counties)])
    units = pd.DataFrame({"unit_id": [f"u{k}" for k in range(n_units)],
                          "county_code": uc.astype(str),
                          "rate": rng.lognormal(1.0, 0.6, n_units).round(2)})
    inst = pd.DataFrame({"institution_id": [f"i{k}" for k in range(n_inst)],
                         "county_code": ic.astype(str),
                         "base": rng.lognormal(0.5, 0.8, n_inst).round(2),
                         "need": rng.uniform(size=n_inst)})
    load = np.zeros(n_units, dtype=int)
    pairs = []
    for c in range(n_counties):
        us = np.flatnonzero(uc == c)
        for k, i in enumerate(np.flatnonzero(ic == c)):
            pairs.append((us[k % us.size], i))
            load[us[k % us.size]] += 1
    units["capacity"] = load + rng.integers(0, 2, n_units)
    cur = pd.DataFrame([(f"u{u}", f"i{i}") for u, i in pairs],
                       columns=["unit_id", "institution_id"])
    return units, inst, cur


@pytest.mark.parametrize(("seed", "K", "floor"), [(1, 5, None), (2, 20, None), (3, 0, None),
                                                 (4, 12, 2.5), (5, None, None)])
def test_block_route_equals_single_lp_route_on_county_instances(seed, K, floor):
    """Many counties (blocks) coupled only by the change limit: the decomposed LP and the single
    LP give the same optimum, both proven optimal and passing the independent checker."""
    units, inst, cur = _county_instance(seed)
    kw = dict(same_county=True, max_changes=K, equity_floor=floor, neediest_share=0.2)
    a = optimise_pairs(units, inst, cur, response=RESP, lp_route="blocks", **kw)
    b = optimise_pairs(units, inst, cur, response=RESP, lp_route="single", **kw)
    assert a.solver_status == b.solver_status == "optimal"
    assert a.mip_gap <= 1e-7
    assert a.objective == pytest.approx(b.objective, rel=1e-9, abs=1e-9)
    assert a.unconstrained_objective == pytest.approx(b.unconstrained_objective, rel=1e-9)
    for res in (a, b):
        report = check_assignment(res, units, inst, cur, **kw)
        assert report.ok, report.violations
    # the decomposition really ran (more than one block) and its bound equals the single LP's
    p = prepare(units, inst, cur, None, same_county=True, min_units=1)
    cf = enumerate_configs(p, RESP, max_units=None, per_institution=1)
    fl = np.zeros(len(p.inst_ids))
    allowed = np.ones(cf.inst.size, dtype=bool)
    blk = lp_by_blocks(p, cf, allowed, K, 60.0, time.perf_counter())
    assert blk is not None and blk["n_blocks"] > 1 and blk["status"] == "ok"
    one = solve_config(p, RESP, K=K, floor=fl, max_units=None, per_institution=1, gap=1e-7,
                       time_limit=60.0, configs=cf, lp_route="single")
    assert -blk["lp_obj"] == pytest.approx(one["lp_bound"], rel=1e-8)
    assert blk["master_obj"] == pytest.approx(-blk["lp_obj"], rel=1e-8)


def test_block_route_is_single_lp_when_one_block():
    units, inst, cur = _county_instance(9, n_counties=1, n_units=6, n_inst=10)
    p = prepare(units, inst, cur, None, same_county=True, min_units=1)
    cf = enumerate_configs(p, RESP, max_units=None, per_institution=1)
    assert lp_by_blocks(p, cf, np.ones(cf.inst.size, dtype=bool), 3, 60.0, 0.0) is None
