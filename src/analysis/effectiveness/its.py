"""Interrupted time series at the programme start — descriptive: no control group.

Segmented regression of the quarterly mean outcome (city or one county) on time, a post-start
indicator and time since the start (Wagner et al. 2002, *J. Clin. Pharm. Ther.* 27(4)), with
Newey–West (HAC) standard errors (Newey & West 1987, *Econometrica* 55(3)), both from statsmodels.
Every institution started at the same time, so there is no control group: anything else that
changed at the start is attributed to the programme, and every output (title, notes, the ``note``
column, the plot title) says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..domain import OutcomeOrComposite
from ..errors import SpecificationError, check_option
from ..indicators import Weighting
from ..results import ResultMixin
from .prepare import axis_label, with_outcome

__all__ = ["DESCRIPTIVE", "ITSResult", "interrupted_time_series"]

#: what every interrupted-time-series output says
DESCRIPTIVE = "descriptive: no control group"


@dataclass(frozen=True)
class ITSResult(ResultMixin):
    """Segmented regression at the programme start. Descriptive: no control group.

    ``tables()``: ``coefficients`` (pre-period level and slope, level and slope change, HAC
    errors). ``series`` (the quarterly means with the fit and the extended pre-trend) is what
    :meth:`plot` draws.
    """

    display_columns: ClassVar[dict[str, tuple[str, ...]]] = {
        # the note column repeats what the title and the notes say
        "coefficients": ("outcome", "model", "term", "estimate", "std_error", "ci_low", "ci_high",
                         "p_value", "inference", "n_obs")}

    outcome: str
    start_period: str
    scope: str
    table: pd.DataFrame = field(repr=False)
    series: pd.DataFrame = field(repr=False)
    maxlags: int = 4
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        return (f"Interrupted time series at {self.start_period}: {self.outcome} ({self.scope}) — "
                f"{DESCRIPTIVE}")

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"coefficients": self.table}

    def plot(self, *, ax: Any = None) -> Any:
        """Observed means, the segmented fit and the pre-trend extended past the start."""
        from ..plots import PALETTE, new_axes

        ax = new_axes(ax)
        s = self.series
        x = np.arange(len(s))
        ax.plot(x, s["value"], "o", ms=4, color=PALETTE["city"], label="observed mean")
        ax.plot(x, s["fitted"], color=PALETTE["county"], lw=2, label="segmented fit")
        post = s["post"].to_numpy(bool)
        ax.plot(x[post], s.loc[post, "counterfactual"], color=PALETTE["county"], ls="--", lw=1.2,
                label="pre-trend extended")
        start = int(np.argmax(post)) if post.any() else len(s)
        ax.axvline(start - 0.5, color="grey", ls=":", lw=1)
        step = max(1, len(s) // 8)
        ax.set_xticks(x[::step], s["period"].iloc[::step], rotation=45)
        ax.set_ylabel(axis_label(self.outcome))
        ax.set_title(f"ITS at {self.start_period} ({DESCRIPTIVE})")
        ax.legend(fontsize=8)
        return ax


def interrupted_time_series(
    panel: pd.DataFrame,
    *,
    outcome: OutcomeOrComposite = "environment_score",
    county_code: str | None = None,
    start_period: str | None = None,
    weighting: Weighting = "unweighted",
    maxlags: int = 4,
    alpha: float = 0.05,
) -> ITSResult:
    """Segmented regression of the quarterly mean outcome at the programme start, HAC errors.

    ``ȳ_t = β₀ + β₁·(t − t₀) + β₂·post_t + β₃·(t − t₀)·post_t + ε_t`` on the city (or one county's)
    mean by quarter, with Newey–West standard errors (``maxlags`` quarters, small-sample
    corrected). ``β₂`` is the level change and ``β₃`` the slope change at ``t₀``. There is no
    control group: anything else that changed at ``t₀`` (the reform, a new assessment form) is
    attributed to the programme, so the result is **descriptive only** and says so everywhere.

    Parameters
    ----------
    panel : pandas.DataFrame
        The institution-quarter panel (not modified).
    outcome : {"environment_score", "service_score", "happiness_score", "safety_hazards", \
"composite"}
        A target or the composite index.
    county_code : str or None
        ``None`` or ``"all"`` for the whole city, else one county.
    start_period : str or None
        Programme start like ``"2021Q1"`` (default: the first quarter with any pairing).
    weighting : {"unweighted", "residents"}
        Mean over institutions, unweighted or weighted by residents.
    maxlags : int
        Newey–West truncation lag in quarters.
    alpha : float
        1 − level of the intervals.

    Returns
    -------
    ITSResult
        ``tidy()`` columns: outcome, model (``its``), term (``pre_level``, ``pre_slope``,
        ``level_change``, ``slope_change``), estimate, std_error, ci_low, ci_high, p_value,
        inference (``hac``), n_obs, note (``descriptive: no control group``).

    Raises
    ------
    SpecificationError
        For an unknown option, county or start period, or fewer than 3 quarters on either side.

    References
    ----------
    Wagner, A. K., Soumerai, S. B., Zhang, F., & Ross-Degnan, D. (2002). Segmented regression
    analysis of interrupted time series studies. *J. Clinical Pharmacy and Therapeutics* 27(4),
    299–309. Newey, W. K., & West, K. D. (1987). *Econometrica* 55(3), 703–708.
    """
    import statsmodels.api as sm

    check_option("weighting", weighting, Weighting)
    d = with_outcome(panel, outcome).dropna(subset=[outcome])
    county_code = None if county_code in (None, "all") else str(county_code)
    if county_code is not None:
        if county_code not in set(d["county_code"]):
            raise SpecificationError(
                f"county_code={county_code!r} is not in the panel; choose one of "
                f"{sorted(d['county_code'].unique())} or None for the city.")
        d = d[d["county_code"] == county_code]
    if start_period is None:
        if "paired" not in d.columns or not d["paired"].astype(bool).any():
            raise SpecificationError("No pairing in the panel; pass start_period='2021Q1' explicitly.")
        start_t = int(panel.loc[panel["paired"].astype(bool), "t"].min())
        start_period = str(panel.loc[panel["t"] == start_t, "period"].iloc[0])
    else:
        if start_period not in set(panel["period"]):
            raise SpecificationError(f"start_period={start_period!r} is not a quarter of the panel "
                                     "(write it like '2021Q1').")
        start_t = int(panel.loc[panel["period"] == start_period, "t"].iloc[0])
    w = d["residents"].fillna(0) if weighting == "residents" else pd.Series(1.0, index=d.index)
    d = d.assign(_w=w, _wy=w * d[outcome])
    s = d.groupby(["t", "period"]).agg(wy=("_wy", "sum"), w=("_w", "sum"),
                                       n=("institution_id", "nunique")).reset_index()
    s = s[s["w"] > 0].sort_values("t").reset_index(drop=True)
    s["value"] = s["wy"] / s["w"]
    s["time"] = s["t"] - start_t
    s["post"] = (s["t"] >= start_t).astype(float)
    s["time_post"] = s["time"] * s["post"]
    n_pre, n_post = int((s["post"] == 0).sum()), int((s["post"] == 1).sum())
    if n_pre < 3 or n_post < 3:
        raise SpecificationError(f"Segmented regression needs ≥3 quarters on each side of {start_period}"
                                 f" (have {n_pre} before, {n_post} after); choose another start_period.")
    X = sm.add_constant(s[["time", "post", "time_post"]])
    fit = sm.OLS(s["value"], X).fit(cov_type="HAC", cov_kwds={"maxlags": maxlags,
                                                              "use_correction": True}, use_t=True)
    ci = fit.conf_int(alpha)
    names = {"const": "pre_level", "time": "pre_slope", "post": "level_change",
             "time_post": "slope_change"}
    table = pd.DataFrame({
        "outcome": outcome, "model": "its", "term": [names[k] for k in fit.params.index],
        "estimate": fit.params.to_numpy(), "std_error": fit.bse.to_numpy(),
        "ci_low": ci[0].to_numpy(), "ci_high": ci[1].to_numpy(), "p_value": fit.pvalues.to_numpy(),
        "inference": "hac", "n_obs": len(s), "note": DESCRIPTIVE,
    })
    s["fitted"] = fit.fittedvalues
    s["counterfactual"] = fit.params["const"] + fit.params["time"] * s["time"]
    scope = "city" if county_code is None else f"county {county_code}"
    notes = (f"{DESCRIPTIVE.capitalize()}: the segmented regression compares the series with its "
             "own extrapolated pre-trend, so anything else that changed at the start is included.",
             f"Newey–West (HAC) errors with {maxlags} lags; {n_pre} quarters before, {n_post} after; "
             f"{weighting} mean over institutions.")
    return ITSResult(outcome=outcome, start_period=start_period, scope=scope, table=table,
                     series=s[["period", "t", "value", "n", "post", "fitted", "counterfactual"]],
                     maxlags=maxlags, _notes=notes)
