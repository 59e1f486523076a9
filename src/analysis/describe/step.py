"""The ``describe`` build step: the descriptive results files (main table of each result)."""

from __future__ import annotations

from typing import TYPE_CHECKING, get_args

import pandas as pd

from ..build.steps import BuildOptions, Step
from ..indicators import Weighting
from .activity import activity_mix
from .coverage import coverage
from .league import county_league
from .levels import level_summary
from .network import pairing_network
from .outcomes import outcome_distributions, quarterly_means
from .quality import data_quality

if TYPE_CHECKING:
    from ..data import Processed


def build_results(processed: Processed) -> dict[str, pd.DataFrame]:
    """Results hook: the eight ``describe_*`` files (see :mod:`analysis.describe` for columns).

    ``describe_trends`` holds both weightings (``weighting`` column; ``residents`` first, the
    primary); ``describe_quality`` uses the default disclosure threshold.
    """
    trends = pd.concat([quarterly_means(processed, weighting=w).tidy()
                        for w in get_args(Weighting)], ignore_index=True)
    return {
        "describe_coverage": coverage(processed).tidy(),
        "describe_network": pairing_network(processed).tidy(),
        "describe_activity_mix": activity_mix(processed).tidy(),
        "describe_outcomes": outcome_distributions(processed).tidy(),
        "describe_league": county_league(processed).tidy(),
        "describe_trends": trends,
        "describe_quality": data_quality(processed).tidy(),
        "describe_levels": level_summary(processed).tidy(),
    }


def _run_step(processed: Processed, options: BuildOptions) -> dict[str, pd.DataFrame]:
    return build_results(processed)


#: the build step (no resampling, so no options are used)
STEP = Step("describe", run=_run_step,
            description="descriptive results: coverage, pairing network, activity mix, outcome "
                        "distributions, county league, quarterly means, data quality, "
                        "league summarised by prefecture, province and nation")

__all__ = ["STEP", "build_results"]
