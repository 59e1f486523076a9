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
from typing import Literal

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
from ...hierarchy import CODE_COLUMN, NATION_CODE, hierarchy, level_of
from ...labels import Language, check_language, label, whole_words
from .people import people_publication, stored_publication

#: the levels an area page can have (a county has its own page; the dataset has the city page)
AreaLevel = Literal["prefecture", "province"]
AREA_LEVELS: tuple[str, ...] = ("prefecture", "province")
#: the report name of the whole dataset's page (``city.html``)
DATASET_REPORT = "city"

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
    """What every section needs: the processed data, the page's scope (a county; an ``area``, the
    code of a prefecture or province; or neither: the whole dataset, the city summary), the
    language and the disclosure threshold."""

    processed: Processed = field(repr=False)
    county_code: str | None
    language: Language = "zh"
    threshold: int = DEFAULT_THRESHOLD
    area: str | None = None
    #: the dataset's protected publication when the caller has it already (the report driver
    #: audits it before anything runs); computed on first use otherwise
    publication: Publication | None = field(default=None, repr=False, compare=False)

    @cached_property
    def people(self) -> Publication:
        """The dataset's counts of people, each with the status every page shows it with."""
        if self.publication is not None:
            if self.publication.threshold != self.threshold:
                raise SpecificationError(
                    f"the publication given was protected at threshold {self.publication.threshold}"
                    f", the report's threshold is {self.threshold}.")
            return self.publication
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

    # -- levels: the page's scope and the units its tables list ---------------------------------

    @cached_property
    def levels(self) -> pd.DataFrame:
        """One row per county: its prefecture and province (codes and names,
        :func:`analysis.hierarchy.hierarchy`), in code order."""
        return hierarchy(self.counties).sort_values("county_code").reset_index(drop=True)

    @cached_property
    def dataset_level(self) -> str:
        """What the dataset covers: ``county``, ``prefecture``, ``province`` or ``nation``."""
        return level_of(self.counties)

    @property
    def area_level(self) -> str | None:
        """``prefecture`` or ``province`` on an area page, else ``None``."""
        return None if self.area is None else area_level(self.area)

    @property
    def scope(self) -> str:
        """``county``, ``prefecture``, ``province`` (an area page) or ``dataset``."""
        if self.county_code:
            return "county"
        return self.area_level or "dataset"

    @cached_property
    def scope_codes(self) -> list[str]:
        """The county codes the page covers, in code order: its county, its area's counties, or
        every county of the dataset."""
        if self.county_code:
            return [self.county_code]
        lv = self.levels
        if self.area is None:
            return lv["county_code"].tolist()
        return lv.loc[lv[CODE_COLUMN[area_level(self.area)]] == self.area, "county_code"].tolist()

    @property
    def member_level(self) -> str:
        """The level of the units the page's tables list: counties on a county page, a prefecture
        page and the city page of a one-prefecture dataset; prefectures on a province page and the
        dataset page of one province; provinces on the dataset page of several."""
        if self.county_code or self.area_level == "prefecture":
            return "county"
        if self.area_level == "province":
            return "prefecture"
        return {"nation": "province", "province": "prefecture"}.get(self.dataset_level, "county")

    def member_of(self, county_codes: pd.Series | list[str]) -> pd.Series:
        """The code of the :attr:`member_level` unit each county belongs to (same index)."""
        codes = pd.Series(county_codes).astype(str)
        if self.member_level == "county":
            return codes
        column = CODE_COLUMN[self.member_level]
        return codes.map(self.levels.set_index("county_code")[column])

    def unit_name(self, level: str, code: str) -> str:
        """The name of a county, prefecture or province (of the counties table where it gives one,
        else generated from the level and the code); the nation's in words."""
        if level == "county":
            return self.county_name(code)
        if level == "nation" or code == NATION_CODE:
            return label("level_nation", self.language)
        name = self._area_names[level].get(code)
        if name is None or pd.isna(name):
            return label(f"unnamed_{level}", self.language, code=code)
        return str(name)

    @cached_property
    def _area_names(self) -> dict[str, dict[str, object]]:
        """Prefecture and province code → the name the counties table gives (may be missing)."""
        lv = self.levels
        return {level: lv.drop_duplicates(CODE_COLUMN[level])
                .set_index(CODE_COLUMN[level])[f"{level}_name"].to_dict()
                for level in AREA_LEVELS}

    @property
    def scope_name(self) -> str:
        """The name of the page's county or area ('' for the whole dataset)."""
        if self.county_code:
            return self.county_name()
        if self.area is not None:
            return self.unit_name(area_level(self.area), self.area)
        return ""

    @property
    def whole(self) -> dict[str, str]:
        """The words for the whole dataset in the page's language, as the placeholders of the
        catalogue's texts (:func:`analysis.labels.whole_words` of :attr:`dataset_level`): 全市 /
        the city for one prefecture (or county), 全省 / the province, 全国 / the nation. Every
        page of a dataset says the same, an area's page included."""
        return whole_words(self.dataset_level, self.language)

    @property
    def dataset_name(self) -> str:
        """The name of the dataset's prefecture (one prefecture or county) or province (one
        province) as the counties table gives it; ``""`` when it gives none, and for several
        provinces."""
        level = {"county": "prefecture", "prefecture": "prefecture",
                 "province": "province"}.get(self.dataset_level)
        if level is None:
            return ""
        name = self._area_names[level].get(self.levels[CODE_COLUMN[level]].iloc[0])
        return "" if name is None or pd.isna(name) else str(name)

    @property
    def dataset_title(self) -> str:
        """The title of the whole dataset's page: its name where the counties table gives one,
        and the summary of its whole (:attr:`whole`)."""
        name = self.dataset_name
        of = label("title_of", self.language, name=name) if name else ""
        return label("dataset_title", self.language, of=of, **self.whole)


