"""One exception hierarchy for the whole package.

Every error a user can trigger with their data or their options is an ``AnalysisError``; the CLI
turns these into a readable message and a non-zero exit code, never a traceback.

The texts are messages of :mod:`analysis.messages` (:class:`~analysis.messages.Msg`: English as a
string, Chinese on :meth:`~analysis.messages.Msg.render`), so that one error object — its problems
with their structured fields: file, sheet, row, column as the user wrote it, value, expected, fix —
renders in either language: ``render(language=...)``, ``summary(language=...)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from .messages import Msg, say


class AnalysisError(Exception):
    """Base class of every error pairing-eval raises on purpose."""

    exit_code: int = 1


@dataclass(frozen=True)
class Problem:
    """One problem found in the raw data, located as the user sees their file.

    ``row`` is the row number in the user's file (header = row 1); for Excel workbooks ``sheet``
    names the sheet. ``None`` means "the whole file" or "the whole column". ``rule`` names the
    rule that found the problem (e.g. ``foreign_keys``); when the finder gave none,
    :attr:`rule_id` derives one from ``expected``. ``table`` is the contract's table the file or
    sheet holds, where known.
    """

    file: str
    row: int | None
    column: str | None
    value: object
    expected: str
    fix: str
    sheet: str | None = None
    rule: str | None = None
    table: str | None = None

    @property
    def rule_id(self) -> str:
        """The rule's name: ``rule``, else a short identifier derived from ``expected``
        (:func:`rule_from_expected`), so that problems of one kind group together."""
        return self.rule or rule_from_expected(self.expected)

    def where(self, language: str = "en") -> str:
        """The file, and the sheet of a workbook."""
        if not self.sheet:
            return self.file
        return Msg("loc.where_sheet", file=self.file, sheet=self.sheet).render(language)

    def location(self, language: str = "en") -> str:
        """File, sheet, row and column (as the user headed it), in ``language``."""
        parts = [Msg("loc.file", file=self.file)]
        if self.sheet:
            parts.append(Msg("loc.sheet", sheet=self.sheet))
        if self.row is not None:
            parts.append(Msg("loc.row", row=self.row))
        if self.column:
            parts.append(Msg("loc.column", column=self.column))
        return ("，" if language == "zh" else ", ").join(p.render(language) for p in parts)

    def render(self, language: str = "en") -> str:
        """The problem as one line of advice in ``language`` (``zh`` or ``en``): where, the
        value found, what was expected and how to fix it."""
        value = "" if self.value is None else Msg("problem.value", value=repr(self.value))
        return Msg("problem.line", location=self.location(language), value=value,
                   expected=self.expected, fix=self.fix).render(language)


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_WORD = re.compile(r"[^\W_]+|≥|≤")
_SIGNS = {"≥": "at_least", "≤": "at_most"}


@lru_cache(maxsize=4096)
def rule_from_expected(expected: str) -> str:
    """A short rule identifier derived from a problem's ``expected`` text, for problems whose
    finder named no rule: the first five words before the first bracket, colon, semicolon or
    comma, numbers as ``N``, quoted values dropped, a leading article dropped, joined by ``_``
    (``"a whole number"`` → ``whole_number``, ``"a value between 0 and 100"`` →
    ``value_between_N_and_N``)."""
    head = re.split(r" \(|[:;,]", expected, maxsplit=1)[0]
    head = _NUMBER.sub(" N ", _QUOTED.sub(" ", head.lower()))
    words = [_SIGNS.get(w, w) for w in _WORD.findall(head)]
    if len(words) > 1 and words[0] in ("a", "an", "the"):
        words = words[1:]
    return "_".join(words[:5]) or "other"


@dataclass(frozen=True)
class ProblemGroup:
    """The problems of one table, column and rule: how many, where, and the first of them."""

    table: str
    column: str | None
    rule: str
    count: int
    examples: tuple[Problem, ...]
    rows: tuple[int, ...]


#: at most this many problems are listed one by one; more are summarised by group
SHOW_ALL = 20
#: groups shown in a summary (each: a count line and its first example)
SHOW_GROUPS = 15
#: problems kept per group as examples, and row numbers named per group
GROUP_EXAMPLES = 3
GROUP_ROWS = 8


class DataContractError(AnalysisError):
    """The raw data does not meet the contract. Carries **all** problems found, not just the first.

    ``str(err)`` is :meth:`summary`: every problem when there are few, else a screenful grouped by
    table, column and rule with counts and the first examples; :meth:`render` lists them all.
    """

    exit_code = 2

    def __init__(self, problems: Iterable[Problem], *, header: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.header: str = header or Msg("errors.header", n=len(self.problems))
        super().__init__(self.header)

    def __str__(self) -> str:
        return self.summary()

    def __reduce__(self) -> tuple:  # the default would rebuild from the header text alone
        return (_contract_error, (type(self), self.problems, self.header))

    def _header(self, language: str) -> str:
        return say(self.header, language) + ("：" if language == "zh" else ":")

    def render(self, limit: int | None = None, *, language: str = "en") -> str:
        """Every problem, one per line (the first ``limit`` when given), in ``language``."""
        shown: Sequence[Problem] = self.problems if limit is None else self.problems[:limit]
        lines = [self._header(language)]
        lines += [f"  {i}. {p.render(language)}" for i, p in enumerate(shown, 1)]
        if limit is not None and len(self.problems) > limit:
            lines.append(Msg("errors.more", n=len(self.problems) - limit).render(language))
        return "\n".join(lines)

    def groups(self) -> list[ProblemGroup]:
        """The problems grouped by table (the file, and sheet, where the table is not known),
        column and rule, in the order each group first appears."""
        acc: dict[tuple[str, str | None, str], list] = {}
        for p in self.problems:
            key = (p.table or p.where(), p.column, p.rule_id)
            g = acc.get(key)
            if g is None:
                acc[key] = [1, [p], [] if p.row is None else [p.row]]
                continue
            g[0] += 1
            if len(g[1]) < GROUP_EXAMPLES:
                g[1].append(p)
            if p.row is not None and len(g[2]) < GROUP_ROWS:
                g[2].append(p.row)
        return [ProblemGroup(table=k[0], column=k[1], rule=k[2], count=n, examples=tuple(ex),
                             rows=tuple(rows)) for k, (n, ex, rows) in acc.items()]

    def summary(self, *, hint: str | None = None, show_all: int = SHOW_ALL,
                show_groups: int = SHOW_GROUPS, language: str = "en") -> str:
        """What a person reads: up to ``show_all`` problems listed one by one; more are counted
        by table, column and rule, each group with its first rows and its first problem in full,
        the largest ``show_groups`` groups shown. ``hint`` is the closing line (default, when
        problems are grouped: how to write the full list to a file). ``language``: ``zh`` or
        ``en`` (rule names and the user's own names stay as they are)."""
        n = len(self.problems)
        if n <= show_all:
            return self.render(language=language) + (f"\n{say(hint, language)}" if hint else "")
        groups = self.groups()
        shown = sorted(groups, key=lambda g: -g.count)[:show_groups]
        order = {id(g): i for i, g in enumerate(groups)}
        shown.sort(key=lambda g: order[id(g)])
        lines = [self._header(language),
                 Msg("errors.groups", n=n, g=len(groups)).render(language)]
        for g in shown:
            col = f" · {say(g.column, language)}" if g.column else ""
            rows = ""
            if g.rows:
                more = " …" if g.count > len(g.rows) else ""
                rows = Msg("errors.rows", s="s" if len(g.rows) > 1 else "",
                           rows=", ".join(map(str, g.rows)), more=more).render(language)
            lines.append(f"  {g.count:>9,} × {g.table}{col} · {g.rule}{rows}")
            lines.append(Msg("errors.example", text=g.examples[0].render(language)).render(language))
        hidden = [g for g in groups if all(g is not s for s in shown)]
        if hidden:
            lines.append(Msg("errors.hidden", g=len(hidden),
                             n=sum(g.count for g in hidden)).render(language))
        lines.append(say(hint if hint is not None else Msg("errors.hint"), language))
        return "\n".join(lines)


def _contract_error(cls: type[DataContractError], problems: tuple[Problem, ...],
                    header: str) -> DataContractError:
    return cls(problems, header=header)


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
