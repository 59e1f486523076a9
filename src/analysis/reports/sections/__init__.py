"""Report sections: one module per section, each a function ``(ReportContext) -> Section``.

The report notebooks open a :class:`ReportContext` with :func:`open_report` and call one section
per cell; a :class:`Section` renders itself as HTML (``_repr_html_``), so the executed notebook is
the report.

Nothing here estimates a model: estimates come from ``data/processed/<dataset>/results/``, written
once by ``pairing-eval build``; sections filter them to a county or cohort and format. A section
whose results file does not exist says so ("this analysis has not been run for this dataset").

=====================  =====================================================================
module                 section
=====================  =====================================================================
``header``             title, provenance, synthetic-data banner (:func:`header`)
``findings``           主要结论 / key findings on the evidence ladder (:func:`findings`)
``key_figures``        the county's key figures and ranks (:func:`key_figures`)
``institutions``       the county's institutions, residents suppressed (:func:`institutions`)
``scorecard``          三升一降 scorecard and quarterly means (:func:`scorecard`)
``effectiveness``      pairing effectiveness (:func:`effectiveness`)
``reform``             the county-management reform (:func:`reform`)
``allocation``         allocation recommendations (:func:`recommendations`)
``quality``            data-quality notes (:func:`data_quality`)
``methods``            methods and references (:func:`methods`)
``league``             counties compared, the index table (:func:`comparison`, :func:`league_table`);
                       on an area's page the units one level below, linked to their pages
``area``               an area's key figures beside the levels above (:func:`area_figures`)
``base``               :class:`Section`, HTML and disclosure helpers, :func:`open_report`
``estimates``          inference methods side by side, forest plots
``readers``            results read by several sections (indicators, cohorts)
``people``             every count of people the pages publish, protected once per dataset
=====================  =====================================================================
"""

from __future__ import annotations

from .allocation import recommendations
from .area import area_figures
from .base import ReportContext, Section, check_area, check_county, county_codes, open_report
from .effectiveness import effectiveness
from .findings import findings
from .header import header
from .institutions import institutions
from .key_figures import key_figures
from .league import comparison, league, league_table
from .methods import methods
from .quality import data_quality
from .reform import reform
from .scorecard import scorecard

__all__ = [
    "ReportContext", "Section", "area_figures", "check_area", "check_county", "comparison", "county_codes", "data_quality",
    "effectiveness", "findings", "header", "institutions", "key_figures", "league", "league_table", "methods",
    "open_report", "recommendations", "reform", "scorecard",
]
