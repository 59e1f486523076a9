"""``reports/<dataset>/index.html``: every county with key indicators, rank, cohort and a link.

The table is :func:`analysis.county.league_table` (descriptive figures computed from the processed
tables, residents suppressed below the threshold); each cell is escaped here, and only the links we
build ourselves are HTML.
"""

from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path

import pandas as pd

from .. import __version__
from ..county import data_hash, label, league_table
from ..data import Processed
from ..disclosure import format_numbers
from .html import page

_TEXT = {
    "title": ("“一老一小”结对帮扶评估报告索引", "Paired-assistance evaluation reports: index"),
    "city": ("全市汇总报告", "City summary report"),
    "report": ("报告", "Report"),
    "open": ("查看", "open"),
    "failed": ("生成失败", "failed"),
    "missing": ("未生成", "not generated"),
    "rank_by": (
        "排名依据：{metric}（1 = 最好）。",
        "Ranked by {metric} (1 = best).",
    ),
    "index": ("索引", "index"),
}


def _t(key: str, language: str, **fmt: str) -> str:
    zh, en = _TEXT[key]
    text = zh if language == "zh" else en
    return text.format(**fmt) if fmt else text


def nav(language: str) -> str:
    """Links back to the index and the city summary, for the top of every report."""
    return (
        f"<nav class='pe-nav'><a href='index.html'>{html.escape(_t('index', language))}</a> · "
        f"<a href='city.html'>{html.escape(_t('city', language))}</a></nav>"
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
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols) + f"<th>{html.escape(_t('report', language))}</th>"
    rows = []
    for _, r in shown.iterrows():
        code = str(r[label("code", language)])
        cells = "".join(
            f"<td>{'–' if (not isinstance(v, str) and pd.isna(v)) else html.escape(str(v))}</td>" for v in r
        )
        f = out_dir / f"{code}.html"
        if code in failed:
            link = f"<span class='pe-failed'>{html.escape(_t('failed', language))}</span>"
        elif f.exists():
            link = f"<a href='{html.escape(f.name, quote=True)}'>{html.escape(_t('open', language))}</a>"
        else:
            link = html.escape(_t("missing", language))
        rows.append(f"<tr>{cells}<td>{link}</td></tr>")
    metric_key = "composite_change" if table.table[label("composite_change", language)].notna().any() else "activities_per_inst"
    parts = [f"<h1>{html.escape(_t('title', language))}</h1>"]
    if processed.synthetic:
        parts.append(
            f"<div class='pe-banner pe-synthetic' role='alert'>{html.escape(label('synthetic_banner', language))}</div>"
        )
    generated = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    prov = [
        (label("dataset", language), processed.dataset),
        (label("data_hash", language), data_hash(processed.manifest)),
        (label("version", language), f"pairing-eval {__version__}"),
        (label("generated", language), generated),
    ]
    parts.append(
        "<dl class='pe-provenance'>"
        + "".join(f"<div><dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd></div>" for k, v in prov)
        + "</dl>"
    )
    city_file = out_dir / "city.html"
    if "city" in failed:
        parts.append(f"<p class='pe-failed'>{html.escape(_t('city', language))}: {html.escape(_t('failed', language))}</p>")
    elif city_file.exists():
        parts.append(f"<p><a href='city.html'>{html.escape(_t('city', language))}</a></p>")
    parts.append(f"<table class='pe-table'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    parts.append(f"<p class='pe-note'>{html.escape(_t('rank_by', language, metric=label(metric_key, language)))}</p>")
    if table.note:
        parts.append(f"<p class='pe-note'>{html.escape(table.note)}</p>")
    out = out_dir / "index.html"
    part = out.with_suffix(".html.part")
    part.write_text(page("".join(parts), title=_t("title", language), language=language), encoding="utf-8")
    part.replace(out)
    return out
