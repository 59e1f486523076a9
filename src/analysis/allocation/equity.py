"""Equity of what institutions received: Gini, Theil (with an exact within/between-county
decomposition), concentration index against need, Lorenz and concentration curves, and a
regression of received help on need, county and unit sector.

Measures are per resident-quarter (``value_rmb``, ``activities``, ``visits`` summed over the
window divided by resident-quarters, residents falling back to beds), and every statistic is
population-weighted: each resident counts once, so a large home counts more than a tiny one.

Formulas (weights ``w``, values ``y >= 0``, mean ``μ``):

* Gini ``G = Σ_i Σ_j w_i w_j |y_i − y_j| / (2 W² μ)`` (computed in O(n log n) from the sorted
  cumulative shares; the double sum is the test's second route);
* Theil T ``T = Σ_i (w_i/W)(y_i/μ) ln(y_i/μ)``, decomposed by group g with income shares
  ``s_g``: ``T = Σ_g s_g T_g (within) + Σ_g s_g ln(μ_g/μ) (between)`` exactly (Shorrocks, 1980);
* concentration index ``C = 2 cov_w(y, R) / μ`` with ``R`` the weighted fractional rank by need
  (ascending), so ``C > 0`` means help went disproportionately to the needier (Kakwani, Wagstaff &
  van Doorslaer, 1997; O'Donnell et al., 2008, ch. 8).

Hand-written because these are a few lines of numpy each and no maintained Python package
offers the weighted, decomposed versions with the conventions above; the regression uses
statsmodels (county effects as dummy variables) up to :data:`COUNTY_DUMMIES_MAX` counties and
the package's weighted within transformation (:func:`analysis.within.fe_ols`) above, where an
institutions × counties design no longer fits: the national synthetic world's (39,645 × 2,850)
took the allocation step past 6 GiB and ten minutes.

References
----------
Shorrocks, A. F. (1980). The class of additively decomposable inequality measures.
*Econometrica*, 48(3), 613–625.
Kakwani, N., Wagstaff, A., & van Doorslaer, E. (1997). Socioeconomic inequalities in health:
measurement, computation, and statistical inference. *Journal of Econometrics*, 77(1), 87–103.
O'Donnell, O., van Doorslaer, E., Wagstaff, A., & Lindelow, M. (2008). *Analyzing Health Equity
Using Household Survey Data*. World Bank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from ..errors import SpecificationError, check_option
from ..results import ResultMixin

#: what was received (panel columns), each per resident-quarter
Measure = Literal["value_rmb", "activities", "visits"]
MEASURES: tuple[str, ...] = get_args(Measure)
Weighting = Literal["residents", "institutions"]


def _arrays(y: Any, w: Any | None) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=float)
    if y.shape != w.shape or y.ndim != 1 or y.size == 0:
        raise SpecificationError("values and weights must be non-empty 1-d arrays of one length.")
    if np.any(~np.isfinite(y)) or np.any(y < 0) or np.any(~np.isfinite(w)) or np.any(w < 0):
        raise SpecificationError("values must be finite and >= 0, weights finite and >= 0.")
    if w.sum() <= 0:
        raise SpecificationError("weights sum to zero.")
    return y, w


def gini(y: Any, w: Any | None = None) -> float:
    """Weighted Gini coefficient (0 = equal, → 1 = one unit gets everything)."""
    y, w = _arrays(y, w)
    mu = np.average(y, weights=w)
    if mu == 0:
        return 0.0
    o = np.argsort(y, kind="stable")
    y, w = y[o], w[o]
    W = w.sum()
    cw = np.cumsum(w) - w / 2          # weight strictly below + half of own
    # Σ_i Σ_j w_i w_j |y_i − y_j| = 2 Σ_i w_i y_i (2·F_i − W) with F_i the mid cumulative weight
    s = 2.0 * np.sum(w * y * (2.0 * cw - W))
    return float(s / (2.0 * W * W * mu))


def theil(y: Any, w: Any | None = None) -> float:
    """Weighted Theil T index (0 = equal)."""
    y, w = _arrays(y, w)
    mu = np.average(y, weights=w)
    if mu == 0:
        return 0.0
    r = y / mu
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(r > 0, r * np.log(r), 0.0)
    return float(np.sum(w * term) / w.sum())


@dataclass(frozen=True)
class TheilDecomposition:
    total: float
    within: float
    between: float
    groups: pd.DataFrame  # group, weight_share, income_share, mean, theil, within_contribution


def theil_decomposition(y: Any, groups: Any, w: Any | None = None) -> TheilDecomposition:
    """Theil T = within + between (exact), by ``groups`` (e.g. county)."""
    y, w = _arrays(y, w)
    g = np.asarray(groups)
    mu = np.average(y, weights=w)
    Y = np.sum(w * y)
    rows = []
    within = between = 0.0
    for key in pd.unique(g):
        m = g == key
        wg, yg = w[m], y[m]
        if wg.sum() == 0:
            continue
        mug = np.average(yg, weights=wg)
        s = np.sum(wg * yg) / Y if Y > 0 else 0.0
        tg = theil(yg, wg) if mug > 0 else 0.0
        b = s * np.log(mug / mu) if s > 0 else 0.0
        within += s * tg
        between += b
        rows.append({"group": key, "weight_share": wg.sum() / w.sum(), "income_share": s,
                     "mean": mug, "theil": tg, "within_contribution": s * tg,
                     "between_contribution": b})
    total = theil(y, w)
    return TheilDecomposition(total=total, within=float(within), between=float(between),
                              groups=pd.DataFrame(rows))


def fractional_rank(x: Any, w: Any | None = None) -> np.ndarray:
    """Weighted fractional rank in (0, 1): cumulative weight below plus half of own (ties share)."""
    x = np.asarray(x, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    W = w.sum()
    df = pd.DataFrame({"x": x, "w": w})
    tot = df.groupby("x")["w"].sum().sort_index()
    below = tot.cumsum() - tot
    return ((below + tot / 2) / W).reindex(x).to_numpy()


def concentration_index(y: Any, rank_by: Any, w: Any | None = None) -> float:
    """Concentration index of ``y`` against ``rank_by`` (ascending): ``2 cov_w(y, R) / μ``."""
    y, w = _arrays(y, w)
    mu = np.average(y, weights=w)
    if mu == 0:
        return 0.0
    R = fractional_rank(rank_by, w)
    cov = np.average((y - mu) * (R - np.average(R, weights=w)), weights=w)
    return float(2.0 * cov / mu)


def lorenz_curve(y: Any, w: Any | None = None, *, order_by: Any | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative population share and cumulative share of ``y``, sorted by ``order_by``
    (default ``y`` itself: the Lorenz curve; need: the concentration curve). Starts at (0, 0)."""
    y, w = _arrays(y, w)
    key = y if order_by is None else np.asarray(order_by, dtype=float)
    o = np.lexsort((y, key))
    p = np.concatenate([[0.0], np.cumsum(w[o]) / w.sum()])
    tot = np.sum(w * y)
    L = np.concatenate([[0.0], np.cumsum(w[o] * y[o]) / tot]) if tot > 0 else p.copy()
    return p, L


