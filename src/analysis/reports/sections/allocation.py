"""Allocation recommendations: what the plan of ``allocation_plan.parquet`` changes for the
county's institutions, and the predicted gain against the current pairings. How the plan was
solved is said as the plan says it (:func:`plan_scope`): once for the whole dataset, or once per
province with new pairs kept within a unit's county (the plan then has ``province_code``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...labels import PLAN_METRICS, label, solver_status_label, text
from .base import ReportContext, Section, not_run, paragraph, table_html


def plan_changes(plan: pd.DataFrame) -> pd.Series:
    """``kept``, ``added`` or ``ended`` per row (the ``change`` column, else from the flags)."""
    if "change" in plan.columns:
        return plan["change"].astype(str)
    cur, rec = plan["current"].astype(bool), plan["recommended"].astype(bool)
    return pd.Series(np.select([cur & rec, rec], ["kept", "added"], "ended"), index=plan.index)


def institution_gain(plan: pd.DataFrame) -> pd.Series:
    """``predicted_gain`` is the change at the row's institution (recommended vs current pairs),
    repeated on each of its rows: one value per institution."""
    return plan.drop_duplicates("institution_id").set_index("institution_id")["predicted_gain"]


def plan_scope(plan: pd.DataFrame, ctx: ReportContext) -> str:
    """How the plan was solved, in words for the allocation note: one optimisation for the whole
    dataset (:attr:`ReportContext.whole`), units free to move across counties; or, when the plan
    carries ``province_code`` (:func:`analysis.allocation.inputs.plan_scopes`), one per province
    with new pairs kept within a unit's county (the whole dataset's when it is one province)."""
    lang = ctx.language
    provinces = (plan["province_code"].dropna().astype(str) if "province_code" in plan.columns
                 else pd.Series(dtype=str))
    provinces = provinces[provinces != ""]
    if provinces.empty:
        return label("alloc_plan_whole", lang, **ctx.whole)
    n = provinces.nunique()
    if n == 1:
        return label("alloc_plan_whole_county", lang, **ctx.whole)
    return label("alloc_plan_provinces", lang, n=n, **ctx.whole)


def dataset_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The whole dataset's rows of ``allocation_summary``: a plan solved per province has each
    province's rows after the dataset's (``province_code`` empty)."""
    if "province_code" not in summary.columns:
        return summary
    code = summary["province_code"]
    return summary[code.isna() | (code.astype(str) == "")]


def recommendations(ctx: ReportContext, *, max_rows: int = 30) -> Section:
    """What the allocation plan recommends for the county's institutions: the pairings to
    add or end, and the county's predicted gain against the current pairings (summed over distinct
    institutions, as ``allocation_plan.parquet`` documents). At city scope: changes and gain per
    county (per prefecture or province above one prefecture; an area's page: its own units), and
    the plan's summary metrics (the whole dataset's)."""
    lang = ctx.language
    plan = ctx.result("allocation_plan")
    if plan is None:
        return Section("allocation", label("allocation", lang), (not_run("allocation_plan", lang),))
    inst = ctx.processed.tables["institutions"][["institution_id", "institution_name", "county_code"]]
    units = ctx.processed.tables["units"][["unit_id", "unit_name"]]
    plan = plan.drop(columns=[c for c in ("institution_name", "county_code", "unit_name")
                              if c in plan.columns])
    plan = plan.merge(inst, on="institution_id", how="left").merge(units, on="unit_id", how="left")
    plan["change"] = plan_changes(plan)
    summary = ctx.result("allocation_summary")
    if summary is not None and not {"metric", "value"} <= set(summary.columns):
        summary = None
    if summary is not None:
        summary = dataset_summary(summary)
    blocks = (_county_blocks(plan, ctx, max_rows) if ctx.county_code
              else _city_blocks(plan, summary, ctx))
    if summary is not None:
        desc = summary.loc[summary["metric"] == "response_description", "value"]
        if len(desc):
            blocks.append(paragraph(label("alloc_response", lang, text=str(desc.iloc[0])),
                                    cls="pe-note"))
    blocks.append(paragraph(label("alloc_note", lang, plan=plan_scope(plan, ctx)), cls="pe-note"))
    return Section("allocation", label("allocation", lang), tuple(blocks))


