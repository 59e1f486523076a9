"""``reports/<dataset>/index.html``: every county with key indicators, rank, cohort and a link.

The table is :func:`analysis.reports.sections.league_table` (the ``describe_league`` results,
residents shown as the dataset's protected publication says, the same cells as on the county and
city pages; without them, the counties with codes and names and a note); each cell is escaped here,
and only the links we build ourselves are HTML. A threshold below the default puts a notice at the
top (:func:`threshold_notice_html`, also on every report page).
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from ..data import Processed
from ..disclosure import DEFAULT_THRESHOLD, format_numbers, threshold_notice
from ..labels import label
from .html import page
from .sections.base import ReportContext, county_codes, not_run
from .sections.header import now, provenance_html, provenance_rows, synthetic_banner
from .sections.league import league_table


def nav(language: str, threshold: int = DEFAULT_THRESHOLD) -> str:
    """Links back to the index and the city summary, for the top of every report, and the notice
    of a threshold below the default (:func:`threshold_notice_html`)."""
    return (
        f"<nav class='pe-nav'><a href='index.html'>{html.escape(label('index_link', language))}</a> · "
        f"<a href='city.html'>{html.escape(label('index_city', language))}</a></nav>"
        + threshold_notice_html(threshold, language)
    )


def threshold_notice_html(threshold: int, language: str) -> str:
    """The banner of a report published below the default disclosure threshold (``""`` at or
    above it): shown on every page the report command writes."""
    text = threshold_notice(threshold, language)
    return (f"<div class='pe-banner pe-threshold' role='alert'>{html.escape(text)}</div>"
            if text else "")


def write_index(
    processed: Processed,
    out_dir: Path,
    *,
    language: str,
    threshold: int,
    failed: dict[str, str] | None = None,
) -> Path:
    """Write ``index.html`` into ``out_dir`` and return its path."""
    failed = failed or {}
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
        f = out_dir / f"{code}.html"
        if code in failed:
            link = f"<span class='pe-failed'>{html.escape(label('index_failed', language))}</span>"
        elif f.exists():
            link = (f"<a href='{html.escape(f.name, quote=True)}'>"
                    f"{html.escape(label('index_open', language))}</a>")
        else:
            link = html.escape(label("index_missing", language))
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
    city = label("index_city", language)
    city_file = out_dir / "city.html"
    if "city" in failed:
        parts.append(f"<p class='pe-failed'>{html.escape(city)}: "
                     f"{html.escape(label('index_failed', language))}</p>")
    elif city_file.exists():
        parts.append(f"<p><a href='city.html'>{html.escape(city)}</a></p>")
    parts.append(f"<table class='pe-table'><thead><tr>{head}</tr></thead>"
                 f"<tbody>{''.join(rows)}</tbody></table>")
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
    part = out.with_suffix(".html.part")
    part.write_text(page("".join(parts), title=title, language=language), encoding="utf-8")
    part.replace(out)
    return out
