"""One exception hierarchy for the whole package.

Every error a user can trigger with their data or their options is an ``AnalysisError``; the CLI
turns these into a readable message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


class AnalysisError(Exception):
    """Base class of every error pairing-eval raises on purpose."""

    exit_code: int = 1


@dataclass(frozen=True)
class Problem:
    """One problem found in the raw data, located as the user sees their file.

    ``row`` is the row number in the user's file (header = row 1); for Excel workbooks ``sheet``
    names the sheet. ``None`` means "the whole file" or "the whole column".
    """

    file: str
    row: int | None
    column: str | None
    value: object
    expected: str
    fix: str
    sheet: str | None = None

    def location(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def render(self) -> str:
        value = "" if self.value is None else f" value {self.value!r}:"
        return f"{self.location()}:{value} expected {self.expected}. Fix: {self.fix}"


class DataContractError(AnalysisError):
    """The raw data does not meet the contract. Carries **all** problems found, not just the first."""

    exit_code = 2

    def __init__(self, problems: Iterable[Problem], *, header: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.header = header or f"{len(self.problems)} problem(s) found in the raw data"
        super().__init__(self.render())

    def render(self, limit: int | None = None) -> str:
        shown: Sequence[Problem] = self.problems if limit is None else self.problems[:limit]
        lines = [self.header + ":"]
        lines += [f"  {i}. {p.render()}" for i, p in enumerate(shown, 1)]
        if limit is not None and len(self.problems) > limit:
            lines.append(f"  … and {len(self.problems) - limit} more")
        return "\n".join(lines)


class SpecificationError(AnalysisError):
    """An option or model specification cannot be estimated; the message says what to change."""

    exit_code = 2


class InfeasibleError(SpecificationError):
    """An optimisation problem has no feasible solution; the message names the binding constraint."""


class ReportError(AnalysisError):
    """One or more reports failed; details are in the message and in ``reports/<dataset>/failed/``."""

    exit_code = 1


@dataclass(frozen=True)
class _Choice:
    name: str
    allowed: tuple[str, ...] = field(default_factory=tuple)


def check_choice(name: str, value: object, allowed: Iterable[object]) -> None:
    """Raise ``SpecificationError`` naming ``value`` and the allowed set when ``value`` is not in it."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise SpecificationError(
            f"{name}={value!r} is not supported; choose one of {', '.join(map(repr, allowed))}."
        )


def check_option(name: str, value: object, literal: object) -> None:
    """Validate ``value`` against a ``typing.Literal`` type: the allowed set is read from the
    type itself (``typing.get_args``), so the type and the check can never disagree."""
    from typing import get_args

    check_choice(name, value, get_args(literal))