def _county_blocks(plan: pd.DataFrame, ctx: ReportContext, max_rows: int) -> list[str]:
    lang = ctx.language
    mine = plan[plan["county_code"] == ctx.county_code]
    gain = float(institution_gain(mine).sum()) if len(mine) else 0.0
    changes = mine[mine["change"].isin(["added", "ended"])]
    blocks = [paragraph(label("alloc_summary", lang, gain=gain, n=len(changes),
                              n_inst=mine["institution_id"].nunique()))]
    if changes.empty:
        blocks.append(paragraph(label("alloc_none", lang)))
        return blocks
    blocks += [paragraph(t) for t in explain(plan, ctx)]
    changes = changes.sort_values(["predicted_gain", "institution_id", "change"],
                                  ascending=[False, True, True], kind="stable")
    tab = pd.DataFrame(
        {
            label("institution", lang):
                changes["institution_name"].fillna(changes["institution_id"]).astype(str).to_numpy(),
            label("unit", lang): changes["unit_name"].fillna(changes["unit_id"]).astype(str).to_numpy(),
            label("action", lang): [label("add", lang) if c == "added" else label("end", lang)
                                    for c in changes["change"]],
            label("inst_gain", lang): changes["predicted_gain"].to_numpy(),
        }
    ).head(max_rows)
    blocks.append(table_html(tab))
    return blocks


def _city_blocks(plan: pd.DataFrame, summary: pd.DataFrame | None, ctx: ReportContext) -> list[str]:
    lang = ctx.language
    level = ctx.member_level
    plan = plan[plan["county_code"].astype(str).isin(ctx.scope_codes)]
    unit = ctx.member_of(plan["county_code"].astype(str)).to_numpy()
    rows = [
        {
            label("county" if level == "county" else f"level_{level}", lang):
                ctx.unit_name(level, str(code)),
            label("n_changes", lang): int(d["change"].isin(["added", "ended"]).sum()),
            label("county_gain", lang): float(institution_gain(d).sum()),
        }
        for code, d in plan.groupby(unit, sort=True)
    ]
    blocks = [table_html(pd.DataFrame(rows))]
    if summary is not None:
        keep = summary[summary["metric"].isin(list(PLAN_METRICS))]
        names = [text(PLAN_METRICS[m], lang) for m in keep["metric"]]
        values = list(keep["value"].astype(str).to_numpy())
        status = summary.loc[summary["metric"] == "solver_status", "value"]
        if len(status):  # the solver's word, in the report's words
            names.append(label("solver_status", lang))
            values.append(solver_status_label(status.iloc[0], lang))
        if names:
            blocks.append(table_html(pd.DataFrame({label("metric", lang): names,
                                                   label("value_col", lang): values})))
    return blocks


# ----------------------------------------------------------------------------------------------
# the plan explained to the county
# ----------------------------------------------------------------------------------------------


def _unit_activities(plan: pd.DataFrame, flag: str) -> pd.Series:
    """Activities per quarter each institution receives from its units (the sum of their
    ``unit_rate`` over the rows where ``flag`` is true: current or recommended pairs)."""
    if "unit_rate" not in plan.columns:
        return pd.Series(dtype=float)
    rows = plan[plan[flag].astype(bool)]
    return rows.groupby("institution_id")["unit_rate"].sum()


