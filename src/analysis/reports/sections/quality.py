"""Data-quality notes: coverage and flags for the county (or city), and the build's notes."""

from __future__ import annotations

import html
import json

from ...labels import label
from .base import ReportContext, Section


def data_quality(ctx: ReportContext) -> Section:
    """Notes on coverage and flags for the county (or city): assessment coverage, residents above
    beds, activities without a unit, open problems, small institutions hidden, build warnings."""
    lang = ctx.language
    t = ctx.processed.tables
    p = ctx.processed.panel
    inst = t["institutions"]
    if ctx.county_code:
        p = p[p["county_code"] == ctx.county_code]
        inst = inst[inst["county_code"] == ctx.county_code]
    ids = set(inst["institution_id"])
    notes: list[str] = []
    assessed = p["assessed"].astype(bool)
    ever = p.loc[assessed, "institution_id"].nunique()
    notes.append(label("dq_assessed", lang, assessed=int(assessed.sum()),
                       share=float(assessed.mean()) if len(p) else 0.0, never=len(ids) - ever))
    over = int((p["residents"] > p["beds"]).sum())
    if over:
        notes.append(label("dq_over_beds", lang, n=over))
    acts = t["activities"]
    acts = acts[acts["institution_id"].isin(ids)]
    teams = int(acts["unit_id"].isna().sum())
    if teams:
        notes.append(label("dq_teams", lang, n=teams))
    probs = t["problems"]
    open_n = int(probs[probs["institution_id"].isin(ids)]["resolved_date"].isna().sum())
    if open_n:
        notes.append(label("dq_open", lang, n=open_n))
    last = p[assessed]
    if len(last):
        lr = last[last["t"] == last["t"].max()]
        small = int(((lr["residents"] >= 1) & (lr["residents"] < ctx.threshold)).sum())
        if small:
            notes.append(label("dq_small", lang, n=small, t=ctx.threshold))
    notes += manifest_notes(ctx)
    blocks = ["<ul class='pe-quality'>"
              + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"]
    return Section("quality", label("quality", lang), tuple(blocks))


def manifest_notes(ctx: ReportContext) -> list[str]:
    """The warnings, notes and extra columns ``pairing-eval build`` recorded in the manifest."""
    out = []
    for key in ("warnings", "notes", "extra_columns"):
        val = ctx.processed.manifest.get(key)
        if val:
            shown = ("; ".join(map(str, val)) if isinstance(val, list | tuple)
                     else json.dumps(val, ensure_ascii=False, default=str))
            out.append(label("dq_manifest", ctx.language, text=shown))
    return out
