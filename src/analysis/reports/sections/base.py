"""What every report section shares: the :class:`Section` display object, the escaping HTML
helpers, the disclosure helper for counts of people, and the
:class:`ReportContext` that :func:`open_report` returns to the notebooks.

Safety of what reaches HTML:

* every string that comes from data (names, codes, categories, numbers) goes through
  ``DataFrame.to_html(escape=True)`` (:func:`table_html`) or :func:`html.escape`
  (:func:`paragraph`);
* every count of people is shown as the dataset's protected publication says
  (:mod:`analysis.reports.sections.people`, :attr:`ReportContext.people`): one suppression pattern
  for every page, audited against a linear attacker; other tables pass
  :func:`analysis.disclosure.suppress`;
* no resident-level rows: the smallest unit shown is an institution.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from ...data import Processed, load_processed
from ...disclosure import (
    DEFAULT_THRESHOLD,
    Publication,
    SuppressedTable,
    from_publication,
    suppress,
)
from ...disclosure import check_threshold as _check_threshold
from ...errors import SpecificationError
from ...labels import Language, check_language, label
from .people import people_publication

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


def people_table(df: pd.DataFrame, cells: dict[tuple[int, str], str], ctx: ReportContext) -> SuppressedTable:
    """``df`` with its counts of people shown as the dataset's protected publication says
    (:func:`analysis.reports.sections.people.people_publication`): ``cells`` maps
    ``(row position, column)`` to a cell id of that publication."""
    return from_publication(df, cells, ctx.people, ctx.language)


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

    @cached_property
    def people(self) -> Publication:
        """The dataset's counts of people, each with the status every page shows it with."""
        return people_publication(self.processed, self.threshold)

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
    _check_threshold(threshold)


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
