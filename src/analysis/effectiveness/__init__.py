"""Did the pairings move the 三升一降 targets, and which help works?

Five analyses, one module each, every one a pure function returning a frozen result object on the
result protocol (:class:`analysis.results.ResultMixin`):

* :mod:`.dose` — :func:`dose_response`: each outcome on lagged pairing intensity (activities,
  visits or money per resident) with institution and quarter fixed effects absorbed by the within
  transformation (Gaure 2013), a concave form (``log1p`` or a restricted cubic spline, Harrell
  2015), standard errors clustered by institution and restricted wild-cluster-bootstrap p-values
  and intervals clustered by **county** (Cameron, Gelbach & Miller 2008; Webb 2023). With ~11
  counties the county-clustered analytic test is unreliable, which every output says. A lead
  placebo is available with ``placebo=True``.
* :mod:`.event_study` — :func:`repairing_event_study`: institutions whose pair was adjusted vs
  those not yet adjusted, by event time, with the Callaway & Sant'Anna (2021) estimator the
  reform analysis uses too, and a joint pre-trend test.
* :mod:`.its` — :func:`interrupted_time_series`: segmented regression of the city mean at the
  programme start (Wagner et al. 2002) with Newey–West errors; **descriptive: no control group**,
  as every output says.
* :mod:`.survival` — :func:`problem_survival`: Kaplan–Meier curves and median days to resolution
  (Brookmeyer–Crowley intervals) by problem category, county or helper-unit sector, open problems
  censored; a Cox model.
* :mod:`.units` — :func:`unit_contributions`: helper-unit effects from a linear mixed model with
  unit random effects (REML, BLUPs), shrunken estimates next to the naive league table.

* :mod:`.iv` — :func:`dose_response_iv`: the dose-response instrumented by the partner units'
  leave-one-out activity elsewhere (two-stage least squares with the same fixed effects;
  first-stage F; clustered by county with t(G − 1)), the design that survives help going where
  problems were.

The dose-response coefficients are associations conditional on the fixed effects; they are
causal only under strict exogeneity (``docs/caveats.md`` E1).

:mod:`.prepare` holds what they share (intensities, the ``composite`` and ``repaired`` columns);
:mod:`.step` holds :func:`build_results`, which writes ``effectiveness.parquet`` (and
``survival``, ``survival_cox``, ``unit_contributions``, ``dose_response_curve``) during
``pairing-eval build``, and the build :data:`STEP`.

Every result's ``tables()`` holds its tables of estimates and tests (the main one first: e.g. the
event study's pre-trend test and the survival result's Cox model are secondary tables); the data a
plot draws (dose-response curve, quarterly series, Kaplan–Meier step functions) are attributes.
"""

from __future__ import annotations

from .dose import (
    DoseInference,
    DoseResponseResult,
    TimeEffects,
    Transform,
    dose_response,
    rcs_basis,
)
from .event_study import (
    ClusterLevel,
    ControlGroup,
    EventInference,
    EventStudyResult,
    repairing_event_study,
)
from .its import DESCRIPTIVE, ITSResult, interrupted_time_series
from .iv import IVResult, dose_response_iv
from .prepare import DEFAULT_CONTROLS, INTENSITIES, Intensity, with_outcome
from .step import RESULT_COLUMNS, STEP, build_results
from .survival import SurvivalBy, SurvivalResult, problem_durations, problem_survival
from .units import MixedEngine, UnitContributionResult, unit_contributions, unit_membership

__all__ = [
    "DEFAULT_CONTROLS",
    "DESCRIPTIVE",
    "INTENSITIES",
    "RESULT_COLUMNS",
    "STEP",
    "ClusterLevel",
    "ControlGroup",
    "DoseInference",
    "DoseResponseResult",
    "EventInference",
    "EventStudyResult",
    "ITSResult",
    "IVResult",
    "Intensity",
    "MixedEngine",
    "SurvivalBy",
    "SurvivalResult",
    "TimeEffects",
    "Transform",
    "UnitContributionResult",
    "build_results",
    "dose_response",
    "dose_response_iv",
    "interrupted_time_series",
    "problem_durations",
    "problem_survival",
    "rcs_basis",
    "repairing_event_study",
    "unit_contributions",
    "unit_membership",
    "with_outcome",
]
