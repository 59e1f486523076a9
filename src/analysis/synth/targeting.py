"""The targeting world: help that goes to the homes that had a bad quarter.

The demo world's help does not depend on outcomes, so a fixed-effects dose-response is unbiased
there by construction. Real programmes send help where problems were found. With
``targeting = κ`` (``generate(..., targeting=κ)``, ``pairing-eval synth --targeting κ``) the
world is drawn as the demo world, then the activities of every quarter from the programme start
on are **re-allocated** quarter by quarter, each quarter after the previous quarter's assessments
are known:

* the previous quarter's *need index* of institution *i*: the mean over the four targets of the
  standardised shortfall, ``−direction · (y_i − county-quarter mean of y) / SD_y`` (SD across the
  institutions assessed that quarter), standardised to unit SD across institutions; 0 when the
  institution was not assessed (nothing to respond to);
* every source of activities at *i* (its units, township team and county leaders' team) gets its
  weight multiplied by ``exp(κ · need_i,t−1)`` — with κ = 0.5 one SD of need raises the expected
  help by 65 % — and by the unit's **supply shock** of the quarter, ``exp(σ·z_ut − σ²/2)``,
  ``z_ut ~ N(0, 1)``, common to all the institutions a unit serves (a department's busy or slack
  quarter; ``supply_sd = σ``);
* the quarter's events of the demo world (their categories, values, participants and
  beneficiaries, so every calibrated total is unchanged) are dealt to the sources by one
  multinomial draw with those weights; each event's day is drawn uniformly in its new source's
  days of the quarter;
* the quarter's assessments follow from the planted outcome model with the new activities of the
  previous quarter (the dose effects times ``effect_scale``; 0 plants no effect at all); the
  safety-hazard counts are drawn here, quarter by quarter, since the next quarter's help responds
  to them.

Need is measured against the county-quarter mean because a county's homes share its shocks;
help that chased county shocks would make every county-level instrument invalid too, and a county
bureau compares its own homes. What stays true: help rises after a *transitory* bad quarter
(score noise), and the institution effects absorb targeting on *persistent* need.

The randomness of the re-allocation (supply shocks, multinomial draws, days, safety counts) comes
from its own stream, ``numpy.random.default_rng([seed, TARGETING_STREAM])``; the world's own
stream is drawn exactly as in the demo world up to the safety counts, which are no longer drawn
from it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..domain import DIRECTION, OUTCOMES
from .design import SAFETY_MEAN_FLOOR
from .events import Sources, activity_table
from .outcomes import OutcomeParts, dose_coef, score_value

#: second element of the re-allocation stream's seed, ``default_rng([seed, TARGETING_STREAM])``
TARGETING_STREAM = 1212

__all__ = ["TARGETING_STREAM", "retarget", "truth_entry"]


def _need(values: dict[str, np.ndarray], observed: np.ndarray, c_idx: np.ndarray) -> np.ndarray:
    """The need index of one quarter (institutions in rows), unit SD over the assessed ones."""
    parts = []
    for y, v in values.items():
        v = np.where(observed, v, np.nan)
        cmean = pd.Series(v).groupby(c_idx).transform("mean").to_numpy()
        sd = np.nanstd(v)
        parts.append(-DIRECTION[y] * (v - cmean) / (sd if sd > 0 else 1.0))
    idx = np.mean(parts, axis=0)
    idx = np.where(observed, idx, np.nan)
    sd = np.nanstd(idx)
    return np.nan_to_num(idx / (sd if sd > 0 else 1.0), nan=0.0)


def retarget(
    seed: int,
    activities: pd.DataFrame,
    sources: Sources,
    parts: OutcomeParts,
    *,
    targeting: float,
    supply_sd: float,
    effect_scale: float,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Re-allocate the demo world's activities quarter by quarter (see the module docstring).

    Returns the new activities table, the matrix of activities per institution and quarter of
    ``parts.ts`` (institutions in rows) and the safety-hazard counts (same shape).
    """
    rng = np.random.default_rng([seed, TARGETING_STREAM])
    n_i, n_t = len(parts.ids), len(parts.ts)
    offset = int(sources.ts[0] - parts.ts[0])
    n_q = len(sources.ts)
    unit_ids = sorted({u for u in sources.unit if u})
    unit_row = {u: k for k, u in enumerate(unit_ids)}
    z = rng.standard_normal((len(unit_ids), n_q))
    supply = np.vstack([np.exp(supply_sd * z - supply_sd**2 / 2), np.ones((1, n_q))])
    src_unit = np.array([unit_row.get(u, len(unit_ids)) for u in sources.unit])
    ev_quarter = sources.j[sources.event_source]
    events = sources.events
    counts = np.zeros((n_i, n_t))
    safety = np.zeros((n_i, n_t))
    values: dict[str, np.ndarray] = {y: np.zeros((n_i, n_t)) for y in OUTCOMES}
    means = {y: parts.mean(y, np.zeros((n_i, n_t))) for y in OUTCOMES}  # without the dose
    new_source = np.empty(len(events), dtype=np.int64)
    new_days = np.empty(len(events), dtype="datetime64[ns]")
    for k in range(n_t):
        j = k - offset
        if j >= 0:
            need = _need({y: values[y][:, k - 1] for y in OUTCOMES}, parts.observed[:, k - 1],
                         parts.c_idx)
            sel = np.flatnonzero(sources.j == j)
            w = (sources.w[sel] * np.exp(targeting * need[sources.i[sel]])
                 * supply[src_unit[sel], j])
            ev = np.flatnonzero(ev_quarter == j)
            drawn = rng.multinomial(len(ev), w / w.sum())
            src = np.repeat(sel, drawn)
            span = (sources.b[src] - sources.a[src]).astype("timedelta64[D]").astype(int)
            off = np.floor(rng.random(len(src)) * (span + 1)).astype(int)
            new_source[ev] = src
            new_days[ev] = sources.a[src] + off.astype("timedelta64[D]")
            counts[:, k] = np.bincount(sources.i[src], minlength=n_i)
        lag = np.log1p(counts[:, k - 1]) if k > 0 else np.zeros(n_i)
        for y in OUTCOMES:
            mean = means[y][:, k] + dose_coef(y, effect_scale) * lag
            if y == "safety_hazards":
                values[y][:, k] = rng.poisson(np.maximum(mean, SAFETY_MEAN_FLOOR))
            else:
                values[y][:, k] = score_value(mean + parts.noise[y][:, k])
        safety[:, k] = values["safety_hazards"][:, k]
    table = activity_table(events.assign(
        date=pd.to_datetime(new_days),
        institution_id=parts.ids[sources.i[new_source]],
        unit_id=sources.unit[new_source],
    ))
    return table, counts, safety


def truth_entry(targeting: float, supply_sd: float, effect_scale: float) -> dict[str, Any]:
    """What ``TRUTH.json`` says of the targeting world."""
    return {
        "strength": float(targeting),
        "supply_sd": float(supply_sd),
        "effect_scale": float(effect_scale),
        "stream": TARGETING_STREAM,
        "description": (
            "Activities from the programme start on are re-allocated quarter by quarter: each "
            "source's weight (unit, township team or county leaders' team at an institution) is "
            "multiplied by exp(strength * need) and by the unit's supply shock "
            "exp(supply_sd * z - supply_sd^2 / 2), z ~ N(0, 1) per unit and quarter. need is the "
            "institution's previous-quarter shortfall: the mean over the four targets of "
            "-direction * (y - county-quarter mean) / SD across assessed institutions, scaled to "
            "unit SD (0 when not assessed). Each quarter's events of the demo world (category, "
            "value, participants, beneficiaries) are dealt to the sources by one multinomial "
            "draw, so the calibrated totals are unchanged. Dose effects are effect_scale times "
            "OUTCOME_MODEL's; dose_response.effects states the planted values."
        ),
    }
