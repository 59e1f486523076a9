"""Resource allocation: did help go where it was needed, and how should units and money be
re-assigned?

* :mod:`.need` — need index per institution with configurable weights and a sensitivity view;
* :mod:`.equity` — Gini, Theil (exact within/between-county decomposition), concentration index
  against need, Lorenz/concentration curves, regression of received help on need;
* :mod:`.response` — the concave dose-response (estimated or a documented default);
* :mod:`.optimise` — the pairing optimiser's entry :func:`optimise_pairs` (HiGHS), built on
  :mod:`.problem` (candidate pairs, the configuration LP's data), :mod:`.colgen` (column
  generation and the integer search), :mod:`.blocks` (the Dantzig–Wolfe block route) and
  :mod:`.diagnosis` (infeasibility, binding constraints);
* :mod:`.budget` — the budget allocation :func:`allocate_budget` (a linear programme);
* :mod:`.result` — :class:`AllocationResult`, the result of both;
* :mod:`.checker` — an independent check of every constraint of a plan;
* :mod:`.inputs` — processed data → optimiser inputs, :func:`build_results` and the build ``STEP``.

See ``docs/methods_allocation.md``.
"""

from .budget import allocate_budget
from .checker import CheckReport, check_assignment, check_budget
from .equity import (
    EquityResult,
    concentration_index,
    equity,
    gini,
    lorenz_curve,
    received,
    theil,
    theil_decomposition,
)
from .inputs import (
    STEP,
    AllocationInputs,
    allocation_inputs,
    build_results,
    equity_for,
    main_sectors,
    recommend_budget,
    recommend_pairs,
    response_for,
)
from .need import DEFAULT_WEIGHTS, NeedIndex, NeedSensitivity, need_index, need_sensitivity
from .optimise import optimise_pairs
from .problem import candidate_pairs
from .response import DEFAULT_BETA, DEFAULT_BREAKPOINTS, Response
from .result import AllocationResult

__all__ = [
    "STEP", "AllocationInputs", "AllocationResult", "CheckReport", "DEFAULT_BETA", "DEFAULT_BREAKPOINTS",
    "DEFAULT_WEIGHTS", "EquityResult", "NeedIndex", "NeedSensitivity", "Response",
    "allocate_budget", "allocation_inputs", "build_results", "candidate_pairs", "check_assignment",
    "check_budget", "concentration_index", "equity", "equity_for", "gini", "lorenz_curve", "main_sectors",
    "need_index", "need_sensitivity", "optimise_pairs", "received", "recommend_budget",
    "recommend_pairs", "response_for", "theil", "theil_decomposition",
]
