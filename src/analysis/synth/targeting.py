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
  to them;
* with ``persistence = ρ > 0`` (``generate(..., persistence=ρ)``, ``--persistence ρ``; 0.7 by
  default in a targeting world) the three scores share a **persistent institution shock**
  (:func:`persist`): a stationary AR(1) ``h_i,t`` with coefficient ``ρ`` and unit SD, entering
  score ``y`` as ``PERSISTENT_SD · noise_sd_y · h_i,t`` — a struggling spell (a bad manager, a
  staff shortage) lowers all three scores together and lasts about ``1/(1 − ρ)`` quarters.
  ``ρ = 0`` adds no shock: the scores' shocks are the demo world's transitory noise.

Need is measured against the county-quarter mean because a county's homes share its shocks;
help that chased county shocks would make every county-level instrument invalid too, and a county
bureau compares its own homes.

Why the persistence matters. The dose of quarter *t* is ``log1p(activities_t−1)``, and the
activities of *t − 1* follow the need of *t − 2*. Targeting on a home's *permanent* level of need
is absorbed by the institution effects. With transitory shocks only (``ρ = 0``) the shock that
drew the help is gone two quarters later; the within estimator is then biased only through the
institution mean (the dip that drew help lowers the home's mean, so later quarters look better
than the mean: an upward, mean-reversion bias of order ``1/T``, Nickell 1981). With ``ρ > 0`` the
dip persists: help goes to homes whose low scores continue (correlation ``ρ²`` two quarters on),
so the help is paired with low outcomes and the fixed-effects coefficient is biased
**downwards**. ``validation/targeting_results.md`` measures both on the environment score
(planted effect 1.5): with ``ρ = 0`` the bias is −0.02 to 0 (the upward channel is too small to
see), with ``ρ = 0.7`` it is −0.45 (κ = 0.5) to −0.55 (κ = 1).

The randomness of the re-allocation (supply shocks, multinomial draws, days, safety counts) comes
from its own stream, ``numpy.random.default_rng([seed, TARGETING_STREAM])``, the persistent shock
from ``default_rng([seed, TARGETING_STREAM, PERSISTENT_STREAM])``; the world's own stream is drawn
exactly as in the demo world up to the safety counts, which are no longer drawn from it. A world
with ``ρ = 0`` is the targeting world as it was before the persistent shock existed.

References: Ashenfelter (1978) *Rev. Econ. Stat.* 60(1) (the pre-programme dip); Nickell (1981)
*Econometrica* 49(6) (the within estimator's ``O(1/T)`` bias with feedback); Wooldridge (2010),
§10.7 (strict exogeneity).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..domain import DIRECTION, OUTCOMES
from .design import OUTCOME_MODEL, SAFETY_MEAN_FLOOR
from .events import Sources, activity_table
from .outcomes import OutcomeParts, dose_coef, score_value

#: second element of the re-allocation stream's seed, ``default_rng([seed, TARGETING_STREAM])``
TARGETING_STREAM = 1212

#: third element of the persistent shock's stream, ``default_rng([seed, TARGETING_STREAM,
#: PERSISTENT_STREAM])`` (its own stream: the re-allocation draws do not depend on it)
PERSISTENT_STREAM = 1
#: AR(1) coefficient of the persistent institution shock in a targeting world when none is given
#: (``generate(..., persistence=None)``); the demo world has no such shock
DEFAULT_PERSISTENCE = 0.7
#: marginal SD of the persistent shock in each score, in units of the score's ``noise_sd``
PERSISTENT_SD = 2.0

__all__ = ["DEFAULT_PERSISTENCE", "PERSISTENT_SD", "PERSISTENT_STREAM", "TARGETING_STREAM",
           "persist", "retarget", "truth_entry"]


def persist(parts: OutcomeParts, persistence: float, seed: int) -> OutcomeParts:
    """The outcome parts with the **persistent institution shock** added to the three scores.

    ``h_i,t`` is a stationary AR(1) per institution, ``h_i,0 = η_i,0`` and ``h_i,t = ρ·h_i,t−1 +
    √(1 − ρ²)·η_i,t`` with ``ρ = persistence``, ``η ~ N(0, 1)`` from its own stream
    ``default_rng([seed, TARGETING_STREAM, PERSISTENT_STREAM])``. It enters every score ``y`` as
    ``PERSISTENT_SD · noise_sd_y · h_i,t`` (a home's struggling spell lowers all three scores
    together, by twice their transitory noise SD per SD of ``h``; the safety-hazard counts are
    not touched). ``ρ = 0`` adds nothing: the scores keep the demo world's transitory noise
    only, and ``parts`` is returned unchanged.
    """
    if persistence == 0:
        return parts
    rho = float(persistence)
    eta = np.random.default_rng([seed, TARGETING_STREAM, PERSISTENT_STREAM]).standard_normal(
        (len(parts.ids), len(parts.ts)))
    h = np.empty_like(eta)
    h[:, 0] = eta[:, 0]
    scale = np.sqrt(1.0 - rho**2)
    for k in range(1, eta.shape[1]):
        h[:, k] = rho * h[:, k - 1] + scale * eta[:, k]
    noise = {y: e + PERSISTENT_SD * OUTCOME_MODEL[y]["noise_sd"] * h
             for y, e in parts.noise.items()}
    return replace(parts, noise=noise)


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


def truth_entry(targeting: float, supply_sd: float, effect_scale: float,
                persistence: float = 0.0) -> dict[str, Any]:
    """What ``TRUTH.json`` says of the targeting world."""
    return {
        "strength": float(targeting),
        "supply_sd": float(supply_sd),
        "effect_scale": float(effect_scale),
        "persistence": float(persistence),
        "stream": TARGETING_STREAM,
        "persistent_stream": PERSISTENT_STREAM,
        "persistent_sd": PERSISTENT_SD,
        "description": (
            "Activities from the programme start on are re-allocated quarter by quarter: each "
            "source's weight (unit, township team or county leaders' team at an institution) is "
            "multiplied by exp(strength * need) and by the unit's supply shock "
            "exp(supply_sd * z - supply_sd^2 / 2), z ~ N(0, 1) per unit and quarter. need is the "
            "institution's previous-quarter shortfall: the mean over the four targets of "
            "-direction * (y - county-quarter mean) / SD across assessed institutions, scaled to "
            "unit SD (0 when not assessed). Each quarter's events of the demo world (category, "
            "value, participants, beneficiaries) are dealt to the sources by one multinomial "
            "draw, so the calibrated totals are unchanged. With persistence > 0 the three scores "
            "share a persistent institution shock h: AR(1) with coefficient persistence and unit "
            "marginal SD, h_t = persistence * h_t-1 + sqrt(1 - persistence^2) * eta_t, eta ~ "
            "N(0, 1) from the stream [seed, stream, persistent_stream], entering score y as "
            "persistent_sd * noise_sd_y * h (a struggling spell lowers all three scores and "
            "lasts); 0: no such shock, transitory noise only as in the demo world. Dose effects are effect_scale times OUTCOME_MODEL's; dose_response.effects "
            "states the planted values."
        ),
    }
