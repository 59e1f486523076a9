"""Small-count disclosure control for every table that reaches a report.

Counts of people (residents, children, beneficiaries, participants) below a threshold are replaced
by a marker such as ``<10``. The default threshold of 10 follows the convention of the UK Office for
National Statistics and NHS Scotland; NHS Digital suppresses 1–7. Children's homes are often tiny
(about 70% of county-level children's welfare institutions hold fewer than 10 children), and data on
children under 14 is sensitive personal information under China's PIPL, so the reports suppress by
default and never show resident-level rows.

Rules applied by :func:`suppress`:

* **Primary suppression**: a count ``c`` with ``1 <= c < threshold`` becomes the marker. Zero is
  shown: it reveals no person. Missing values stay missing.
* **Secondary (complementary) suppression**, marked ``[c]`` (the value is not small, it is hidden
  so that a small one cannot be derived): when a table carries totals, one suppressed cell in a
  group could be recovered by subtracting the other cells from the total. So within every group that
  sums to a shown total — each suppressible column when ``total_row`` names a total row, each row
  when ``total_column`` names a total column — a group with exactly one suppressed cell gets its
  smallest other non-zero count suppressed as well (repeated until no group has exactly one). A
  total that is itself below the threshold is suppressed like any other count.

This is hand-written rather than taken from ``sdcMicro``/``tau-argus`` because those are R and
Java tools for microdata and full cell-suppression optimisation; report tables here are small and
the rule above is what the statistical offices named above apply by hand.
"""

from __future__ import annotations

import html
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .domain import DISCLOSURE_THRESHOLD
from .errors import SpecificationError

DEFAULT_THRESHOLD = DISCLOSURE_THRESHOLD

_NOTE = {
    "zh": "为保护个人信息，少于{t}人的计数以“<{t}”表示{secondary}。",
    "en": "Counts of fewer than {t} people are shown as “<{t}” to protect personal information{secondary}.",
}
_SECONDARY = {
    "zh": "；另有{n}个单元格以“{m}”隐藏，以免由合计反推",
    "en": "; {n} further cell(s) are shown as “{m}” so that the small ones cannot be recovered from a total",
}
#: marker of a cell hidden by complementary suppression (its value is not small; ONS uses [c])
SECONDARY_MARKER = "[c]"


def marker(threshold: int = DEFAULT_THRESHOLD) -> str:
    """The text shown instead of a suppressed count, e.g. ``"<10"``."""
    return f"<{threshold}"


@dataclass(frozen=True)
class SuppressedTable:
    """A table after disclosure control.

    Attributes
    ----------
    table : DataFrame
        A copy of the input; suppressed cells hold the marker (those columns become ``object``).
    mask : DataFrame of bool
        Which cells were suppressed (same shape and labels as ``table``).
    threshold : int
    n_primary, n_secondary : int
        Cells suppressed because they were small, and to protect a small cell from a total.
    language : {"zh", "en"}
    """

    table: pd.DataFrame
    mask: pd.DataFrame
    threshold: int
    n_primary: int
    n_secondary: int
    language: str = "zh"

    @property
    def n_suppressed(self) -> int:
        return self.n_primary + self.n_secondary

    @property
    def note(self) -> str:
        """The note shown under the table; empty when nothing was suppressed."""
        if not self.n_suppressed:
            return ""
        lang = self.language if self.language in _NOTE else "en"
        secondary = (_SECONDARY[lang].format(n=self.n_secondary, m=SECONDARY_MARKER)
                     if self.n_secondary else "")
        return _NOTE[lang].format(t=self.threshold, secondary=secondary)

    def to_html(self, *, index: bool = False, float_format: str = "{:,.2f}") -> str:
        """HTML with every cell escaped, and the note below when anything was suppressed."""
        shown = format_numbers(self.table, float_format=float_format)
        body = shown.to_html(index=index, escape=True, border=0, classes="pe-table", na_rep="–")
        note = f"<p class='pe-note'>{html.escape(self.note)}</p>" if self.note else ""
        return body + note

    def _repr_html_(self) -> str:
        return self.to_html()


