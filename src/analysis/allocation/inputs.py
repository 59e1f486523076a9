"""From the processed tables to the optimiser's inputs, and the results hook.

Definitions (all over the last ``window`` quarters of the panel, default 4):

* current pairs: pairings ongoing at the end of the last quarter;
* a unit's ``rate``: its activities in the window divided by the pair-quarters it was paired in
  the window (activities per quarter it brings to one institution); ``capacity``: its current
  number of institutions (the optimiser redistributes, it does not add help);
* an institution's ``base``: activities per quarter in the window not done by its current units
  (county/township teams without a unit id and other units);
* a unit's ``county_code`` (for ``same_county``): the county of most of its current institutions;
* ``cost_per_activity``: median RMB value of an activity with a non-zero value, for the budget.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..build.steps import BuildOptions, Step
from ..domain import quarter_bounds
from ..errors import InfeasibleError, SpecificationError, check_option
from .budget import allocate_budget
from .equity import EquityResult, Weighting, equity
from .need import NeedIndex, need_index
from .optimise import optimise_pairs
from .response import Response
from .result import AllocationResult

#: the data-driven equity floor of :func:`recommend_pairs`
FloorRule = Literal["median"]

@dataclass(frozen=True, eq=False)
class AllocationInputs:
    """Units, institutions and current pairs in the optimiser's terms (see the module doc)."""

    units: pd.DataFrame = field(repr=False)
    institutions: pd.DataFrame = field(repr=False)
    current: pd.DataFrame = field(repr=False)
    cost_per_activity: float
    window: tuple[str, str]


def allocation_inputs(processed: Any, *, window: int = 4, need: NeedIndex | None = None,
                      county_code: str | None = None,
                      counties: Collection[str] | None = None) -> AllocationInputs:
    """Build the optimiser's inputs from a processed dataset (``analysis.data.Processed``).

    ``county_code`` restricts to one county's institutions and the units currently paired there
    (``None`` or ``"all"``: the whole city); ``counties`` to several counties' (e.g. a province's).
    """
    county_code = None if county_code in (None, "all") else str(county_code)
    panel = processed.panel
    tables = processed.tables
    periods = sorted(panel["period"].unique())
    if window < 1 or window > len(periods):
        raise SpecificationError(f"window={window!r} must be between 1 and {len(periods)}.")
    first, last = periods[-window], periods[-1]
    w_start, _ = quarter_bounds(first)
    _, w_end = quarter_bounds(last)
    pair = tables["pairings"]
    ongoing = pair[(pair["start_date"] <= w_end) & (pair["end_date"].isna()
                                                    | (pair["end_date"] >= w_end.normalize()))]
    current = ongoing[["unit_id", "institution_id"]].drop_duplicates().reset_index(drop=True)
    inst_t = tables["institutions"]
    if need is None:
        need = need_index(panel, inst_t, window=window)
    # pair-quarters in the window per unit
    pq = []
    for per in periods[-window:]:
        qs, qe = quarter_bounds(per)
        on = pair[(pair["start_date"] <= qe) & (pair["end_date"].isna()
                                                | (pair["end_date"] >= qs.normalize()))]
        pq.append(on[["unit_id", "institution_id"]].drop_duplicates().assign(period=per))
    pq = pd.concat(pq, ignore_index=True)
    acts = tables["activities"]
    acts = acts[(acts["date"] >= w_start) & (acts["date"] <= w_end)]
    by_unit = acts.dropna(subset=["unit_id"]).groupby("unit_id").size()
    pq_count = pq.groupby("unit_id").size()
    rate = (by_unit.reindex(pq_count.index).fillna(0) / pq_count).rename("rate")
    cap = current.groupby("unit_id").size().rename("capacity")
    units = pd.concat([rate.reindex(cap.index).fillna(0.0), cap], axis=1)
    inst_county = inst_t.set_index("institution_id")["county_code"]
    # a unit's county: the county of most of its current institutions (ties: the first in order)
    uc = (current.assign(county_code=current["institution_id"].map(inst_county))
          .groupby(["unit_id", "county_code"], sort=False).size().rename("n").reset_index())
    uc = uc.sort_values("n", ascending=False, kind="stable").drop_duplicates("unit_id")
    ucounty = uc.set_index("unit_id")["county_code"]
    units["county_code"] = ucounty
    ut = tables["units"].set_index("unit_id")
    units["sector"] = ut["sector"].reindex(units.index)
    units["level"] = ut["level"].reindex(units.index)
    units.index.name = "unit_id"
    units = units.reset_index()
    # institutions: base = window activities not by current units, per quarter
    is_cur = acts[["unit_id", "institution_id"]].merge(
        current.assign(_cur=True), on=["unit_id", "institution_id"], how="left")["_cur"]
    is_cur = is_cur.notna().to_numpy()
    base = (acts[~is_cur].groupby("institution_id").size() / window).rename("base")
    inst = inst_t[["institution_id", "county_code", "kind"]].copy()
    inst["base"] = inst["institution_id"].map(base).fillna(0.0).astype(float)
    inst = inst.merge(need.table[["institution_id", "need", "rank", "residents"]],
                      on="institution_id", how="left")
    spend = acts.groupby("institution_id")["value_rmb"].sum() / window
    inst["current_spend"] = inst["institution_id"].map(spend).fillna(0.0)
    vals = acts["value_rmb"][acts["value_rmb"] > 0]
    cost = float(vals.median()) if len(vals) else 1.0
    if county_code is not None:
        if county_code not in set(inst["county_code"]):
            raise SpecificationError(f"county_code={county_code!r} is not in the data; choose one "
                                     f"of {sorted(inst['county_code'].unique())}.")
    out = AllocationInputs(units=units, institutions=inst, current=current,
                           cost_per_activity=cost, window=(first, last))
    keep = None if county_code is None and counties is None else (
        [county_code] if county_code is not None else list(counties or ()))
    return out if keep is None else restrict_inputs(out, keep)


