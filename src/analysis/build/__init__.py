"""Validate raw data and build ``data/processed/<dataset>/``: the atomic engine
(:mod:`.engine`) and the typed results steps it runs (:mod:`.steps`).

The engine knows no analysis; :mod:`analysis.pipeline` holds the package's steps and is what the
CLI calls.
"""

from .engine import (
    PARQUET_META_KEY,
    BuildError,
    BuildOutcome,
    ValidationReport,
    build,
    default_out_root,
    input_hashes,
    validate_raw,
    write_parquet,
)
from .steps import BuildOptions, Step, order_steps

__all__ = [
    "PARQUET_META_KEY", "BuildError", "BuildOptions", "BuildOutcome", "Step", "ValidationReport",
    "build", "default_out_root", "input_hashes", "order_steps", "validate_raw", "write_parquet",
]
