"""Methods and references: a short account of each method in the report's language, then the
references and sources (cited works, and where the computations and their documentation live) in
a list of their own (``pe-references``)."""

from __future__ import annotations

import html

from ...labels import METHODS, REFERENCES, label, text
from .base import ReportContext, Section, heading


def methods(ctx: ReportContext) -> Section:
    """Short methods, then the references and sources; points to the assumptions-and-caveats
    log."""
    lang = ctx.language
    items = "".join(f"<li>{html.escape(text(m, lang))}</li>" for m in METHODS)
    refs = "".join(f"<li>{html.escape(text(r, lang))}</li>" for r in REFERENCES)
    return Section("methods", label("methods", lang),
                   (f"<ul class='pe-methods'>{items}</ul>", heading(label("references", lang)),
                    f"<ol class='pe-references'>{refs}</ol>"))
