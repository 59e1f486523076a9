"""Need index per institution and how its ranking depends on the weights.

The index is a weighted mean of components scaled to [0, 1] — a composite indicator in the sense
of the OECD/JRC *Handbook on Constructing Composite Indicators* (2008): normalise, weight,
aggregate, then show how sensitive the ranking is to the weights (their step 7). Components
(all "higher = needier"):

``residents``   mean residents over the last ``window`` assessed quarters (beds where missing)
``low_scores``  100 − mean of the three scores (:data:`analysis.domain.SCORES`: environment,
                service, happiness) over that window
``hazards``     open safety hazards at the latest assessment
``distance``    distance to the county seat (km; median where missing)
``kind``        children's homes 1, elderly homes 0 (``kind_scores`` to change)

Default weights (documented judgement, change them with ``weights=``): low scores 2, hazards 1.5,
residents 1, distance 1, kind 0.5 — the programme's own targets (三升一降) weigh most.

Plain pandas/numpy: a weighted mean of ranks needs no library.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..domain import SCORES
from ..errors import SpecificationError, check_option
from ..results import ResultMixin

COMPONENTS: tuple[str, ...] = ("residents", "low_scores", "hazards", "distance", "kind")
DEFAULT_WEIGHTS: dict[str, float] = {"residents": 1.0, "low_scores": 2.0, "hazards": 1.5,
                                     "distance": 1.0, "kind": 0.5}
DEFAULT_KIND_SCORES: dict[str, float] = {"children": 1.0, "elderly": 0.0}
Scaling = Literal["rank", "minmax"]


def need_components(panel: pd.DataFrame, institutions: pd.DataFrame, *, window: int = 4,
                    kind_scores: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Raw need components per institution from the panel's last ``window`` assessed quarters."""
    if window < 1:
        raise SpecificationError(f"window={window!r} must be >= 1 quarter.")
    ks = dict(DEFAULT_KIND_SCORES if kind_scores is None else kind_scores)
    a = panel[panel["assessed"].astype(bool)].sort_values(["institution_id", "t"])
    last = a.groupby("institution_id", sort=False).tail(window)
    g = last.groupby("institution_id")
    scores = last[list(SCORES)].mean(axis=1)
    comp = pd.DataFrame({
        "residents": g["residents"].mean(),
        "low_scores": 100.0 - scores.groupby(last["institution_id"]).agg(_exact_mean),
        "hazards": g["safety_hazards"].last(),
    })
    inst = institutions.set_index("institution_id")
    comp = comp.reindex(inst.index)
    comp["residents"] = comp["residents"].fillna(inst["beds"].astype(float))
    dist = inst["distance_km"].astype(float) if "distance_km" in inst.columns else pd.Series(
        np.nan, index=inst.index)
    comp["distance"] = dist.fillna(dist.median() if dist.notna().any() else 0.0)
    unknown = set(inst["kind"].dropna()) - set(ks)
    if unknown:
        raise SpecificationError(f"kind_scores lacks a score for kind(s) {sorted(unknown)}.")
    comp["kind"] = inst["kind"].map(ks).astype(float)
    comp.insert(0, "county_code", inst["county_code"])
    comp.insert(1, "kind_label", inst["kind"])
    comp.index.name = "institution_id"
    return comp.reset_index()


def _exact_mean(x: pd.Series) -> float:
    """Mean of the non-missing values with a correctly rounded sum (:func:`math.fsum`).

    Scores are recorded to one decimal, so many institutions have (nearly) the same window mean.
    A plain floating-point sum rounds in whatever order the pandas version sums a group (pandas 3
    sums sorted groups differently from pandas 2), and the rank scaling turns that last-bit noise
    into different ranks. A correctly rounded sum depends on the values alone.
    """
    v = x.dropna()
    return math.fsum(v) / len(v) if len(v) else np.nan


def _scale(col: pd.Series, how: str) -> pd.Series:
    x = col.astype(float)
    if how == "rank":
        return (x.rank(method="average") - 1) / max(x.notna().sum() - 1, 1)
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else x * 0.0


