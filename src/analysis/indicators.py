"""三升一降 ("three up, one down") indicators and the composite index.

The programme's four targets are environment (院容院貌), service quality and happiness **up**, and
safety hazards **down**. This module computes them per institution-quarter, compares the baseline
year (the last year before the programme, 2020 in the demo) with the latest year, and aggregates
to county and city, resident-weighted or unweighted — the caller chooses explicitly.

Composite index (documented construction)
-----------------------------------------
For each institution-quarter, every outcome is standardised on the **baseline year's
institution-quarter distribution** (``z = (value − mean₀) / sd₀``, mean and SD over all assessed
institution-quarters of the baseline year, SD with ddof=1), the safety-hazard z-score is **negated**
so that up is good for every component, and the composite is the **equal-weighted mean** of the
four aligned z-scores (weights 1/4 each; an institution-quarter missing any component has no
composite). One composite unit is therefore one baseline standard deviation of the average target.

Baseline, latest, change and interval
-------------------------------------
* institution: baseline = mean over the institution's assessed quarters of the baseline year,
  latest = same for the latest year, change = latest − baseline; the 95% interval is Welch's
  (quarters within a year treated as independent — descriptive).
* county / city: over institutions observed in both years (a balanced comparison, so change =
  latest − baseline exactly), the weighted mean ``Σ wᵢ xᵢ / Σ wᵢ`` with ``wᵢ`` = the institution's
  mean residents over the two years (``weighting="residents"``) or 1 (``"unweighted"``). The
  standard error of the weighted mean change is the linearised (ratio-estimator) cluster-robust one,
  ``SE = sqrt(G/(G−1) · Σ_g (Σ_{i∈g} wᵢ(dᵢ − d̄))²) / Σ wᵢ``, with clusters = institutions for a
  county and = counties for the city (county-level shocks are common), and a t(G−1) critical value
  (Cochran 1977, *Sampling Techniques*, ch. 6; Cameron & Miller 2015 for the G/(G−1) factor).
* ``target_met``: the point change goes in the target direction (up, or down for hazards);
  ``target_met_significant``: the whole interval does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from .build.steps import BuildOptions, Step
from .domain import ALL_INDICATORS, INDICATORS, direction, outcome_label
from .errors import SpecificationError, check_option
from .results import ResultMixin

__all__ = [
    "INDICATORS",
    "DIRECTION",
    "CompositeIndex",
    "IndicatorResult",
    "TrendResult",
    "programme_start_year",
    "composite_index",
    "institution_quarter",
    "indicators",
    "trends",
    "scorecard",
    "build_results",
]

#: +1 = the target is up, −1 = down (indicator name → direction; from :mod:`analysis.domain`)
DIRECTION: dict[str, int] = {k: direction(k) for k in ALL_INDICATORS}

Level = Literal["institution", "county", "city"]
Weighting = Literal["residents", "unweighted"]

_NEEDED = ("institution_id", "county_code", "period", "year", "residents", *INDICATORS.values())


def _check_panel(panel: pd.DataFrame) -> None:
    missing = [c for c in _NEEDED if c not in panel.columns]
    if missing:
        raise SpecificationError(
            f"The panel lacks columns {missing}; pass the institution-quarter panel "
            "(`load_processed(...).panel`)."
        )


def programme_start_year(panel: pd.DataFrame) -> int:
    """First calendar year in which any institution is paired (``panel.paired``)."""
    if "paired" not in panel.columns or not panel["paired"].fillna(False).astype(bool).any():
        raise SpecificationError(
            "No pairing found in the panel, so the programme start is unknown; pass "
            "baseline_year= (the last year before the programme) explicitly."
        )
    return int(panel.loc[panel["paired"].fillna(False).astype(bool), "year"].min())


def _years(panel: pd.DataFrame, baseline_year: int | None, latest_year: int | None) -> tuple[int, int]:
    assessed = panel.dropna(subset=list(INDICATORS.values()), how="all")
    years = sorted(assessed["year"].unique())
    if not years:
        raise SpecificationError("The panel has no assessments; nothing to compare.")
    if baseline_year is None:
        baseline_year = programme_start_year(panel) - 1
    if latest_year is None:
        latest_year = int(years[-1])
    for name, y in (("baseline_year", baseline_year), ("latest_year", latest_year)):
        if y not in years:
            raise SpecificationError(
                f"{name}={y} has no assessments; choose one of {[int(v) for v in years]}."
            )
    if latest_year <= baseline_year:
        raise SpecificationError(
            f"latest_year={latest_year} must come after baseline_year={baseline_year}."
        )
    return int(baseline_year), int(latest_year)


# --------------------------------------------------------------------------------------------
# composite index
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompositeIndex(ResultMixin):
    """The composite's construction (baseline means, SDs, directions, weights) and its scores."""

    baseline_year: int
    construction: pd.DataFrame = field(repr=False)
    scores: pd.DataFrame = field(repr=False)

    @property
    def title(self) -> str:
        return "三升一降 composite index: construction"

    @property
    def _notes(self) -> tuple[str, ...]:
        return (
            f"Each outcome is z-scored on the {self.baseline_year} institution-quarter distribution; "
            "safety hazards are negated so that up is good; the composite is the equal-weighted "
            "mean (1/4 each) of the four aligned z-scores.",
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"construction": self.construction, "scores": self.scores}

    def plot(self, *, ax: Any = None) -> Any:
        from .plots import new_axes

        ax = new_axes(ax)
        s = self.scores.dropna(subset=["composite"])
        m = s.groupby("period")["composite"].agg(["mean", "count", "std"]).sort_index()
        half = 1.96 * m["std"] / np.sqrt(m["count"])
        x = np.arange(len(m))
        ax.plot(x, m["mean"], marker="o", ms=3, color="#34495e", label="city mean (unweighted)")
        ax.fill_between(x, m["mean"] - half, m["mean"] + half, color="#34495e", alpha=0.15)
        ax.axhline(0, color="grey", lw=0.8)
        step = max(1, len(m) // 8)
        ax.set_xticks(x[::step], m.index[::step], rotation=45)
        ax.set_ylabel(f"composite (SD of {self.baseline_year})")
        ax.set_title("Composite index by quarter")
        ax.legend()
        return ax


def composite_index(panel: pd.DataFrame, *, baseline_year: int | None = None) -> CompositeIndex:
    """Standardise, align and average the four targets into the composite index.

    Parameters
    ----------
    panel : the institution-quarter panel (not modified).
    baseline_year : year whose institution-quarter distribution defines the z-scores (default:
        the year before the first pairing).

    Returns
    -------
    CompositeIndex with ``scores`` (one row per assessed institution-quarter: the four raw values,
    their aligned z-scores ``z_<indicator>`` and ``composite``) and ``construction``.

    References
    ----------
    OECD/JRC (2008), *Handbook on Constructing Composite Indicators*, §5 (standardisation, z-scores)
    and §6 (equal weighting).
    """
    _check_panel(panel)
    baseline_year, _ = _years(panel, baseline_year, None)
    cols = ["institution_id", "county_code", "period", "year", "residents", *INDICATORS.values()]
    if "beds" in panel.columns:
        cols.append("beds")
    s = panel.loc[:, cols].dropna(subset=list(INDICATORS.values()), how="all").copy()
    s = s.rename(columns={v: k for k, v in INDICATORS.items()})
    base = s[s["year"] == baseline_year]
    rows = []
    for name in INDICATORS:
        mu, sd = float(base[name].mean()), float(base[name].std(ddof=1))
        if not np.isfinite(sd) or sd <= 0:
            raise SpecificationError(
                f"{name} does not vary in {baseline_year}, so it cannot be standardised; choose "
                "another baseline_year."
            )
        s[f"z_{name}"] = DIRECTION[name] * (s[name] - mu) / sd
        rows.append({"indicator": name, "column": INDICATORS[name], "direction": DIRECTION[name],
                     "baseline_year": baseline_year, "baseline_mean": mu, "baseline_sd": sd,
                     "weight": 1 / len(INDICATORS)})
    z = s[[f"z_{k}" for k in INDICATORS]]
    s["composite"] = z.mean(axis=1).where(z.notna().all(axis=1))
    return CompositeIndex(baseline_year=baseline_year, construction=pd.DataFrame(rows),
                          scores=s.reset_index(drop=True))


def institution_quarter(panel: pd.DataFrame, *, baseline_year: int | None = None) -> pd.DataFrame:
    """One row per assessed institution-quarter with the four indicators and the composite."""
    return composite_index(panel, baseline_year=baseline_year).scores


# --------------------------------------------------------------------------------------------
# baseline vs latest
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IndicatorResult(ResultMixin):
    """Baseline vs latest year for each indicator, at one level of aggregation."""

    level: str
    weighting: str
    baseline_year: int
    latest_year: int
    alpha: float
    table: pd.DataFrame = field(repr=False)
    display_columns = {"indicators": ("level", "id", "indicator", "baseline", "latest", "change",
                                      "ci_low", "ci_high", "target_met", "target_met_significant")}

    @property
    def title(self) -> str:
        return "三升一降 indicators: baseline vs latest"

    @property
    def _notes(self) -> tuple[str, ...]:
        n = [f"Baseline {self.baseline_year} vs latest {self.latest_year}; "
             f"{int(100 * (1 - self.alpha))}% intervals."]
        if self.level == "institution":
            n.append("Institution intervals treat the quarters of a year as independent (descriptive).")
        else:
            n.append(f"{self.weighting} weighting; institutions observed in both years; intervals "
                     + ("clustered by county." if self.level == "city" else "over institutions."))
        return tuple(n)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"indicators": self.table}

    def plot(self, *, ax: Any = None, id: str | None = None) -> Any:  # noqa: A002
        """Change with interval per indicator, for ``id`` (default: the first id in the table)."""
        from .plots import PALETTE, new_axes, safe_text

        ax = new_axes(ax)
        t = self.table
        ident = t["id"].iloc[0] if id is None else id
        t = t[t["id"] == ident].set_index("indicator").reindex(list(ALL_INDICATORS)).dropna(
            subset=["change"])
        y = np.arange(len(t))
        colors = [PALETTE["good"] if m else PALETTE["bad"] for m in t["target_met"]]
        ax.barh(y, t["change"], color=colors, alpha=0.8)
        ax.errorbar(t["change"], y, xerr=[t["change"] - t["ci_low"], t["ci_high"] - t["change"]],
                    fmt="none", ecolor="black", capsize=3)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(y, [outcome_label(i) + (" (down is good)" if DIRECTION[i] < 0 else "")
                          for i in t.index])
        ax.set_xlabel(f"change {self.baseline_year} → {self.latest_year} (green: target met)")
        ax.set_title("三升一降 scorecard: "
                     + ("city" if self.level == "city" else safe_text(f"{self.level} {ident}")))
        return ax


