"""The simulated counties behind every Monte Carlo in ``validation/``: one home for the worlds.

A world is a panel shaped like the demo's reform data: counties adopting county management at
staggered dates (or never), institutions inside counties, 24 quarters (2019Q1–2024Q4). The
untreated outcome of institution ``i`` in county ``c`` in quarter ``t`` is

    70 + α_i + trend_t + shock_ct + ε_it        (+ drift_c · t, + effect(g_c, t) where asked)

with institution effects ``α_i ~ N(0, 4²)``, a common trend ``0.12 t`` plus quarter noise
``N(0, 0.5²)``, county × quarter AR(1) shocks (ρ = 0.5, stationary standard deviation 1.1, or 2.2
for "noisy" never-treated counties — the shocks that make few-cluster inference hard),
idiosyncratic noise ``ε ~ N(0, 2.5²)`` and 4% of assessments missing at random.

:class:`Design` says how counties differ: the adoption date of each county, the number of
institutions of the adopting counties (shuffled in every world, or fixed), the never-treated
counties' sizes and shock scale. :data:`SCENARIOS` holds the designs the Monte Carlo uses;
:func:`scaled` replicates a design's counties to study inference with more clusters.

Random numbers are drawn in one fixed order — quarter noise, the shuffle of sizes (when
shuffled), then county by county its shocks and institution by institution its effect, noise and
missingness — so that a world is a deterministic function of its generator's seed, and the same
seed gives the same shocks to every method that is compared on it (common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

T0 = 2019 * 4  # 2019Q1 as year * 4 + quarter - 1
N_T = 24

#: the demo's cohort structure: one county adopting in 2020Q3, two each in 2021Q1, 2021Q3,
#: 2022Q1 and 2022Q3, two never
DEMO_COHORTS: tuple[float, ...] = (
    (2020 * 4 + 2,) + (2021 * 4,) * 2 + (2021 * 4 + 2,) * 2 + (2022 * 4,) * 2
    + (2022 * 4 + 2,) * 2 + (np.nan,) * 2)

#: nine cohorts of one county each, a quarter apart (2020Q3 … 2022Q3), two never
ONE_COUNTY_COHORTS: tuple[float, ...] = tuple(2020 * 4 + 2 + k for k in range(9)) + (np.nan,) * 2

#: sizes of the nine adopting counties when counties differ: 2 to 14 institutions
TREATED_SIZES: tuple[int, ...] = tuple(int(x) for x in np.round(np.geomspace(2, 14, 9)))

#: a planted effect: ``effect(g, t)`` for cohort ``g`` (NaN: never treated) in quarter ``t``
Effect = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Design:
    """How the counties of a world differ.

    ``treated_sizes`` are the adopting counties' institution counts (in cohort order, or drawn in
    a random order when ``shuffle``); ``never_sizes`` the never-treated counties'; a tuple of
    two sizes ``(a, b)`` with ``alternate=True`` gives county ``c`` ``(a, b)[c % 2]`` institutions
    (the equal-sized worlds of the first Monte Carlo). ``never_sd`` scales the never-treated
    counties' shocks; ``effect`` is planted on the adopting counties from adoption on."""

    name: str
    cohorts: tuple[float, ...] = DEMO_COHORTS
    treated_sizes: tuple[int, ...] = TREATED_SIZES
    never_sizes: tuple[int, ...] = (5, 6)
    shuffle: bool = True
    alternate: bool = False
    never_sd: float = 1.1
    effect: Effect | None = field(default=None, compare=False)
    description: str = ""


