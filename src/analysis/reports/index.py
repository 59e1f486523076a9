"""``reports/<dataset>/index.html``: every county with key indicators, rank, cohort and a link.

The table is :func:`analysis.reports.sections.league_table` (residents suppressed below the
threshold); each cell is escaped here, and only the links we build ourselves are HTML.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from ..data import Processed
from ..disclosure import format_numbers
from ..labels import label
from .html import page
from .sections.base import ReportContext
from .sections.header import now, provenance_html, provenance_rows, synthetic_banner
from .sections.league import league_table


def nav(language: str) -> str:
    """Links back to the index and the city summary, for the top of every report."""
    return (
        f"<nav class='pe-nav'><a href='index.html'>{html.escape(label('index_link', language))}</a> · "
        f"<a href='city.html'>{html.escape(label('index_city', language))}</a></nav>"
    )


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
    metric_key = ("composite_change" if table.table[label("composite_change", language)].notna().any()
                  else "activities_per_inst")
    title = label("index_title", language)
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if processed.synthetic:
        parts.append(synthetic_banner(language))
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
    rank_by = label("index_rank_by", language, metric=label(metric_key, language))
    parts.append(f"<p class='pe-note'>{html.escape(rank_by)}</p>")
    if table.note:
        parts.append(f"<p class='pe-note'>{html.escape(table.note)}</p>")
    out = out_dir / "index.html"
    part = out.with_suffix(".html.part")
    part.write_text(page("".join(parts), title=title, language=language), encoding="utf-8")
    part.replace(out)
    return out