def _institution_level(s: pd.DataFrame, by: int, ly: int, alpha: float) -> pd.DataFrame:
    """Per institution: means of the two years, Welch interval on the quarterly values."""
    sub = s[s["year"].isin([by, ly])]
    long = sub.melt(id_vars=["institution_id", "county_code", "year"], value_vars=list(ALL_INDICATORS),
                    var_name="indicator").dropna(subset=["value"])
    st = long.groupby(["institution_id", "county_code", "indicator", "year"])["value"].agg(
        ["mean", "var", "count"]).unstack("year")

    def col(stat: str, year: int) -> pd.Series:
        return st[(stat, year)] if (stat, year) in st.columns else pd.Series(np.nan, index=st.index)
    mb, ml = col("mean", by), col("mean", ly)
    nb, nl = col("count", by).fillna(0), col("count", ly).fillna(0)
    vb = col("var", by) / nb.where(nb > 0)
    vl = col("var", ly) / nl.where(nl > 0)
    se2 = vb + vl
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = se2**2 / (vb**2 / (nb - 1) + vl**2 / (nl - 1))
    dof = dof.where((nb >= 2) & (nl >= 2))
    dof = dof.where(se2 > 0, nb + nl - 2)
    se = np.sqrt(se2).where((nb >= 2) & (nl >= 2))
    crit = pd.Series(stats.t.ppf(1 - alpha / 2, dof.to_numpy(float)), index=dof.index)
    change = ml - mb
    out = pd.DataFrame({"baseline": mb, "latest": ml, "change": change, "std_error": se,
                        "ci_low": change - crit * se, "ci_high": change + crit * se}).reset_index()
    out.insert(0, "level", "institution")
    out = out.rename(columns={"institution_id": "id"})
    out["n_institutions"] = 1
    out["n_clusters"] = np.nan
    order = {k: i for i, k in enumerate(ALL_INDICATORS)}
    out = out.sort_values(["id", "indicator"], key=lambda c: c.map(order) if c.name == "indicator" else c)
    return out.reset_index(drop=True)