#: the columns of the need table a reader looks at first
NEED_COLUMNS: tuple[str, ...] = ("institution_id", "county_code", "need", "rank", *COMPONENTS)


@dataclass(frozen=True, eq=False)
class NeedIndex(ResultMixin):
    """Need index per institution (``table``: components, scaled components, ``need``, ``rank``).

    ``rank`` 1 is the neediest. Tables: ``need`` (every institution, by rank) and ``by_county``
    (:meth:`by_county`); one county's institutions: :meth:`for_county`. See :func:`need_index`.
    """

    table: pd.DataFrame = field(repr=False)
    weights: dict[str, float]
    scaling: Scaling
    _notes: tuple[str, ...] = ()

    display_columns = {"need": NEED_COLUMNS}

    @property
    def title(self) -> str:
        return "Need index"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"need": self.table.sort_values("rank").reset_index(drop=True),
                "by_county": self.by_county()}

    def for_county(self, county_code: str | None) -> pd.DataFrame:
        """The need table of one county's institutions, by rank (``"all"`` or ``None``: every
        institution); the columns of :data:`NEED_COLUMNS`."""
        t = self.table[list(NEED_COLUMNS)]
        if county_code not in (None, "all"):
            t = t[t["county_code"].astype(str) == str(county_code)]
            if t.empty:
                raise SpecificationError(f"county_code={county_code!r} is not in the data.")
        return t.sort_values("rank").reset_index(drop=True)

    def by_county(self) -> pd.DataFrame:
        """Per county: institutions, mean and max need, and how many of the city's neediest
        20% it holds."""
        t = self.table
        k = max(1, int(np.ceil(0.2 * len(t))))
        g = t.assign(top=t["rank"] <= k).groupby("county_code")
        return pd.DataFrame({"institutions": g.size(), "mean_need": g["need"].mean(),
                             "max_need": g["need"].max(), "in_neediest_20pct": g["top"].sum()}
                            ).sort_values("mean_need", ascending=False).reset_index()

    def plot_by_county(self, *, ax: Any = None, highlight: str | None = None) -> Any:
        """Need of every institution by county (a strip chart), neediest counties on top."""
        from ..plots import PALETTE, new_axes

        ax = new_axes(ax)
        order = self.by_county()["county_code"].tolist()[::-1]
        for y, c in enumerate(order):
            v = self.table.loc[self.table["county_code"] == c, "need"]
            color = PALETTE["county"] if highlight not in (None, "all") and str(c) == str(
                highlight) else PALETTE["city"]
            ax.plot(v, np.full(len(v), y), "o", alpha=0.6, color=color)
        ax.set_yticks(range(len(order)), order)
        ax.set_xlabel("need index (0–1, higher = needier)")
        ax.set_ylabel("county")
        return ax

    def scored(self, weights: Mapping[str, float]) -> pd.Series:
        """The index under other ``weights`` (same scaled components), by institution."""
        w = _check_weights(weights)
        s = sum(w[c] * self.table[f"{c}_scaled"] for c in COMPONENTS) / sum(w.values())
        return pd.Series(s.to_numpy(), index=self.table["institution_id"])

    def plot(self, *, ax: Any = None, top: int = 20) -> Any:
        """Stacked contribution of each component for the ``top`` neediest institutions."""
        from ..plots import new_axes, safe_labels

        ax = new_axes(ax)
        t = self.table.sort_values("rank").head(top).iloc[::-1]
        left = np.zeros(len(t))
        total_w = sum(self.weights.values())
        y = np.arange(len(t))
        for c in COMPONENTS:
            part = self.weights[c] * t[f"{c}_scaled"].to_numpy() / total_w
            ax.barh(y, part, left=left, label=c)
            left += part
        ax.set_yticks(y, safe_labels(t["institution_id"]))
        ax.set_xlabel("need index (weighted contributions)")
        ax.legend(fontsize="small", loc="lower right")
        return ax

    def sensitivity(self, *, factors: tuple[float, ...] = (0.0, 0.5, 2.0), n_draws: int = 200,
                    top_share: float = 0.2, seed: int = 0) -> NeedSensitivity:
        """How the ranking moves with the weights (see :func:`need_sensitivity`); the random
        weights are drawn from ``numpy.random.default_rng(seed)``."""
        return need_sensitivity(self, factors=factors, n_draws=n_draws, top_share=top_share,
                                seed=seed)


