"""The outcomes of the demo world: quarterly assessments with **planted effects**.

For institution *i* in county *c*, quarter *t*::

    y_it = base + alpha_i + trend_t + shock_ct + dose·log1p(activities_{i,t-1})
           + att(e)·1[eligible_i, e = t - adoption_c >= 0] + repair·1[t >= repair_t_i]
           + mean of the paired units' random effects in quarter t + noise_it

with the parameters of :data:`~analysis.synth.design.OUTCOME_MODEL`. Scores are clipped to 0–100
(never binds: true means stay within ~50–90) and rounded to one decimal; ``safety_hazards`` is
Poisson with that *linear* mean (no noise term). County×quarter shocks are AR(1) within a county,
so inference with 11 clusters is a real challenge while the planted effects stay detectable.

The regressors are the panel's definitions (``docs/architecture.md``, "The institution-quarter
panel"), computed here from the generated tables by :func:`exposure` rather than by
:func:`analysis.panel.derive_panel`: the world stays a function of the seed and this package
alone, whatever the panel's code does, and ``tests/test_synth.py`` recovers the planted effects
from the panel ``derive_panel`` builds, so the two routes are checked against each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..domain import OUTCOMES, date_to_t, is_eligible, period_to_t, t_to_period
from .design import (
    COUNTIES,
    FIRST_PERIOD,
    LAST_PERIOD,
    MAX_EVENT_TIME,
    MISSING_RATE,
    OUTCOME_MODEL,
    SAFETY_MEAN_FLOOR,
    quarter_end,
    quarter_start,
)


@dataclass(frozen=True)
class Exposure:
    """What the outcome model conditions on; rows are institutions in table order, columns the
    quarters ``ts``.

    ``activities_lag1``: all activities at the institution in the previous quarter (0 in the first
    quarter and before any activity); ``eligible``: the reform eligibility rule
    (:func:`analysis.domain.is_eligible`); ``adoption_t``: the quarter index containing the
    county's ``county_management_date`` (NaN: not adopted); ``repair_t``: the quarter in which the
    institution's first ``adjusted`` pairing started (NaN: none).
    """

    activities_lag1: np.ndarray
    eligible: np.ndarray
    adoption_t: np.ndarray
    repair_t: np.ndarray


def exposure(tables: dict[str, pd.DataFrame], ts: np.ndarray) -> Exposure:
    """The outcome model's regressors from the generated tables, as the panel defines them."""
    inst = tables["institutions"]
    row_of = {iid: k for k, iid in enumerate(inst["institution_id"])}
    t0, n_t = int(ts[0]), len(ts)
    act = tables["activities"]
    rows = act["institution_id"].map(row_of).to_numpy(dtype="float64", na_value=np.nan)
    cols = date_to_t(act["date"]).to_numpy() - t0
    ok = ~np.isnan(rows) & ~np.isnan(cols) & (cols >= 0) & (cols < n_t)
    counts = np.zeros((len(row_of), n_t))
    np.add.at(counts, (rows[ok].astype(int), cols[ok].astype(int)), 1.0)
    lag = np.zeros_like(counts)
    lag[:, 1:] = counts[:, :-1]

    management = tables["counties"].set_index("county_code")["county_management_date"]
    adoption_t = date_to_t(inst["county_code"].map(management)).to_numpy()

    p = tables["pairings"]
    adjusted = p[p["reason"] == "adjusted"]
    first = date_to_t(adjusted["start_date"]).groupby(adjusted["institution_id"].to_numpy()).min()
    repair_t = inst["institution_id"].map(first).to_numpy(dtype="float64", na_value=np.nan)
    return Exposure(activities_lag1=lag, eligible=is_eligible(inst).to_numpy(),
                    adoption_t=adoption_t, repair_t=repair_t)


@dataclass(frozen=True)
class OutcomeDraws:
    """What TRUTH.json reports of the outcome draws: each unit's realised random effect per
    outcome, and how often the safety floor and the score clipping bound (both 0 by design)."""

    unit_effects: dict[str, dict[str, float]]
    safety_floor_hits: int
    score_clip_hits: int


@dataclass(frozen=True)
class OutcomeParts:
    """Every draw of the outcome model except the dose term and the Poisson draw of
    ``safety_hazards``: per outcome the mean without the dose (``base + alpha_i + trend_t +
    shock_ct``, then ``att``, ``repair`` and the unit term, kept apart so that the sum is formed
    in one fixed order) and the scores' noise; plus residents, the assessment mask, the quarter
    indices and each institution's county row."""

    ts: np.ndarray
    ids: np.ndarray
    c_idx: np.ndarray
    residents: np.ndarray
    observed: np.ndarray
    head: dict[str, np.ndarray]
    tail: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    noise: dict[str, np.ndarray]
    unit_effects: dict[str, dict[str, float]]

    def mean(self, y: str, dose_term: np.ndarray) -> np.ndarray:
        """The planted mean of ``y`` given its dose term (the sum in the generator's order)."""
        att, repair, unit = self.tail[y]
        return self.head[y] + dose_term + att + repair + unit


