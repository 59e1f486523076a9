"""Small-count suppression of one table, and the table a report shows.

Counts of people (residents, children, beneficiaries, participants) below a threshold are replaced
by a marker such as ``<10``. The default threshold of 10 follows the convention of the UK Office for
National Statistics and NHS Scotland; NHS Digital suppresses 1–7. Children's homes are often tiny
(about 70% of county-level children's welfare institutions hold fewer than 10 children), and data on
children under 14 is sensitive personal information under China's PIPL, so the reports suppress by
default and never show resident-level rows.

:func:`suppress` applies the rules of :mod:`analysis.disclosure.patterns` to one table:

* **Primary suppression**: a count ``c`` with ``1 <= c < threshold`` becomes the marker. Zero is
  shown: it reveals no person. Missing values stay missing.
* **Secondary (complementary) suppression**, marked ``[c]`` (the value is not small, it is hidden
  so that a small one cannot be derived): when the table carries totals — ``total_row`` names a row
  of column totals, ``total_column`` a column of row totals — those sums are relations an attacker
  can solve, and companions are hidden until the linear attacker of
  :mod:`analysis.disclosure.attacker` can narrow no small count beyond its marker. A total that is
  itself below the threshold is suppressed like any other count.

A table whose totals are published *elsewhere* (another page, another table) must be protected
together with them: state every cell and relation once and use
:func:`analysis.disclosure.protect` (the reports do, :mod:`analysis.reports.sections.people`).
"""

from __future__ import annotations

import html
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..domain import DISCLOSURE_THRESHOLD
from ..errors import SpecificationError
from .attacker import SECONDARY_MARKER, Cell, Publication, Relation, marker
from .patterns import check_threshold, protect

DEFAULT_THRESHOLD = DISCLOSURE_THRESHOLD

_NOTE = {
    "zh": "为保护个人信息，少于{t}人的计数以“<{t}”表示{secondary}。",
    "en": "Counts of fewer than {t} people are shown as “<{t}” to protect personal information{secondary}.",
}
_SECONDARY = {
    "zh": "；另有{n}个单元格以“{m}”隐藏，以免由合计反推",
    "en": "; {n} further cell(s) are shown as “{m}” so that the small ones cannot be recovered from a total",
}
_LOW_THRESHOLD = {
    "zh": "注意：本报告的小数隐藏阈值为{t}，低于默认的{d}：{t}至{top}人的计数照常显示。发布者已确认接受。",
    "en": "Notice: this report hides counts below {t}, a lower threshold than the default {d}: counts "
          "of {t} to {top} people are shown. The publisher has explicitly accepted this.",
}


def threshold_notice(threshold: int, language: str) -> str:
    """The notice every page shows when ``threshold`` is below the default (``""`` otherwise)."""
    if threshold >= DEFAULT_THRESHOLD:
        return ""
    lang = language if language in _LOW_THRESHOLD else "en"
    return _LOW_THRESHOLD[lang].format(t=threshold, d=DEFAULT_THRESHOLD, top=DEFAULT_THRESHOLD - 1)


