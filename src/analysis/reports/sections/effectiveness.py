"""Pairing effectiveness: the whole dataset's estimates of ``effectiveness.parquet`` with every
inference method side by side, the method of the rows the results flag as headline named in words
(:func:`~analysis.reports.sections.estimates.headline_text`), and the county's intensity of help
to read them against."""

from __future__ import annotations

from collections.abc import Sequence

from ...labels import label, model_label
from .base import ReportContext, Section, not_run, paragraph, table_html
from .estimates import forest, headline_text, inference_wide, preferred_rows, resampling_draws

#: the models the section shows (the others are named below the table)
MAIN_MODELS = ("dose_response", "placebo_lead")


def effectiveness(ctx: ReportContext, *, models: Sequence[str] = MAIN_MODELS,
                  max_rows: int = 30) -> Section:
    """The whole dataset's pairing-effectiveness estimates of the main ``models`` (every inference
    method side by side; a summary page names the method of the rows flagged headline), the
    county's own rows if the results hold any, the county's (or the area's) intensity of help to
    read them against, and the list of the other models the results file holds. The estimates
    are the whole dataset's on every page (one estimate, clustered by county)."""
    lang = ctx.language
    eff = ctx.result("effectiveness")
    blocks: list[str] = []
    if eff is None:
        blocks.append(not_run("effectiveness", lang))
        return Section("effectiveness", label("effectiveness", lang), tuple(blocks))
    if "county_code" in eff.columns:
        city_rows = eff[eff["county_code"].isna()]
        mine = (eff[eff["county_code"].astype(str) == str(ctx.county_code)] if ctx.county_code
                else eff.iloc[0:0])
    else:
        city_rows, mine = eff, eff.iloc[0:0]
    present = list(dict.fromkeys(city_rows["model"].astype(str)))
    shown = [m for m in models if m in present] or present[:1]
    main = city_rows[city_rows["model"].astype(str).isin(shown)].copy()
    main["_m"] = main["model"].astype(str).map({m: i for i, m in enumerate(shown)})
    main = main.sort_values(["_m", "outcome", "term"], kind="stable")
    first = main[main["model"].astype(str) == shown[0]]
    if ctx.county_code:
        blocks.append(paragraph(label("eff_intro", lang, **ctx.whole)))
    else:
        blocks.append(paragraph(label("eff_intro_city", lang, headline=headline_text(first, lang),
                                      **ctx.whole)))
    draws = resampling_draws(ctx.processed)
    wide = inference_wide(main, ["model", "outcome", "term"], value="estimate", lang=lang,
                          draws=draws)
    blocks.append(table_html(wide.head(max_rows)))
    others = [m for m in present if m not in shown]
    if others:
        blocks.append(paragraph(label("eff_others", lang,
                                         models=("、" if lang == "zh" else ", ").join(
                                             model_label(m, lang) for m in others), **ctx.whole),
                                cls="pe-note"))
    if ctx.county_code:
        p = ctx.processed.panel
        pc = p[p["county_code"] == ctx.county_code]
        blocks.append(paragraph(label(
            "eff_context", lang,
            county=float(pc["activities"].mean()), city=float(p["activities"].mean()),
            share_c=float(pc["paired"].mean()), share_city=float(p["paired"].mean()), **ctx.whole,
        )))
        if len(mine):
            blocks.append(paragraph(label("eff_county_rows", lang)))
            blocks.append(table_html(inference_wide(mine, ["model", "outcome", "term"],
                                                    value="estimate", lang=lang, draws=draws)))
    elif ctx.area is not None:  # the area's intensity of help beside the whole dataset's
        p = ctx.processed.panel
        pa = p[p["county_code"].astype(str).isin(ctx.scope_codes)]
        blocks.append(paragraph(label(
            "eff_context_area", lang, area=ctx.scope_name,
            here=float(pa["activities"].mean()), city=float(p["activities"].mean()),
            share_a=float(pa["paired"].mean()), share_city=float(p["paired"].mean()),
        )))
    # the figure: the first main model, one interval per outcome (wild bootstrap when present)
    plot_rows = preferred_rows(first, ["outcome", "term"]).sort_values(["outcome", "term"],
                                                                       kind="stable")
    name = model_label(shown[0], lang)
    title = label("eff_plot", lang) + (f"（{name}）" if lang == "zh" else f" ({name})")
    blocks.append(forest(plot_rows, lang, title=title))
    return Section("effectiveness", label("effectiveness", lang), tuple(blocks))
