"""Estimates as the report shows them: every inference method side by side, and forest plots.

The effectiveness and reform sections both read results tables with one row per estimate and
``inference`` method (:data:`analysis.domain.INFERENCE_NAMES`); :func:`inference_wide` puts the
methods beside each other, :func:`forest` draws one interval per row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...domain import INFERENCE_NAMES, PRIMARY_OUTCOME, outcome_label
from ...inference.pvalue import at_floor, pvalue_floor
from ...labels import LABELS, inference_label, label, model_label, term_label

#: display order of the inference methods (analytic first, then the few-cluster methods)
INFERENCE_ORDER: dict[str, int] = {name: i for i, name in enumerate(INFERENCE_NAMES)}
#: the method whose interval a figure shows when the results hold it (few clusters)
PREFERRED_FOR_FIGURES = "wild_bootstrap"


def inference_rank(name: object, *, prefer: str | None = None) -> int:
    """Sort key of an inference method: its place in :data:`INFERENCE_ORDER` (unknown names last);
    ``prefer`` goes first."""
    name = str(name)
    if prefer is not None and name == prefer:
        return -1
    return INFERENCE_ORDER.get(name, 9)


#: the resampling methods and the build option that sets their number of draws
RESAMPLING_DRAWS = {"wild_bootstrap": "n_boot", "randomization": "n_perm"}


def resampling_draws(processed: Any) -> dict[str, int]:
    """Draws behind each resampling method's p-values: the build options of the processed
    dataset's manifest (``n_boot``, ``n_perm``), for the ones it records."""
    opts = (getattr(processed, "manifest", None) or {}).get("build_options") or {}
    out = {}
    for method, option in RESAMPLING_DRAWS.items():
        with contextlib.suppress(TypeError, ValueError):
            if int(opts.get(option, 0)) >= 1:
                out[method] = int(opts[option])
    return out


def p_text(v: object, draws: int | None = None) -> str:
    """A p-value as text: three decimals, ``<0.001`` below that, empty when missing; never 0.

    ``draws``: the number of resampled statistics behind a resampling p-value. At its floor
    ``1/(B+1)`` (:func:`analysis.inference.pvalue.at_floor`: no draw was as extreme) it reads as
    the honest bound, ``≤0.001`` for 999 draws (``<0.001`` when the bound is below 0.001)."""
    if v is None or pd.isna(v):
        return ""
    v = float(v)
    if draws and at_floor(v, draws):
        floor = pvalue_floor(draws)
        return "<0.001" if floor < 0.001 else f"≤{floor:.3f}"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def ci_text(lo: object, hi: object) -> str:
    """A 95% interval as ``[lo, hi]`` (three significant digits), empty when missing; an
    unbounded end reads ``−∞`` / ``+∞`` (an inverted test that rejects no value)."""
    if not (pd.notna(lo) and pd.notna(hi)):
        return ""

    def end(v: object) -> str:
        v = float(v)
        return ("+∞" if v > 0 else "−∞") if np.isinf(v) else f"{v:.3g}"

    lo_t, hi_t = end(lo), end(hi)
    return f"({lo_t}, {hi_t})" if "∞" in lo_t + hi_t else f"[{lo_t}, {hi_t}]"