# ---------------------------------------------------------------------------------------------
def received(panel: pd.DataFrame, *, periods: tuple[str, str] | None = None) -> pd.DataFrame:
    """What each institution received per resident-quarter over ``periods`` (inclusive; default:
    quarters from the first activity in the data to the last quarter)."""
    need = {"institution_id", "county_code", "period", "t", "residents", "beds", *MEASURES}
    missing = need - set(panel.columns)
    if missing:
        raise SpecificationError(f"The panel lacks columns {sorted(missing)}.")
    p = panel
    if periods is None:
        active = p.loc[p["activities"] > 0, "t"]
        t0 = active.min() if len(active) else p["t"].min()
        p = p[p["t"] >= t0]
    else:
        p = p[(p["period"] >= periods[0]) & (p["period"] <= periods[1])]
    if p.empty:
        raise SpecificationError(f"No panel rows in periods {periods}.")
    res_q = p["residents"].fillna(p["beds"].astype(float)).clip(lower=1.0)
    g = p.assign(resident_quarters=res_q).groupby("institution_id")
    out = g[list(MEASURES) + ["resident_quarters"]].sum()
    out["residents"] = out["resident_quarters"] / g.size()  # mean residents per quarter
    out["county_code"] = g["county_code"].first()
    for m in MEASURES:
        out[f"{m}_per_resident"] = out[m] / out["resident_quarters"]
    out["first_period"], out["last_period"] = p["period"].min(), p["period"].max()
    return out.reset_index()