def draw_outcome_parts(rng: np.random.Generator, tables: dict[str, pd.DataFrame]) -> OutcomeParts:
    """Draw the outcome model's components (all but the dose term and the safety counts), in the
    generator's fixed order."""
    if OUTCOMES[-1] != "safety_hazards":  # its Poisson draw must be the last one of the stream
        raise ValueError("the demo world draws safety_hazards last")
    inst = tables["institutions"]
    ids = inst["institution_id"].to_numpy()
    t0, t1 = period_to_t(FIRST_PERIOD), period_to_t(LAST_PERIOD)
    ts = np.arange(t0, t1 + 1)
    n_i, n_t = len(ids), len(ts)
    exp = exposure(tables, ts)
    eligible, adopt, repair = exp.eligible, exp.adoption_t, exp.repair_t
    event = ts[None, :] - adopt[:, None]  # NaN where never adopted
    reform_on = eligible[:, None] & (event >= 0)
    event_idx = np.where(reform_on, np.nan_to_num(event, nan=0), 0).astype(int)
    repair_on = ts[None, :] >= repair[:, None]

    # which units cover each institution-quarter (for the unit random effects)
    p = tables["pairings"]
    units = tables["units"]["unit_id"].to_numpy()
    unit_col = {u: k for k, u in enumerate(units)}
    q_start = np.array([quarter_start(t) for t in ts], dtype="datetime64[ns]")
    q_end = np.array([quarter_end(t) for t in ts], dtype="datetime64[ns]")
    ps = p["start_date"].to_numpy(dtype="datetime64[ns]")
    pe = p["end_date"].to_numpy(dtype="datetime64[ns]")
    covers = (ps[:, None] <= q_end[None, :]) & (
        np.isnat(pe)[:, None] | (pe[:, None] >= q_start[None, :])
    )
    row_of = {i: k for k, i in enumerate(ids)}
    member = np.zeros((n_i, n_t, len(units)), dtype=bool)
    pr, pc = np.nonzero(covers)
    member[
        p["institution_id"].map(row_of).to_numpy()[pr],
        pc,
        p["unit_id"].map(unit_col).to_numpy()[pr],
    ] = True
    n_cover = member.sum(axis=2)

    county = inst["county_code"].to_numpy()
    county_codes = [c[0] for c in COUNTIES]
    c_idx = np.array([county_codes.index(c) for c in county])

    return draw_components(
        rng, ids=ids, ts=ts, beds=inst["beds"].to_numpy(dtype=float), c_idx=c_idx,
        n_counties=len(COUNTIES), unit_ids=units, unit_sum=lambda u: member.astype(float) @ u,
        n_cover=n_cover, reform_on=reform_on, event_idx=event_idx, repair_on=repair_on)


