"""``reports/<dataset>/index.html``: every county with key indicators, rank, cohort and a link.

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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data import Processed
from ..disclosure import DEFAULT_THRESHOLD, format_numbers, threshold_notice
from ..labels import label
from .html import page, write_atomic
from .sections.base import ReportContext, county_codes, not_run
from .sections.header import now, provenance_html, provenance_rows, synthetic_banner
from .sections.league import league_table

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


def nav(language: str, threshold: int = DEFAULT_THRESHOLD, page: str | None = None) -> str:
    """Links back to the index and the city summary, for the top of every report, the same page
    in the other language (``page``: its file name), and the notice of a threshold below the
    default (:func:`threshold_notice_html`)."""
    other = ""
    if page:
        href = html.escape(to_other(language) + page, quote=True)
        other = (f" · <a href='{href}' hreflang='{other_language(language)}'>"
                 f"{html.escape(label('other_language', language))}</a>")
    return (
        f"<nav class='pe-nav'><a href='index.html'>{html.escape(label('index_link', language))}</a> · "
        f"<a href='city.html'>{html.escape(label('index_city', language))}</a>{other}</nav>"
        + threshold_notice_html(threshold, language)
    )


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
) -> Path:
    """Write ``index.html`` into ``out_dir`` (atomically) and return its path.

    ``failed`` maps a report (county code or ``city``) whose last run failed to its
    :class:`Failure` (or a reason): its last good page, if any, is still linked, marked out of
    date with the date and reason.
    """
    failures = {k: v if isinstance(v, Failure) else Failure("", str(v))
                for k, v in (failed or {}).items()}
    table = league_table(processed, language, threshold)
    if table is None:  # the league has not been built: list the counties, say why no figures
        ctx = ReportContext(processed, None, language, threshold)
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
    ctx = ReportContext(processed, None, language, threshold)
    parts.append(provenance_html(provenance_rows(ctx, now())))
    other_index = language_dir(reports_base(out_dir, language), other_language(language)) / "index.html"
    if other_index.exists():
        href = html.escape(to_other(language) + "index.html", quote=True)
        parts.append(f"<p class='pe-languages'><a href='{href}' hreflang='{other_language(language)}'>"
                     f"{html.escape(label('other_language_index', language))}</a></p>")
    city = label("index_city", language)
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
