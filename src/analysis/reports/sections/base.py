"""What every report section shares: the :class:`Section` display object, the escaping HTML
helpers, disclosure helpers for tables whose totals are shown elsewhere, and the
:class:`ReportContext` that :func:`open_report` returns to the notebooks.

Safety of what reaches HTML:

* every string that comes from data (names, codes, categories, numbers) goes through
  ``DataFrame.to_html(escape=True)`` (:func:`table_html`) or :func:`html.escape`
  (:func:`paragraph`);
* every table with counts of people passes :func:`analysis.disclosure.suppress`;
* no resident-level rows: the smallest unit shown is an institution.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ...data import Processed, load_processed
from ...disclosure import DEFAULT_THRESHOLD, SuppressedTable, suppress
from ...errors import SpecificationError
from ...labels import Language, check_language, label

# ----------------------------------------------------------------------------------------------
# the display object and HTML helpers
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One report section. ``blocks`` are HTML fragments, already escaped by the helpers below.

    ``_repr_html_`` is the section's HTML (heading, tables, embedded figures, notes), so a bare call
    at the end of a notebook cell renders it in JupyterLab and in the exported HTML report; ``key``
    becomes the HTML ``id``.
    """

    key: str
    title: str
    blocks: tuple[str, ...] = ()
    level: int = 2

    def _repr_html_(self) -> str:
        head = f"<h{self.level}>{html.escape(self.title)}</h{self.level}>" if self.title else ""
        body = "".join(self.blocks)
        return (f"<section class='pe-section' id='{html.escape(self.key, quote=True)}'>"
                f"{head}{body}</section>")

    def __repr__(self) -> str:  # plain-text fallback outside HTML front-ends
        return f"Section({self.key!r}, {self.title!r}, {len(self.blocks)} blocks)"


def paragraph(text: str, cls: str = "") -> str:
    """``text`` as an escaped ``<p>`` (with a CSS class when given)."""
    c = f" class='{cls}'" if cls else ""
    return f"<p{c}>{html.escape(text)}</p>"


def heading(text: str, level: int = 3) -> str:
    """``text`` as an escaped heading."""
    return f"<h{level}>{html.escape(text)}</h{level}>"


def table_html(df: pd.DataFrame | SuppressedTable, *, index: bool = False) -> str:
    """A table as escaped HTML; a :class:`SuppressedTable` carries its disclosure note."""
    if isinstance(df, SuppressedTable):
        return df.to_html(index=index)
    return suppress(df, [], threshold=1).to_html(index=index)


def not_run(name: str, language: str) -> str:
    """The paragraph a section shows instead of a results file that does not exist."""
    return paragraph(label("not_run", language, file=f"{name}.parquet"), cls="pe-missing")


# ----------------------------------------------------------------------------------------------
# disclosure helpers
# ----------------------------------------------------------------------------------------------


def suppress_against_total(df: pd.DataFrame, column: str, threshold: int,
                           language: str) -> SuppressedTable:
    """Suppress ``column`` as if the table carried its total.

    The total is published elsewhere (the county's residents in the key figures, the city's in
    every report), so a single hidden cell could be recovered by subtraction. A second cell is
    hidden where needed; the total row itself is not shown here.
    """
    total_label = "__total__"
    total = pd.to_numeric(df[column], errors="coerce").sum()
    total_row = pd.DataFrame({column: pd.array([round(total)], dtype=df[column].dtype)
                              if str(df[column].dtype) == "Int64" else [total]}, index=[total_label])
    work = pd.concat([df, total_row])
    work.index = [*range(len(df)), total_label]
    s = suppress(work, [column], threshold=threshold, total_row=total_label, language=language)
    keep = [i for i in work.index if i != total_label]
    mask = s.mask.loc[keep].reset_index(drop=True)
    values = pd.to_numeric(df[column], errors="coerce").reset_index(drop=True)
    n_primary = int(((values >= 1) & (values < threshold)).sum())
    n_hidden = int(mask[column].sum())
    out = df.reset_index(drop=True).copy()
    out[column] = s.table.loc[keep, column].reset_index(drop=True)  # other columns keep their types
    return SuppressedTable(out, mask, s.threshold, n_primary, n_hidden - n_primary, language)


