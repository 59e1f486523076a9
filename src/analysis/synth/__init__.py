"""The synthetic demo world: Leshan's 11 real county codes, invented institutions and helper units,
pairings, activities, problems and quarterly assessments 2019Q1–2024Q4 with **planted effects**.

``generate(seed)`` returns the parsed tables (types as :func:`analysis.io.read_raw` produces
them) and the truth; ``write_demo(out, seed=...)`` writes one UTF-8 CSV per table with the
contract's canonical English headers, ``TRUTH.json`` and a ``README.md``. The output is a pure
function of the seed, byte for byte.

* :mod:`~analysis.synth.design` — the numbers the world is built around (the published figures
  themselves come from :data:`analysis.domain.PUBLISHED`), and the planted outcome model;
* :mod:`~analysis.synth.population` — counties, institutions, units, pairings;
* :mod:`~analysis.synth.events` — activities and problems, calibrated to the published totals;
* :mod:`~analysis.synth.outcomes` — the assessments under the planted outcome model;
* :mod:`~analysis.synth.targeting` — the targeting world (``generate(seed, targeting=κ,
  supply_sd=σ, effect_scale=s)``): help re-allocated quarter by quarter towards the homes that had
  a bad quarter, from its own seeded stream;
* :mod:`~analysis.synth.truth` — ``TRUTH.json``: planted effects, planted CS aggregates,
  calibration;
* :mod:`~analysis.synth.writer` — fixed-format CSV files whose columns are the contract's, and
  reading them back;
* :mod:`~analysis.synth.world` — :func:`generate` and :func:`write_demo`.
* :mod:`~analysis.synth.scale` — worlds at scale (``sichuan``: 183 counties in 21 prefectures;
  ``national``: about 2,850 counties and 40,000 institutions) with the same mechanisms and their
  own design, and ``write_world`` behind ``pairing-eval synth --scale``.

Design in full: ``docs/demo_world.md``. Hand-written because no library generates this domain;
only numpy and pandas are used.
"""

from __future__ import annotations

from ..contract import TABLE_NAMES
from .design import DEFAULT_SEED, OUTCOME_MODEL
from .outcomes import Exposure, exposure
from .truth import build_truth, calibration_figures
from .world import generate, write_demo
from .writer import FLOAT_FORMATS, contract_columns, read_demo_tables

__all__ = [
    "DEFAULT_SEED", "FLOAT_FORMATS", "OUTCOME_MODEL", "TABLE_NAMES", "Exposure",
    "build_truth", "calibration_figures", "contract_columns", "exposure", "generate",
    "read_demo_tables", "write_demo",
]
