"""Allocation recommendations: what the city-wide plan of ``allocation_plan.parquet`` changes for
the county's institutions, and the predicted gain against the current pairings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...labels import PLAN_METRICS, label, text
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


def recommendations(ctx: ReportContext, *, max_rows: int = 30) -> Section:
    """What the city-wide allocation plan recommends for the county's institutions: the pairings to
    add or end, and the county's predicted gain against the current pairings (summed over distinct
    institutions, as ``allocation_plan.parquet`` documents). At city scope: changes and gain per
    county, and the plan's summary metrics."""
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
    blocks = (_county_blocks(plan, ctx, max_rows) if ctx.county_code
              else _city_blocks(plan, summary, ctx))
    if summary is not None:
        desc = summary.loc[summary["metric"] == "response_description", "value"]
        if len(desc):
            blocks.append(paragraph(label("alloc_response", lang, text=str(desc.iloc[0])),
                                    cls="pe-note"))
    blocks.append(paragraph(label("alloc_note", lang), cls="pe-note"))
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
    rows = [
        {
            label("county", lang): ctx.county_name(str(code)),
            label("n_changes", lang): int(d["change"].isin(["added", "ended"]).sum()),
            label("county_gain", lang): float(institution_gain(d).sum()),
        }
        for code, d in plan.groupby("county_code", sort=True)
    ]
    blocks = [table_html(pd.DataFrame(rows))]
    if summary is not None:
        keep = summary[summary["metric"].isin(list(PLAN_METRICS))]
        if len(keep):
            blocks.append(table_html(pd.DataFrame({
                label("metric", lang): [text(PLAN_METRICS[m], lang) for m in keep["metric"]],
                label("value_col", lang): keep["value"].astype(str).to_numpy(),
            })))
    return blocks