def explain(plan: pd.DataFrame, ctx: ReportContext) -> list[str]:
    """What the plan changes for the county, why, and what the county gains or gives
    up, in words (a list of sentences), from ``allocation_plan``, ``need``,
    ``allocation_constraints``, ``allocation_summary`` and the dose-response's interval.

    * **what changes**: institutions with a change, pairings added and ended;
    * **why**: where the helper units whose pairings end here go (other institutions, other
      counties), the help those receive now against the county's institutions concerned (the
      response to help is concave, so the same help does more where there is less of it), their
      need rank (``need``: 1 = neediest), and whether the units are at capacity (the plan
      redistributes, it does not add help); for added pairings, where the units come from;
    * **gains and losses**: institutions predicted to improve and to decline, the county's total,
      and the whole dataset's total gain against the current pairings, each with the interval
      implied by the dose-response's 95% interval (predicted gains scale with its coefficient).
    """
    from .findings import (
        dose_evidence,
        gain_interval,
        num,
        plan_beta,
        summary_value,
        with_ci,
    )

    lang = ctx.language
    code = ctx.county_code
    mine = plan[plan["county_code"] == code]
    added, ended = mine[mine["change"] == "added"], mine[mine["change"] == "ended"]
    changed = set(added["institution_id"]) | set(ended["institution_id"])
    out = [label("alx_changes", lang, n_inst=mine["institution_id"].nunique(),
                 n_changed=len(changed), added=len(added), ended=len(ended))]
    now = _unit_activities(plan, "current")
    need = ctx.result("need")
    rank = (need.drop_duplicates("institution_id").set_index("institution_id")["rank"]
            if need is not None and {"institution_id", "rank"} <= set(need.columns) else None)
    # units whose pairing ends here: where do they go?
    if len(ended):
        moved = plan[plan["unit_id"].isin(set(ended["unit_id"])) & (plan["change"] == "added")]
        dest = moved[~moved["institution_id"].isin(set(ended["institution_id"]))]
        if len(dest):
            to_inst = sorted(set(dest["institution_id"]))
            other = dest[dest["county_code"] != code]["institution_id"].nunique()
            from_inst = sorted(set(ended["institution_id"]))
            out.append(label("alx_out", lang, m=dest["unit_id"].nunique(), k=len(to_inst),
                             k_other=other,
                             x_to=float(now.reindex(to_inst).fillna(0).mean()),
                             x_from=float(now.reindex(from_inst).fillna(0).mean())))
            if rank is not None:
                r_to, r_from = rank.reindex(to_inst).mean(), rank.reindex(from_inst).mean()
                if pd.notna(r_to) and pd.notna(r_from):
                    out.append(label("alx_need", lang, n=len(rank), r_to=r_to, r_from=r_from))
    if len(added):
        src = plan[plan["unit_id"].isin(set(added["unit_id"])) & (plan["change"] == "ended")
                   & ~plan["institution_id"].isin(set(added["institution_id"]))]
        to_inst = sorted(set(added["institution_id"]))
        r_to = rank.reindex(to_inst).mean() if rank is not None else float("nan")
        if len(src) and pd.notna(r_to):
            out.append(label("alx_in", lang, m=src["unit_id"].nunique(),
                             k=src["institution_id"].nunique(), r_to=r_to, n=len(rank)))
    cons = ctx.result("allocation_constraints")
    if cons is not None and {"constraint", "rows", "at_bound"} <= set(cons.columns):
        cap = cons[cons["constraint"] == "capacity"]
        if "province_code" in cap.columns and "province_code" in mine.columns and len(mine):
            # a plan solved per province: the capacity of the county's province's units
            cap = cap[cap["province_code"].astype(str) == str(mine["province_code"].iloc[0])]
        if len(cap) and int(cap["at_bound"].iloc[0]) > 0:
            out.append(label("alx_capacity", lang, at=int(cap["at_bound"].iloc[0]),
                             rows=int(cap["rows"].iloc[0])))
    # gains and losses, with the interval the dose-response's interval implies
    ev = dose_evidence(ctx.result("effectiveness"), "composite")
    beta = plan_beta(plan)
    g = institution_gain(mine)
    up, down = g[g > 0], g[g < 0]
    total = float(g.sum())
    lo, hi = gain_interval(total, beta, ev)
    out.append(label("alx_balance", lang, n_up=len(up), up=num(float(up.sum())) if len(up) else "0",
                     n_down=len(down), down=num(float(down.sum())) if len(down) else "0",
                     gain=with_ci(total, lo, hi, lang)))
    city = summary_value(ctx.result("allocation_summary"), "gain_vs_status_quo")
    if pd.notna(city):
        clo, chi = gain_interval(city, beta, ev)
        loss = label("alx_loss_note", lang, **ctx.whole) if total < 0 else ""
        out.append(label("alx_city", lang, gain=with_ci(city, clo, chi, lang), loss_note=loss,
                         **ctx.whole).strip())
    return out
