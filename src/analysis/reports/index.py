"""``reports/<dataset>/index.html``: every county with key indicators, rank, cohort and a link; above
one prefecture, an index per level.

A dataset of one prefecture (or county) has one index: every county, with its figures and a link.
A dataset of several prefectures has one index page per level, each a bounded static page (no
script): ``index.html`` lists the provinces (several provinces) or the prefectures (one province)
with their summary figures (``describe_levels``) and links to their summary pages and their own
index; a province's ``index-<code>.html`` lists its prefectures the same way; a prefecture's
``index-<code>.html`` lists its counties as the one-prefecture index does, with a link to the
prefecture's page. Every county is on exactly one prefecture index. A failed or out-of-date page
is marked where it is linked, and an area's row says how many of the reports under it are.

Languages live side by side: the Chinese pages in ``reports/<dataset>/``, the English pages in
``reports/<dataset>/en/`` (:data:`LANGUAGE_DIRS`, :func:`language_dir`), each folder with its own
index, font subset and failure record, so that a run in one language never overwrites the
other's. Every page's navigation links the same page in the other language, and each index links
the other language's index and, per county, the other language's page where it exists.

The table is :func:`analysis.reports.sections.league_table` (the ``describe_league`` results,
residents shown as the dataset's protected publication says, the same cells as on the county and
city pages; without them, the counties with codes and names and a note); each cell is escaped here,
and only the links we build ourselves are HTML. A threshold below the default puts a notice at the
top (:func:`threshold_notice_html`, also on every report page).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data import Processed
from ..disclosure import DEFAULT_THRESHOLD, Publication, format_numbers, suppress, threshold_notice
from ..labels import SUMMARY_KEYS, label
from .html import page, scroll_tables, write_atomic
from .sections.base import ReportContext, area_report, county_codes, not_run
from .sections.header import now, provenance_html, provenance_rows, synthetic_banner
from .sections.league import league_table, linked_table_html, unit_table

#: the folder of each language's pages under ``reports/<dataset>/`` (``""``: the folder itself)
LANGUAGE_DIRS: dict[str, str] = {"zh": "", "en": "en"}


def language_dir(base: Path, language: str) -> Path:
    """The folder of ``language``'s pages: ``base`` for Chinese, ``base/en`` for English."""
    sub = LANGUAGE_DIRS[language]
    return Path(base) / sub if sub else Path(base)


def other_language(language: str) -> str:
    """The other of the two report languages."""
    return "en" if language == "zh" else "zh"


def to_other(language: str) -> str:
    """Relative path from ``language``'s folder to the other language's folder (with a slash)."""
    up = "../" if LANGUAGE_DIRS[language] else ""
    there = LANGUAGE_DIRS[other_language(language)]
    return up + (f"{there}/" if there else "")


def nav(language: str, threshold: int = DEFAULT_THRESHOLD, page: str | None = None, *,
        summary: str = "index_city", up: Sequence[tuple[str, str]] = ()) -> str:
    """Links back to the index and the city summary, for the top of every report, the same page
    in the other language (``page``: its file name), and the notice of a threshold below the
    default (:func:`threshold_notice_html`). ``summary``: the label of the whole dataset's page
    (:func:`summary_label`); ``up``: more ``(href, text)`` links after it (the index pages of the
    page's prefecture and province)."""
    other = ""
    if page:
        href = html.escape(to_other(language) + page, quote=True)
        other = (f" · <a href='{href}' hreflang='{other_language(language)}'>"
                 f"{html.escape(label('other_language', language))}</a>")
    more = "".join(f" · <a href='{html.escape(h, quote=True)}'>{html.escape(t)}</a>" for h, t in up)
    return (
        f"<nav class='pe-nav'><a href='index.html'>{html.escape(label('index_link', language))}</a> · "
        f"<a href='city.html'>{html.escape(label(summary, language))}</a>{more}{other}</nav>"
        + threshold_notice_html(threshold, language)
    )