def inference_wide(df: pd.DataFrame, keys: Sequence[str], *, value: str, lang: str,
                   key_labels: dict[str, str] | None = None,
                   draws: Mapping[str, int] | None = None) -> pd.DataFrame:
    """One row per ``keys`` combination with the point estimate, the analytic standard error, and
    a 95% interval and p-value column pair for every inference method present (in the order of
    :data:`analysis.domain.INFERENCE_NAMES`), so methods sit side by side. ``draws``: the draws
    behind each resampling method (:func:`resampling_draws`), for the bound of a p-value at its
    floor (:func:`p_text`). Rows with ``p_adjusted`` (the multiplicity-adjusted p-value across the
    secondary outcomes) get an adjusted p-value column beside each method's p-value, and the
    pre-specified primary outcome is marked as such."""
    key_labels = key_labels or {}
    draws = draws or {}
    methods = sorted(df["inference"].astype(str).unique(), key=lambda m: (inference_rank(m), m))
    # a method the results hold under several clusterings (from 176 counties the analytic rows
    # clustered by institution and by county) gets a column group per clustering, named by it,
    # with its own standard error: one column would show whichever row came first
    split: dict[str, list[str]] = {}
    if "cluster" in df.columns:
        for m in methods:
            cl = df.loc[df["inference"].astype(str) == m, "cluster"].dropna().astype(str)
            if cl.nunique() > 1:
                split[m] = sorted(cl.unique(), key=lambda c: (c != "institution_id", c))
    columns: list[tuple[str, str | None]] = [
        (m, c) for m in methods for c in (split.get(m) or [None])]

    def column_name(m: str, c: str | None) -> str:
        name = inference_label(m, lang)
        if c is None:
            return name
        key = f"clustered_{c}"
        return f"{name} · {label(key, lang) if key in LABELS else c}"
    # multiplicity-adjusted p-values (Romano-Wolf / Holm across the secondary outcomes), for the
    # methods whose rows carry one
    adjusted = set()
    if "p_adjusted" in df:
        adjusted = set(df.loc[df["p_adjusted"].notna(), "inference"].astype(str))
    rows = []
    for k, g in df.groupby(list(keys), sort=False, dropna=False):
        k = k if isinstance(k, tuple) else (k,)
        g = g.assign(_o=g["inference"].map(inference_rank)).sort_values("_o")
        rec: dict[str, object] = {}
        for name, v in zip(keys, k, strict=True):
            col = key_labels.get(name, label(name, lang) if name in LABELS else name)
            rec[col] = _key_text(name, v, lang)
        rec[label("estimate", lang)] = g[value].iloc[0]
        if not split:
            rec[label("std_error", lang)] = g["std_error"].iloc[0]
        for m, c in columns:
            name = column_name(m, c)
            sel = g[g["inference"].astype(str) == m]
            if c is not None:
                sel = sel[sel["cluster"].astype(str) == c]
                rec[f"{label('std_error', lang)} · {name}"] = (
                    sel["std_error"].iloc[0] if len(sel) else np.nan)
            row = sel.iloc[0] if len(sel) else None
            if row is not None:
                rec[f"{label('ci', lang)} · {name}"] = ci_text(row["ci_low"], row["ci_high"])
                rec[f"{label('p_value', lang)} · {name}"] = p_text(row["p_value"], draws.get(m))
            else:
                rec[f"{label('ci', lang)} · {name}"] = ""
                rec[f"{label('p_value', lang)} · {name}"] = ""
            if m in adjusted:
                v = row["p_adjusted"] if row is not None else None
                rec[f"{label('p_adjusted', lang)} · {name}"] = p_text(v, draws.get(m))
        if "n_obs" in g:
            rec[label("n_obs", lang)] = g["n_obs"].iloc[0]
        rows.append(rec)
    return pd.DataFrame(rows)


def _key_text(name: str, v: object, lang: str) -> str:
    """A key cell in the report's words: outcomes, models and terms by their labels."""
    if name == "outcome":
        text = outcome_label(v, lang)
        return f"{text} ({label('primary_outcome', lang)})" if v == PRIMARY_OUTCOME else text
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if name == "model":
        return model_label(v, lang)
    if name == "term":
        return term_label(v, lang)
    return str(v)


