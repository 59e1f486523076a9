"""County-management reform (农村公办养老机构收归县管): staggered difference-in-differences.

Leshan moved its rural public elderly homes under county management county by county. An
institution is *reform-eligible* when ``kind == elderly``, ``operator == public`` and
``area == rural``; its adoption quarter is the quarter containing its county's
``county_management_date`` (panel column ``adoption_t``). Other institutions of the same county are
never treated.

What this module estimates (all pure functions returning frozen result objects):

* :func:`reform_attgt` — Callaway–Sant'Anna ATT(g,t) on eligible institutions (comparison:
  eligible institutions of not-yet-treated counties by default), clustered by county; or on the
  county-quarter means of eligible institutions (``level="county"``); or on the ineligible
  institutions (``sample="ineligible"``, the placebo: they were never treated, so every ATT should
  be zero).
* :func:`triple_difference` — CS on the county-quarter difference between eligible and ineligible
  institutions' mean outcomes: county-by-quarter shocks common to both types cancel.
* :func:`twfe` — static and event-study two-way fixed effects for contrast (biased under staggered
  adoption with dynamic effects: Goodman-Bacon 2021, Sun & Abraham 2021).
* :func:`bacon_decomposition` — the Goodman-Bacon decomposition of the static TWFE on a balanced
  panel: every 2×2 DiD and its weight; the weights sum to one and the weighted 2×2s to the TWFE
  coefficient exactly.
* :func:`build_results` — the results hook (``reform_attgt``, ``reform_aggregate``,
  ``reform_diagnostics``).

Inference with 11 counties: every aggregate is reported with the analytic clustered standard error
(``t(G − 1)`` critical values) and next to it the restricted wild cluster bootstrap (Webb weights)
and studentised randomisation inference over adoption dates (:mod:`analysis.inference`). Tables
carry ``n_clusters`` and a ``warning`` when there are fewer than 20 clusters, and every ATT(g,t)
and aggregate row says how many treated and comparison counties it rests on
(``n_treated_counties``, ``n_comparison_counties``, ``min_comparison_counties``,
``few_comparison_weight``, ``comparison_warning`` below three comparison counties). The headline
dynamic summary is the ``dynamic_balanced`` aggregation: cohorts observed for ``E`` quarters after
adoption, event times ``0..E``, ``E`` the longest window in which every cell has at least three
comparison counties (:meth:`analysis.did.ATTgtResult.headline_window`); the full ``dynamic`` table
is kept beside it.

References
----------
Callaway, B., & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods.
    *Journal of Econometrics* 225(2), 200–230.
Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing.
    *Journal of Econometrics* 225(2), 254–277.
Olden, A., & Møen, J. (2022). The triple difference estimator. *Econometrics Journal* 25(3),
    531–553.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .build.steps import BuildOptions, Step
from .did import ATTgtResult, att_gt
from .did.attrition import lee_bounds
from .did.honest import HonestResult, honest_did
from .did.pretrend import last_leads_min_e, lead_slope_spec
from .domain import ALL_OUTCOMES, SECONDARY_OUTCOMES, OutcomeOrComposite, is_primary, t_to_period
from .errors import SpecificationError, check_option
from .inference import (
    MAX_CLUSTERS,
    aggregate,
    aggregate_spec,
    balance_table,
    pretrend_test,
    wild_cluster_bootstrap,
)
from .inference.policy import methods_for, resampling_applies
from .inference.stepdown import cs_null_draws, family_adjust, holm
from .results import ResultMixin, few_cluster_warning
from .within import fe_ols

__all__ = [
    "reform_data",
    "reform_attgt",
    "triple_difference",
    "triple_difference_panel",
    "twfe",
    "TWFEResult",
    "bacon_decomposition",
    "BaconResult",
    "county_panel",
    "few_cluster_warning",
    "cohort_of",
    "build_results",
]

Level = Literal["institution", "county"]
Sample = Literal["eligible", "ineligible"]
ControlGroup = Literal["notyettreated", "nevertreated"]
TWFEKind = Literal["static", "event"]


def cohort_of(panel: pd.DataFrame, county_code: str) -> float | None:
    """The adoption quarter index of ``county_code`` (``None`` if never adopted in the window)."""
    rows = panel.loc[panel["county_code"].astype(str) == str(county_code), "adoption_t"]
    if rows.empty:
        raise SpecificationError(f"county_code={county_code!r} is not in the data; choose one of "
                                 f"{sorted(panel['county_code'].astype(str).unique())}.")
    v = rows.iloc[0]
    return None if pd.isna(v) else float(v)


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
_NEEDED = ("institution_id", "county_code", "t", "eligible", "adoption_t")


def reform_data(panel: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """The panel columns the reform analysis needs, with ``composite`` added when asked for.

    The composite index comes from :func:`analysis.indicators.composite_index`.
    """
    check_option("outcome", outcome, OutcomeOrComposite)
    missing = [c for c in _NEEDED if c not in panel.columns]
    if missing:
        raise SpecificationError(f"The panel lacks columns {missing}; rebuild the processed data "
                                 "with `pairing-eval build`.")
    if outcome == "composite":
        from .indicators import composite_index

        scores = composite_index(panel).scores[["institution_id", "period", "composite"]]
        d = panel.loc[:, [*_NEEDED, "period"]].merge(scores, on=["institution_id", "period"],
                                                     how="left")
    else:
        d = panel.loc[:, [*_NEEDED, outcome]].copy()
    d["eligible"] = d["eligible"].astype(bool)
    d["county_code"] = d["county_code"].astype(str)
    return d


def county_panel(d: pd.DataFrame, outcome: str, *, sample: Sample = "eligible") -> pd.DataFrame:
    """County × quarter means of ``outcome`` over the assessed institutions of ``sample``."""
    s = d[d["eligible"] == (sample == "eligible")]
    out = (s.groupby(["county_code", "t"], as_index=False)
           .agg(**{outcome: (outcome, "mean"), "adoption_t": ("adoption_t", "first"),
                   "n_institutions": (outcome, "count")}))
    return out


def reform_attgt(
    panel: pd.DataFrame,
    *,
    outcome: str = "environment_score",
    control_group: ControlGroup = "notyettreated",
    anticipation: int = 0,
    base_period: Literal["varying", "universal"] = "varying",
    level: Level = "institution",
    sample: Sample = "eligible",
) -> ATTgtResult:
    """Callaway–Sant'Anna ATT(g,t) of the county-management reform, clustered by county.

    Parameters
    ----------
    panel : the institution-quarter panel (``Processed.panel``; not modified).
    outcome : one of ``analysis.domain.ALL_OUTCOMES`` (``composite`` from :mod:`analysis.indicators`).
    control_group, anticipation, base_period : as :func:`analysis.did.att_gt`.
    level : ``"institution"`` (institutions are the units) or ``"county"`` (county-quarter means
        of the sample's institutions are the units).
    sample : ``"eligible"`` (the reform) or ``"ineligible"`` (placebo: their county's adoption
        date, but the reform did not apply to them).

    References
    ----------
    Callaway & Sant'Anna (2021).
    """
    check_option("level", level, Level)
    check_option("sample", sample, Sample)
    d = reform_data(panel, outcome)
    if level == "county":
        data = county_panel(d, outcome, sample=sample)
        unit = "county_code"
    else:
        data = d[d["eligible"] == (sample == "eligible")]
        unit = "institution_id"
    if data[outcome].notna().sum() == 0:
        raise SpecificationError(f"No {sample} institution has a value of {outcome!r}.")
    return att_gt(data, outcome=outcome, unit=unit, time="t", group="adoption_t",
                  cluster="county_code", control_group=control_group, anticipation=anticipation,
                  base_period=base_period)


#: how the triple difference weights counties: by their eligible institutions (the main
#: estimate's estimand, institution-weighted) or equally (a county-average estimand)
TripleWeighting = Literal["institutions", "counties"]


def triple_difference_panel(panel: pd.DataFrame, *, outcome: str = "environment_score"
                            ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The county × quarter gap between eligible and ineligible institutions' mean outcomes, on
    every county-quarter either type has (an outer merge: nothing dropped silently), and the
    counts of what is missing.

    Returns the panel (``county_code``, ``t``, ``adoption_t``, the two means, ``gap`` — missing
    where either mean is, an unobserved county-quarter for the estimator —, ``n_eligible``, the
    county's eligible institutions, constant within county) and the counts ``county_quarters``,
    ``gap_observed``, ``no_eligible_mean`` and ``no_ineligible_mean`` (county-quarters an inner
    merge of the observed means would drop), ``counties_without_ineligible``.
    """
    d = reform_data(panel, outcome)
    e = county_panel(d, outcome, sample="eligible")
    i = county_panel(d, outcome, sample="ineligible")
    m = e.drop(columns="n_institutions").merge(
        i[["county_code", "t", outcome, "adoption_t"]], on=["county_code", "t"], how="outer",
        suffixes=("_eligible", "_ineligible"))
    m["adoption_t"] = m["adoption_t_eligible"].combine_first(m["adoption_t_ineligible"])
    m = m.drop(columns=["adoption_t_eligible", "adoption_t_ineligible"])
    m["gap"] = m[f"{outcome}_eligible"] - m[f"{outcome}_ineligible"]
    n_elig = d[d["eligible"]].groupby("county_code")["institution_id"].nunique()
    m["n_eligible"] = m["county_code"].map(n_elig).fillna(0).astype(float)
    m = m.sort_values(["county_code", "t"]).reset_index(drop=True)
    has_i = set(i.loc[i[outcome].notna(), "county_code"])
    counts = {"county_quarters": len(m), "gap_observed": int(m["gap"].notna().sum()),
              "no_eligible_mean": int(m[f"{outcome}_eligible"].isna().sum()),
              "no_ineligible_mean": int(m[f"{outcome}_ineligible"].isna().sum()),
              "counties_without_ineligible": int(len(set(m["county_code"]) - has_i))}
    return m, counts


def triple_difference(
    panel: pd.DataFrame,
    *,
    outcome: str = "environment_score",
    control_group: ControlGroup = "notyettreated",
    anticipation: int = 0,
    weighting: TripleWeighting = "institutions",
) -> ATTgtResult:
    """Triple difference: CS on the county-quarter gap between eligible and ineligible
    institutions' mean outcomes.

    Any county-by-quarter shock that hits both types of institution equally cancels in the gap;
    the identifying assumption becomes parallel trends of the *gap* between adopting and
    not-yet-adopting counties (Olden & Møen 2022).

    ``weighting="institutions"`` (default) weights each county by its number of eligible
    institutions, so that the aggregates average over eligible institutions as the main
    institution-level estimate does (the same estimand up to within-county composition);
    ``"counties"`` weights counties equally (a county-average effect: a different estimand).
    County-quarters where one type has no assessed institution stay in the panel with a missing
    gap (unobserved for the estimator); :func:`triple_difference_panel` counts them.
    """
    check_option("weighting", weighting, TripleWeighting)
    m, _ = triple_difference_panel(panel, outcome=outcome)
    if m["gap"].notna().sum() == 0:
        raise SpecificationError("No county has both eligible and ineligible institutions; the "
                                 "triple difference needs both in the same county.")
    m = m[m["n_eligible"] > 0]
    return att_gt(m, outcome="gap", unit="county_code", time="t", group="adoption_t",
                  cluster="county_code", control_group=control_group, anticipation=anticipation,
                  weights="n_eligible" if weighting == "institutions" else None)


# --------------------------------------------------------------------------------------------
# TWFE and the Goodman-Bacon decomposition
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TWFEResult(ResultMixin):
    """Two-way fixed-effects regression (static or event study) for contrast with CS."""

    kind: str
    table: pd.DataFrame = field(repr=False)
    outcome: str = ""
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"TWFE ({self.kind}) — {self.outcome}"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"twfe": self.table}

    def plot(self, *, ax: Any = None) -> Any:
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        t = self.table[self.table["inference"] == "analytic"]
        if self.kind == "event":
            x = t["event_time"].to_numpy(float)
            ax.fill_between(x, t["ci_low"], t["ci_high"], alpha=0.25, color="C1")
            ax.plot(x, t["estimate"], "s-", color="C1", label="TWFE event study")
            ax.axvspan(x.min() - 0.5, -0.5, color="grey", alpha=0.12)
            ax.set_xlabel("event time")
        else:
            ax.errorbar([0], t["estimate"], yerr=[t["estimate"] - t["ci_low"],
                                                  t["ci_high"] - t["estimate"]], fmt="s")
            ax.set_xticks([0], ["reform_treated"])
        ax.axhline(0, color="black", lw=0.8)
        ax.set_title(self.title)
        return ax


