"""The county's institutions with beds and latest residents, suppressed below the threshold.

Institution-level rows are the finest grain any report shows; no resident-level data.
"""

from __future__ import annotations

import pandas as pd

from ...labels import INSTITUTION_KINDS, label, text
from .base import ReportContext, Section, suppress_against_total, table_html


def institutions(ctx: ReportContext) -> Section:
    """The county's (or city's) institutions with beds and the residents of each institution's
    latest assessed quarter; residents suppressed against the total published elsewhere."""
    lang = ctx.language
    inst = ctx.processed.tables["institutions"]
    inst = inst[inst["county_code"] == ctx.county_code] if ctx.county_code else inst
    inst = inst.sort_values("institution_id")
    p = ctx.processed.panel
    p = p[p["assessed"].astype(bool)]
    last = p.sort_values("t").groupby("institution_id").tail(1).set_index("institution_id")["residents"]
    df = pd.DataFrame(
        {
            label("institution", lang): inst["institution_name"].astype(str).to_numpy(),
            label("kind", lang): [text(INSTITUTION_KINDS[k], lang) if k in INSTITUTION_KINDS else k
                                  for k in inst["kind"].astype(str)],
            label("beds", lang): pd.array(inst["beds"], dtype="Int64"),
            label("residents", lang): pd.array(last.reindex(inst["institution_id"]).round(),
                                               dtype="Int64"),
        }
    )
    tab = suppress_against_total(df, label("residents", lang), ctx.threshold, lang)
    return Section("institutions", label("institutions_list", lang), (table_html(tab),), level=3)