def _check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    unknown = set(w) - set(COMPONENTS)
    if unknown:
        raise SpecificationError(f"Unknown need component(s) {sorted(unknown)}; choose from "
                                 f"{', '.join(COMPONENTS)}.")
    w = {c: float(w.get(c, 0.0)) for c in COMPONENTS}
    if any(not np.isfinite(v) or v < 0 for v in w.values()) or sum(w.values()) <= 0:
        raise SpecificationError(f"Need weights must be >= 0 and not all zero; got {w}.")
    return w


def need_index(panel: pd.DataFrame, institutions: pd.DataFrame, *,
               weights: Mapping[str, float] | None = None, scaling: Scaling = "rank",
               window: int = 4, kind_scores: Mapping[str, float] | None = None) -> NeedIndex:
    """Need index per institution: weighted mean of components scaled to [0, 1].

    Parameters
    ----------
    panel : DataFrame
        The institution-quarter panel.
    institutions : DataFrame
        The institutions table (``distance_km``, ``kind``, ``beds``, ``county_code``).
    weights : mapping, optional
        Component → weight (>= 0); default :data:`DEFAULT_WEIGHTS`. Missing components get 0.
    scaling : {"rank", "minmax"}
        Percentile ranks (robust to outliers, the default) or min–max scaling.
    window : int
        Quarters of assessments to average over.

    References
    ----------
    OECD & JRC (2008). *Handbook on Constructing Composite Indicators: Methodology and User
    Guide*. OECD Publishing.
    """
    check_option("scaling", scaling, Scaling)
    w = _check_weights(weights)
    comp = need_components(panel, institutions, window=window, kind_scores=kind_scores)
    t = comp.copy()
    for c in COMPONENTS:
        t[f"{c}_scaled"] = _scale(t[c].fillna(t[c].median()), scaling)
    t["need"] = sum(w[c] * t[f"{c}_scaled"] for c in COMPONENTS) / sum(w.values())
    t["rank"] = t["need"].rank(ascending=False, method="first").astype(int)
    notes = (f"Weights {w}; components scaled by {scaling}; higher = needier.",)
    return NeedIndex(table=t, weights=w, scaling=scaling, _notes=notes)


@dataclass(frozen=True, eq=False)
class NeedSensitivity(ResultMixin):
    """Ranking stability under other weights.

    ``scenarios``: one row per one-at-a-time change (component weight × factor) and a summary of
    the random-weight draws — Spearman correlation with the baseline ranking and the share of the
    baseline's neediest ``top_share`` that stay in the top. ``ranks``: per institution, baseline
    rank and the 5th/50th/95th percentile of its rank over random weights (Dirichlet around the
    baseline weights).
    """

    scenarios: pd.DataFrame = field(repr=False)
    ranks: pd.DataFrame = field(repr=False)
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return "Need index: sensitivity of the ranking to the weights"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"scenarios": self.scenarios, "ranks": self.ranks}

    def plot(self, *, ax: Any = None, top: int = 25) -> Any:
        """Baseline rank and the 5–95% rank range under random weights, ``top`` neediest."""
        from ..plots import new_axes, safe_labels

        ax = new_axes(ax)
        r = self.ranks.sort_values("rank").head(top).iloc[::-1]
        y = np.arange(len(r))
        ax.hlines(y, r["rank_p05"], r["rank_p95"], color="#888")
        ax.plot(r["rank"], y, "o", label="baseline weights")
        ax.plot(r["rank_p50"], y, "|", ms=10, color="black", label="median, random weights")
        ax.set_yticks(y, safe_labels(r["institution_id"]))
        ax.set_xlabel("need rank (1 = neediest); bar = 5–95% over random weights")
        ax.legend(fontsize="small")
        return ax


