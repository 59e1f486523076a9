"""Few-cluster inference for Callaway–Sant'Anna aggregates and pre-trend tests, in one call.

:func:`aggregate` is :meth:`analysis.did.ATTgtResult.aggregate` with, next to the analytic rows,
the restricted wild cluster bootstrap (:mod:`analysis.inference.multiplier`) and randomisation
inference over adoption dates (:mod:`analysis.inference.randomization`); :func:`pretrend_test`
is the joint pre-trend test with the analytic Wald row (:mod:`analysis.did.pretrend`) and the two
scalar statistics that exist with few clusters. Both return the result objects of
:mod:`analysis.did`; the analytic core never imports this package.

With 11 counties the analytic clustered standard errors are too small (Cameron & Miller 2015);
the resampling rows are the ones to read. p-values and intervals of both resampling methods
follow the package's one convention (:mod:`analysis.inference.pvalue`).

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230.
Roodman, D., MacKinnon, J. G., Nielsen, M. Ø., & Webb, M. D. (2019). Fast and wild: Bootstrap
    inference in Stata using boottest. *Stata Journal* 19(1), 4–60.
MacKinnon, J. G., & Webb, M. D. (2020). Randomization inference for difference-in-differences
    with few treated clusters. *Journal of Econometrics* 218(2), 435–450.
Roth, J. (2022). Pretest with caution. *American Economic Review: Insights* 4(3), 305–322.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

import numpy as np

from ..did import (
    AggKind,
    AggregateResult,
    AggSpec,
    ATTgtResult,
    PretrendResult,
    pretrend_spec,
    wald_row,
)
from ..errors import SpecificationError, check_option
from .multiplier import (
    MAX_CLUSTERS,
    BootLevel,
    Studentization,
    WildOptions,
    cs_wild_bootstrap,
    pretrend_wild,
)
from .randomization import RIStatistic, balance_table, cs_randomization, pretrend_randomization
from .restricted import WildModel
from .weights import BootWeights

__all__ = ["CSInference", "aggregate", "aggregate_spec", "headline_aggregate", "pretrend_test"]

#: the inference methods of a Callaway–Sant'Anna aggregate (names of ``analysis.domain``)
CSInference = Literal["analytic", "wild_bootstrap", "randomization"]
ALL_CS_INFERENCE: tuple[CSInference, ...] = get_args(CSInference)


def _check_inference(inference: Sequence[CSInference]) -> tuple[str, ...]:
    if isinstance(inference, str):
        inference = (inference,)
    inference = tuple(inference)
    for name in inference:
        check_option("inference", name, CSInference)
    if not inference:
        raise SpecificationError(f"inference is empty; choose at least one of {ALL_CS_INFERENCE}.")
    return inference


def _check_draws(n_boot: int, n_perm: int, seed: int) -> None:
    for name, v in (("n_boot", n_boot), ("n_perm", n_perm)):
        if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1:
            raise SpecificationError(f"{name}={v!r}: use a positive integer (999 is the default; "
                                     "99 is enough for a quick look).")
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        raise SpecificationError(f"seed={seed!r}: use an integer.")


def aggregate(
    res: ATTgtResult,
    kind: AggKind = "simple",
    *,
    inference: Sequence[CSInference] = ALL_CS_INFERENCE,
    balance_e: int | None = None,
    min_e: float = -np.inf,
    max_e: float = np.inf,
    n_boot: int = 999,
    n_perm: int = 999,
    seed: int = 0,
    boot_weights: BootWeights = "webb",
    ri_statistic: RIStatistic = "studentized",
    wild_model: WildModel = "twfe",
    studentization: Studentization = "cv3",
    boot_level: BootLevel = "cluster",
) -> AggregateResult:
    """Aggregate ATT(g,t) (R ``did``'s ``aggte``) with analytic, wild-bootstrap and randomisation
    rows.

    Parameters
    ----------
    res : ATTgtResult
        From :func:`analysis.did.att_gt`; clustered (``cluster=``) for the resampling rows.
    kind : {"simple", "dynamic", "group", "calendar"}
        As :meth:`analysis.did.ATTgtResult.aggregate`.
    inference : sequence of {"analytic", "wild_bootstrap", "randomization"}
        Which inference to report; each adds rows with its name in column ``inference`` (always
        in the order analytic, wild bootstrap, randomisation). Randomisation permutes adoption
        dates across clusters: it needs one adoption date per cluster and no covariates.
    balance_e, min_e, max_e
        As :meth:`analysis.did.ATTgtResult.aggregate`.
    n_boot, n_perm, seed, boot_weights
        Bootstrap draws, permutations (exact enumeration when there are fewer distinct
        assignments), seed for ``numpy.random.default_rng`` (the same seed for both methods),
        bootstrap weight distribution.
    ri_statistic : {"studentized", "unstudentized"}
        Randomisation statistic: the cluster-robust t (default; MacKinnon & Webb 2020) or the
        absolute estimate.
    wild_model, studentization, boot_level
        The wild bootstrap's restricted model (``"twfe"``: one constant effect, the default;
        ``"cohort_period"``: saturated cohort × period effects with only the tested restriction
        imposed), studentisation (``"cv3"``: delete-one-cluster jackknife, the default, CV1 for
        an estimate that does not exist without some cluster; ``"cv1"``: clustered influence
        function) and weights (``"cluster"``: one per cluster; ``"subcluster"``: one per unit,
        MacKinnon & Webb 2018). :mod:`analysis.inference.multiplier` gives the Monte Carlo behind
        the defaults.

    Returns
    -------
    AggregateResult
        With the randomisation rows, ``balance`` holds the pre-period balance of the permuted
        assignments (:func:`analysis.inference.randomization.balance_table`).

    References
    ----------
    Callaway & Sant'Anna (2021), Section 3; Roodman et al. (2019); MacKinnon & Webb (2020);
    Roth & Sant'Anna (2023).
    """
    check_option("kind", kind, AggKind)
    spec = res.spec(kind, balance_e=balance_e, min_e=min_e, max_e=max_e)
    return aggregate_spec(res, spec, inference=inference, n_boot=n_boot, n_perm=n_perm,
                          seed=seed, boot_weights=boot_weights, ri_statistic=ri_statistic,
                          wild_model=wild_model, studentization=studentization,
                          boot_level=boot_level)


def headline_aggregate(res: ATTgtResult, **options: Any) -> AggregateResult | None:
    """The headline dynamic summary: :func:`aggregate` of kind ``dynamic`` over the balanced
    event window ``0..E`` with ``E`` = :meth:`~analysis.did.ATTgtResult.headline_window` (the
    longest window in which every event time keeps enough comparison counties); ``None`` when no
    window qualifies (e.g. the never-treated comparison of the demo's composite index), so that
    a caller shows no headline rather than one resting on too few counties. ``options`` as
    :func:`aggregate` (``inference``, ``n_boot``, ``n_perm``, ``seed``, …)."""
    window = res.headline_window()
    if window is None:
        return None
    return aggregate(res, "dynamic", balance_e=window, min_e=0, max_e=window, **options)


def _wild_options(wild_model: WildModel, studentization: Studentization,
                  boot_level: BootLevel) -> WildOptions:
    check_option("wild_model", wild_model, WildModel)
    check_option("studentization", studentization, Studentization)
    check_option("boot_level", boot_level, BootLevel)
    return WildOptions(model=wild_model, studentization=studentization, level=boot_level)


def aggregate_spec(
    res: ATTgtResult,
    spec: AggSpec,
    *,
    inference: Sequence[CSInference] = ALL_CS_INFERENCE,
    n_boot: int = 999,
    n_perm: int = 999,
    seed: int = 0,
    boot_weights: BootWeights = "webb",
    ri_statistic: RIStatistic = "studentized",
    wild_model: WildModel = "twfe",
    studentization: Studentization = "cv3",
    boot_level: BootLevel = "cluster",
) -> AggregateResult:
    """:func:`aggregate` for a prepared :class:`~analysis.did.AggSpec`, e.g. a contrast of
    event-time ATTs from :func:`analysis.did.contrast_spec` (the slope of the pre-period ATTs, the
    mean of the last four): its overall row gets the analytic, wild-bootstrap and randomisation
    tests like any aggregate. Options as :func:`aggregate`."""
    inference = _check_inference(inference)
    _check_draws(n_boot, n_perm, seed)
    check_option("ri_statistic", ri_statistic, RIStatistic)
    wopt = _wild_options(wild_model, studentization, boot_level)
    rows, notes = [], []
    balance = None
    if "wild_bootstrap" in inference:
        rows.append(cs_wild_bootstrap(res, spec, n_boot=n_boot, seed=seed, weights=boot_weights,
                                      alpha=res.alpha, options=wopt))
        notes.append(_wild_note(res, wopt, n_boot))
    if "randomization" in inference:
        tab, note = cs_randomization(res, spec, n_perm=n_perm, seed=seed, alpha=res.alpha,
                                     statistic=ri_statistic)
        rows.append(tab)
        notes.append(note)
        balance = balance_table(res, n_perm=n_perm, seed=seed)
    return res.aggregate_result(spec, rows, notes=notes, analytic="analytic" in inference,
                                balance=balance)


def pretrend_test(
    res: ATTgtResult,
    *,
    inference: Sequence[CSInference] = ALL_CS_INFERENCE,
    min_e: float = -np.inf,
    n_boot: int = 999,
    n_perm: int = 999,
    seed: int = 0,
    boot_weights: BootWeights = "webb",
    ri_statistic: RIStatistic = "studentized",
    wild_model: WildModel = "twfe",
    studentization: Studentization = "cv3",
    boot_level: BootLevel = "cluster",
) -> PretrendResult:
    """Joint pre-trend test on the dynamic aggregation's pre-period ATTs (event time < 0).

    Parameters
    ----------
    res : ATTgtResult
        Clustered, for the bootstrap and randomisation rows.
    inference : which tests to run, any of ``"analytic"`` (Wald, when the covariance has full
        rank), ``"wild_bootstrap"`` (``sum_t2``) and ``"randomization"`` (``mean_t2``, or
        ``mean_sq`` with ``ri_statistic="unstudentized"``; both need a clustered fit). Randomisation permutes adoption dates across clusters, so it needs one
        adoption date per cluster; leave it out when adoption varies within a cluster (e.g.
        re-pairing dates of institutions clustered by county).
    min_e : earliest event time used (e.g. ``-8`` to test only the last eight pre-periods).
    n_boot, n_perm, seed, boot_weights : draws, permutations, seed and bootstrap weights.
    ri_statistic : ``"studentized"`` (mean of squared pre-period t statistics, default) or
        ``"unstudentized"`` (mean of squared pre-period ATTs).
    wild_model, studentization, boot_level : the wild bootstrap's options, as :func:`aggregate`.

    Returns
    -------
    PretrendResult

    References
    ----------
    Callaway & Sant'Anna (2021), Section 4.2 (pre-tests); Roth, J. (2022), "Pretest with caution",
    *AER: Insights* 4(3), 305–322; MacKinnon & Webb (2020) for randomisation with few clusters.
    """
    inference = _check_inference(inference)
    _check_draws(n_boot, n_perm, seed)
    check_option("ri_statistic", ri_statistic, RIStatistic)
    wopt = _wild_options(wild_model, studentization, boot_level)
    spec = pretrend_spec(res, min_e=min_e)
    nk = len(spec.keys)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    if "analytic" in inference:
        row, wald_notes = wald_row(res, spec)
        rows.append(row)
        notes += wald_notes
    if res.panel.clustered and nk and res.n_clusters <= MAX_CLUSTERS:
        if "wild_bootstrap" in inference:
            s, p = pretrend_wild(res, spec, n_boot=n_boot, seed=seed, weights=boot_weights,
                                 options=wopt)
            rows.append({"statistic": "sum_t2", "value": s, "df": nk, "p_value": p,
                         "inference": "wild_bootstrap"})
        if "randomization" in inference:
            s, p, _ = pretrend_randomization(res, spec, n_perm=n_perm, seed=seed,
                                             statistic=ri_statistic)
            rows.append({"statistic": "mean_t2" if ri_statistic == "studentized" else "mean_sq",
                         "value": s, "df": nk, "p_value": p, "inference": "randomization"})
    elif set(inference) - {"analytic"}:
        notes.append("The wild bootstrap and randomisation pre-trend tests need a fit clustered "
                     f"by at most {MAX_CLUSTERS} clusters; they were not run.")
    return PretrendResult.from_rows(res, spec, rows, notes)


def _wild_note(res: ATTgtResult, options: WildOptions, n_boot: int) -> str:
    model = {"cohort_period": "a saturated cohort × period model (unit and period effects, one "
                              "effect per treated cohort and period) with only the tested "
                              "restriction imposed",
             "twfe": "two-way fixed effects with one constant effect"}[options.model]
    stud = {"cv1": "the clustered influence-function standard error (CV1)",
            "cv3": "the delete-one-cluster jackknife (CV3)"}[options.studentization]
    level = {"cluster": f"one Webb weight per cluster ({res.n_clusters})",
             "subcluster": f"one weight per unit ({res.panel.n}; wild subcluster bootstrap)"}[
        options.level]
    return (f"Wild bootstrap: restricted wild bootstrap-t, {n_boot} draws of {level}; restricted "
            f"model: {model}; studentised by {stud}.")
