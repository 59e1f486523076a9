"""Data-quality notes for the county (or area, or city; an area's counts are its counties' summed):
the flags of ``describe_quality.parquet``
(:func:`analysis.describe.data_quality`) in words, and the notes the build recorded."""

from __future__ import annotations

import html
import json

import pandas as pd

from ...describe.quality import MANIFEST_NOTES
from ...labels import label
from .base import ReportContext, Section, not_run
from .readers import quality


def data_quality(ctx: ReportContext) -> Section:
    """Notes on coverage and flags for the county (or city): assessment coverage, residents above
    beds, activities without a unit, open problems, small institutions hidden, build warnings."""
    lang = ctx.language
    flags = quality(ctx.processed, ctx.county_code,
                    ctx.scope_codes if ctx.area is not None else None)
    if flags is None:
        return Section("quality", label("quality", lang), (not_run("describe_quality", lang),))
    notes = flag_notes(flags, ctx.threshold, lang) + manifest_notes(ctx)
    blocks = ["<ul class='pe-quality'>"
              + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"]
    return Section("quality", label("quality", lang), tuple(blocks))


def flag_notes(flags: pd.Series, threshold: int, language: str) -> list[str]:
    """One sentence per flag that is raised (coverage always).

    The count of small institutions was taken at the build's threshold (``flags["threshold"]``); it
    is shown when the report hides at least those (a report threshold at or above the build's),
    and named with the build's threshold, so the sentence stays true.
    """
    notes = [label("dq_assessed", language, assessed=int(flags["assessed"]),
                   share=float(flags["assessed_share"]), never=int(flags["never_assessed"]))]
    for key, column in (("dq_over_beds", "residents_over_beds"),
                        ("dq_teams", "activities_without_unit"), ("dq_open", "problems_open")):
        if int(flags[column]):
            notes.append(label(key, language, n=int(flags[column])))
    small, built_at = int(flags["small_latest_quarter"]), int(flags["threshold"])
    if small and threshold >= built_at:
        notes.append(label("dq_small", language, n=small, t=built_at))
    return notes


def manifest_notes(ctx: ReportContext) -> list[str]:
    """The warnings, notes and extra columns ``pairing-eval build`` recorded in the manifest."""
    out = []
    for key in MANIFEST_NOTES:
        val = ctx.processed.manifest.get(key)
        if val:
            shown = ("; ".join(map(str, val)) if isinstance(val, list | tuple)
                     else json.dumps(val, ensure_ascii=False, default=str))
            out.append(label("dq_manifest", ctx.language, text=shown))
    return out