def restrict_inputs(inp: AllocationInputs, counties: Collection[str]) -> AllocationInputs:
    """``inp`` restricted to the institutions of ``counties`` and the units currently paired there
    (their capacity: their current pairs there)."""
    keep = {str(c) for c in counties}
    inst = inp.institutions[inp.institutions["county_code"].astype(str).isin(keep)]
    inst = inst.reset_index(drop=True)
    current = inp.current[inp.current["institution_id"].isin(inst["institution_id"])]
    used = current.groupby("unit_id").size()
    units = inp.units[inp.units["unit_id"].isin(used.index)].copy()
    units["capacity"] = units["unit_id"].map(used).astype(int)
    return replace(inp, units=units.reset_index(drop=True), institutions=inst,
                   current=current.reset_index(drop=True))


def response_for(processed: Any) -> tuple[Response, str]:
    """The estimated response when the effectiveness results exist and are usable, else the
    documented default; with a sentence saying which and why."""
    if processed.has_result("effectiveness"):
        try:
            r = Response.from_effectiveness(processed.result("effectiveness"))
            return r, r.description
        except SpecificationError as err:
            return Response(), f"default response used: {err}"
    return Response(), "default response used: no effectiveness results in this build"


def recommend_pairs(processed: Any, *, max_changes: int | None = 36,
                    changes_per_institution: int = 1, same_county: bool = False,
                    equity_floor: float | FloorRule | None = "median", neediest_share: float = 0.2,
                    response: Response | None = None, county_code: str | None = None,
                    counties: Collection[str] | None = None,
                    window: int = 4, marginal_values: bool = True,
                    compare_unconstrained: bool = True,
                    inputs: AllocationInputs | None = None,
                    time_limit: float = 120.0) -> AllocationResult:
    """The recommended re-pairing for a processed dataset.

    Options as :func:`optimise_pairs`; ``marginal_values``/``compare_unconstrained`` off save the
    extra solves that price the change limit and the floor and find the unconstrained optimum.
    ``inputs``: the whole dataset's :func:`allocation_inputs`, computed once, restricted here to
    ``county_code`` / ``counties`` (per-province plans).

    ``equity_floor="median"`` sets the floor for the neediest ``neediest_share`` to the median
    current intensity (activities per quarter) of all institutions; if that floor cannot be met
    within the change limits, the plan is computed without it and a note says so.
    """
    if isinstance(equity_floor, str):
        check_option("equity_floor", equity_floor, FloorRule)
    if inputs is None:
        inp = allocation_inputs(processed, window=window, county_code=county_code,
                                counties=counties)
    else:  # computed once for the whole dataset (per-province plans)
        keep = [county_code] if county_code not in (None, "all") else counties
        inp = inputs if keep is None else restrict_inputs(inputs, keep)
    resp, why = (response, response.description) if response is not None else response_for(
        processed)
    rate = inp.units.set_index("unit_id")["rate"]
    cur_int = inp.institutions.set_index("institution_id")["base"].add(
        inp.current.assign(r=inp.current["unit_id"].map(rate)).groupby("institution_id")["r"]
        .sum(), fill_value=0.0)
    floor = float(cur_int.median()) if equity_floor == "median" else equity_floor
    kw = dict(response=resp, max_changes=max_changes, same_county=same_county,
              neediest_share=neediest_share, changes_per_institution=changes_per_institution,
              marginal_values=marginal_values, compare_unconstrained=compare_unconstrained,
              time_limit=time_limit)
    notes = [why] if why != resp.description else []
    try:
        res = optimise_pairs(inp.units, inp.institutions, inp.current, equity_floor=floor, **kw)
    except InfeasibleError as err:
        if floor is None:
            raise
        notes.append(f"equity floor {floor:.3g} dropped: {err}")
        res = optimise_pairs(inp.units, inp.institutions, inp.current, equity_floor=None, **kw)
    notes.append(f"Rates and base intensities from {inp.window[0]}–{inp.window[1]}.")
    return _with_notes(res, notes)