def need_sensitivity(need: NeedIndex, *, factors: tuple[float, ...] = (0.0, 0.5, 2.0),
                     n_draws: int = 200, top_share: float = 0.2, seed: int = 0
                     ) -> NeedSensitivity:
    """One-at-a-time weight changes and random (Dirichlet) weights around the baseline.

    Parameters
    ----------
    need : NeedIndex
    factors : tuple of float
        Each component's weight is multiplied by each factor in turn (0 drops it).
    n_draws : int
        Random weight vectors, Dirichlet with concentration 10 around the baseline weights.
    top_share : float
        The neediest share whose membership is compared (default the neediest 20%).
    seed : int
        Seed of ``numpy.random.default_rng`` for the random weights.
    """
    if not 0 < top_share <= 1:
        raise SpecificationError(f"top_share={top_share!r} must be in (0, 1].")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise SpecificationError(f"seed={seed!r}: use an integer.")
    rng = np.random.default_rng(seed)
    base = need.table.set_index("institution_id")["need"]
    n = len(base)
    k = max(1, int(np.ceil(top_share * n)))
    base_rank = base.rank(ascending=False, method="first")
    top = set(base_rank[base_rank <= k].index)

    def compare(score: pd.Series) -> tuple[float, float]:
        r = score.rank(ascending=False, method="first")
        rho = float(np.corrcoef(base_rank.to_numpy(), r.reindex(base_rank.index).to_numpy())[0, 1])
        keep = len(top & set(r[r <= k].index)) / k
        return rho, keep

    rows = []
    for c in COMPONENTS:
        for f in factors:
            w = dict(need.weights)
            w[c] = w[c] * f
            if sum(w.values()) <= 0:
                continue
            rho, keep = compare(need.scored(w))
            rows.append({"scenario": f"{c} × {f:g}", "component": c, "factor": f,
                         "spearman": rho, "top_kept": keep})
    alpha = np.array([max(need.weights[c], 1e-3) for c in COMPONENTS])
    alpha = alpha / alpha.sum() * 10.0
    draws = rng.dirichlet(alpha, size=n_draws)
    scaled = np.column_stack([need.table[f"{c}_scaled"].to_numpy() for c in COMPONENTS])
    scores = scaled @ draws.T                                   # (n, draws)
    ranks = (-scores).argsort(axis=0, kind="stable").argsort(axis=0, kind="stable") + 1
    rhos, keeps = [], []
    for d in range(n_draws):
        rho, keep = compare(pd.Series(scores[:, d], index=need.table["institution_id"]))
        rhos.append(rho)
        keeps.append(keep)
    rows.append({"scenario": f"random weights (Dirichlet, {n_draws} draws): median",
                 "component": "all", "factor": np.nan, "spearman": float(np.median(rhos)),
                 "top_kept": float(np.median(keeps))})
    rows.append({"scenario": "random weights: 5th percentile", "component": "all",
                 "factor": np.nan, "spearman": float(np.quantile(rhos, 0.05)),
                 "top_kept": float(np.quantile(keeps, 0.05))})
    rk = pd.DataFrame({"institution_id": need.table["institution_id"].to_numpy(),
                       "rank": need.table["rank"].to_numpy(),
                       "rank_p05": np.quantile(ranks, 0.05, axis=1),
                       "rank_p50": np.quantile(ranks, 0.5, axis=1),
                       "rank_p95": np.quantile(ranks, 0.95, axis=1)})
    return NeedSensitivity(scenarios=pd.DataFrame(rows), ranks=rk,
                           _notes=(f"top_kept: share of the baseline's neediest {k} "
                                   f"({top_share:.0%}) still in the top {k}.",))
