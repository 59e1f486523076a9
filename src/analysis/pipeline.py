"""The package's build: every results step, and the call the CLI, notebooks and tests use.

The build engine (:mod:`analysis.build`) knows no analysis; this module, above the analyses in the
layer order, lists their steps. Adding an analysis = writing its ``STEP`` and adding it here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import allocation, describe, effectiveness, indicators, reform
from .build import BuildOptions, BuildOutcome, Step
from .build import build as _build

#: every results step, in the order they are listed (the engine reorders by ``requires``)
STEPS: tuple[Step, ...] = (
    indicators.STEP,
    effectiveness.STEP,
    reform.STEP,
    allocation.STEP,
    describe.STEP,
)


def build(raw_dir: Path | str, *, options: BuildOptions | None = None, force: bool = False,
          out_root: Path | str | None = None,
          echo: Callable[[str], Any] = print) -> BuildOutcome:
    """Validate ``raw_dir`` and build ``data/processed/<dataset>/`` with every results step
    (:func:`analysis.build.build` with :data:`STEPS`)."""
    return _build(raw_dir, steps=STEPS, options=options, force=force, out_root=out_root,
                  echo=echo)


__all__ = ["STEPS", "BuildOptions", "build"]
