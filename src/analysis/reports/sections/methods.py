"""Methods and references: a short account of each method and a pointer to the caveats log."""

from __future__ import annotations

import html

from ...labels import METHODS, label, text
from .base import ReportContext, Section


def methods(ctx: ReportContext) -> Section:
    """Short methods with references; points to the assumptions-and-caveats log."""
    items = "".join(f"<li>{html.escape(text(m, ctx.language))}</li>" for m in METHODS)
    return Section("methods", label("methods", ctx.language),
                   (f"<ul class='pe-methods'>{items}</ul>",))