def preferred_rows(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """One row per ``keys``: the wild-bootstrap row when present, else the first in method order."""
    order = df["inference"].map(lambda m: inference_rank(m, prefer=PREFERRED_FOR_FIGURES))
    return df.assign(_o=order).sort_values("_o", kind="stable").drop_duplicates(list(keys))


#: the ``cluster`` of results rows clustered by county
COUNTY_CLUSTER = "county_code"


def headline_method(rows: pd.DataFrame) -> tuple[str, str] | None:
    """The method of an estimate's headline rows, as the results say it: ``(inference, cluster)``
    of the rows flagged ``headline`` (the first when several are), else of the row a figure shows
    (:func:`preferred_rows`: the wild bootstrap when present); ``None`` when ``rows`` is empty.
    ``cluster`` is ``""`` when the results do not name one."""
    if rows.empty:
        return None
    if "headline" in rows.columns:
        flagged = rows[rows["headline"].eq(True).to_numpy()]
        rows = flagged if len(flagged) else rows
    first = preferred_rows(rows, ["inference"]).sort_values("_o", kind="stable").iloc[0]
    cluster = first.get("cluster") if "cluster" in rows.columns else None
    return str(first["inference"]), "" if cluster is None or pd.isna(cluster) else str(cluster)


def headline_key(method: tuple[str, str] | None) -> str | None:
    """``wild_bootstrap``, ``analytic_county`` (analytic, clustered by county) or ``other``: how
    a text names the headline method of :func:`headline_method` (``None`` without one)."""
    if method is None:
        return None
    inference, cluster = method
    if inference == "wild_bootstrap":
        return "wild_bootstrap"
    if inference == "analytic" and cluster == COUNTY_CLUSTER:
        return "analytic_county"
    return "other"


def headline_text(rows: pd.DataFrame, lang: str, *, prefix: str = "eff_headline") -> str:
    """The sentence naming the method of the rows the results flag as headline among ``rows``
    (:func:`headline_method`): the county wild bootstrap, the analytic interval clustered by
    county, or another method by its name; ``""`` without rows. ``prefix``: the label family
    (``eff_headline``, or ``methods_eff`` for the methods section)."""
    method = headline_method(rows)
    key = headline_key(method)
    if method is None or key is None:
        return ""
    return label(f"{prefix}_{key}", lang, method=inference_label(method[0], lang))


def has_resampling(rows: pd.DataFrame | None) -> bool:
    """Whether results ``rows`` hold a resampling method's rows (wild bootstrap, randomisation:
    the few-cluster inference the build runs below
    :data:`analysis.inference.policy.ANALYTIC_FROM_CLUSTERS` counties)."""
    return rows is not None and "inference" in rows.columns and bool(
        rows["inference"].astype(str).isin(list(RESAMPLING_DRAWS)).any())


def forest(df: pd.DataFrame, lang: str, *, title: str, highlight: Iterable[bool] | None = None,
           show_outcome: bool = True) -> str:
    """Point estimates with their intervals (``estimate``, ``ci_low``, ``ci_high``; one row each,
    named by ``outcome`` and ``term``) as an embedded PNG; ``highlight`` colours rows as the
    county's."""
    import matplotlib.pyplot as plt

    from ... import plots

    plots.setup()
    d = df.dropna(subset=["estimate"]).reset_index(drop=True)
    if d.empty:
        return ""
    names = [
        f"{outcome_label(o, lang)} · {term_label(t, lang)}" if show_outcome else term_label(t, lang)
        for o, t in zip(d["outcome"], d["term"], strict=True)
    ]
    hl = list(highlight) if highlight is not None else [False] * len(d)
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(d) + 1.2))
    y = np.arange(len(d))[::-1]
    colors = [plots.PALETTE["county"] if h else plots.PALETTE["city"] for h in hl]
    lo = d["ci_low"].fillna(d["estimate"]).to_numpy(float)
    hi = d["ci_high"].fillna(d["estimate"]).to_numpy(float)
    ax.hlines(y, lo, hi, colors=colors, lw=2)
    ax.scatter(d["estimate"], y, c=colors, zorder=3)
    ax.axvline(0, color="#888888", lw=0.8)
    ax.set_yticks(y, plots.safe_labels(names))
    ax.set_title(plots.safe_text(title))
    # left margin from the longest label (CJK characters are one em wide, others about half)
    em = (plt.rcParams["ytick.labelsize"] if isinstance(plt.rcParams["ytick.labelsize"], float)
          else 9.0)
    width_in = max(sum(1.0 if ord(ch) > 0x2E80 else 0.56 for ch in n) for n in names) * em / 72
    fig.subplots_adjust(left=min(0.7, (width_in + 0.2) / fig.get_figwidth()), right=0.97,
                        top=1 - 0.45 / fig.get_figheight(), bottom=0.35 / fig.get_figheight())
    return plots.figure_to_html(fig, alt=title)
