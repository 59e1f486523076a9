"""Descriptive analysis of the processed data: what is there, and how it looks, before any model.

Every function takes the processed dataset (:class:`analysis.data.Processed`: tables, panel,
manifest) and returns a frozen result on the result protocol (:class:`analysis.results.ResultMixin`:
``title``, ``tables()``, ``plot(ax=None)``, ``summary()``, HTML in notebooks). Nothing here
estimates a model; figures are counts, sums, means and quantiles, computed with pandas.

=========================  ===========================================  ========================
function                   what it describes                            results file
=========================  ===========================================  ========================
:func:`coverage`           rows per table and county, quarters covered, ``describe_coverage``
                           assessment missingness by county × quarter,
                           institutions by kind/operator/area
:func:`pairing_network`    helper units ↔ institutions over time,       ``describe_network``
                           degrees, sector mix, re-pairings
:func:`activity_mix`       activities by category × quarter             ``describe_activity_mix``
:func:`outcome_distributions`  the four outcomes and the composite by   ``describe_outcomes``
                           county: quantiles, mean, n assessed
:func:`county_league`      the county league table (report key figures  ``describe_league``
                           and ranks)
:func:`quarterly_means`    county and city quarterly means, weighted as ``describe_trends``
                           :func:`analysis.indicators.trends`
:func:`data_quality`       per-county data-quality flags                ``describe_quality``
:func:`level_summary`      the league summarised by prefecture,         ``describe_levels``
                           province and nation (:mod:`.levels`)
=========================  ===========================================  ========================

Results files (``data/processed/<dataset>/results/``, written by :data:`STEP`, step ``describe``):
each is the main table (``tidy()``) of its result; the secondary tables are recomputed from the
processed data by calling the function. ``level`` ∈ {``county``, ``city``}; ``county_code`` is
missing on ``city`` rows.

``describe_coverage``
    one row per county and one for the city: ``level``, ``county_code``, ``institutions``,
    ``pairings``, ``activities``, ``problems``, ``assessments`` (rows of each table belonging to
    the county, through the institution), ``units`` (city row only), ``institution_quarters``
    (panel rows), ``missing_assessments``, ``missing_share``.
``describe_network``
    one row per quarter from the first pairing to the end of the data: ``period``,
    ``pairings_active`` (pairings covering a day of the quarter), ``units_active``,
    ``institutions_paired``, ``started_initial``, ``started_adjusted``, ``started_added``
    (pairings started in the quarter, by reason), ``ended`` (pairings ended in the quarter).
``describe_activity_mix``
    one row per quarter × category (every combination from the first to the last activity):
    ``period``, ``category``, ``activities``, ``value_rmb``, ``beneficiaries`` (missing cells
    count as 0).
``describe_outcomes``
    one row per (``level``, ``county_code``, ``outcome``) with ``outcome`` ∈ the four outcome
    columns and ``composite``: ``n_assessed``, ``n_institutions``, ``mean``, ``sd``, ``min``,
    ``q10``, ``q25``, ``median``, ``q75``, ``q90``, ``max`` over all assessed
    institution-quarters.
``describe_league``
    one row per county: ``county_code``, ``institutions``, ``elderly_institutions``,
    ``children_institutions``, ``beds``, ``residents`` (latest assessed quarter),
    ``paired_share`` (last quarter), ``activities``, ``visits``, ``value_rmb`` (10,000 RMB),
    ``problems_found``, ``problems_resolved``, ``activities_per_inst``, ``value_per_bed`` (RMB),
    ``resolved_share``, ``composite_change`` (residents-weighted, as ``indicators.parquet``),
    ``cohort`` (county-management quarter or missing), ``rank_composite_change``,
    ``rank_activities_per_inst``, ``rank_value_per_bed``, ``rank_resolved_share``,
    ``rank_paired_share`` (1 = best, ties share the better rank) and ``rank`` (on the composite
    change; on activities per institution when no county has one).
``describe_trends``
    one row per (``weighting``, ``level``, ``county_code``, ``period``, ``outcome``): ``mean``,
    ``n_institutions``; ``weighting`` ∈ {``residents`` (primary, first), ``unweighted``}: filter
    on it.
``describe_quality``
    one row per county and one for the city: ``institutions``, ``institution_quarters``,
    ``assessed``, ``missing_assessments``, ``assessed_share``, ``never_assessed``,
    ``residents_over_beds`` (institution-quarters), ``activities_without_unit``,
    ``problems_open`` (at the end of the data), ``small_latest_quarter`` (institutions assessed
    in the latest assessed quarter with fewer residents than the threshold, at least one),
    ``tiny_homes`` (institutions whose latest assessment counts fewer residents than the
    threshold, at least one), ``threshold`` (:data:`analysis.domain.DISCLOSURE_THRESHOLD`).
    Counts only: no row names an institution.
``describe_levels``
    the league table summarised at the levels above the county (:func:`summarise_by_level` with
    :data:`LEAGUE_RULES`): one row per prefecture, province and the nation: ``level``, ``code``
    (GB/T 2260; ``000000`` for the nation), ``name`` (where the counties table gives one),
    ``counties`` and the league's figures (sums; rates from the sums; ``paired_share`` weighted by
    institutions, ``composite_change`` by residents in the latest quarter).
"""

from .activity import ActivityMix, activity_mix
from .coverage import Coverage, coverage
from .league import CountyLeague, county_league
from .levels import LEAGUE_RULES, LevelSummary, level_summary, summarise_by_level
from .network import PairingNetwork, pairing_network
from .outcomes import OutcomeDistributions, QuarterlyMeans, outcome_distributions, quarterly_means
from .quality import DataQuality, data_quality
from .step import STEP, build_results

__all__ = [
    "LEAGUE_RULES", "STEP", "ActivityMix", "CountyLeague", "LevelSummary", "level_summary",
    "summarise_by_level", "Coverage", "DataQuality", "OutcomeDistributions",
    "PairingNetwork", "QuarterlyMeans", "activity_mix", "build_results", "county_league",
    "coverage", "data_quality", "outcome_distributions", "pairing_network", "quarterly_means",
]