def draw_components(rng: np.random.Generator, *, ids: np.ndarray, ts: np.ndarray,
                    beds: np.ndarray, c_idx: np.ndarray, n_counties: int, unit_ids: np.ndarray,
                    unit_sum: Callable[[np.ndarray], np.ndarray], n_cover: np.ndarray,
                    reform_on: np.ndarray, event_idx: np.ndarray, repair_on: np.ndarray
                    ) -> OutcomeParts:
    """The outcome model's random components in the generator's fixed order — residents, the
    assessment mask, then per outcome the institution effects, the common trend, the county ×
    quarter AR(1) shocks, the unit effects and the scores' noise — for any number of counties.
    ``unit_sum(u)`` maps the units' effects to the institution × quarter sum over the units that
    cover each cell (the demo world uses a dense membership array, the scaled worlds a sparse
    sum); ``n_cover`` counts those units."""
    n_i, n_t = len(ids), len(ts)
    t0 = ts[0]
    occupancy = rng.uniform(0.55, 0.92, size=n_i)
    residents = rng.binomial(beds.astype(int)[:, None].repeat(n_t, 1), occupancy[:, None])
    observed = rng.random((n_i, n_t)) >= MISSING_RATE

    realized: dict[str, dict[str, float]] = {}
    head: dict[str, np.ndarray] = {}
    tail: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    noise: dict[str, np.ndarray] = {}
    for y in OUTCOMES:
        par = OUTCOME_MODEL[y]
        alpha = rng.normal(0.0, par["alpha_sd"], size=n_i)
        trend = par["trend_slope"] * (ts - t0) + rng.normal(0.0, par["common_sd"], size=n_t)
        rho, sd = par["shock_rho"], par["shock_sd"]
        shock = np.empty((n_counties, n_t))
        shock[:, 0] = rng.normal(0.0, sd, size=n_counties)
        for j in range(1, n_t):
            shock[:, j] = rho * shock[:, j - 1] + np.sqrt(1 - rho**2) * rng.normal(
                0.0, sd, size=n_counties
            )
        u_eff = rng.normal(0.0, par["unit_sd"], size=len(unit_ids))
        realized[y] = {u: round(float(v), 4) for u, v in zip(unit_ids, u_eff, strict=True)}
        unit_term = np.divide(unit_sum(u_eff), n_cover,
                              out=np.zeros((n_i, n_t)), where=n_cover > 0)
        att = np.array([par["att"][str(e)] for e in range(MAX_EVENT_TIME + 1)])
        head[y] = par["base"] + alpha[:, None] + trend[None, :] + shock[c_idx, :]
        tail[y] = (np.where(reform_on, att[event_idx], 0.0), par["repair"] * repair_on, unit_term)
        if y != "safety_hazards":
            noise[y] = rng.normal(0.0, par["noise_sd"], size=(n_i, n_t))
    return OutcomeParts(ts=ts, ids=ids, c_idx=c_idx, residents=residents, observed=observed,
                        head=head, tail=tail, noise=noise, unit_effects=realized)


def dose_coef(y: str, effect_scale: float = 1.0) -> float:
    """The planted dose effect of ``y`` times ``effect_scale`` (exactly the design's at 1)."""
    return OUTCOME_MODEL[y]["dose"] if effect_scale == 1.0 else effect_scale * OUTCOME_MODEL[y]["dose"]


def score_value(raw: np.ndarray) -> np.ndarray:
    """A score as assessed: clipped to 0–100 and rounded to one decimal."""
    return np.round(np.clip(raw, 0.0, 100.0), 1)


def compose_assessments(
    parts: OutcomeParts,
    dose_x: np.ndarray,
    *,
    effect_scale: float = 1.0,
    rng: np.random.Generator | None = None,
    safety: np.ndarray | None = None,
) -> tuple[pd.DataFrame, OutcomeDraws]:
    """The assessments from the drawn parts and the dose regressor ``log1p(activities_lag1)``.

    The dose effects are ``effect_scale`` times the planted ones. ``safety_hazards`` is drawn
    from ``rng`` (the world's stream: its last draw) unless its values are given (``safety``).
    """
    n_i, n_t = len(parts.ids), len(parts.ts)
    out = {
        "institution_id": np.repeat(parts.ids, n_t),
        "period": np.tile([t_to_period(t) for t in parts.ts], n_i),
        "residents": parts.residents.reshape(-1),
    }
    floor_hits = 0
    clip_hits = 0
    for y in OUTCOMES:
        dose = dose_coef(y, effect_scale)
        mean = parts.mean(y, dose * dose_x)
        if y == "safety_hazards":
            floor_hits += int((mean < SAFETY_MEAN_FLOOR).sum())
            if safety is None:
                if rng is None:
                    raise ValueError("compose_assessments needs rng or safety")
                value = rng.poisson(np.maximum(mean, SAFETY_MEAN_FLOOR)).astype(float)
            else:
                value = np.asarray(safety, dtype=float)
        else:
            raw = mean + parts.noise[y]
            clip_hits += int(((raw < 0) | (raw > 100)).sum())
            value = score_value(raw)
        out[y] = value.reshape(-1)
    df = pd.DataFrame(out)[parts.observed.reshape(-1)].reset_index(drop=True)
    df["residents"] = df["residents"].astype("Int64")
    df["safety_hazards"] = df["safety_hazards"].astype("Int64")
    return df, OutcomeDraws(unit_effects=parts.unit_effects, safety_floor_hits=floor_hits,
                            score_clip_hits=clip_hits)


def draw_assessments(
    rng: np.random.Generator,
    tables: dict[str, pd.DataFrame],
) -> tuple[pd.DataFrame, OutcomeDraws]:
    """The quarterly assessments 2019Q1–2024Q4 (MCAR gaps) under the planted outcome model, and
    what the truth reports of the draws."""
    parts = draw_outcome_parts(rng, tables)
    lag = exposure(tables, parts.ts).activities_lag1
    return compose_assessments(parts, np.log1p(lag), rng=rng)