def recommend_budget(processed: Any, *, budget: float | None = None,
                     floor_share: float = 0.5, neediest_share: float = 0.2,
                     response: Response | None = None, county_code: str | None = None,
                     window: int = 4) -> AllocationResult:
    """Split ``budget`` RMB per quarter (default: the current quarterly total) across
    institutions; the neediest ``neediest_share`` get a floor of ``floor_share`` × the mean
    amount."""
    inp = allocation_inputs(processed, window=window, county_code=county_code)
    resp, why = (response, response.description) if response is not None else response_for(
        processed)
    inst = inp.institutions.copy()
    B = float(inst["current_spend"].sum()) if budget is None else float(budget)
    k = max(1, int(np.ceil(neediest_share * len(inst))))
    top = inst["need"].rank(ascending=False, method="first") <= k
    inst["floor"] = np.where(top, floor_share * B / max(len(inst), 1), 0.0)
    # money adds activities on top of what units and teams do without it
    base = inst["base"].to_numpy()
    rate = inp.units.set_index("unit_id")["rate"]
    unit_part = inp.current.assign(r=inp.current["unit_id"].map(rate)).groupby(
        "institution_id")["r"].sum()
    inst["base"] = base + inst["institution_id"].map(unit_part).fillna(0.0).to_numpy()
    res = allocate_budget(inst, budget=B, cost_per_activity=inp.cost_per_activity, response=resp)
    return _with_notes(res, ([why] if why != resp.description else []) + [
        f"Budget {B:,.0f} RMB per quarter; money converts to activities "
                              f"at the median value per activity ({inp.cost_per_activity:,.0f} "
                              "RMB)."])