@dataclass(frozen=True, eq=False)
class EquityResult(ResultMixin):
    """Equity statistics per measure (``table``: ``measure``, ``statistic``, ``value``), the
    within/between decomposition by county (``decomposition``), the regression of received help on
    need (``regression``) and the per-institution data behind them (``data``)."""

    table: pd.DataFrame = field(repr=False)
    data: pd.DataFrame = field(repr=False)
    decomposition: pd.DataFrame = field(repr=False)
    regression: pd.DataFrame = field(repr=False)
    weighting: Weighting
    _notes: tuple[str, ...] = ()

    display_columns = {
        "decomposition": ("measure", "county_code", "weight_share", "income_share", "mean",
                          "theil", "within_contribution", "between_contribution"),
        "institutions": ("institution_id", "county_code", "need", "weight",
                         *(f"{m}_per_resident" for m in MEASURES)),
    }

    @property
    def title(self) -> str:
        return "Equity of help received (per resident-quarter)"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"equity": self.table, "decomposition": self.decomposition,
                "regression": self.regression, "institutions": self.data}

    def plot(self, *, ax: Any = None, measure: Measure = "value_rmb") -> Any:
        """Lorenz curve and concentration curve (against need) for ``measure``."""
        from ..plots import new_axes

        check_option("measure", measure, Measure)
        ax = new_axes(ax)
        d = self.data
        y = d[f"{measure}_per_resident"].to_numpy()
        w = d["weight"].to_numpy()
        p, L = lorenz_curve(y, w)
        pc, C = lorenz_curve(y, w, order_by=d["need"].to_numpy())
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label="equality")
        ax.plot(p, L, label=f"Lorenz (Gini {gini(y, w):.2f})")
        ax.plot(pc, C, label=f"concentration vs need (CI {concentration_index(y, d['need'], w):+.2f})")
        ax.set_xlabel("cumulative share of residents (Lorenz: by amount; concentration: by need)")
        ax.set_ylabel(f"cumulative share of {measure}")
        ax.legend(fontsize="small")
        return ax


def equity(panel: pd.DataFrame, need: pd.DataFrame, *, sectors: pd.Series | None = None,
           weighting: Weighting = "residents", periods: tuple[str, str] | None = None
           ) -> EquityResult:
    """Equity of value, activities and visits per resident across institutions.

    Parameters
    ----------
    panel : DataFrame
        The institution-quarter panel.
    need : DataFrame
        ``institution_id`` and ``need`` (e.g. ``need_index(...).table``).
    sectors : Series, optional
        Main sector of each institution's paired units, indexed by ``institution_id`` (for the
        regression; omitted from it when not given).
    weighting : {"residents", "institutions"}
        Population weights (default) or one weight per institution.
    periods : (str, str), optional
        First and last quarter, e.g. ("2021Q1", "2024Q4").

    References
    ----------
    Shorrocks (1980); Kakwani, Wagstaff & van Doorslaer (1997); see the module docstring.
    """
    check_option("weighting", weighting, Weighting)
    d = received(panel, periods=periods).merge(need[["institution_id", "need"]],
                                               on="institution_id", how="left")
    if d["need"].isna().any():
        raise SpecificationError("need lacks a value for some institutions of the panel.")
    d["weight"] = d["residents"] if weighting == "residents" else 1.0
    if sectors is not None:
        d["sector"] = d["institution_id"].map(sectors).fillna("none")
    rows, dec = [], []
    w = d["weight"].to_numpy()
    for m in MEASURES:
        y = d[f"{m}_per_resident"].to_numpy()
        td = theil_decomposition(y, d["county_code"].to_numpy(), w)
        stats = {"mean": float(np.average(y, weights=w)), "gini": gini(y, w),
                 "theil": td.total, "theil_within": td.within, "theil_between": td.between,
                 "concentration_index": concentration_index(y, d["need"].to_numpy(), w)}
        rows += [{"measure": m, "statistic": k, "value": v} for k, v in stats.items()]
        dec.append(td.groups.assign(measure=m).rename(columns={"group": "county_code"}))
    reg = _regression(d)
    notes = [f"Weights: {weighting}; period {d['first_period'].iloc[0]}–{d['last_period'].iloc[0]}.",
             "concentration_index > 0: help concentrated among the needier institutions.",
             "theil = theil_within + theil_between (counties) exactly."]
    if not reg.empty:
        notes.append(f"Regression standard errors are clustered by county "
                     f"({d['county_code'].nunique()} clusters): with so few clusters treat "
                     "p-values as indicative.")
    return EquityResult(table=pd.DataFrame(rows), data=d, decomposition=pd.concat(dec),
                        regression=reg, weighting=weighting, _notes=tuple(notes))