def twfe(
    panel: pd.DataFrame,
    *,
    outcome: str = "environment_score",
    kind: TWFEKind = "static",
    window: tuple[int, int] = (-8, 8),
    n_boot: int = 999,
    seed: int = 0,
) -> TWFEResult:
    """Static (``y ~ reform_treated``) or event-study TWFE with institution and quarter fixed
    effects on the eligible institutions, clustered by county.

    The static coefficient also gets the restricted wild cluster bootstrap (Webb) from
    :func:`analysis.inference.wild_cluster_bootstrap`, below
    :data:`analysis.inference.policy.ANALYTIC_FROM_CLUSTERS` counties. Event study: dummies for event times in
    ``window`` (endpoints binned), reference period ``-1``.

    References
    ----------
    Goodman-Bacon (2021); Sun, L., & Abraham, S. (2021). Estimating dynamic treatment effects in
    event studies with heterogeneous treatment effects. *Journal of Econometrics* 225(2), 175–199.
    """
    check_option("kind", kind, TWFEKind)
    d = reform_data(panel, outcome)
    d = d[d["eligible"]].dropna(subset=[outcome]).copy()
    d["period"] = d["t"].astype(int)
    d["reform_treated"] = (d["t"] >= d["adoption_t"]).astype(float)
    n_cl = d["county_code"].nunique()
    warn = few_cluster_warning(n_cl)
    if kind == "static":
        r = fe_ols(d, y=outcome, x=["reform_treated"], fe=["institution_id", "period"],
                   cluster="county_code")
        t = r.tidy()
        rows = [t]
        if resampling_applies(n_cl):  # from ANALYTIC_FROM_CLUSTERS counties on: analytic only
            wb = wild_cluster_bootstrap(d, y=outcome, x=["reform_treated"], term="reform_treated",
                                        cluster="county_code", fe="institution_id",
                                        dummies=["period"], n_boot=n_boot, seed=seed)
            wt = wb.tidy()
            rows.append(pd.DataFrame({
                "term": ["reform_treated"], "estimate": [float(t["estimate"].iloc[0])],
                "std_error": [float(t["std_error"].iloc[0])],
                "p_value": [float(wt["p_value"].iloc[0])],
                "ci_low": [float(wt["ci_low"].iloc[0])],
                "ci_high": [float(wt["ci_high"].iloc[0])], "inference": ["wild_bootstrap"],
                "n_obs": [r.n_obs]}))
        table = pd.concat(rows, ignore_index=True)
        table["event_time"] = np.nan
    else:
        lo, hi = window
        e = (d["t"] - d["adoption_t"]).clip(lo, hi)
        terms = []
        for k in range(lo, hi + 1):
            if k == -1:
                continue
            name = f"e{k}"
            d[name] = (e == k).astype(float).fillna(0.0)
            if d[name].sum() > 0:
                terms.append((k, name))
        r = fe_ols(d, y=outcome, x=[n for _, n in terms], fe=["institution_id", "period"],
                   cluster="county_code")
        table = r.tidy()
        table["event_time"] = [k for k, _ in terms]
    table["n_clusters"] = n_cl
    table["warning"] = warn
    notes = tuple(n for n in (warn,) if n) + (
        "TWFE weights 2×2 comparisons that use already-treated institutions as controls; with "
        "effects that grow over time it is biased (see the Bacon decomposition).",)
    return TWFEResult(kind=kind, table=table, outcome=outcome, _notes=notes)