def check_acknowledged(threshold: int, accepted: bool) -> None:
    """Refuse a threshold below the default unless the publisher has accepted it explicitly.

    Raises
    ------
    SpecificationError
        With the advice to keep the default or to pass the acknowledgement.
    """
    if threshold >= DEFAULT_THRESHOLD or accepted:
        return
    shown = (f"counts of {threshold} people" if threshold == DEFAULT_THRESHOLD - 1
             else f"counts of {threshold} to {DEFAULT_THRESHOLD - 1} people")
    raise SpecificationError(
        f"--threshold {threshold} is below the default of {DEFAULT_THRESHOLD}: {shown} would be "
        "published as they are, which can identify the residents of a small home. Leave "
        f"--threshold at {DEFAULT_THRESHOLD} (or above); if the data owner has agreed to publish "
        "smaller counts, add --i-accept-small-counts (accept_small_counts=True in Python), and "
        "every page of the report will say so."
    )


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
    publication : Publication, optional
        The counts, relations and statuses the table shows (for :func:`~analysis.disclosure.audit`).
    """

    table: pd.DataFrame
    mask: pd.DataFrame
    threshold: int
    n_primary: int
    n_secondary: int
    language: str = "zh"
    publication: Publication | None = field(default=None, repr=False, compare=False)

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


def from_publication(df: pd.DataFrame, cells: dict[tuple[int, Hashable], str],
                     publication: Publication, language: str = "zh") -> SuppressedTable:
    """Show the cells of ``df`` that are counts of ``publication`` as the publication says.

    Parameters
    ----------
    df : DataFrame
        The table as it would be shown (positional rows).
    cells : dict
        ``(row position, column label) → cell id`` for every count of people in the table; a
        cell id the publication does not hold (a missing count) is shown missing.
    publication : Publication
        The dataset's protected publication (one status per count, whatever the page).
    language : {"zh", "en"}
    """
    out = df.reset_index(drop=True).copy()
    mask = pd.DataFrame(False, index=out.index, columns=out.columns)
    columns = {col for _, col in cells}
    for col in columns:
        out[col] = out[col].astype(object)
    n_primary = n_secondary = 0
    for (row, col), cell_id in cells.items():
        j = out.columns.get_loc(col)
        if cell_id not in publication:
            out.iat[row, j] = np.nan
            continue
        out.iat[row, j] = publication.shown(cell_id)
        status = publication.status[cell_id]
        if status != "shown":
            mask.iat[row, j] = True
            n_primary += status == "primary"
            n_secondary += status == "secondary"
    return SuppressedTable(out, mask, publication.threshold, n_primary, n_secondary, language,
                           publication)


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
        Label of a row holding column totals (each column's rows sum to it).
    total_column : column label, optional
        A column (among ``columns``) holding the row total of the other ``columns``.
    language : {"zh", "en"}
        Language of the note.

    Returns
    -------
    SuppressedTable
        ``.table`` (a copy with markers), ``.mask``, ``.note``.

    Notes
    -----
    Primary suppression at a threshold of 10 follows ONS / NHS Scotland practice; secondary
    suppression protects every small count against a linear attacker who knows the totals
    (Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, ch. 4; the rule is stated in
    :mod:`analysis.disclosure.attacker`).
    """
    threshold = check_threshold(threshold)
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
    if df.index.has_duplicates:
        raise SpecificationError("the table's row labels must be unique to suppress its counts.")

    positions = {r: i for i, r in enumerate(df.index)}
    values = {c: pd.to_numeric(df[c], errors="coerce") for c in columns}
    ids: dict[tuple[int, Hashable], str] = {}
    cells: list[Cell] = []
    for c in columns:
        for r, v in values[c].items():
            if pd.notna(v):
                if v < 0:
                    raise SpecificationError(
                        f"column {c!r}, row {r!r} holds {v!r}: a count of people cannot be negative.")
                cid = f"{positions[r]}/{columns.index(c)}"
                ids[(positions[r], c)] = cid
                cells.append(Cell(cid, float(v), label=f"row {r!r}, column {c!r}"))
    relations: list[Relation] = []
    if total_row is not None:
        tr = positions[total_row]
        for c in columns:
            if (tr, c) in ids:
                parts = tuple(ids[(i, c)] for i in range(len(df)) if i != tr and (i, c) in ids)
                relations.append(Relation(ids[(tr, c)], parts, label=f"column {c!r}"))
    if total_column is not None:
        for i in range(len(df)):
            if (i, total_column) in ids:
                parts = tuple(ids[(i, c)] for c in columns if c != total_column and (i, c) in ids)
                relations.append(Relation(ids[(i, total_column)], parts, label=f"row {df.index[i]!r}"))
    publication = protect(cells, relations, threshold)
    shown = from_publication(df, ids, publication, language)
    out = df.copy()
    mask = pd.DataFrame(False, index=df.index, columns=df.columns)
    for c in columns:
        col = out[c]
        hidden = shown.mask[c].to_numpy()
        if hidden.any():
            col = col.astype(object)
            col[hidden] = shown.table[c].to_numpy()[hidden]
            out[c] = col
        mask[c] = hidden
    return SuppressedTable(out, mask, threshold, shown.n_primary, shown.n_secondary, language,
                           publication)


__all__ = ["DEFAULT_THRESHOLD", "SuppressedTable", "check_acknowledged", "format_numbers",
           "from_publication", "marker", "suppress", "threshold_notice"]