def _with_notes(res: AllocationResult, notes: list[str]) -> AllocationResult:
    return replace(res, _notes=tuple(notes) + res.notes)


def main_sectors(processed: Any, current: pd.DataFrame) -> pd.Series:
    """Main sector of each institution's current units (the most frequent; ties alphabetical)."""
    ut = processed.tables["units"].set_index("unit_id")["sector"]
    s = current.assign(sector=current["unit_id"].map(ut))
    return s.groupby("institution_id")["sector"].agg(
        lambda x: sorted(x.value_counts()[lambda v: v == v.max()].index)[0])


def equity_for(processed: Any, need: NeedIndex | None = None, *,
               weighting: Weighting = "residents") -> EquityResult:
    """:func:`analysis.allocation.equity` on a processed dataset, with the need index (computed
    when not given) and the main sector of each institution's current units."""
    check_option("weighting", weighting, Weighting)
    need = need if need is not None else need_index(processed.panel,
                                                    processed.tables["institutions"])
    inp = allocation_inputs(processed, need=need)
    return equity(processed.panel, need.table, sectors=main_sectors(processed, inp.current),
                  weighting=weighting)


def build_results(processed: Any, *, seed: int = 20210101) -> dict[str, pd.DataFrame]:
    """The allocation results files of ``data/processed/<dataset>/results/``.

    Parameters
    ----------
    processed : analysis.data.Processed
        The processed dataset (with the effectiveness results when the estimated response is to
        be used).
    seed : int
        Seed of the need index's random-weight sensitivity (``numpy.random.default_rng(seed)``);
        the build step passes the build's root seed (``BuildOptions.seed``) unchanged.

    Returns
    -------
    dict of DataFrame
        ``allocation_plan``, ``need``, ``equity``, ``equity_regression``, ``need_sensitivity``,
        ``allocation_summary``, ``allocation_constraints``.
    """
    inst_t = processed.tables["institutions"]
    need = need_index(processed.panel, inst_t)
    sens = need.sensitivity(seed=seed)
    inp = allocation_inputs(processed, need=need)
    eq = equity(processed.panel, need.table, sectors=main_sectors(processed, inp.current))
    scopes = plan_scopes(inst_t["county_code"])
    if len(scopes) == 1 and scopes[0][1] is None:  # one prefecture: the plan as it always was
        res = recommend_pairs(processed)
        parts = [("", res)]
    else:
        parts = [(prov, recommend_pairs(processed, counties=codes, same_county=True,
                                        max_changes=math.ceil(CHANGES_PER_COUNTY * len(codes)),
                                        inputs=inp,
                                        time_limit=max(120.0, SECONDS_PER_COUNTY * len(codes))))
                 for prov, codes in scopes]
        res = parts[0][1]
    plans = []
    for prov, r in parts:
        pl = r.plan.copy()
        pl["response_source"] = r.response.source
        pl["response_beta"] = r.response.beta
        if prov:
            pl["province_code"] = prov
        plans.append(pl)
    plan = pd.concat(plans, ignore_index=True)
    need_tab = need.table.drop(columns=["kind_label"]).copy()
    need_tab = need_tab.merge(sens.ranks.drop(columns="rank"), on="institution_id")
    equity_tab = eq.table.copy()
    equity_tab["county_code"] = ""
    dec = eq.decomposition.melt(id_vars=["county_code", "measure"],
                                value_vars=["within_contribution", "between_contribution",
                                            "theil", "income_share", "weight_share"],
                                var_name="statistic", value_name="value")
    dec["statistic"] = "county_" + dec["statistic"]
    equity_out = pd.concat([equity_tab, dec[["measure", "statistic", "value", "county_code"]]],
                           ignore_index=True)
    summary = _summary(parts)
    cons = pd.concat([r.constraints.assign(province_code=prov) if prov else r.constraints
                      for prov, r in parts], ignore_index=True)
    return {"allocation_plan": plan, "need": need_tab, "equity": equity_out,
            "equity_regression": eq.regression, "need_sensitivity": sens.scenarios,
            "allocation_summary": summary, "allocation_constraints": cons}