def suppress_rows(df: pd.DataFrame, rows: pd.Series, columns: Sequence[str], threshold: int,
                  language: str) -> SuppressedTable:
    """Suppress ``columns`` only in the rows flagged by ``rows`` (a long table mixing metrics)."""
    work = df.copy()
    helper = [f"__{c}" for c in columns]
    for c, h in zip(columns, helper, strict=True):
        work[h] = pd.to_numeric(work[c].where(rows), errors="coerce")
    s = suppress(work, helper, threshold=threshold, language=language)
    out = df.copy()
    mask = s.mask[helper].to_numpy()
    for j, c in enumerate(columns):
        col = out[c].astype(object)
        col[mask[:, j]] = s.table[helper[j]][mask[:, j]]
        out[c] = col
    return SuppressedTable(out, s.mask.rename(columns=dict(zip(helper, columns, strict=True)))[list(columns)],
                           s.threshold, s.n_primary, s.n_secondary, language)


# ----------------------------------------------------------------------------------------------
# context
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportContext:
    """What every section needs: the processed data, the county (``None`` for the city summary),
    the language and the disclosure threshold."""

    processed: Processed = field(repr=False)
    county_code: str | None
    language: Language = "zh"
    threshold: int = DEFAULT_THRESHOLD

    @property
    def counties(self) -> pd.DataFrame:
        return self.processed.tables["counties"]

    def county_name(self, code: str | None = None) -> str:
        """The county's name in the report's language (the code when the table has no name)."""
        code = code if code is not None else self.county_code
        if code is None:
            return ""
        row = self.counties.loc[self.counties["county_code"] == code]
        if row.empty:
            return str(code)
        if (self.language == "en" and "county_name_en" in row
                and pd.notna(row["county_name_en"].iloc[0])):
            return str(row["county_name_en"].iloc[0])
        return str(row["county_name"].iloc[0])

    def result(self, name: str) -> pd.DataFrame | None:
        """A results table, or ``None`` when that analysis has not been run."""
        if not self.processed.has_result(name):
            return None
        return self.processed.result(name)


def county_codes(processed: Processed) -> list[str]:
    """County codes of the dataset, in code order."""
    return sorted(processed.tables["counties"]["county_code"].astype(str).tolist())


def check_county(processed: Processed, county_code: str) -> None:
    """Raise ``SpecificationError`` naming the valid codes when ``county_code`` is unknown."""
    codes = county_codes(processed)
    if str(county_code) not in codes:
        raise SpecificationError(
            f"county code {county_code!r} is not in the counties table of dataset "
            f"{processed.dataset!r}; valid codes: {', '.join(codes)}."
        )


def check_threshold(threshold: object) -> None:
    """Raise ``SpecificationError`` unless ``threshold`` is a whole number of people, at least 1."""
    if not isinstance(threshold, int | np.integer) or isinstance(threshold, bool) or threshold < 1:
        raise SpecificationError(
            f"threshold={threshold!r} must be a whole number of people, at least 1.")


def open_report(
    dataset: str = "demo",
    county_code: str | None = None,
    *,
    language: Language = "zh",
    threshold: int = DEFAULT_THRESHOLD,
    root: Path | None = None,
) -> ReportContext:
    """Load the processed dataset and check the options once (county code, language, threshold).

    Parameters
    ----------
    dataset : str
        Folder under ``data/processed``.
    county_code : str, optional
        The county of the report; ``None`` opens the city summary.
    language : {"zh", "en"}
    threshold : int
        Counts of people below this are suppressed.
    root : Path, optional
        Project root (default: :func:`analysis.paths.project_root`).

    Returns
    -------
    ReportContext
    """
    check_language(language)
    check_threshold(threshold)
    processed = load_processed(dataset, root=root)
    if county_code is not None:
        county_code = str(county_code)
        check_county(processed, county_code)
    return ReportContext(processed, county_code, language, int(threshold))
