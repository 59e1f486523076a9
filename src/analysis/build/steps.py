"""The typed steps a build runs after the panel: what each produces, what it needs, its options.

A results step is a :class:`Step`: a ``name``, the names of the steps whose results it reads
(``requires``), and ``run(processed, options) -> {file stem: DataFrame}``. Each analysis module
declares its own ``STEP``; :mod:`analysis.pipeline` lists them, and :func:`order_steps` puts them in
an order that satisfies every ``requires`` (and refuses a cycle or a missing step), so no order is
an unstated dependency.

:class:`BuildOptions` reaches every step: draws of the resampling methods (``n_boot``, ``n_perm``)
and the root ``seed`` (the wild bootstraps use Webb's six-point weights throughout a build). ``BuildOptions()`` are the CLI's defaults;
``BuildOptions.fast()`` is for tests that need a build but not 999 draws.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import SpecificationError

if TYPE_CHECKING:
    from ..data import Processed



@dataclass(frozen=True)
class BuildOptions:
    """Options every results step receives.

    ``n_boot``: wild-bootstrap draws; ``n_perm``: randomisation-inference permutations; ``seed``:
    the root seed (each step derives its own stream from it, documented in the step).
    """

    n_boot: int = 999
    n_perm: int = 999
    seed: int = 20210101
    steps: tuple[str, ...] | None = field(default=None)
    """Run only these steps and what they require (``None``: all)."""

    def __post_init__(self) -> None:
        for name in ("n_boot", "n_perm"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 9:
                raise SpecificationError(f"{name}={v!r}: use an integer of at least 9 "
                                         "(999 is the default; 99 is enough for a quick look).")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise SpecificationError(f"seed={self.seed!r}: use an integer.")

    @classmethod
    def fast(cls, **changes: object) -> BuildOptions:
        """99 draws and permutations: a build for tests and quick looks (p-values coarser)."""
        return replace(cls(n_boot=99, n_perm=99), **changes)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        return {"n_boot": self.n_boot, "n_perm": self.n_perm, "seed": self.seed,
                "steps": list(self.steps) if self.steps is not None else None}


Run = Callable[["Processed", BuildOptions], Mapping[str, pd.DataFrame]]


@dataclass(frozen=True)
class Step:
    """One results step: ``run(processed, options)`` returns ``{file stem: DataFrame}``."""

    name: str
    run: Run
    requires: tuple[str, ...] = ()
    description: str = ""


def order_steps(steps: Iterable[Step], only: Iterable[str] | None = None) -> list[Step]:
    """The steps in an order where each comes after everything it requires (stable otherwise).

    ``only``: keep these steps and, transitively, what they require. Raises
    :class:`SpecificationError` for an unknown name, a duplicate, a missing requirement or a cycle.
    """
    steps = list(steps)
    by_name: dict[str, Step] = {}
    for s in steps:
        if s.name in by_name:
            raise SpecificationError(f"two build steps are named {s.name!r}.")
        by_name[s.name] = s
    for s in steps:
        for r in s.requires:
            if r not in by_name:
                raise SpecificationError(f"build step {s.name!r} requires {r!r}, which is not a "
                                         f"step (steps: {', '.join(by_name)}).")
    wanted = set(by_name)
    if only is not None:
        only = list(only)
        unknown = [n for n in only if n not in by_name]
        if unknown:
            raise SpecificationError(f"unknown build step(s) {unknown}; choose from "
                                     f"{', '.join(by_name)}.")
        wanted = set()
        stack = list(only)
        while stack:
            n = stack.pop()
            if n not in wanted:
                wanted.add(n)
                stack.extend(by_name[n].requires)
    ordered: list[Step] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(s: Step) -> None:
        if s.name in done:
            return
        if s.name in visiting:
            raise SpecificationError(f"build steps require each other in a cycle through "
                                     f"{s.name!r}.")
        visiting.add(s.name)
        for r in s.requires:
            visit(by_name[r])
        visiting.discard(s.name)
        done.add(s.name)
        ordered.append(s)

    for s in steps:
        if s.name in wanted:
            visit(s)
    return ordered