def _weighted_change(d: pd.DataFrame, cluster: str, alpha: float) -> dict[str, float]:
    w = d["w"].to_numpy(float)
    sw = w.sum()
    bv = float((w * d["baseline"]).sum() / sw)
    lv = float((w * d["latest"]).sum() / sw)
    dv = d["latest"].to_numpy(float) - d["baseline"].to_numpy(float)
    dbar = float((w * dv).sum() / sw)
    u = pd.Series(w * (dv - dbar)).groupby(d[cluster].to_numpy()).sum().to_numpy()
    g = len(u)
    if g >= 2:
        se = float(np.sqrt(g / (g - 1) * (u**2).sum()) / sw)
        crit = float(stats.t.ppf(1 - alpha / 2, g - 1))
    else:
        se, crit = np.nan, np.nan
    return {"baseline": bv, "latest": lv, "change": dbar, "std_error": se,
            "ci_low": dbar - crit * se, "ci_high": dbar + crit * se,
            "n_institutions": int(len(d)), "n_clusters": g}


def indicators(
    panel: pd.DataFrame,
    *,
    level: Level = "county",
    weighting: Weighting = "residents",
    baseline_year: int | None = None,
    latest_year: int | None = None,
    alpha: float = 0.05,
) -> IndicatorResult:
    """Baseline-year vs latest-year 三升一降 indicators with intervals and target met or not.

    Parameters
    ----------
    panel : the institution-quarter panel (not modified).
    level : ``"institution"``, ``"county"`` or ``"city"``.
    weighting : ``"residents"`` (each institution weighted by its mean residents over the two
        years) or ``"unweighted"`` (each institution counts once). Ignored at institution level.
    baseline_year, latest_year : default the year before the first pairing and the last assessed
        year.
    alpha : 1 − confidence level of the intervals.

    Returns
    -------
    IndicatorResult; ``tidy()`` columns: level, id, indicator, baseline, latest, change,
    std_error, ci_low, ci_high, target_met, target_met_significant, direction, weighting,
    baseline_year, latest_year, n_institutions, n_clusters.

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., ch. 6 (ratio estimator variance);
    the composite follows the OECD/JRC (2008) *Handbook on Constructing Composite Indicators*.
    """
    check_option("level", level, Level)
    check_option("weighting", weighting, Weighting)
    if not 0 < alpha < 1:
        raise SpecificationError(f"alpha={alpha!r} must lie strictly between 0 and 1, e.g. 0.05.")
    _check_panel(panel)
    by, ly = _years(panel, baseline_year, latest_year)
    s = composite_index(panel, baseline_year=by).scores
    if level == "institution":
        table = _institution_level(s, by, ly, alpha)
        weighting_label = "none"
    else:
        weighting_label = weighting
        sub = s[s["year"].isin([by, ly])]
        rows = []
        for ind in ALL_INDICATORS:
            per = sub.dropna(subset=[ind]).groupby(["institution_id", "county_code", "year"])
            m = per[ind].mean().unstack("year")
            if by not in m.columns or ly not in m.columns:
                continue
            m = m[[by, ly]].dropna().rename(columns={by: "baseline", ly: "latest"}).reset_index()
            res = per["residents"].mean().unstack("year").reindex(
                pd.MultiIndex.from_frame(m[["institution_id", "county_code"]])).mean(axis=1)
            m["w"] = res.fillna(0).to_numpy() if weighting == "residents" else 1.0
            if weighting == "residents" and (m["w"] <= 0).all():
                raise SpecificationError("No resident counts in the data; use weighting='unweighted'.")
            groups = [("city", "city", m)] if level == "city" else [
                ("county", c, g) for c, g in m.groupby("county_code", sort=True)]
            for lev, ident, g in groups:
                g = g[g["w"] > 0]
                if g.empty:
                    continue
                cluster = "county_code" if lev == "city" else "institution_id"
                rows.append({"level": lev, "id": ident, "indicator": ind,
                             "county_code": ident if lev == "county" else pd.NA,
                             **_weighted_change(g, cluster, alpha)})
        table = pd.DataFrame(rows)
    direction = table["indicator"].map(DIRECTION)
    table["direction"] = np.where(direction > 0, "up", "down")
    table["target_met"] = (direction * table["change"]) > 0
    low_side = np.where(direction > 0, table["ci_low"], -table["ci_high"])
    table["target_met_significant"] = pd.Series(low_side, index=table.index).fillna(-np.inf) > 0
    table["weighting"] = weighting_label
    table["baseline_year"] = by
    table["latest_year"] = ly
    order = ["level", "id", "indicator", "baseline", "latest", "change", "std_error", "ci_low",
             "ci_high", "target_met", "target_met_significant", "direction", "weighting",
             "baseline_year", "latest_year", "n_institutions", "n_clusters"]
    extra = [c for c in table.columns if c not in order]
    return IndicatorResult(level=level, weighting=weighting_label, baseline_year=by,
                           latest_year=ly, alpha=alpha, table=table[order + extra])