@dataclass(frozen=True)
class BaconResult(ResultMixin):
    """Goodman-Bacon decomposition: every 2×2 DiD, its type and weight, and the TWFE coefficient."""

    table: pd.DataFrame = field(repr=False)
    twfe_coef: float
    outcome: str = ""
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return "Goodman-Bacon decomposition of the static TWFE (balanced panel)"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"decomposition": self.table, "by_type": self.by_type()}

    def by_type(self) -> pd.DataFrame:
        t = self.table
        g = t.assign(wb=t["weight"] * t["estimate"]).groupby("type")
        out = pd.DataFrame({"weight": g["weight"].sum(), "estimate": g["wb"].sum() /
                            g["weight"].sum()}).reset_index()
        return out

    def plot(self, *, ax: Any = None) -> Any:
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        markers = {"treated vs never treated": "o", "earlier vs later treated": "^",
                   "later vs earlier treated": "x"}
        for i, (typ, s) in enumerate(self.table.groupby("type")):
            ax.scatter(s["weight"], s["estimate"], marker=markers.get(typ, "o"), label=typ,
                       color=f"C{i}")
        ax.axhline(self.twfe_coef, color="black", ls="--", lw=0.8,
                   label=f"TWFE = {self.twfe_coef:.3g}")
        ax.set_xlabel("weight")
        ax.set_ylabel("2×2 DiD estimate")
        ax.set_title(self.title + (f" — {self.outcome}" if self.outcome else ""))
        ax.legend(fontsize=8)
        return ax