#: the plan's change limit per county: Leshan's 36 changed pairings over its 11 counties
CHANGES_PER_COUNTY = 36 / 11
#: the solver's time limit of a province's plan per county (at least the default 120 s): the
#: Sichuan world's plan (183 counties) took 120–190 s on a loaded 2-core machine and, once, ran
#: out of the default 120 s before any integer plan was found
SECONDS_PER_COUNTY = 3.0


def plan_scopes(county_codes: pd.Series) -> list[tuple[str, list[str] | None]]:
    """How the pairing plan is solved: ``[("", None)]`` — once, over the whole dataset, units free
    to move across counties (the city-level plan, as for Leshan) — when the counties belong to one
    prefecture; otherwise once per province, ``[(province_code, its counties), ...]``, with new
    pairs kept within a unit's county and a change limit of :data:`CHANGES_PER_COUNTY` per county.

    Why: a county department does not help homes in another prefecture, and the configuration LP
    over every unit × institution of a province has millions of candidate unit sets (13.4 million
    for the synthetic Sichuan world: too many to search exactly), while the within-county LP splits
    into one block per county (:mod:`.blocks`). Provinces are solved one after another, so the
    largest problem is one province's."""
    from ..hierarchy import prefecture_code, province_code

    codes = sorted({str(c) for c in county_codes.dropna()})
    if len({prefecture_code(c) for c in codes}) <= 1:
        return [("", None)]
    by: dict[str, list[str]] = {}
    for c in codes:
        by.setdefault(province_code(c), []).append(c)
    return [(p, by[p]) for p in sorted(by)]


def _summary(parts: list[tuple[str, AllocationResult]]) -> pd.DataFrame:
    """``allocation_summary``: the plan's metrics; with several provinces the dataset's rows first
    (objectives, gains and changes summed, the worst solver status) with ``province_code`` empty,
    then each province's rows."""
    def one(r: AllocationResult) -> pd.DataFrame:
        return pd.concat([r.metrics(), pd.DataFrame({
            "metric": ["response_description", "notes"],
            "value": [r.response.description, " | ".join(r.notes)]})], ignore_index=True)

    if len(parts) == 1 and not parts[0][0]:
        return one(parts[0][1])
    per = [one(r).assign(province_code=prov) for prov, r in parts]
    first = per[0].copy()
    first["province_code"] = ""
    for i, metric in enumerate(first["metric"]):
        vals = [p.loc[p["metric"] == metric, "value"] for p in per]
        nums = [pd.to_numeric(v, errors="coerce") for v in vals]
        if all(len(n) and n.notna().all() for n in nums) and metric != "mip_gap":
            first.loc[i, "value"] = float(sum(float(n.iloc[0]) for n in nums))
        elif metric == "solver_status":
            statuses = {str(v.iloc[0]) for v in vals if len(v)}
            first.loc[i, "value"] = "optimal" if statuses == {"optimal"} else ", ".join(
                sorted(statuses))
        elif metric == "mip_gap":
            first.loc[i, "value"] = max(float(n.iloc[0]) for n in nums if len(n))
    first.loc[first["metric"] == "notes", "value"] = (
        f"solved per province ({len(per)}), new pairs within a unit's county")
    # ``value`` is text, as in AllocationResult.metrics
    first["value"] = first["value"].map(lambda v: f"{v:.6g}" if isinstance(v, float) else str(v))
    return pd.concat([first, *per], ignore_index=True)


def _run_step(processed: Any, options: BuildOptions) -> dict[str, pd.DataFrame]:
    return build_results(processed, seed=options.seed)


#: the build step: reads the effectiveness step's estimated response, so it requires it
STEP = Step("allocation", run=_run_step, requires=("effectiveness",),
            description="need, equity and the re-pairing plan")