# --------------------------------------------------------------------------------------------
# quarterly trends
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrendResult(ResultMixin):
    """Quarterly aggregated indicator values for the city and each county."""

    weighting: str
    baseline_year: int
    table: pd.DataFrame = field(repr=False)

    @property
    def title(self) -> str:
        return "三升一降 indicators by quarter"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"trends": self.table}

    def plot(self, *, ax: Any = None, indicator: str = "composite", highlight: str | None = None) -> Any:
        """City line, grey county lines, ``highlight`` county in colour (``"all"``: none).

        ``indicator`` is an indicator name or its outcome column (``"environment_score"``)."""
        from .plots import PALETTE, new_axes

        indicator = {v: k for k, v in INDICATORS.items()}.get(indicator, indicator)
        if indicator not in ALL_INDICATORS:
            raise SpecificationError(f"indicator={indicator!r} is not supported; choose one of "
                                     f"{', '.join(map(repr, ALL_INDICATORS))}.")
        ax = new_axes(ax)
        t = self.table[self.table["indicator"] == indicator]
        periods = sorted(t["period"].unique())
        pos = {p: i for i, p in enumerate(periods)}
        for cid, g in t[t["level"] == "county"].groupby("id"):
            hl = cid == highlight
            ax.plot(g["period"].map(pos), g["value"], color=PALETTE["county" if hl else "other"],
                    lw=2 if hl else 0.8, label=f"county {cid}" if hl else None, zorder=3 if hl else 1)
        c = t[t["level"] == "city"]
        ax.plot(c["period"].map(pos), c["value"], color=PALETTE["city"], lw=2, label="city")
        base = [i for p, i in pos.items() if p.startswith(str(self.baseline_year + 1))]
        if base:
            ax.axvline(base[0] - 0.5, color="grey", ls="--", lw=0.8, label="programme start")
        step = max(1, len(periods) // 8)
        ax.set_xticks(range(0, len(periods), step), periods[::step], rotation=45)
        ax.set_ylabel(outcome_label(indicator))
        ax.set_title(f"{outcome_label(indicator)} by quarter ({self.weighting})")
        ax.legend(fontsize=8)
        return ax


def trends(panel: pd.DataFrame, *, weighting: Weighting = "residents",
           baseline_year: int | None = None) -> TrendResult:
    """Quarterly city and county means of each indicator (resident-weighted or unweighted)."""
    check_option("weighting", weighting, Weighting)
    s = composite_index(panel, baseline_year=baseline_year)
    sc = s.scores.copy()
    sc["w"] = sc["residents"].fillna(0) if weighting == "residents" else 1.0
    out = []
    for ind in ALL_INDICATORS:
        d = sc.dropna(subset=[ind])
        d = d[d["w"] > 0].assign(wx=lambda f, i=ind: f["w"] * f[i])
        for lev, keys in (("city", ["period"]), ("county", ["county_code", "period"])):
            agg = d.groupby(keys).agg(wx=("wx", "sum"), w=("w", "sum"), n=("institution_id", "nunique"))
            agg = agg.reset_index()
            agg["value"] = agg["wx"] / agg["w"]
            agg["id"] = "city" if lev == "city" else agg["county_code"]
            agg["level"] = lev
            agg["indicator"] = ind
            out.append(agg[["level", "id", "period", "indicator", "value", "n"]].rename(
                columns={"n": "n_institutions"}))
    return TrendResult(weighting=weighting, baseline_year=s.baseline_year,
                       table=pd.concat(out, ignore_index=True))


def scorecard(
    panel: pd.DataFrame,
    *,
    county_code: str = "all",
    weighting: Weighting = "residents",
    baseline_year: int | None = None,
    latest_year: int | None = None,
) -> IndicatorResult:
    """The 三升一降 scorecard of the city (``county_code="all"``) or of one county.

    A thin view on :func:`indicators`: the city row, or the county's row, with the same
    definitions and intervals.
    """
    county_code = str(county_code)
    if county_code == "all":
        return indicators(panel, level="city", weighting=weighting, baseline_year=baseline_year,
                          latest_year=latest_year)
    codes = sorted(panel["county_code"].astype(str).unique())
    if county_code not in codes:
        raise SpecificationError(f"county_code={county_code!r} is not in the data; choose 'all' or "
                                 f"one of {codes}.")
    res = indicators(panel, level="county", weighting=weighting, baseline_year=baseline_year,
                     latest_year=latest_year)
    table = res.table[res.table["id"] == county_code].reset_index(drop=True)
    return IndicatorResult(level="county", weighting=res.weighting, baseline_year=res.baseline_year,
                           latest_year=res.latest_year, alpha=res.alpha, table=table)


def build_results(processed: Any) -> dict[str, pd.DataFrame]:
    """Results hook: ``indicators.parquet`` with institution, county and city rows.

    County and city rows appear once per weighting (``weighting`` column: ``residents`` is the
    primary, ``unweighted`` the alternative); institution rows have ``weighting = "none"``. When
    the data have no pairing before which to take a baseline, the first assessed year is used
    (``baseline_year`` column).
    """
    panel = processed.panel
    try:
        by = programme_start_year(panel) - 1
        _years(panel, by, None)
    except SpecificationError:  # no pairing, or no assessment before it: first vs last year
        years = sorted(panel.dropna(subset=list(INDICATORS.values()), how="all")["year"].unique())
        by = int(years[0])
    parts = [indicators(panel, level="institution", baseline_year=by).tidy()]
    for level in ("county", "city"):
        for weighting in ("residents", "unweighted"):
            parts.append(indicators(panel, level=level, weighting=weighting, baseline_year=by).tidy())
    out = pd.concat(parts, ignore_index=True)
    out["id"] = out["id"].astype(str)
    out["county_code"] = out["county_code"].astype("string")
    return {"indicators": out}


def _run_step(processed: Any, options: BuildOptions) -> dict[str, pd.DataFrame]:
    return build_results(processed)


#: the build step: ``indicators.parquet`` (no resampling, so no options are used)
STEP = Step("indicators", run=_run_step, description="三升一降 indicators and composite index")