def heterogeneous_effect(g: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Effects that differ by cohort and grow with event time: ``s_g · min(e + 1, 3)`` for event
    time ``e = t − g ≥ 0``, with ``s_g`` = 0.5, 1, 1.5, 2, 2.5 for the demo's five cohorts in
    adoption order (the latest cohorts gain most)."""
    g = np.asarray(g, dtype=float)
    t = np.asarray(t, dtype=float)
    cohorts = sorted({c for c in DEMO_COHORTS if np.isfinite(c)})
    scale = np.zeros_like(g)
    for i, c in enumerate(cohorts):
        scale = np.where(g == c, 0.5 * (i + 1), scale)
    e = t - g
    return np.where(np.isfinite(g) & (e >= 0), scale * np.minimum(e + 1.0, 3.0), 0.0)


SCENARIOS: dict[str, Design] = {d.name: d for d in (
    Design("equal", treated_sizes=(5, 6), never_sizes=(5, 6), shuffle=False, alternate=True,
           description="5–6 institutions in every county (the first Monte Carlo's easy worlds)"),
    Design("unequal", description="adopting counties of 2–14 institutions, never-treated 5 and 6"),
    Design("small_never", never_sizes=(2, 2),
           description="as unequal, never-treated counties of 2 institutions each"),
    Design("large_never", never_sizes=(20, 20),
           description="as unequal, never-treated counties of 20 institutions each "
                       "(the demo's urban districts)"),
    Design("noisy_never", never_sd=2.2,
           description="as unequal, never-treated counties' shocks twice as variable"),
    Design("one_county_cohorts", cohorts=ONE_COUNTY_COHORTS,
           description="nine cohorts of one county each, a quarter apart; sizes as unequal"),
    Design("heterogeneous", effect=heterogeneous_effect,
           description="as unequal, with effects that differ by cohort (×0.5 … ×2.5) and grow "
                       "with event time (1, 2, 3, 3, …)"),
)}


def scaled(design: Design, n: int) -> Design:
    """``design`` with its counties replicated ``n`` times: ``11 n`` counties for the demo's
    structure, every cohort ``n`` times as large (the adoption dates unchanged), the adopting
    counties' sizes repeated ``n`` times (so the skew stays: 2 to 14 institutions, geometric),
    ``n`` copies of each never-treated county with its size and shock scale. ``scaled(d, 1)`` is
    ``d`` itself, so every existing world is unchanged."""
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n={n!r}: the number of copies is a positive integer")
    if n == 1:
        return design
    return replace(design, cohorts=design.cohorts * n,
                   treated_sizes=design.treated_sizes if design.alternate
                   else design.treated_sizes * n,
                   never_sizes=design.never_sizes if design.alternate
                   else design.never_sizes * n,
                   description=f"{design.description}; the counties replicated {n} times")


def world(rng: np.random.Generator, design: Design, *,
          drift: Callable[[float], float] | None = None) -> pd.DataFrame:
    """One world of ``design``: columns ``institution_id``, ``county_code``, ``t``, ``y``,
    ``adoption_t`` (NaN: never). ``drift(g)`` adds a county trend of that many points per quarter
    to a county adopting in ``g`` (a violation of parallel trends)."""
    ts = T0 + np.arange(N_T)
    trend = 0.12 * np.arange(N_T) + rng.normal(0, 0.5, N_T)
    sizes = list(rng.permutation(design.treated_sizes)) if design.shuffle \
        else list(design.treated_sizes)
    never = list(design.never_sizes)
    # the columns institution by institution, assembled once at the end (a data frame per
    # institution cost most of a world's time with hundreds of counties)
    cols: dict[str, list] = {"institution_id": [], "county_code": [], "t": [], "y": [],
                             "adoption_t": []}
    for c, g in enumerate(design.cohorts):
        treated = bool(np.isfinite(g))
        if design.alternate:
            n_inst = (design.treated_sizes if treated else design.never_sizes)[c % 2]
        else:
            n_inst = sizes.pop() if treated else never.pop(0)
        sd = 1.1 if treated else design.never_sd
        shock = np.empty(N_T)
        shock[0] = rng.normal(0, sd)
        for j in range(1, N_T):
            shock[j] = 0.5 * shock[j - 1] + np.sqrt(0.75) * rng.normal(0, sd)
        extra = np.zeros(N_T)
        if drift is not None:
            extra = extra + drift(g) * (ts - T0)
        if design.effect is not None:
            extra = extra + design.effect(np.full(N_T, g), ts)
        for i in range(n_inst):
            y = 70 + rng.normal(0, 4.0) + trend + shock + extra + rng.normal(0, 2.5, N_T)
            keep = rng.random(N_T) >= 0.04
            k = int(keep.sum())
            cols["institution_id"] += [f"c{c}i{i}"] * k
            cols["county_code"] += [f"C{c:02d}"] * k
            cols["t"].append(ts[keep])
            cols["y"].append(y[keep])
            cols["adoption_t"].append(np.full(k, g))
    for name in ("t", "y", "adoption_t"):
        cols[name] = np.concatenate(cols[name])
    return pd.DataFrame(cols)
