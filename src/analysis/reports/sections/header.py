"""The report header: title, provenance (dataset, data fingerprint, package version, generation
time) and, for synthetic data, the banner."""

from __future__ import annotations

import datetime as _dt
import html

from ... import __version__
from ...hashing import fingerprint
from ...labels import label
from .base import ReportContext, Section


def provenance_rows(ctx: ReportContext, generated: str) -> list[tuple[str, str]]:
    """(label, value) pairs of the provenance line: dataset, data fingerprint
    (:func:`analysis.hashing.fingerprint`), package version, generation time."""
    lang = ctx.language
    return [
        (label("dataset", lang), ctx.processed.dataset),
        (label("data_hash", lang), fingerprint(ctx.processed.manifest)),
        (label("version", lang), f"pairing-eval {__version__}"),
        (label("generated", lang), generated),
    ]


def provenance_html(rows: list[tuple[str, str]]) -> str:
    """The provenance pairs as an escaped definition list."""
    items = "".join(
        f"<div><dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd></div>" for k, v in rows
    )
    return f"<dl class='pe-provenance'>{items}</dl>"


def synthetic_banner(language: str) -> str:
    """The banner every page built from synthetic data shows."""
    return (f"<div class='pe-banner pe-synthetic' role='alert'>"
            f"{html.escape(label('synthetic_banner', language))}</div>")


def now() -> str:
    """The generation time as reports show it (UTC, to the minute)."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def header(ctx: ReportContext, *, generated: str | None = None) -> Section:
    """Title, provenance (dataset, data hash, package version, generation time) and, for synthetic
    data, a banner. An area's page names the area (and its level) in the title and provenance."""
    lang = ctx.language
    if ctx.county_code:
        title = label("report_title", lang, name=ctx.county_name())
    elif ctx.area is not None:
        title = label("area_title", lang, name=ctx.scope_name)
    else:
        title = ctx.dataset_title
    rows = provenance_rows(ctx, generated or now())
    if ctx.county_code:
        rows.insert(0, (label("county", lang), f"{ctx.county_name()} ({ctx.county_code})"))
    elif ctx.area is not None:
        rows.insert(0, (label(f"level_{ctx.area_level}", lang), f"{ctx.scope_name} ({ctx.area})"))
    blocks = [f"<h1>{html.escape(title)}</h1>"]
    if ctx.processed.synthetic:
        blocks.append(synthetic_banner(lang))
    blocks.append(provenance_html(rows))
    return Section("header", "", tuple(blocks))
