"""The concave dose-response the allocation optimiser maximises.

The effectiveness analysis estimates, with institution and quarter fixed effects, how an
institution's outcome moves with ``log1p(activities_lag1)`` (activities in the previous quarter).
:class:`Response` turns one such coefficient ``beta`` into the predicted gain of giving an
institution ``x`` activities per quarter, ``beta * log1p(x)``, and its piecewise-linear
interpolant on fixed breakpoints, which is what a linear (mixed-integer) programme can maximise
exactly: because ``log1p`` is concave, the interpolant equals the minimum of its segment lines,
so "``z <= every segment line``" needs no extra integer variables (the standard concave
piecewise-linear formulation; see e.g. Williams, *Model Building in Mathematical Programming*,
5th ed., 2013, §9.3).

Scale invariance: with one ``beta`` for every institution the optimal plan does not depend on
``beta`` (any positive multiple ranks plans the same way); ``beta`` only scales the reported gains.
That is why a documented default (``beta = 1``: gains in "log-activity points") is usable before an
estimate exists, and why every result says which response it used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..domain import COMPOSITE, InferenceName
from ..errors import SpecificationError, check_option
from ..results import ResultMixin

#: Breakpoints on the activities-per-quarter scale. Denser where log1p bends most; beyond the last
#: one the last segment's line continues (still concave). The interpolant lies below
#: ``beta*log1p(x)`` by at most 0.021·beta (near x = 0.23) and by less than 1% for x >= 1.
DEFAULT_BREAKPOINTS: tuple[float, ...] = (
    0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.5, 8.0, 10.0, 13.0, 16.0, 20.0, 25.0, 32.0, 40.0,
    50.0, 65.0, 80.0, 100.0, 130.0, 160.0, 200.0, 250.0,
)

#: Documented default coefficient: one outcome point per unit of log1p(activities per quarter).
DEFAULT_BETA = 1.0

#: the effectiveness results row the estimated response is read from
EFFECT_MODEL = "dose_response"
EFFECT_TERM = "log1p(activities_lag1)"
EFFECT_INFERENCE: InferenceName = "analytic"

#: the row whose interval is the dose-response's headline (few-cluster inference by county)
HEADLINE_INFERENCE: InferenceName = "wild_bootstrap"


def _describe(table: pd.DataFrame, outcome: str, est: float) -> str:
    """The estimate with its headline county interval and the institution-clustered s.e. beside
    it, and what the coefficient means."""
    rows = table[(table["model"] == EFFECT_MODEL) & (table["term"] == EFFECT_TERM)
                 & (table["outcome"] == outcome)]
    parts = [f"estimated response: {EFFECT_MODEL} coefficient on {EFFECT_TERM} for {outcome} = "
             f"{est:.4g}"]
    if "inference" in rows.columns:
        wild = rows[rows["inference"] == HEADLINE_INFERENCE]
        if len(wild) and {"ci_low", "ci_high"} <= set(wild.columns):
            w = wild.iloc[0]
            g = w.get("n_clusters", float("nan"))
            parts.append(f"95% interval [{float(w['ci_low']):.3g}, {float(w['ci_high']):.3g}] by "
                         f"the wild cluster bootstrap clustered by county ({g:.0f} counties; the "
                         "headline)")
        rows = rows[rows["inference"] == EFFECT_INFERENCE]
    if len(rows) and "std_error" in rows.columns:
        parts.append(f"s.e. {float(rows['std_error'].iloc[0]):.3g} clustered by institution")
    return ("; ".join(parts) + "; an association conditional on institution and quarter fixed "
            "effects, read as the causal response only under strict exogeneity (docs/caveats.md "
            "E1)")


#: where ``beta`` came from
ResponseSource = Literal["estimated", "default"]


@dataclass(frozen=True)
class Response(ResultMixin):
    """Predicted gain of ``x`` activities per quarter: ``beta * log1p(x)``, piecewise-linearised.

    Parameters
    ----------
    beta : float
        Outcome points per unit of ``log1p(activities per quarter)``; must be positive.
    breakpoints : tuple of float
        Strictly increasing, starting at 0.
    outcome : str
        The outcome ``beta`` refers to (``composite`` by default).
    source : {"estimated", "default"}
        Whether ``beta`` came from the effectiveness results or is the documented default.
    description : str
        Provenance in words (shown in results and notebooks).

    References
    ----------
    Williams, H. P. (2013). *Model Building in Mathematical Programming* (5th ed.), Wiley, ch. 9.
    """

    beta: float = DEFAULT_BETA
    breakpoints: tuple[float, ...] = DEFAULT_BREAKPOINTS
    outcome: str = COMPOSITE
    source: ResponseSource = "default"
    description: str = (
        "default response: beta = 1 outcome point per unit of log1p(activities per quarter); "
        "the plan does not depend on beta's scale, only the reported gains do"
    )
    _notes: tuple[str, ...] = field(default=(), repr=False)

    @property
    def title(self) -> str:
        return "Dose-response used for allocation"

    def __post_init__(self) -> None:
        b = np.asarray(self.breakpoints, dtype=float)
        if not np.isfinite(self.beta) or self.beta <= 0:
            raise SpecificationError(
                f"The response coefficient beta={self.beta!r} is not positive: maximising a "
                "non-positive response would recommend withdrawing help. Use an estimate with a "
                "positive effect or the documented default Response()."
            )
        if b.ndim != 1 or b.size < 2 or b[0] != 0 or np.any(np.diff(b) <= 0):
            raise SpecificationError(
                "Response breakpoints must be strictly increasing, start at 0 and have at least "
                f"two points; got {self.breakpoints!r}."
            )
        check_option("source", self.source, ResponseSource)

    # -- the function ---------------------------------------------------------------------
    def exact(self, x: Any) -> np.ndarray:
        """``beta * log1p(x)``."""
        return self.beta * np.log1p(np.asarray(x, dtype=float))

    @property
    def slopes(self) -> np.ndarray:
        b = np.asarray(self.breakpoints, dtype=float)
        return np.diff(self.exact(b)) / np.diff(b)

    @property
    def intercepts(self) -> np.ndarray:
        """Segment ``k`` is the line ``intercepts[k] + slopes[k] * x``."""
        b = np.asarray(self.breakpoints, dtype=float)
        return self.exact(b[:-1]) - self.slopes * b[:-1]

    def __call__(self, x: Any) -> np.ndarray:
        """The piecewise-linear interpolant (the function the optimiser maximises)."""
        x = np.asarray(x, dtype=float)
        if np.any(x < -1e-9):
            raise SpecificationError("Activity intensities must be non-negative.")
        b = np.asarray(self.breakpoints, dtype=float)
        fb = self.exact(b)
        # interpolation inside the breakpoints, the last segment's line beyond them (for a
        # concave interpolant this equals the minimum over the segment lines)
        out = np.where(x <= b[-1], np.interp(x, b, fb), fb[-1] + self.slopes[-1] * (x - b[-1]))
        return out if x.shape else out[()]

    def segments(self) -> pd.DataFrame:
        b = np.asarray(self.breakpoints, dtype=float)
        return pd.DataFrame({"start": b[:-1], "end": b[1:], "slope": self.slopes,
                             "intercept": self.intercepts})

    # -- construction from the effectiveness results ----------------------------------------
    @classmethod
    def from_effectiveness(cls, table: pd.DataFrame, *, outcome: str = COMPOSITE,
                           breakpoints: tuple[float, ...] = DEFAULT_BREAKPOINTS) -> Response:
        """The estimated response from ``effectiveness.parquet``.

        Uses the row ``model == "dose_response"``, ``term == "log1p(activities_lag1)"``,
        ``inference == "analytic"`` for ``outcome`` (every inference row has the same estimate).
        The description quotes the headline county interval (wild cluster bootstrap by county)
        and, beside it, the institution-clustered standard error: the optimiser reads the point
        estimate only, and treats it as causal, which the fixed-effects design supports only
        under strict exogeneity (``docs/caveats.md`` E1; the instrumented row
        ``dose_response_iv`` is the check). Raises ``SpecificationError`` when the row is
        missing or the estimate is not positive (the caller decides whether to fall back to the
        default).
        """
        need = {"outcome", "model", "term", "estimate"}
        missing = need - set(table.columns)
        if missing:
            raise SpecificationError(
                f"The effectiveness table lacks columns {sorted(missing)}; cannot read the response.")
        rows = table[(table["model"] == EFFECT_MODEL) & (table["term"] == EFFECT_TERM)
                     & (table["outcome"] == outcome)]
        if "inference" in rows.columns:
            rows = rows[rows["inference"] == EFFECT_INFERENCE]
        if rows.empty:
            raise SpecificationError(
                f"No {EFFECT_MODEL} estimate of {EFFECT_TERM} for outcome {outcome!r} "
                f"(inference {EFFECT_INFERENCE!r}) in the effectiveness results.")
        est = float(rows["estimate"].iloc[0])
        return cls(beta=est, breakpoints=breakpoints, outcome=outcome, source="estimated",
                   description=_describe(table, outcome, est))

    # -- display ---------------------------------------------------------------------------
    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "response": pd.DataFrame({
                "item": ["source", "outcome", "beta", "n_segments", "description"],
                "value": [self.source, self.outcome, f"{self.beta:.6g}",
                          str(len(self.breakpoints) - 1), self.description],
            }),
            "segments": self.segments(),
        }

    def plot(self, *, ax: Any = None) -> Any:
        """``beta · log1p(x)`` and its piecewise-linear interpolant."""
        from ..plots import new_axes

        ax = new_axes(ax)
        b = np.asarray(self.breakpoints, dtype=float)
        x = np.linspace(0, b[-1], 400)
        ax.plot(x, self.exact(x), label=f"{self.beta:.3g}·log1p(x)")
        ax.plot(b, self(b), "o--", ms=3, label="piecewise-linear")
        ax.set_xlabel("activities per quarter")
        ax.set_ylabel(f"predicted gain ({self.outcome})")
        ax.legend()
        return ax
