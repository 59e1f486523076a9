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
from .outcomes import draw_assessments
from .population import draw_counties, draw_institutions, draw_pairings, draw_units
from .truth import build_truth
from .writer import contract_columns, parsed_types, write_tables


def _check_seed(seed: object) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SpecificationError(f"seed={seed!r}: use an integer (the demo uses {DEFAULT_SEED}).")


def generate(seed: int = DEFAULT_SEED) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Generate the demo world.

    Parameters
    ----------
    seed : int
        Seed of the single ``numpy.random.default_rng`` every draw comes from.

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
    check_design()
    rng = np.random.default_rng(seed)
    counties = draw_counties(rng)
    inst = draw_institutions(rng)
    units, home = draw_units(rng)
    pairings = draw_pairings(rng, inst, units, home)
    activities, _levels = draw_activities(rng, inst, units, pairings)
    problems = draw_problems(rng, inst, pairings)
    tables = {
        "counties": counties,
        "institutions": inst,
        "units": units,
        "pairings": pairings,
        "activities": activities,
        "problems": problems,
    }
    assessments, draws = draw_assessments(rng, tables)
    tables["assessments"] = assessments
    ordered = {name: tables[name] for name in TABLE_NAMES}
    tables = {name: parsed_types(name, df.loc[:, contract_columns(name, df.columns)])
              for name, df in ordered.items()}
    return tables, build_truth(seed, tables, draws)


def write_demo(out: Path, *, seed: int = DEFAULT_SEED) -> list[Path]:
    """Generate the demo world and write it into ``out``.

    Writes ``<table>.csv`` for the seven tables, ``TRUTH.json`` and ``README.md``; the bytes are a
    function of ``seed`` alone.

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out)
    tables, truth = generate(seed)
    out.mkdir(parents=True, exist_ok=True)
    return write_tables(out, tables, truth, seed)