def bacon_decomposition(data: pd.DataFrame, *, outcome: str, unit: str, time: str,
                        group: str) -> BaconResult:
    """Goodman-Bacon (2021) decomposition of the static TWFE coefficient on a balanced panel.

    Parameters
    ----------
    data : long balanced panel (one non-missing outcome per unit and period; not modified).
    outcome, unit, time : columns.
    group : first treatment period (NaN or 0 = never treated); units treated in the first period
        are "always treated".

    Returns
    -------
    BaconResult: ``table`` with ``type``, ``treated``, ``control``, ``estimate`` and ``weight``
    (weights sum to 1; ``Σ weight · estimate`` equals the TWFE coefficient ``twfe_coef``).

    References
    ----------
    Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing.
    *Journal of Econometrics* 225(2), 254–277, Theorem 1.
    """
    d = data.loc[:, [unit, time, group, outcome]].copy()
    Y = d.pivot(index=unit, columns=time, values=outcome)
    if Y.isna().to_numpy().any():
        raise SpecificationError("The Bacon decomposition needs a balanced panel (every unit "
                                 "observed in every period); aggregate to county-quarter means "
                                 "or keep only fully observed units.")
    times = Y.columns.to_numpy(float)
    T = len(times)
    g_unit = d.groupby(unit)[group].first().reindex(Y.index).astype(float).to_numpy()
    g_unit = np.where(np.isnan(g_unit) | (g_unit == 0), np.inf, g_unit)
    g_unit = np.where(g_unit > times.max(), np.inf, g_unit)
    y = Y.to_numpy(float)
    N = len(y)
    D = (times[None, :] >= g_unit[:, None]).astype(float)
    # TWFE on the balanced panel: double demeaning
    def dd(a: np.ndarray) -> np.ndarray:
        return a - a.mean(1, keepdims=True) - a.mean(0, keepdims=True) + a.mean()
    Dt = dd(D)
    VD = (Dt**2).mean()
    if VD <= 0:
        raise SpecificationError("Treatment does not vary over time within units; nothing to "
                                 "decompose.")
    beta = float((Dt * dd(y)).sum() / (Dt**2).sum())
    groups = np.unique(g_unit)
    n = {g: np.mean(g_unit == g) for g in groups}
    Dbar = {g: float(np.mean(times >= g)) for g in groups}
    ybar = {g: y[g_unit == g].mean(0) for g in groups}  # mean over units per period

    def m(g: float, mask: np.ndarray) -> float:
        return float(ybar[g][mask].mean())

    rows = []
    finite = [g for g in groups if np.isfinite(g) and Dbar[g] < 1]
    never = [g for g in groups if np.isinf(g)]
    always = [g for g in groups if np.isfinite(g) and Dbar[g] == 1]
    for k in finite:
        pre, post = times < k, times >= k
        for u in never:
            nk, nu = n[k], n[u]
            nku = nk / (nk + nu)
            w = (nk + nu) ** 2 * nku * (1 - nku) * Dbar[k] * (1 - Dbar[k]) / VD
            est = (m(k, post) - m(k, pre)) - (m(u, post) - m(u, pre))
            rows.append(("treated vs never treated", k, u, est, w))
    timing = finite + always
    for a in timing:
        for b in finite:
            if not a < b:
                continue
            k, late = a, b  # k early, late treated later
            nk, nl = n[k], n[late]
            nkl = nk / (nk + nl)
            pre, mid, post = times < k, (times >= k) & (times < late), times >= late
            if Dbar[k] < 1 and pre.any():
                w = (((nk + nl) * (1 - Dbar[late])) ** 2 * nkl * (1 - nkl)
                     * (Dbar[k] - Dbar[late]) / (1 - Dbar[late]) * (1 - Dbar[k]) / (1 - Dbar[late]) / VD)
                est = (m(k, mid) - m(k, pre)) - (m(late, mid) - m(late, pre))
                rows.append(("earlier vs later treated", k, late, est, w))
            w = (((nk + nl) * Dbar[k]) ** 2 * nkl * (1 - nkl)
                 * (Dbar[late] / Dbar[k]) * (Dbar[k] - Dbar[late]) / Dbar[k] / VD)
            est = (m(late, post) - m(late, mid)) - (m(k, post) - m(k, mid))
            rows.append(("later vs earlier treated", late, k, est, w))
    table = pd.DataFrame(rows, columns=["type", "treated", "control", "estimate", "weight"])
    notes = (f"Σ weights = {table['weight'].sum():.12f}; Σ weight·estimate = "
             f"{(table['weight'] * table['estimate']).sum():.10g}; TWFE = {beta:.10g} "
             f"({N} units × {T} periods).",)
    return BaconResult(table=table, twfe_coef=beta, outcome=outcome, _notes=notes)


#: what :func:`reform_bacon` decomposes, in words (column ``decomposes`` of its diagnostic rows)
BACON_DECOMPOSES = ("static TWFE of the county-quarter means of eligible institutions, counties "
                    "weighted equally, counties observed in every quarter; not the reported "
                    "institution-level TWFE (twfe_static), whose unbalanced panel the "
                    "decomposition does not allow")


def reform_bacon(panel: pd.DataFrame, *, outcome: str = "environment_score") -> BaconResult:
    """Bacon decomposition of the static TWFE on the balanced county-quarter panel of eligible
    institutions' mean outcomes: exactly :data:`BACON_DECOMPOSES`. Goodman-Bacon's Theorem 1
    needs a balanced panel without weights; the reported institution-level TWFE is on an
    unbalanced panel of institutions, so it is *not* what is decomposed here (the diagnostic rows
    put it beside the decomposition as ``twfe_institution_not_decomposed``); the 2×2 weights say
    which comparisons drive a TWFE of this design, not of that coefficient."""
    d = reform_data(panel, outcome)
    c = county_panel(d, outcome, sample="eligible").dropna(subset=[outcome])
    counts = c.groupby("county_code")["t"].nunique()
    full = counts[counts == c["t"].nunique()].index
    c = c[c["county_code"].isin(full)]
    return bacon_decomposition(c, outcome=outcome, unit="county_code", time="t",
                               group="adoption_t")