def area_level(code: str) -> str:
    """``province`` for a code ending in ``0000`` (GB/T 2260: ``PP0000``), else ``prefecture``."""
    return "province" if str(code).endswith("0000") else "prefecture"


def area_report(code: str) -> str:
    """The report name of an area's page: ``prefecture-511100``, ``province-510000`` (its file is
    the name with ``.html``)."""
    return f"{area_level(code)}-{code}"


def area_codes(processed: Processed, level: str) -> list[str]:
    """The codes of the dataset's prefectures or provinces, in code order."""
    if level not in AREA_LEVELS:
        raise ValueError(f"level={level!r}: use one of {', '.join(AREA_LEVELS)}")
    h = hierarchy(processed.tables["counties"])
    return sorted(h[CODE_COLUMN[level]].unique().tolist())


def area_pages(processed: Processed) -> list[str]:
    """The areas that get a page of their own: every province when the dataset has several,
    every prefecture when it has several (province codes first), in code order."""
    out: list[str] = []
    for level in ("province", "prefecture"):
        codes = area_codes(processed, level)
        if len(codes) > 1:
            out += codes
    return out


def check_area(processed: Processed, area: str) -> None:
    """Raise ``SpecificationError`` unless ``area`` is a prefecture or province of the dataset."""
    level = area_level(area)
    codes = area_codes(processed, level)
    if str(area) not in codes:
        raise SpecificationError(
            f"area {area!r} is not a {level} of dataset {processed.dataset!r}; its {level}s: "
            f"{', '.join(codes)}. An area is a prefecture code (the county code's first four "
            "digits and 00) or a province code (first two digits and 0000)."
        )


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
    area: str | None = None,
    language: Language = "zh",
    threshold: int = DEFAULT_THRESHOLD,
    root: Path | None = None,
) -> ReportContext:
    """Load the processed dataset and check the options once (county or area, language,
    threshold).

    Parameters
    ----------
    dataset : str
        Folder under ``data/processed``.
    county_code : str, optional
        The county of the report; ``None`` opens a summary (of ``area``, else of the dataset).
    area : str, optional
        A prefecture code (``511100``) or province code (``510000``) of the dataset: the summary
        of its counties. ``None`` with no county: the whole dataset (the city summary).
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
    if county_code is not None and area is not None:
        raise SpecificationError("a report is of one county or of one area, not both: give "
                                 "county_code or area.")
    if county_code is not None:
        county_code = str(county_code)
        check_county(processed, county_code)
    if area is not None:
        area = str(area)
        check_area(processed, area)
    # read from disk just now: the process's stored publication of this folder version serves
    return ReportContext(processed, county_code, language, int(threshold), area,
                         publication=stored_publication(processed, int(threshold)))
