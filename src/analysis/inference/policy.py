"""Which inference the build reports, by the number of clusters: one home for the switch.

With few counties the analytic clustered standard error over-rejects (Monte Carlo v2 in
``validation/monte_carlo_results.md``: 5.8–17.4% at 5% with 11 counties), so the build reports the
restricted wild cluster bootstrap and randomisation inference beside it and quotes the bootstrap.
Both resampling methods cost more than linearly in the number of counties (the wild bootstrap's
restricted arrays and CV3 jackknife, the permutations' re-estimation), and with many counties they
are no longer needed: the clustered standard error with ``t(G − 1)`` critical values holds its
size once there are enough clusters (Cameron, Gelbach & Miller 2008; MacKinnon & Webb 2017 show
that "enough" grows with how unequal the clusters are).

How many is enough here was measured, not assumed: ``validation/cluster_count.py`` replicates the
demo's cohort structure (with its unequal county sizes, large and noisy comparison counties) to
11 … 176 counties and records the analytic test's rejection rate of a true null
(``validation/cluster_count_results.md``: 500 null worlds per cell, four scenarios, the simple,
headline balanced dynamic and full dynamic aggregates). :data:`ANALYTIC_FROM_CLUSTERS` is the
smallest count tested at which that rate was not significantly outside 3.5–6.5% (within 1.96 Monte
Carlo s.e. of the band) in every scenario and aggregate: at 176 counties it was 3.8–7.0%; at 88
the headline dynamic summary still rejected 9.0–10.8%. 176 is the largest count tested, so the
switch assumes what the literature and the trend show — the rate does not worsen with more
counties. From there on the build runs analytic inference only, the reports quote it as the headline and the evidence ladder
(:mod:`analysis.reports.evidence`) does not cap it as "analytic only"; below it nothing changes.

References
----------
Cameron, A. C., Gelbach, J. B., & Miller, D. L. (2008). Bootstrap-based improvements for inference
    with clustered errors. *Review of Economics and Statistics* 90(3), 414–427.
MacKinnon, J. G., & Webb, M. D. (2017). Wild bootstrap inference for wildly different cluster
    sizes. *Journal of Applied Econometrics* 32(2), 233–254.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ANALYTIC_FROM_CLUSTERS", "ANALYTIC_MIN_TREATED", "RESAMPLING", "analytic_adequate", "methods_for",
           "resampling_applies"]

#: from this many clusters (counties) on the build reports analytic inference only
ANALYTIC_FROM_CLUSTERS = 176
#: an analytic interval is credited as adequate (evidence ladder) only when its estimate also rests
#: on at least this many treated counties: in the same Monte Carlo the headline dynamic summary
#: rested on 2, 4, 8 and 16 treated counties at 22, 44, 88 and 176 counties, and over-rejected
#: (24–31%, 11–16%, 9–11%) until it rested on 16 (4.8–7.0%)
ANALYTIC_MIN_TREATED = 16
#: the resampling methods the switch turns off
RESAMPLING: tuple[str, ...] = ("wild_bootstrap", "randomization")


def analytic_adequate(n_clusters: object, n_treated: object = None) -> bool:
    """True when ``n_clusters`` is a number of at least :data:`ANALYTIC_FROM_CLUSTERS` and
    ``n_treated`` (the treated counties an estimate rests on, when known) at least
    :data:`ANALYTIC_MIN_TREATED`."""
    try:
        n = float(n_clusters)  # type: ignore[arg-type]
        k = float("inf") if n_treated is None else float(n_treated)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return n >= ANALYTIC_FROM_CLUSTERS and k >= ANALYTIC_MIN_TREATED


def resampling_applies(n_clusters: int) -> bool:
    """True below :data:`ANALYTIC_FROM_CLUSTERS` clusters: the build runs the resampling methods."""
    return not analytic_adequate(n_clusters)


def methods_for(n_clusters: int, methods: Sequence[str] = ("analytic", *RESAMPLING)
                ) -> tuple[str, ...]:
    """``methods`` as the build runs them with ``n_clusters`` clusters: all of them below
    :data:`ANALYTIC_FROM_CLUSTERS`, the non-resampling ones (``analytic``) from there on."""
    if resampling_applies(n_clusters):
        return tuple(methods)
    return tuple(m for m in methods if m not in RESAMPLING)