def summary_label(ctx: ReportContext) -> str:
    """The label key of the whole dataset's page: the city, province or national summary
    (:data:`analysis.labels.SUMMARY_KEYS`, worded as :attr:`ReportContext.whole`)."""
    return SUMMARY_KEYS[ctx.dataset_level]


def sub_index(code: str) -> str:
    """The file of a prefecture's or province's index page: ``index-<code>.html``."""
    return f"index-{code}.html"


def nav_up(ctx: ReportContext, county_code: str | None = None,
           area: str | None = None) -> list[tuple[str, str]]:
    """The index pages above a county's or an area's page, as ``(href, text)`` for :func:`nav`:
    its province's (several provinces) and its prefecture's (several prefectures), top down."""
    if ctx.member_level == "county" and ctx.area is None:
        return []
    code = county_code or area
    if code is None:
        return []
    out = []
    if ctx.dataset_level == "nation":
        prov = f"{str(code)[:2]}0000"
        out.append((sub_index(prov), ctx.unit_name("province", prov)))
    if county_code is not None or not str(area).endswith("0000"):
        pref = f"{str(code)[:4]}00"
        out.append((sub_index(pref), ctx.unit_name("prefecture", pref)))
    return out


def threshold_notice_html(threshold: int, language: str) -> str:
    """The banner of a report published below the default disclosure threshold (``""`` at or
    above it): shown on every page the report command writes."""
    text = threshold_notice(threshold, language)
    return (f"<div class='pe-banner pe-threshold' role='alert'>{html.escape(text)}</div>"
            if text else "")


#: the record of reports whose last run failed, in ``reports/<dataset>/failed/``
FAILURES_FILE = "failures.json"
#: characters of a failure's reason shown in the index
REASON_CHARS = 160


@dataclass(frozen=True)
class Failure:
    """The last failed run of one report: when (``YYYY-MM-DD HH:MM UTC``) and why."""

    date: str
    reason: str