def format_numbers(df: pd.DataFrame, *, float_format: str = "{:,.2f}") -> pd.DataFrame:
    """Format numeric cells as text (integers without decimals), leaving markers and text alone."""

    def fmt(v: object) -> object:
        if isinstance(v, bool | np.bool_):
            return v
        if isinstance(v, int | np.integer):
            return f"{int(v):,}"
        if isinstance(v, float | np.floating):
            if np.isnan(v):
                return v
            if float(v).is_integer() and abs(v) >= 1000:
                return f"{v:,.0f}"
            return float_format.format(v)
        return v

    return df.apply(lambda col: col.map(fmt) if col.dtype.kind in "ifO" else col)


def _is_small(values: pd.Series, threshold: int) -> pd.Series:
    num = pd.to_numeric(values, errors="coerce")
    return (num >= 1) & (num < threshold)


def suppress(
    df: pd.DataFrame,
    columns: Sequence[Hashable],
    *,
    threshold: int = DEFAULT_THRESHOLD,
    total_row: Hashable | None = None,
    total_column: Hashable | None = None,
    language: str = "zh",
) -> SuppressedTable:
    """Suppress counts of people below ``threshold`` in ``columns`` of ``df``.

    Parameters
    ----------
    df : DataFrame
        The table as it would be shown. Not modified.
    columns : sequence of column labels
        The columns that hold counts of people. Other columns are left as they are.
    threshold : int, default 10
        Counts ``1 <= c < threshold`` are suppressed. ``threshold=1`` disables suppression.
    total_row : index label, optional
        Label of a row holding column totals (secondary suppression down each column).
    total_column : column label, optional
        A column (among ``columns``) holding the row total of the other ``columns`` (secondary
        suppression along each row).
    language : {"zh", "en"}
        Language of the note.

    Returns
    -------
    SuppressedTable
        ``.table`` (a copy with markers), ``.mask``, ``.note``.

    Notes
    -----
    Primary suppression at a threshold of 10 follows ONS / NHS Scotland practice; complementary
    suppression follows the usual rule that no suppressed cell may be derivable by subtraction
    (Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, ch. 4).
    """
    if not isinstance(threshold, int | np.integer) or isinstance(threshold, bool) or threshold < 1:
        raise SpecificationError(
            f"threshold={threshold!r} must be a whole number of people, at least 1 (1 shows every count)."
        )
    columns = list(columns)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SpecificationError(
            f"cannot suppress columns {missing!r}: they are not in the table (columns: {list(df.columns)!r})."
        )
    if total_column is not None and total_column not in columns:
        raise SpecificationError(f"total_column={total_column!r} must be one of the count columns.")
    if total_row is not None and total_row not in df.index:
        raise SpecificationError(f"total_row={total_row!r} is not a row label of the table.")

    mask = pd.DataFrame(False, index=df.index, columns=df.columns)
    for c in columns:
        mask[c] = _is_small(df[c], threshold).to_numpy()
    primary = mask.copy()

    values = {c: pd.to_numeric(df[c], errors="coerce") for c in columns}

    def protect(cells: list[tuple[Hashable, Hashable]]) -> bool:
        """In one additive group, make sure not exactly one cell is suppressed."""
        hidden = [rc for rc in cells if mask.at[rc]]
        if len(hidden) != 1:
            return False
        candidates = [
            (values[c].at[r], i)
            for i, (r, c) in enumerate(cells)
            if not mask.at[r, c] and pd.notna(values[c].at[r]) and values[c].at[r] > 0
        ]
        if not candidates:
            return False
        _, i = min(candidates)
        mask.at[cells[i]] = True
        return True

    if total_row is not None or total_column is not None:
        positions = list(df.index)
        parts = [c for c in columns if c != total_column]
        changed = True
        while changed:
            changed = False
            if total_row is not None:
                body_rows = [r for r in positions if r != total_row]
                for c in columns:
                    changed |= protect([(r, c) for r in body_rows])
            if total_column is not None:
                for r in positions:
                    changed |= protect([(r, c) for c in parts])

    out = df.copy()
    mark = marker(threshold)
    for c in columns:
        if mask[c].any():
            col = out[c].astype(object)
            col[primary[c].to_numpy()] = mark
            col[(mask[c] & ~primary[c]).to_numpy()] = SECONDARY_MARKER
            out[c] = col
    n_primary = int(primary.to_numpy().sum())
    n_total = int(mask.to_numpy().sum())
    return SuppressedTable(
        table=out,
        mask=mask,
        threshold=int(threshold),
        n_primary=n_primary,
        n_secondary=n_total - n_primary,
        language=language,
    )
