"""The county's institutions with beds and latest residents, suppressed below the threshold.

Institution-level rows are the finest grain any report shows; no resident-level data. The
residents are shown as the dataset's protected publication says
(:mod:`analysis.reports.sections.people`): small counts as ``<t``, and the companions hidden so
that no small count can be recovered from the county's total (key figures, city page, index) or
the city's as ``[c]``.
"""

from __future__ import annotations

import pandas as pd

from ...labels import INSTITUTION_KINDS, label, text
from .base import ReportContext, Section, people_table, table_html
from .people import institution_cell, latest_residents


def institutions(ctx: ReportContext) -> Section:
    """The county's (or city's) institutions with beds and the residents of each institution's
    latest assessed quarter; residents protected against every total the reports publish."""
    lang = ctx.language
    homes = latest_residents(ctx.processed)
    if ctx.county_code:
        homes = homes[homes["county_code"] == ctx.county_code].reset_index(drop=True)
    residents = label("residents", lang)
    df = pd.DataFrame(
        {
            label("institution", lang): homes["institution_name"].astype(str).to_numpy(),
            label("kind", lang): [text(INSTITUTION_KINDS[k], lang) if k in INSTITUTION_KINDS else k
                                  for k in homes["kind"].astype(str)],
            label("beds", lang): pd.array(homes["beds"], dtype="Int64"),
            residents: pd.array(homes["residents"], dtype="Int64"),
        }
    )
    cells = {(i, residents): institution_cell(str(iid))
             for i, iid in enumerate(homes["institution_id"])}
    tab = people_table(df, cells, ctx)
    return Section("institutions", label("institutions_list", lang), (table_html(tab),), level=3)