def read_failures(failed_dir: Path) -> dict[str, Failure]:
    """The failure record (report name → :class:`Failure`); empty when there is none or it cannot
    be read (it is rewritten whole at the end of every run)."""
    try:
        raw = json.loads((Path(failed_dir) / FAILURES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(k): Failure(str(v.get("date", "")), str(v.get("reason", "")))
            for k, v in raw.items() if isinstance(v, dict)}


def write_failures(failed_dir: Path, record: Mapping[str, Failure]) -> None:
    """Write the failure record atomically (``.part`` and a rename); remove it when empty."""
    f = Path(failed_dir) / FAILURES_FILE
    if not record:
        if f.exists():
            f.unlink()
        return
    f.parent.mkdir(parents=True, exist_ok=True)
    data = {k: {"date": v.date, "reason": v.reason} for k, v in sorted(record.items())}
    write_atomic(f, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


def _short(reason: str) -> str:
    reason = " ".join(reason.split())
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…"


def _other_link(f: Path, language: str) -> str:
    """`` · <link>`` to the page of the same name in the other language, when it exists."""
    other = language_dir(reports_base(f.parent, language), other_language(language)) / f.name
    if not other.exists():
        return ""
    href = html.escape(to_other(language) + f.name, quote=True)
    return (f" · <a href='{href}' hreflang='{other_language(language)}'>"
            f"{html.escape(label('other_language', language))}</a>")


def reports_base(folder: Path, language: str) -> Path:
    """``reports/<dataset>`` from the folder of ``language``'s pages (:func:`language_dir`)."""
    return folder.parent if LANGUAGE_DIRS[language] else folder


def _report_cell(f: Path, failure: Failure | None, language: str) -> str:
    """The index's link to one report page: a link when the page exists (marked out of date,
    with the date and reason, when the last run failed); otherwise why there is none. The page in
    the other language follows when it exists."""
    return _report_cell_here(f, failure, language) + _other_link(f, language)


def _report_cell_here(f: Path, failure: Failure | None, language: str) -> str:
    opened = (f"<a href='{html.escape(f.name, quote=True)}'>"
              f"{html.escape(label('index_open', language))}</a>")
    pdf = f.with_suffix(".pdf")
    if f.exists() and pdf.exists():
        opened += f" · <a href='{html.escape(pdf.name, quote=True)}'>PDF</a>"
    if failure is None:
        return opened if f.exists() else html.escape(label("index_missing", language))
    why = {"date": failure.date or "?", "reason": _short(failure.reason)}
    if f.exists():
        return (f"{opened} <span class='pe-failed'>"
                f"{html.escape(label('index_stale', language, **why))}</span>")
    return f"<span class='pe-failed'>{html.escape(label('index_failed_at', language, **why))}</span>"


def write_index(
    processed: Processed,
    out_dir: Path,
    *,
    language: str,
    threshold: int,
    failed: Mapping[str, Failure | str] | None = None,
    people: Publication | None = None,
) -> Path:
    """Write ``index.html`` into ``out_dir`` (atomically) and return its path; for a dataset of
    several prefectures also the index page of every prefecture (and of every province when there
    are several): ``index-<code>.html``.

    ``failed`` maps a report (county code, ``city``, ``prefecture-<code>``, ``province-<code>``)
    whose last run failed to its :class:`Failure` (or a reason): its last good page, if any, is
    still linked, marked out of date with the date and reason. ``people``: the dataset's protected
    publication of counts of people at ``threshold``, when the caller has it (the driver audits it
    before any page runs; protecting a large dataset takes minutes), else computed here.
    """
    failures = {k: v if isinstance(v, Failure) else Failure("", str(v))
                for k, v in (failed or {}).items()}
    ctx = ReportContext(processed, None, language, threshold,  # type: ignore[arg-type]
                        publication=people)
    if ctx.member_level == "county":
        return _flat_index(processed, out_dir, language=language, threshold=threshold,
                           failures=failures, ctx=ctx)
    return _level_indexes(ctx, out_dir, failures)


def _flat_index(processed: Processed, out_dir: Path, *, language: str, threshold: int,
                failures: Mapping[str, Failure], ctx: ReportContext) -> Path:
    """The index of a dataset of one prefecture: every county in one table."""
    table = league_table(processed, language, threshold, ctx=ctx)
    if table is None:  # the league has not been built: list the counties, say why no figures
        codes = county_codes(processed)
        shown = pd.DataFrame({label("code", language): codes,
                              label("county", language): [ctx.county_name(c) for c in codes]})
    else:
        shown = format_numbers(table.table)
    cols = list(shown.columns)
    head = ("".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
            + f"<th>{html.escape(label('index_report', language))}</th>")
    rows = []
    for _, r in shown.iterrows():
        code = str(r[label("code", language)])
        cells = "".join(
            f"<td>{'–' if (not isinstance(v, str) and pd.isna(v)) else html.escape(str(v))}</td>"
            for v in r
        )
        link = _report_cell(out_dir / f"{code}.html", failures.get(code), language)
        rows.append(f"<tr>{cells}<td>{link}</td></tr>")
    title = label("index_title", language)
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if processed.synthetic:
        parts.append(synthetic_banner(language))
    notice = threshold_notice_html(threshold, language)
    if notice:
        parts.append(notice)
    parts.append(provenance_html(provenance_rows(ctx, now())))
    other_index = language_dir(reports_base(out_dir, language), other_language(language)) / "index.html"
    if other_index.exists():
        href = html.escape(to_other(language) + "index.html", quote=True)
        parts.append(f"<p class='pe-languages'><a href='{href}' hreflang='{other_language(language)}'>"
                     f"{html.escape(label('other_language_index', language))}</a></p>")
    city = label(summary_label(ctx), language)
    city_file = out_dir / "city.html"
    if "city" in failures or city_file.exists():
        parts.append(f"<p>{html.escape(city)}: "
                     f"{_report_cell(city_file, failures.get('city'), language)}</p>")
    parts.append(f"<div class='pe-scroll'><table class='pe-table'><thead><tr>{head}</tr></thead>"
                 f"<tbody>{''.join(rows)}</tbody></table></div>")
    if table is None:
        parts.append(not_run("describe_league", language))
    else:
        has_change = table.table[label("composite_change", language)].notna().any()
        metric = label("composite_change" if has_change else "activities_per_inst", language)
        rank_by = label("index_rank_by", language, metric=metric)
        parts.append(f"<p class='pe-note'>{html.escape(rank_by)}</p>")
        if table.note:
            parts.append(f"<p class='pe-note'>{html.escape(table.note)}</p>")
    out = out_dir / "index.html"
    write_atomic(out, page("".join(parts), title=title, language=language).encode("utf-8"))
    return out


# ----------------------------------------------------------------------------------------------
# one index per level (a dataset of several prefectures)
# ----------------------------------------------------------------------------------------------

_SUB_INDEX = re.compile(r"index-\d{6}\.html")


def _level_indexes(ctx: ReportContext, out_dir: Path, failures: Mapping[str, Failure]) -> Path:
    """``index.html`` (the provinces, or the prefectures of one province), a province's index (its
    prefectures) and a prefecture's index (its counties); index pages of areas the dataset no
    longer has are removed."""
    h = ctx.levels
    written: set[str] = set()
    top_level = ctx.member_level  # "province" or "prefecture"
    for pref, rows in h.groupby("prefecture_code", sort=True):
        up = [] if ctx.dataset_level != "nation" else [
            (sub_index(f"{pref[:2]}0000"), ctx.unit_name("province", f"{pref[:2]}0000"))]
        written.add(_write_prefecture_index(ctx, out_dir, failures, str(pref),
                                            rows["county_code"].tolist(), up))
    if top_level == "province":
        for prov, rows in h.groupby("province_code", sort=True):
            prefs = sorted(set(rows["prefecture_code"]))
            written.add(_write_area_list(ctx, out_dir, failures, "prefecture", prefs,
                                         name=sub_index(str(prov)), area=str(prov)))
    codes = sorted(set(h[f"{top_level}_code"]))
    out = out_dir / _write_area_list(ctx, out_dir, failures, top_level, codes, name="index.html")
    for f in out_dir.glob("index-*.html"):  # areas of an earlier build of the dataset
        if _SUB_INDEX.fullmatch(f.name) and f.name not in written:
            f.unlink(missing_ok=True)
    return out


def _head(ctx: ReportContext, out_dir: Path, title: str, name: str,
          crumbs: Sequence[tuple[str, str]] = ()) -> list[str]:
    """Title, the banners, provenance, the other language's page of the same name and the
    navigation (the index, the pages above) of an index page."""
    lang = ctx.language
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if ctx.processed.synthetic:
        parts.append(synthetic_banner(lang))
    notice = threshold_notice_html(ctx.threshold, lang)
    if notice:
        parts.append(notice)
    parts.append(provenance_html(provenance_rows(ctx, now())))
    links = []
    if name != "index.html":
        links.append(f"<a href='index.html'>{html.escape(label('index_link', lang))}</a>")
    links += [f"<a href='{html.escape(h, quote=True)}'>{html.escape(t)}</a>" for h, t in crumbs]
    other = language_dir(reports_base(out_dir, lang), other_language(lang)) / name
    if other.exists():
        key = "other_language_index" if name == "index.html" else "other_language"
        href = html.escape(to_other(lang) + name, quote=True)
        links.append(f"<a href='{href}' hreflang='{other_language(lang)}'>"
                     f"{html.escape(label(key, lang))}</a>")
    if links:
        parts.append(f"<p class='pe-languages'>{' · '.join(links)}</p>")
    return parts


def _failed_under(failures: Mapping[str, Failure], counties: Sequence[str],
                  areas: Sequence[str]) -> int:
    """How many of the reports of these counties and areas are marked failed or out of date."""
    names = set(map(str, counties)) | {area_report(a) for a in areas}
    return sum(1 for k in failures if k in names)


def _summary_line(ctx: ReportContext, out_dir: Path, failures: Mapping[str, Failure],
                  key: str, text: str) -> str:
    """``<p>text: link</p>`` to a summary page (the dataset's or an area's), marked when failed."""
    f = out_dir / f"{key}.html"
    if key not in failures and not f.exists():
        return ""
    return (f"<p>{html.escape(text)}: "
            f"{_report_cell(f, failures.get(key), ctx.language)}</p>")


def _write_area_list(ctx: ReportContext, out_dir: Path, failures: Mapping[str, Failure],
                     level: str, codes: Sequence[str], *, name: str, area: str | None = None) -> str:
    """An index page that lists areas of ``level`` (prefectures or provinces) with their figures
    and links to their summary page and their own index page."""
    lang = ctx.language
    h = ctx.levels
    title = (label("index_title", lang) if area is None
             else label("index_province_title", lang, name=ctx.unit_name("province", area)))
    parts = _head(ctx, out_dir, title, name)
    parts.append(_summary_line(ctx, out_dir, failures, "city",
                               label(summary_label(ctx), lang)))
    if area is not None:
        parts.append(_summary_line(ctx, out_dir, failures, area_report(area),
                                   label("area_title", lang, name=ctx.unit_name("province", area))))
    sub = label("index_counties" if level == "prefecture" else "index_prefectures", lang)
    links = []
    for code in codes:
        counties = h.loc[h[f"{level}_code"] == code, "county_code"].tolist()
        areas = [code] + (sorted(set(h.loc[h["province_code"] == code, "prefecture_code"]))
                          if level == "province" else [])
        cell = (_report_cell(out_dir / f"{area_report(code)}.html",
                             failures.get(area_report(code)), lang)
                + f" · <a href='{html.escape(sub_index(code), quote=True)}'>{html.escape(sub)}</a>")
        n_failed = _failed_under(failures, counties, areas)
        if n_failed:
            cell += (f" <span class='pe-failed'>"
                     f"{html.escape(label('index_failed_n', lang, n=n_failed))}</span>")
        links.append(cell)
    table = unit_table(ctx, level, codes)
    missing = table is None
    if table is None:  # describe_levels not built: the areas by code and name, and why
        table = suppress(pd.DataFrame({label("area_code", lang): list(codes),
                                       label(f"level_{level}", lang): [ctx.unit_name(level, c)
                                                                        for c in codes]}),
                         [], threshold=1, language=lang)
    parts.append(scroll_tables(linked_table_html(table, links, label("index_report", lang))))
    parts.append(not_run("describe_levels", lang) if missing else
                 f"<p class='pe-note'>{html.escape(label('index_levels_note', lang))}</p>")
    write_atomic(out_dir / name, page("".join(parts), title=title, language=lang).encode("utf-8"))
    return name


def _write_prefecture_index(ctx: ReportContext, out_dir: Path, failures: Mapping[str, Failure],
                            pref: str, counties: Sequence[str],
                            up: Sequence[tuple[str, str]]) -> str:
    """A prefecture's index page: its counties as the one-prefecture index lists them (figures,
    rank among every county of the dataset, cohort, link) and a link to its summary page."""
    lang = ctx.language
    name = sub_index(pref)
    pname = ctx.unit_name("prefecture", pref)
    title = label("index_area_title", lang, name=pname)
    parts = _head(ctx, out_dir, title, name, up)
    parts.append(_summary_line(ctx, out_dir, failures, area_report(pref),
                               label("area_title", lang, name=pname)))
    table = league_table(ctx.processed, lang, ctx.threshold, ctx=ctx, codes=counties)
    missing = table is None
    if table is None:  # describe_league not built: the counties by code and name, and why
        codes = list(counties)
        table = suppress(pd.DataFrame({label("code", lang): codes,
                                       label("county", lang): [ctx.county_name(c) for c in codes]}),
                         [], threshold=1, language=lang)
    else:
        codes = [str(c) for c in table.table[label("code", lang)]]
    links = [_report_cell(out_dir / f"{c}.html", failures.get(c), lang) for c in codes]
    parts.append(scroll_tables(linked_table_html(table, links, label("index_report", lang))))
    if missing:
        parts.append(not_run("describe_league", lang))
    write_atomic(out_dir / name, page("".join(parts), title=title, language=lang).encode("utf-8"))
    return name
