"""Re-pairing event study: the effect of an institution's first *adjusted* pairing, by event time.

Institutions whose pair was adjusted in quarter ``g`` (panel ``repair_t``) are compared with
institutions not yet adjusted (or never adjusted) by the group-time ATT of Callaway & Sant'Anna
(2021, *J. Econometrics* 225(2)) and its dynamic and simple aggregations — the one staggered-DiD
implementation of the package, shared with the county-management reform analysis, so nothing is
re-estimated here. Pre-period event times are placebo comparisons, tested jointly (Wald on the
institution-level influence function). A two-way fixed-effects event study is not used: with
staggered timing and dynamic effects its coefficients mix effects of other periods (Sun &
Abraham 2021, *J. Econometrics* 225(2)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import pandas as pd

from ..did import att_gt
from ..domain import OutcomeOrComposite, outcome_label
from ..errors import SpecificationError, check_option
from ..inference import aggregate, pretrend_test
from ..results import ResultMixin
from .prepare import axis_label, with_outcome

__all__ = ["ClusterLevel", "ControlGroup", "EventInference", "EventStudyResult",
           "repairing_event_study"]

ControlGroup = Literal["notyettreated", "nevertreated"]
#: level of the analytic clustered standard errors
ClusterLevel = Literal["county", "institution"]
#: the inference methods of the aggregations (names from :data:`analysis.domain.INFERENCE_NAMES`)
EventInference = Literal["analytic", "wild_bootstrap", "randomization"]


@dataclass(frozen=True)
class EventStudyResult(ResultMixin):
    """Re-pairing event study: dynamic and overall ATT of an adjusted pairing, pre-trend test.

    ``tables()``: ``event_study`` (the simple aggregation, then the dynamic one by event time, per
    inference method) and ``pretrend`` (the joint test of the pre-period ATTs).
    """

    display_columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "event_study": ("aggregation", "key", "inference", "att", "std_error", "ci_low",
                        "ci_high", "p_value")}

    outcome: str
    cluster: str
    dynamic: Any = field(repr=False)
    simple: Any = field(repr=False)
    pretrend: Any = field(repr=False)
    n_repaired: int = 0
    n_institutions: int = 0
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Re-pairing event study (Callaway–Sant'Anna): {self.outcome}"

    def tables(self) -> dict[str, pd.DataFrame]:
        dyn = self.dynamic.tidy().assign(aggregation="dynamic")
        sim = self.simple.tidy().assign(aggregation="simple")
        out = pd.concat([sim, dyn], ignore_index=True)
        out.insert(0, "outcome", self.outcome)
        return {"event_study": out, "pretrend": self.pretrend.tidy()}

    def plot(self, *, ax: Any = None, inference: EventInference = "analytic") -> Any:
        """The dynamic aggregation of one inference method with its 95% band (pre-periods
        shaded)."""
        from ..plots import new_axes

        check_option("inference", inference, EventInference)
        ax = new_axes(ax)
        self.dynamic.plot(ax=ax, inference=inference)
        ax.set_xlabel("quarters since the adjusted pairing started")
        ax.set_ylabel(axis_label(self.outcome, "ATT on "))
        ax.set_title(f"Re-pairing event study: {outcome_label(self.outcome)}")
        return ax


def repairing_event_study(
    panel: pd.DataFrame,
    *,
    outcome: OutcomeOrComposite = "environment_score",
    control_group: ControlGroup = "notyettreated",
    cluster: ClusterLevel = "county",
    min_e: int = -8,
    max_e: int = 8,
    inference: Sequence[EventInference] = ("analytic", "wild_bootstrap"),
    n_boot: int = 999,
    seed: int = 0,
) -> EventStudyResult:
    """Effect of re-pairing (an institution's first *adjusted* pairing) by event time.

    Institutions whose pair was adjusted in quarter ``g`` (panel ``repair_t``) are compared with
    institutions not yet adjusted (or never adjusted: ``control_group="nevertreated"``), by the
    Callaway–Sant'Anna group-time ATT and its dynamic and simple aggregations, as implemented once
    in :func:`analysis.did.att_gt` (the reform analysis uses the same code). Pre-period
    event times are placebo comparisons; :func:`analysis.inference.pretrend_test` tests them
    jointly (Wald when it exists, wild bootstrap and randomisation otherwise).

    Parameters
    ----------
    panel : pandas.DataFrame
        The institution-quarter panel (not modified).
    outcome : {"environment_score", "service_score", "happiness_score", "safety_hazards", \
"composite"}
        A target or the composite index.
    control_group : {"notyettreated", "nevertreated"}
        The comparison institutions.
    cluster : {"county", "institution"}
        Level of the analytic clustered errors (11 counties: read the wild bootstrap rows);
        with ``"institution"`` only the analytic rows are computed.
    min_e, max_e : int
        Event-time window of the dynamic aggregation (must contain pre- and post-periods).
    inference : sequence of {"analytic", "wild_bootstrap", "randomization"}
        Inference methods of the aggregations.
    n_boot : int
        Bootstrap draws (and permutations of the pre-trend test).
    seed : int
        Seed of the resampling.

    Returns
    -------
    EventStudyResult
        ``tables()``: ``event_study`` (simple and dynamic aggregations) and ``pretrend``.

    Raises
    ------
    SpecificationError
        For an unknown option, a window without pre- or post-periods, or no adjusted pairing.

    References
    ----------
    Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
    periods. *Journal of Econometrics* 225(2), 200–230. Sun, L., & Abraham, S. (2021) on why
    two-way fixed-effects event studies are not used here.
    """
    check_option("cluster", cluster, ClusterLevel)
    check_option("control_group", control_group, ControlGroup)
    inference = tuple(inference)
    for name in inference:
        check_option("inference", name, EventInference)
    if min_e >= 0 or max_e < 0:
        raise SpecificationError(f"The window min_e={min_e}, max_e={max_e} must contain pre (<0) "
                                 "and post (≥0) event times, e.g. min_e=-8, max_e=8.")
    d = with_outcome(panel, outcome)
    if "repair_t" not in d.columns or d["repair_t"].notna().sum() == 0:
        raise SpecificationError("No institution has an adjusted pairing (panel repair_t is empty), "
                                 "so there is no re-pairing to study.")
    d = d[["institution_id", "county_code", "t", "repair_t", outcome]]
    cl = "county_code" if cluster == "county" else None
    res = att_gt(d, outcome=outcome, unit="institution_id", time="t", group="repair_t",
                 cluster=cl, control_group=control_group)
    if cl is None:
        inference = tuple(i for i in inference if i == "analytic") or ("analytic",)
    dyn = aggregate(res, "dynamic", min_e=min_e, max_e=max_e, inference=inference,
                    n_boot=n_boot, seed=seed)
    sim = aggregate(res, "simple", max_e=max_e, inference=inference, n_boot=n_boot, seed=seed)
    # The joint pre-trend test uses the institution-level influence function (104 units, so the
    # Wald statistic exists). Re-pairing is decided per institution, not per county, so
    # randomisation of adoption dates across counties does not apply here.
    res_unit = res if cl is None else att_gt(d, outcome=outcome, unit="institution_id", time="t",
                                             group="repair_t", control_group=control_group)
    pre = pretrend_test(res_unit, n_boot=n_boot, n_perm=n_boot, seed=seed, min_e=min_e)
    n_rep = int(d.groupby("institution_id")["repair_t"].first().notna().sum())
    notes = list(res.notes) + [
        f"{n_rep} institutions with an adjusted pairing; comparison: {control_group} institutions; "
        f"standard errors clustered by {cluster}."]
    notes += [n for n in pre.notes if n not in notes]  # the pre-trend table is shown too
    return EventStudyResult(outcome=outcome, cluster=cluster, dynamic=dyn, simple=sim,
                            pretrend=pre, n_repaired=n_rep,
                            n_institutions=int(d["institution_id"].nunique()), _notes=tuple(notes))