# --------------------------------------------------------------------------------------------
# results hook
# --------------------------------------------------------------------------------------------
def _label_key(kind: str, key: Any) -> str:
    if kind == "simple":
        return ""
    if isinstance(key, str):
        return key
    if kind == "dynamic":
        return str(int(key))
    return t_to_period(float(key))


#: the did layer's cluster columns under their reform names (the reform clusters by county)
_COUNTY_COLUMNS = {"n_treated_clusters": "n_treated_counties",
                   "n_comparison_clusters": "n_comparison_counties",
                   "min_comparison_clusters": "min_comparison_counties"}


def _aggregate_rows(res: ATTgtResult, outcome: str, *, n_boot: int, n_perm: int, seed: int,
                    extra: dict[str, Any] | None = None) -> pd.DataFrame:
    """The aggregate rows of one outcome: simple, dynamic, group, calendar, then the headline
    ``dynamic_balanced`` (event times ``0..E`` on the cohorts observed for ``E`` quarters, ``E``
    from :meth:`~analysis.did.ATTgtResult.headline_window`; its overall rows have
    ``headline = True``)."""
    out = []
    inference = _inference_for(res)
    window = res.headline_window()
    kinds: list[tuple[str, str, dict[str, Any]]] = [
        (k, k, {}) for k in ("simple", "dynamic", "group", "calendar")]
    if window is not None:
        kinds.append(("dynamic_balanced", "dynamic",
                      {"balance_e": window, "min_e": 0, "max_e": window}))
    for name, kind, kw in kinds:
        a = aggregate(res, kind, inference=inference, n_boot=n_boot, n_perm=n_perm, seed=seed,
                      **kw)
        t = a.tidy().rename(columns=_COUNTY_COLUMNS)
        t["key"] = [_label_key(kind, k) for k in t["key"]]
        t.insert(0, "aggregation", name)
        t.insert(0, "outcome", outcome)
        t["balance_e"] = float(window) if name == "dynamic_balanced" else np.nan
        t["max_e"] = float(window) if name == "dynamic_balanced" else np.nan
        t["headline"] = (name == "dynamic_balanced") & t["is_overall"]
        out.append(t)
    df = pd.concat(out, ignore_index=True)
    df["warning"] = few_cluster_warning(res.n_clusters)
    df["control_group"] = res.control_group
    for k, v in (extra or {}).items():
        df[k] = v
    return df


def _inference_for(res: ATTgtResult) -> tuple[str, ...]:
    """Analytic always; the few-cluster methods below the build's switch
    (:data:`analysis.inference.policy.ANALYTIC_FROM_CLUSTERS`) and within what they can run
    (``MAX_CLUSTERS``)."""
    if res.n_clusters > MAX_CLUSTERS:
        return ("analytic",)
    return methods_for(res.n_clusters)


def _attgt_rows(res: ATTgtResult, outcome: str) -> pd.DataFrame:
    t = res.tidy()
    t.insert(0, "outcome", outcome)
    t["group_t"] = t["group"]
    t["period_t"] = t["period"]
    t["group"] = [t_to_period(g) for g in t["group_t"]]
    t["period"] = [t_to_period(p) for p in t["period_t"]]
    t["base_period"] = [t_to_period(p) for p in t["base_period"]]
    t["event_time"] = t["event_time"].astype(int)
    t = t.rename(columns=_COUNTY_COLUMNS)
    t["warning"] = few_cluster_warning(res.n_clusters)
    t["control_group"] = res.control_group
    return t


