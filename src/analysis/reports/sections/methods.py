"""Methods and references: a short account of each method in the report's language, then the
references and sources (cited works, and where the computations and their documentation live) in
a list of their own (``pe-references``). The account speaks of the dataset's whole
(:attr:`ReportContext.whole`) and names the inference the results hold: the method of the
dose-response's headline rows, and whether the reform's estimates have the few-cluster methods."""

from __future__ import annotations

import html

from ...labels import METHODS, REFERENCES, label, text
from .base import ReportContext, Section, heading
from .estimates import has_resampling, headline_text


def methods(ctx: ReportContext) -> Section:
    """Short methods, then the references and sources; points to the assumptions-and-caveats
    log."""
    lang = ctx.language
    fmt = {**ctx.whole, "eff_headline": "", "reform_inference": ""}
    eff = ctx.result("effectiveness")
    if eff is not None and "model" in eff.columns:
        fmt["eff_headline"] = headline_text(eff[eff["model"].astype(str) == "dose_response"], lang,
                                            prefix="methods_eff")
    agg = ctx.result("reform_aggregate")
    if agg is not None:
        fmt["reform_inference"] = label("methods_reform_resampling" if has_resampling(agg)
                                        else "methods_reform_analytic", lang)
    items = "".join(f"<li>{html.escape(text(m, lang, **fmt))}</li>" for m in METHODS)
    refs = "".join(f"<li>{html.escape(text(r, lang))}</li>" for r in REFERENCES)
    return Section("methods", label("methods", lang),
                   (f"<ul class='pe-methods'>{items}</ul>", heading(label("references", lang)),
                    f"<ol class='pe-references'>{refs}</ol>"))
