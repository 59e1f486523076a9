"""The demo world as a pure function of the seed: :func:`generate` and :func:`write_demo`.

All randomness comes from one ``numpy.random.default_rng(seed)`` drawn in a fixed order —
counties, institutions, units, pairings, activities, problems, assessments — so the same seed gives
the same tables, and (through :mod:`analysis.synth.writer`'s fixed formats) the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..contract import TABLE_NAMES
from ..errors import SpecificationError
from .design import DEFAULT_SEED, check_design
from .events import draw_activities, draw_problems
from .outcomes import compose_assessments, draw_outcome_parts, exposure
from .population import draw_counties, draw_institutions, draw_pairings, draw_units
from .targeting import DEFAULT_PERSISTENCE, persist, retarget, truth_entry
from .truth import build_truth
from .writer import contract_columns, parsed_types, write_tables


def _check_seed(seed: object) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SpecificationError(f"seed={seed!r}: use an integer (the demo uses {DEFAULT_SEED}).")


def _check_world(targeting: object, supply_sd: object, effect_scale: object,
                 persistence: object = 0.0) -> None:
    for name, v, low in (("targeting", targeting, None), ("supply_sd", supply_sd, 0.0),
                         ("effect_scale", effect_scale, None), ("persistence", persistence, 0.0)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            raise SpecificationError(f"{name}={v!r}: use a finite number.")
        if low is not None and v < low:
            raise SpecificationError(f"{name}={v!r} must be at least {low}.")
    if persistence >= 1:  # type: ignore[operator]
        raise SpecificationError(f"persistence={persistence!r} must be below 1 (a stationary "
                                 "AR(1) shock; 0.7 is the targeting worlds' default).")


def generate(
    seed: int = DEFAULT_SEED,
    *,
    targeting: float = 0.0,
    supply_sd: float = 0.0,
    effect_scale: float = 1.0,
    persistence: float | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Generate the demo world, or a targeting world.

    Parameters
    ----------
    seed : int
        Seed of the single ``numpy.random.default_rng`` every draw comes from.
    targeting : float
        Strength with which help responds to the previous quarter's outcomes (log change of the
        expected activities per SD of need; :mod:`analysis.synth.targeting`). 0 (with
        ``supply_sd`` 0): the demo world, byte for byte.
    supply_sd : float
        SD of the units' quarterly supply shocks (log scale) in a re-allocated world.
    effect_scale : float
        Multiplies the planted dose-response effects (0: help has no effect at all).
    persistence : float or None
        AR(1) coefficient ``ρ`` (0 ≤ ρ < 1) of a persistent institution shock common to the
        three scores (:func:`analysis.synth.targeting.persist`: marginal SD twice each score's
        transitory noise SD, drawn from its own stream). ``None``: 0.7 (``DEFAULT_PERSISTENCE``)
        in a targeting world (``targeting`` or ``supply_sd`` not 0), 0 in the demo world. 0: no
        such shock, the scores' shocks are transitory as in the demo world.

    Returns
    -------
    tables : dict of str to DataFrame
        The seven raw tables of the contract, with its columns in its order and the types
        :func:`analysis.io.read_raw` produces (ids ``str``, dates ``datetime64[ns]``, periods
        ``"YYYYQn"``, enumerations English codes, integers ``Int64``).
    truth : dict
        The planted effects, outcome model and calibration (written as ``TRUTH.json``).
    """
    _check_seed(seed)
    retargeted = targeting != 0 or supply_sd != 0 or bool(persistence)
    if persistence is None:
        persistence = DEFAULT_PERSISTENCE if retargeted else 0.0
    _check_world(targeting, supply_sd, effect_scale, persistence)
    check_design()
    rng = np.random.default_rng(seed)
    counties = draw_counties(rng)
    inst = draw_institutions(rng)
    units, home = draw_units(rng)
    pairings = draw_pairings(rng, inst, units, home)
    activities, sources = draw_activities(rng, inst, units, pairings)
    problems = draw_problems(rng, inst, pairings, units)
    tables = {
        "counties": counties,
        "institutions": inst,
        "units": units,
        "pairings": pairings,
        "activities": activities,
        "problems": problems,
    }
    if retargeted:
        parts = persist(draw_outcome_parts(rng, tables), float(persistence), seed)
        activities, counts, safety = retarget(seed, activities, sources, parts,
                                              targeting=float(targeting),
                                              supply_sd=float(supply_sd),
                                              effect_scale=float(effect_scale))
        tables["activities"] = activities
        lag = np.zeros_like(counts)
        lag[:, 1:] = counts[:, :-1]
        assessments, draws = compose_assessments(parts, np.log1p(lag), effect_scale=effect_scale,
                                                 safety=safety)
    else:
        parts = draw_outcome_parts(rng, tables)
        lag = exposure(tables, parts.ts).activities_lag1
        assessments, draws = compose_assessments(parts, np.log1p(lag), effect_scale=effect_scale,
                                                 rng=rng)
    tables["assessments"] = assessments
    ordered = {name: tables[name] for name in TABLE_NAMES}
    tables = {name: parsed_types(name, df.loc[:, contract_columns(name, df.columns)])
              for name, df in ordered.items()}
    truth = build_truth(seed, tables, draws, effect_scale=effect_scale)
    if retargeted:
        truth["targeting"] = truth_entry(targeting, supply_sd, effect_scale, persistence)
        truth["dose_response"]["description"] = truth["dose_response"]["description"].replace(
            "independent of outcome noise.",
            "and here also from the previous quarter's outcomes and unit supply shocks (see "
            "targeting): it is NOT independent of outcome noise.")
    return tables, truth


def write_demo(out: Path, *, seed: int = DEFAULT_SEED, targeting: float = 0.0,
               supply_sd: float = 0.0, effect_scale: float = 1.0,
               persistence: float | None = None) -> list[Path]:
    """Generate the demo world (or a targeting world: the options of :func:`generate`) and write
    it into ``out``.

    Writes ``<table>.csv`` for the seven tables, ``TRUTH.json`` and ``README.md``; the bytes are a
    function of ``seed`` and the options alone.

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out)
    tables, truth = generate(seed, targeting=targeting, supply_sd=supply_sd,
                             effect_scale=effect_scale, persistence=persistence)
    out.mkdir(parents=True, exist_ok=True)
    return write_tables(out, tables, truth, seed)