def _diag_rows(outcome: str, diagnostic: str, df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df.insert(0, "diagnostic", diagnostic)
    df.insert(0, "outcome", outcome)
    return df


def diagnostics(panel: pd.DataFrame, outcome: str, res: ATTgtResult, *, n_boot: int = 999,
                n_perm: int = 999, seed: int = 0) -> pd.DataFrame:
    """Pre-trend tests, TWFE (static and event), Bacon, triple difference and placebo for one
    outcome, as one long table (columns ``diagnostic``, ``term``, ``estimate``, ``std_error``,
    ``ci_low``, ``ci_high``, ``p_value``, ``inference``, ``weight``, ``n_clusters``,
    ``warning``)."""
    parts = []
    warn = few_cluster_warning(res.n_clusters)
    pt = pretrend_test(res, inference=_inference_for(res), n_boot=n_boot, n_perm=n_perm,
                       seed=seed).tidy()
    parts.append(_diag_rows(outcome, "pretrend", pd.DataFrame({
        "term": pt["statistic"], "estimate": pt["value"], "p_value": pt["p_value"],
        "inference": pt["inference"], "df": pt["df"], "n_clusters": pt["n_clusters"]})))
    if "randomization" in _inference_for(res):
        bal = balance_table(res, n_perm=n_perm, seed=seed)
        parts.append(_diag_rows(outcome, "randomization_balance", pd.DataFrame({
            "term": bal["statistic"], "estimate": bal["actual"], "p_value": bal["p_value"],
            "inference": "randomization", "n_clusters": res.n_clusters,
            "perm_mean": bal["perm_mean"], "perm_sd": bal["perm_sd"],
            "perm_q05": bal["perm_q05"], "perm_median": bal["perm_median"],
            "perm_q95": bal["perm_q95"], "n_assignments": bal["n_assignments"]})))
    st = twfe(panel, outcome=outcome, kind="static", n_boot=n_boot, seed=seed).tidy()
    parts.append(_diag_rows(outcome, "twfe_static", st[["term", "estimate", "std_error", "ci_low",
                                                        "ci_high", "p_value", "inference",
                                                        "n_clusters"]]))
    ev = twfe(panel, outcome=outcome, kind="event").tidy()
    ev["term"] = [str(int(e)) for e in ev["event_time"]]
    parts.append(_diag_rows(outcome, "twfe_event", ev[["term", "estimate", "std_error", "ci_low",
                                                       "ci_high", "p_value", "inference",
                                                       "n_clusters"]]))
    try:
        b = reform_bacon(panel, outcome=outcome)
        bt = b.tidy()
        parts.append(_diag_rows(outcome, "bacon", pd.DataFrame({
            "term": [f"{typ}: {t_to_period(tr)} vs {t_to_period(co) or 'never'}"
                     for typ, tr, co in zip(bt["type"], bt["treated"], bt["control"], strict=True)],
            "estimate": bt["estimate"], "weight": bt["weight"], "inference": "none",
            "comparison": bt["type"]})))
        parts.append(_diag_rows(outcome, "bacon", pd.DataFrame({
            "term": ["twfe_county_panel"], "estimate": [b.twfe_coef], "weight": [1.0],
            "inference": ["none"], "comparison": ["total"]})))
        # what the decomposition is *not*: the reported institution-level TWFE, beside it
        parts.append(_diag_rows(outcome, "bacon", pd.DataFrame({
            "term": ["twfe_institution_not_decomposed"],
            "estimate": [float(st.loc[st["inference"] == "analytic", "estimate"].iloc[0])],
            "weight": [np.nan], "inference": ["none"], "comparison": ["not_decomposed"]})))
        parts[-1]["decomposes"] = BACON_DECOMPOSES
        parts[-2]["decomposes"] = BACON_DECOMPOSES
        parts[-3]["decomposes"] = BACON_DECOMPOSES
    except SpecificationError:
        pass
    try:
        _, cov = triple_difference_panel(panel, outcome=outcome)
        parts.append(_diag_rows(outcome, "triple_difference_coverage", pd.DataFrame({
            "term": list(cov), "estimate": [float(v) for v in cov.values()],
            "inference": "none"})))
    except SpecificationError:
        pass
    variants = (("triple_difference", lambda: triple_difference(
                    panel, outcome=outcome, control_group=res.control_group)),
                ("placebo_ineligible", lambda: reform_attgt(
                    panel, outcome=outcome, control_group=res.control_group,
                    sample="ineligible")))
    for name, fit in variants:
        try:
            r = fit()
        except SpecificationError as exc:  # e.g. no ineligible institutions in the data
            parts.append(_diag_rows(outcome, name, pd.DataFrame({
                "term": [f"not estimated: {exc}"], "estimate": [np.nan], "inference": ["none"]})))
            continue
        for kind in ("simple", "dynamic"):
            a = aggregate(r, kind, inference=_inference_for(r), n_boot=n_boot, n_perm=n_perm,
                          seed=seed).tidy()
            if kind == "dynamic":
                a = a[a["is_overall"]]
            a["term"] = [f"{kind}" if k in ("", "overall") else f"{kind}:{k}" for k in a["key"]]
            parts.append(_diag_rows(outcome, name, a[["term", "att", "std_error", "ci_low",
                                                      "ci_high", "p_value", "inference",
                                                      "n_clusters"]].rename(
                                                          columns={"att": "estimate"})))
    out = pd.concat(parts, ignore_index=True)
    out["warning"] = warn
    return out


# --------------------------------------------------------------------------------------------
# pre-trend leads, attrition and sensitivity to violations of parallel trends
# --------------------------------------------------------------------------------------------
#: Lee bounds are needed unless the attrition effect's 95% interval lies within ± this share
NEGLIGIBLE_ATTRITION = 0.01


def pretrend_leads(res: ATTgtResult, outcome: str, *, n_slope: int = 8, n_last: int = 4,
                   n_boot: int = 999, n_perm: int = 999, seed: int = 0) -> pd.DataFrame:
    """The two focused pre-trend tests of a universal-base fit (:mod:`analysis.did.pretrend`),
    by every few-cluster method that applies: the slope per quarter of the last ``n_slope`` leads
    (two years; the earlier leads rest on the latest cohorts alone) — one degree of freedom, test
    ``slope``: estimate, interval, p-value per inference method — and the last ``n_last`` leads
    jointly (test ``last_four``: the analytic Wald row when the clustered
    covariance has full rank, ``sum_t2`` by the wild bootstrap, the randomisation statistic).

    Columns: ``outcome``, ``test``, ``statistic``, ``estimate``, ``std_error``, ``ci_low``,
    ``ci_high``, ``p_value``, ``inference``, ``df``, ``n_leads``, ``base_period``.
    """
    inference = _inference_for(res)
    spec = lead_slope_spec(res, min_e=last_leads_min_e(res, n_slope))
    a = aggregate_spec(res, spec, inference=inference, n_boot=n_boot, n_perm=n_perm,
                       seed=seed).tidy()
    a = a[a["is_overall"]]
    slope = pd.DataFrame({
        "test": "slope", "statistic": "slope_per_period", "estimate": a["att"].to_numpy(),
        "std_error": a["std_error"].to_numpy(), "ci_low": a["ci_low"].to_numpy(),
        "ci_high": a["ci_high"].to_numpy(), "p_value": a["p_value"].to_numpy(),
        "inference": a["inference"].to_numpy(), "df": 1, "n_leads": len(spec.keys)})
    pt = pretrend_test(res, inference=inference, min_e=last_leads_min_e(res, n_last),
                       n_boot=n_boot, n_perm=n_perm, seed=seed).tidy()
    joint = pd.DataFrame({
        "test": f"last_{'four' if n_last == 4 else n_last}", "statistic": pt["statistic"],
        "estimate": pt["value"], "std_error": np.nan, "ci_low": np.nan, "ci_high": np.nan,
        "p_value": pt["p_value"], "inference": pt["inference"], "df": pt["df"],
        "n_leads": pt["n_pre"]})
    out = pd.concat([slope, joint], ignore_index=True)
    out.insert(0, "outcome", outcome)
    out["base_period"] = res.base_period
    return out


def attrition_effect(panel: pd.DataFrame, *, control_group: ControlGroup = "notyettreated",
                     n_boot: int = 999, n_perm: int = 999, seed: int = 0
                     ) -> tuple[ATTgtResult, pd.DataFrame]:
    """The reform's effect on being assessed: Callaway–Sant'Anna on the indicator ``assessed`` of
    the eligible institutions (a balanced panel: every institution-quarter has a row), its simple
    aggregate by every few-cluster method. Returns the fit and the rows (``term =
    "attrition_simple"``; ``negligible`` when the wild-bootstrap 95% interval lies within
    ``± NEGLIGIBLE_ATTRITION``)."""
    need = ["institution_id", "county_code", "t", "adoption_t", "assessed", "eligible"]
    missing = [c for c in need if c not in panel.columns]
    if missing:
        raise SpecificationError(f"The panel lacks columns {missing}; rebuild the processed data "
                                 "with `pairing-eval build`.")
    d = panel.loc[panel["eligible"].astype(bool), need[:-1]].copy()
    d["assessed"] = d["assessed"].astype(float)
    d["county_code"] = d["county_code"].astype(str)
    obs = att_gt(d, outcome="assessed", unit="institution_id", time="t", group="adoption_t",
                 cluster="county_code", control_group=control_group)
    a = aggregate(obs, "simple", inference=_inference_for(obs), n_boot=n_boot, n_perm=n_perm,
                  seed=seed).tidy()
    rows = pd.DataFrame({"outcome": "assessed", "term": "attrition_simple",
                         "estimate": a["att"], "std_error": a["std_error"], "ci_low": a["ci_low"],
                         "ci_high": a["ci_high"], "p_value": a["p_value"],
                         "inference": a["inference"], "n_clusters": obs.n_clusters})
    ref = a[a["inference"] == "wild_bootstrap"]
    ref = ref if len(ref) else a
    lo, hi = float(ref["ci_low"].iloc[0]), float(ref["ci_high"].iloc[0])
    rows["negligible"] = bool(-NEGLIGIBLE_ATTRITION <= lo and hi <= NEGLIGIBLE_ATTRITION)
    return obs, rows


def attrition(panel: pd.DataFrame, *, outcomes: Sequence[str] = ALL_OUTCOMES,
              control_group: ControlGroup = "notyettreated", n_boot: int = 999,
              n_perm: int = 999, seed: int = 0) -> pd.DataFrame:
    """The attrition diagnostic: the reform's effect on being assessed
    (:func:`attrition_effect`) and, per outcome, Lee (2009) bounds of the simple aggregate
    (:func:`analysis.did.attrition.lee_bounds`; ``term = "lee_bounds_simple"``: ``estimate`` the
    simple ATT, ``lower``, ``upper``, ``trim_share`` the largest share trimmed in a cell,
    ``needed`` unless the attrition effect is negligible).

    References
    ----------
    Lee, D. S. (2009). Training, wages, and sample selection: Estimating sharp bounds on
    treatment effects. *Review of Economic Studies* 76(3), 1071–1102.
    """
    obs, rows = attrition_effect(panel, control_group=control_group, n_boot=n_boot,
                                 n_perm=n_perm, seed=seed)
    needed = not bool(rows["negligible"].iloc[0])
    parts = [rows]
    for outcome in outcomes:
        res = reform_attgt(panel, outcome=outcome, control_group=control_group)
        lb = lee_bounds(res, obs)
        s = lb[lb["key"] == "simple"].iloc[0]
        parts.append(pd.DataFrame({
            "outcome": [outcome], "term": ["lee_bounds_simple"], "estimate": [s["att"]],
            "lower": [s["lower"]], "upper": [s["upper"]], "trim_share": [s["trim_share"]],
            "attrition": [s["attrition"]], "needed": [needed], "n_clusters": [res.n_clusters],
            "inference": ["none"]}))
    out = pd.concat(parts, ignore_index=True)
    for c in ("negligible", "needed"):
        out[c] = out[c].astype("boolean")
    out["warning"] = few_cluster_warning(obs.n_clusters)
    return out


def sensitivity(res: ATTgtResult, *, num_pre: int = 4, num_post: int = 4,
                seed: int = 0) -> HonestResult:
    """Rambachan & Roth (2023) intervals for the mean effect over the first ``num_post`` quarters
    after adoption, relative magnitudes (``M̄ = 0, 0.25, …, 2``, conditional-least-favourable
    hybrid) and smoothness (ten ``M`` up to HonestDiD's pre-period bound, FLCI), on a
    universal-base fit with the delete-one-county jackknife covariance
    (:func:`analysis.did.honest.honest_did`): "how large a violation would overturn the
    conclusion" is ``breakdown_m``."""
    return honest_did(res, num_pre=num_pre, num_post=num_post, seed=seed)


def sensitivity_rows(panel: pd.DataFrame, *, outcomes: Sequence[str] = ALL_OUTCOMES,
                     control_group: ControlGroup = "notyettreated", n_boot: int = 999,
                     n_perm: int = 999, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The build's ``reform_sensitivity``, ``reform_pretrends`` and ``reform_attrition`` tables:
    per outcome, the universal-base fit's honest intervals and focused pre-trend tests, and the
    attrition diagnostic."""
    sens, leads = [], []
    for outcome in outcomes:
        try:
            res = reform_attgt(panel, outcome=outcome, control_group=control_group,
                               base_period="universal")
            leads.append(pretrend_leads(res, outcome, n_boot=n_boot, n_perm=n_perm, seed=seed))
            t = sensitivity(res, seed=seed).tidy()
            t.insert(0, "outcome", outcome)
            sens.append(t)
        except SpecificationError:  # e.g. too few event times or clusters for the window
            continue
    out = {"reform_sensitivity": pd.concat(sens, ignore_index=True) if sens else pd.DataFrame(
               columns=["outcome", "restriction", "m", "ci_low", "ci_high", "breakdown_m"]),
           "reform_pretrends": pd.concat(leads, ignore_index=True) if leads else pd.DataFrame(
               columns=["outcome", "test", "statistic", "estimate", "p_value", "inference"])}
    try:
        out["reform_attrition"] = attrition(panel, outcomes=outcomes, control_group=control_group,
                                            n_boot=n_boot, n_perm=n_perm, seed=seed)
    except SpecificationError:
        out["reform_attrition"] = pd.DataFrame(columns=["outcome", "term", "estimate", "lower",
                                                        "upper"])
    return out


def multiplicity(agg: pd.DataFrame, fits: dict[str, ATTgtResult], *, n_boot: int = 999,
                 n_perm: int = 999, seed: int = 0) -> pd.DataFrame:
    """``reform_aggregate`` with the columns ``primary``, ``p_adjusted`` and ``adjustment``.

    ``primary`` marks the pre-specified primary outcome (:data:`analysis.domain.PRIMARY_OUTCOME`,
    the composite index), tested once. ``p_adjusted`` is the p-value of the *simple* aggregate
    adjusted across the four target outcomes (:data:`analysis.domain.SECONDARY_OUTCOMES`), within
    each inference method: Romano–Wolf step-down over the same wild-bootstrap draws, or the same
    permuted assignments, that the row's own p-value uses
    (:func:`analysis.inference.stepdown.family_adjust`; the draws share the seed, clusters and
    assignments across outcomes), and Holm on the analytic rows (no joint draws). It is missing
    on the primary outcome and on every other aggregation; ``adjustment`` names the method where
    it is filled.
    """
    out = agg.copy()
    out["primary"] = out["outcome"].map(is_primary).astype(bool)
    out["p_adjusted"] = np.nan
    out["adjustment"] = None
    family = [o for o in SECONDARY_OUTCOMES if o in fits]
    simple = (out["aggregation"] == "simple") & out["outcome"].isin(family)
    if family:
        for method in ("wild_bootstrap", "randomization"):
            rows = simple & (out["inference"] == method)
            if not rows.any():
                continue
            draws = {o: cs_null_draws(fits[o], fits[o].spec("simple"), method, n_boot=n_boot,
                                      n_perm=n_perm, seed=seed) for o in family}
            adj = family_adjust(draws)
            out.loc[rows, "p_adjusted"] = out.loc[rows, "outcome"].map(adj).to_numpy(float)
            out.loc[rows, "adjustment"] = "romano_wolf"
        rows = simple & (out["inference"] == "analytic")
        if rows.any():
            out.loc[rows, "p_adjusted"] = holm(out.loc[rows, "p_value"].to_numpy(float))
            out.loc[rows, "adjustment"] = "holm"
    out["adjustment"] = out["adjustment"].astype("string")
    return out


def build_results(processed: Any, *, n_boot: int = 999, n_perm: int = 999,
                  seed: int = 20240101) -> dict[str, pd.DataFrame]:
    """Results hook: ``reform_attgt``, ``reform_aggregate``, ``reform_diagnostics``, and
    ``reform_sensitivity``, ``reform_pretrends``, ``reform_attrition`` (:func:`sensitivity_rows`).

    For each outcome (the four scores and the composite): CS ATT(g,t) on eligible institutions
    (not-yet-treated comparison, clustered by county); its simple, dynamic, group and calendar
    aggregations with analytic, wild-bootstrap and randomisation rows; and the diagnostics of
    :func:`diagnostics`. ``group``/``period``/``key`` are quarter labels like ``2022Q1``; event-time
    keys are integers as text; the simple aggregation's key is empty and each other aggregation
    has an ``overall`` row.
    """
    panel = processed.panel
    attgt, agg, diag = [], [], []
    fits: dict[str, ATTgtResult] = {}
    for outcome in ALL_OUTCOMES:
        try:
            res = reform_attgt(panel, outcome=outcome)
            fits[outcome] = res
            attgt.append(_attgt_rows(res, outcome))
            agg.append(_aggregate_rows(res, outcome, n_boot=n_boot, n_perm=n_perm, seed=seed))
            diag.append(diagnostics(panel, outcome, res, n_boot=n_boot, n_perm=n_perm,
                                    seed=seed))
        except SpecificationError as exc:  # e.g. no county adopted within the data window
            diag.append(pd.DataFrame({"outcome": [outcome], "diagnostic": ["not_estimated"],
                                      "term": [str(exc)], "estimate": [np.nan],
                                      "inference": ["none"]}))
    attgt_df = pd.concat(attgt, ignore_index=True) if attgt else pd.DataFrame(
        columns=["outcome", "group", "period", "att", "std_error", "n_clusters", "warning"])
    a = pd.concat(agg, ignore_index=True) if agg else pd.DataFrame(
        columns=["outcome", "aggregation", "key", "att", "std_error", "ci_low", "ci_high",
                 "p_value", "inference", "n_clusters", "warning"])
    a["key"] = a["key"].astype(str)
    a = multiplicity(a, fits, n_boot=n_boot, n_perm=n_perm, seed=seed)
    d = pd.concat(diag, ignore_index=True)
    for c in ("term", "inference", "comparison", "warning"):
        if c in d.columns:
            d[c] = d[c].astype(object).where(d[c].notna(), None).astype("string")
    return {"reform_attgt": attgt_df, "reform_aggregate": a,
            "reform_diagnostics": d,
            **sensitivity_rows(panel, n_boot=n_boot, n_perm=n_perm, seed=seed)}


#: the reform step's random stream is the root seed plus this offset, so that its draws are not the
#: effectiveness step's draws (20210101 + 30000 = 20240101, the stream used since the first version)
SEED_OFFSET = 30_000


def _run_step(processed: Any, options: BuildOptions) -> dict[str, pd.DataFrame]:
    return build_results(processed, n_boot=options.n_boot, n_perm=options.n_perm,
                         seed=options.seed + SEED_OFFSET)


#: the build step (draws ``options.n_boot`` / ``options.n_perm``; seed ``options.seed + SEED_OFFSET``)
STEP = Step("reform", run=_run_step, description="county-management reform (staggered DiD)")