#: counties up to which the regression spells the county effects as dummy variables (statsmodels
#: WLS: a coefficient per county in the table); above, they are absorbed by weighted demeaning
#: (:func:`_regression_within`): the same need and sector coefficients, standard errors,
#: p-values and intervals (``tests/test_allocation_equity.py``), no county rows
COUNTY_DUMMIES_MAX = 30


def _regression(d: pd.DataFrame) -> pd.DataFrame:
    """log1p(received per resident) on standardised need, county and sector (WLS, clustered by
    county; normal reference for p-values and intervals, statsmodels' default for a clustered
    fit). Up to :data:`COUNTY_DUMMIES_MAX` counties with county dummies, above by
    :func:`_regression_within`."""
    import statsmodels.formula.api as smf

    out = []
    x = d.copy()
    x["need_std"] = (x["need"] - x["need"].mean()) / (x["need"].std(ddof=0) or 1.0)
    with_sector = "sector" in x.columns and x["sector"].nunique() > 1
    if x["county_code"].nunique() > COUNTY_DUMMIES_MAX:
        return _regression_within(x, with_sector)
    rhs = "need_std + C(county_code)" + (" + C(sector)" if with_sector else "")
    for m in MEASURES:
        x["y"] = np.log1p(x[f"{m}_per_resident"])
        if len(x) <= 15:
            continue
        try:
            fit = smf.wls(f"y ~ {rhs}", data=x, weights=x["weight"]).fit(
                cov_type="cluster", cov_kwds={"groups": pd.factorize(x["county_code"])[0]})
        except (ValueError, np.linalg.LinAlgError):
            continue
        ci = fit.conf_int()
        for term in fit.params.index:
            out.append({"measure": m, "term": term, "estimate": fit.params[term],
                        "std_error": fit.bse[term], "ci_low": ci.loc[term, 0],
                        "ci_high": ci.loc[term, 1], "p_value": fit.pvalues[term],
                        "n_obs": int(fit.nobs)})
    return pd.DataFrame(out)


def _regression_within(x: pd.DataFrame, with_sector: bool) -> pd.DataFrame:
    """:func:`_regression` with the county effects absorbed (weighted within transformation,
    :func:`analysis.within.fe_ols` with ``weights``): rows for ``need_std`` and the sector
    contrasts (named as statsmodels names them, against the first sector in sort order), none
    for the intercept or the counties. CR1 clustered by county with statsmodels' correction;
    p-values and 95% intervals from the normal distribution, as the dummy route's."""
    from scipy import stats

    from ..within import fe_ols

    terms = ["need_std"]
    x = x.copy()
    if with_sector:
        levels = sorted(x["sector"].astype(str).unique())
        for lv in levels[1:]:
            name = f"C(sector)[T.{lv}]"
            x[name] = (x["sector"].astype(str) == lv).astype(float)
            terms.append(name)
    out = []
    for m in MEASURES:
        x["y"] = np.log1p(x[f"{m}_per_resident"])
        if len(x) <= 15:
            continue
        try:
            fit = fe_ols(x, y="y", x=terms, fe=("county_code",), cluster="county_code",
                         weights="weight")
        except (SpecificationError, np.linalg.LinAlgError):
            continue
        se = fit.std_error
        z = stats.norm.ppf(0.975)
        p = 2 * stats.norm.sf(np.abs(fit.coef / se))
        for j, term in enumerate(fit.terms):
            out.append({"measure": m, "term": term, "estimate": fit.coef[j],
                        "std_error": se[j], "ci_low": fit.coef[j] - z * se[j],
                        "ci_high": fit.coef[j] + z * se[j], "p_value": p[j],
                        "n_obs": int(fit.n_obs)})
    return pd.DataFrame(out)
