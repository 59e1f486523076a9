"""Helper-unit contributions: partial pooling (a linear mixed model) beside the naive league table.

Each institution-quarter's outcome carries the average effect of the units paired with it that
quarter; unit effects are random (``b_u ~ N(0, σ_u²)``) and estimated by REML (Patterson &
Thompson 1971, *Biometrika* 58(3)); the shrunken estimates are BLUPs with prediction-error
intervals (Robinson 1991, *Statistical Science* 6(1); Gelman & Hill 2007, ch. 12 on partial
pooling). The naive league table is the same model with unit effects as fixed effects.

Two engines give the same answer. ``statsmodels`` fits ``MixedLM`` with institution and quarter
dummies — exact, but the dummy matrix and the dense membership matrix make it slow on a city and
impossible on a province or the nation. The default ``profiled`` engine is written out here because
no library absorbs the fixed effects of a mixed model: it maximises the same REML likelihood
profiled over σ² in one dimension through the eigendecomposition of ``Z'MZ`` (the spectral form of
Kang et al. 2008, *Genetics* 178(3), EMMA), where ``M`` removes the institution and time effects
and the controls. Everything it needs is a cross product under ``M`` — ``Z'MZ``, ``Z'My``,
``y'My`` and the controls' — and those are formed from the sparse membership matrix ``Z`` without
any dense rows × units array (:class:`_Within`): memory is O(rows + units²) per province.

A dataset of more than one province is fitted province by province (units compared within their
province, time effects per province): a units × units matrix across the nation does not fit in
memory.

Measured on a shared 2-core machine (load average 4.5 to 9 from other work; ``/usr/bin/time``,
composite outcome, quarter effects, loading the processed data included), synthetic worlds only:

* Sichuan (``synth --scale sichuan --seed 7``: 45,048 rows, 2,617 units, one province): 31–36 s
  wall, 12–14 s of CPU, 0.54 GB peak in three runs (0.39 GB of it loading the data and computing
  the composite); 7.1–7.4 s wall and 0.55 GB in two runs with ``OPENBLAS_NUM_THREADS=1``. The
  dense implementation this replaced: 142 s and 167 s wall, 67–72 s of CPU, 5.6 GB in two runs.
* the nation (``--scale national --seed 7``: 951,480 rows, 48,195 units, 31 provinces of 620 to
  2,859 units): 351 s wall, 138 s of CPU, 1.96 GB peak in one run; 43 s wall, 27 s of CPU,
  2.02 GB in one run with ``OPENBLAS_NUM_THREADS=1``. A traced run reached its peak while loading
  the data and computing the composite; no province's fit raised it.

The eigendecompositions of the provinces' ``Z'MZ`` take most of the time; on a machine whose
cores are busy with other work, OpenBLAS' own threads slow them several fold (above).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import sparse, stats

from ..domain import OutcomeOrComposite
from ..errors import SpecificationError, check_option
from ..hierarchy import province_code
from ..results import ResultMixin
from ..within import factorize, fe_rank
from .prepare import DEFAULT_CONTROLS, axis_label, tables_of, with_outcome

__all__ = ["MIN_IDENTIFIED_SHARE", "MIN_UNITS", "MixedEngine", "UnitContributionResult",
           "UnitTimeEffects", "unit_contributions", "unit_membership"]

#: how the mixed model is fitted
MixedEngine = Literal["profiled", "statsmodels"]
#: the time effects of the mixed model: one per quarter (the default) or one per county and
#: quarter (absorbs county × quarter shocks)
UnitTimeEffects = Literal["quarter", "county_quarter"]
#: a unit whose exposure keeps less than this share of its variance after the fixed effects is
#: not separable from them (its effect is not identified by the data)
MIN_IDENTIFIED_SHARE = 0.10
#: fewest helper units a mixed model is fitted to (per province)
MIN_UNITS = 5


def unit_membership(panel_rows: pd.DataFrame,
                    pairings: pd.DataFrame) -> tuple[sparse.csr_matrix, list[str]]:
    """Which helper units each institution-quarter shares its outcome among.

    Parameters
    ----------
    panel_rows : pandas.DataFrame
        Rows with ``institution_id`` and ``period`` (``"2021Q1"``).
    pairings : pandas.DataFrame
        The pairings table (``institution_id``, ``unit_id``, ``start_date``, ``end_date``).

    Returns
    -------
    Z : scipy.sparse.csr_matrix
        Rows × units, sparse: ``1/k`` for each of the ``k`` units whose pairing covers any day of
        the row's quarter, 0 (not stored) otherwise. A row has as many stored values as units
        paired with it that quarter, so memory grows with the pairings, not rows × units
        (45,048 × 2,617 doubles would be 943 MB dense). ``Z.toarray()`` is the dense matrix.
    units : list of str
        The unit ids of the columns, sorted.
    """
    n = len(panel_rows)
    periods, of_row = np.unique(panel_rows["period"].astype(str).to_numpy(), return_inverse=True)
    per = pd.PeriodIndex(periods, freq="Q")  # each quarter parsed once, not once per row
    qs = per.start_time.to_numpy()[of_row]
    qe = per.end_time.normalize().to_numpy()[of_row]
    p = pairings[["institution_id", "unit_id", "start_date", "end_date"]]
    insts = pd.Index(pd.unique(p["institution_id"]))
    p_inst = insts.get_indexer(p["institution_id"])
    r_inst = insts.get_indexer(panel_rows["institution_id"])
    # every (row, pairing of the row's institution): rows repeated once per pairing
    order = np.argsort(p_inst, kind="stable")
    counts = np.bincount(p_inst, minlength=len(insts))
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = np.flatnonzero(r_inst >= 0)
    reps = counts[r_inst[has]]
    row = np.repeat(has, reps)
    offset = np.arange(len(row)) - np.repeat(np.cumsum(reps) - reps, reps)
    pair = order[np.repeat(first[r_inst[has]], reps) + offset]
    start = pd.to_datetime(p["start_date"]).to_numpy()[pair]
    end = pd.to_datetime(p["end_date"]).to_numpy()[pair]
    cover = (start <= qe[row]) & (np.isnat(end) | (end >= qs[row]))
    row, pair = row[cover], pair[cover]
    ucode, ids = pd.factorize(p["unit_id"].astype(str), sort=True)
    used, col = np.unique(ucode[pair], return_inverse=True)  # the units paired with some row
    q = max(len(used), 1)
    cell = np.unique(row.astype(np.int64) * q + col)  # one per (row, unit)
    row, col = cell // q, cell % q
    k = np.bincount(row, minlength=n)
    Z = sparse.csr_matrix((1.0 / k[row], (row, col)), shape=(n, len(used)))
    return Z, [str(u) for u in ids[used]]


@dataclass(frozen=True)
class UnitContributionResult(ResultMixin):
    """Helper-unit effects: naive no-pooling estimates next to mixed-model shrunken estimates.

    ``tables()``: ``unit_effects`` (one row per unit, by province and then unit id; ``naive_rank``
    and ``shrunken_rank`` rank them within their province) and ``provinces`` (one row per
    province fitted: units, rows, σ_u and σ).
    """

    display_columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "unit_effects": ("unit_id", "sector", "exposure", "naive", "naive_rank", "shrunken",
                         "ci_low", "ci_high", "shrunken_rank")}

    outcome: str
    table: pd.DataFrame = field(repr=False)
    sigma_unit: float = np.nan
    sigma_resid: float = np.nan
    provinces: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    _notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Helper-unit contributions (partial pooling): {self.outcome}"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"unit_effects": self.table, "provinces": self.provinces}

    def plot(self, *, ax: Any = None, top: int = 40) -> Any:
        """Naive (grey) and shrunken (with 95% interval) unit effects, ordered by the naive ranking."""
        from ..plots import PALETTE, new_axes, safe_labels

        t = self.table.sort_values("naive").reset_index(drop=True)
        if len(t) > top:  # show the extremes of the naive ranking, where overstatement is largest
            t = pd.concat([t.head(top // 2), t.tail(top - top // 2)]).reset_index(drop=True)
        ax = new_axes(ax, figsize=(7, max(3.0, 0.16 * len(t) + 1)))
        y = np.arange(len(t))
        ax.plot(t["naive"], y, "o", color=PALETTE["other"], ms=4, label="naive (no pooling)")
        ax.errorbar(t["shrunken"], y, xerr=[t["shrunken"] - t["ci_low"], t["ci_high"] - t["shrunken"]],
                    fmt="o", ms=3, color=PALETTE["city"], capsize=2, lw=0.8,
                    label="mixed model (shrunken, 95% interval)")
        for yi, a, b in zip(y, t["naive"], t["shrunken"], strict=True):
            ax.plot([a, b], [yi, yi], color=PALETTE["other"], lw=0.5)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(y, safe_labels(t["unit_id"]), fontsize=6)
        ax.set_xlabel(axis_label(self.outcome, "unit effect on "))
        ax.set_title("Naive league table vs partial pooling")
        ax.legend(fontsize=7, loc="lower right")
        return ax


def _independent_columns(X: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Indices of a maximal set of linearly independent columns of ``X`` (pivoted QR)."""
    from scipy.linalg import qr

    _, R, piv = qr(X, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    rank = int((diag > tol * diag.max()).sum())
    return np.sort(piv[:rank])


def _tdot(a: Any, b: Any) -> np.ndarray:
    """``a'b`` as a dense array, for ``a`` and ``b`` each dense or sparse."""
    if sparse.issparse(a):
        r = a.T @ b
    elif sparse.issparse(b):
        r = (b.T @ a).T
    else:
        r = a.T @ b
    return r.toarray() if sparse.issparse(r) else np.asarray(r)


def _block_pinv(H: sparse.csr_matrix, tol: float = 1e-10) -> sparse.csr_matrix:
    """Moore–Penrose inverse of a symmetric positive semi-definite sparse matrix, block by block:
    its connected blocks (e.g. one per county with county × quarter effects) are inverted apart,
    eigenvalues below ``tol`` × the block's largest counted as zero."""
    from scipy.sparse.csgraph import connected_components

    n_comp, label = connected_components(H, directed=False)
    order = np.argsort(label, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(label, minlength=n_comp))])
    rows, cols, vals = [], [], []
    for b in range(n_comp):
        idx = order[bounds[b]:bounds[b + 1]]
        ev, V = np.linalg.eigh(H[idx][:, idx].toarray())
        keep = ev > tol * max(float(ev.max()), 0.0)
        inv = (V[:, keep] / ev[keep]) @ V[:, keep].T
        r, c = np.meshgrid(idx, idx, indexing="ij")
        rows.append(r.ravel())
        cols.append(c.ravel())
        vals.append(inv.ravel())
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=H.shape)


class _Within:
    """Cross products ``U'M_D V`` under the within transformation of institution and time effects.

    ``M_D`` is the residual maker of the dummies of both factors — what :func:`analysis.within.demean`
    computes column by column by alternating projections. Here it is written in closed form so that
    a sparse ``U`` never becomes a dense rows × columns array: with ``D₁`` the institution dummies
    (``M₁ = I − D₁(D₁'D₁)⁻¹D₁'`` is the institution demeaning) and ``T`` the time dummies,
    ``M_D = M₁ − M₁T H⁺ T'M₁`` with ``H = T'M₁T`` (Frisch–Waugh–Lovell), so
    ``U'M_D V = U'V − (D₁'U)'(D₁'D₁)⁻¹(D₁'V) − (T'M₁U)' H⁺ (T'M₁V)``. Every factor is a group sum
    of ``U`` or ``V``; ``H`` is time × time and block diagonal when the time effects nest in
    counties (county × quarter), so its pseudo-inverse is taken block by block. Cost: a few passes
    over the stored values of ``U`` and ``V``, and the size of the result.
    """

    def __init__(self, inst: np.ndarray, time: np.ndarray) -> None:
        n = len(inst)
        g1, g2 = int(inst.max()) + 1, int(time.max()) + 1
        ones, rows = np.ones(n), np.arange(n)
        self._d1t = sparse.csr_matrix((ones, (inst, rows)), shape=(g1, n))
        self._tt = sparse.csr_matrix((ones, (time, rows)), shape=(g2, n))
        self._inv_n1 = sparse.diags(1.0 / np.bincount(inst, minlength=g1))
        td = (self._tt @ self._d1t.T).tocsr()  # rows of each time effect in each institution
        self._tdn = (td @ self._inv_n1).tocsr()
        h = sparse.diags(np.bincount(time, minlength=g2).astype(float)) - self._tdn @ td.T
        self._hp = _block_pinv(sparse.csr_matrix(h))

    def sums(self, u: Any) -> tuple[Any, Any]:
        """``D₁'u`` and ``T'M₁u`` (group sums of ``u``, sparse if ``u`` is, unless ``T'M₁u`` is
        mostly non-zero: with one effect per quarter, every unit has a value in every quarter)."""
        s = self._d1t @ u
        a = self._tt @ u - self._tdn @ s
        if sparse.issparse(a) and a.nnz > 0.25 * a.shape[0] * a.shape[1]:
            a = a.toarray()
        return s, a

    def cross(self, u: Any, v: Any, su: tuple[Any, Any] | None = None,
              sv: tuple[Any, Any] | None = None) -> np.ndarray:
        """``u'M_D v`` (dense), given ``u`` and ``v`` (n × a and n × b, dense or sparse) and
        optionally their :meth:`sums`."""
        s_u, a_u = self.sums(u) if su is None else su
        s_v, a_v = self.sums(v) if sv is None else sv
        out = _tdot(u, v)
        out -= _tdot(s_u, self._inv_n1 @ s_v)
        out -= _tdot(a_u, self._hp @ a_v)
        return out


def _pinv_psd(A: np.ndarray, tol: float = 1e-12) -> tuple[np.ndarray, int]:
    """Pseudo-inverse and rank of a small symmetric positive semi-definite matrix (eigenvalues
    below ``tol`` × the largest counted as zero)."""
    ev, V = np.linalg.eigh(A)
    keep = ev > tol * max(float(ev.max(initial=0.0)), 0.0)
    return (V[:, keep] / ev[keep]) @ V[:, keep].T, int(keep.sum())


def _largest_eigenvalue(xx: np.ndarray, xz: np.ndarray, zz: np.ndarray) -> float:
    """Largest eigenvalue of ``[[xx, xz], [xz', zz]]`` (Lanczos; the matrix is not formed)."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    k, q = xz.shape
    if k + q < 50:
        full = np.block([[xx, xz], [xz.T, zz]])
        return float(np.linalg.eigvalsh(full)[-1])

    def matvec(v: np.ndarray) -> np.ndarray:
        v = np.ravel(v)
        return np.concatenate([xx @ v[:k] + xz @ v[k:], xz.T @ v[:k] + zz @ v[k:]])

    op = LinearOperator((k + q, k + q), matvec=matvec, dtype=float)
    # a fixed start vector: the same threshold on every run (ARPACK's default start is random)
    return float(eigsh(op, k=1, which="LA", tol=1e-6, v0=np.ones(k + q),
                       return_eigenvectors=False)[0])


def _profiled_reml(zmz: np.ndarray, zmy: np.ndarray, ymy: float, df_resid: int) -> dict[str, Any]:
    """Exact REML for ``y = (fixed) + Z b + e`` with ``b ~ N(0, γσ²I)``, ``e ~ N(0, σ²I)``, from
    the cross products after all fixed effects (``M``: the residual maker of every fixed
    regressor): ``Z'MZ`` (overwritten), ``Z'My``, ``y'My`` and the residual degrees of freedom
    ``n − rank(X)``.
    With ``Z'MZ = UΛU'`` and ``w = U'Z'My`` the REML log-likelihood profiled over σ² is
    ``−½[Σ log(1+γλ_j) + (n−p) log S(γ)]``, ``S(γ) = y'My − Σ w_j² γ/(1+γλ_j)``: a one-dimensional
    maximisation (Patterson & Thompson 1971; the spectral form as in Kang et al. 2008, EMMA).
    Returns the BLUPs, the diagonal of their conditional (prediction-error) covariance and the
    eigendecomposition (``eigenvalues`` clipped at zero, ``eigenvectors``) for reuse."""
    from scipy.linalg import eigh
    from scipy.optimize import brentq, minimize_scalar

    # ``zmz`` is overwritten (units² doubles spared); divide and conquer, as numpy's eigh
    lam, U = eigh(zmz, overwrite_a=True, check_finite=False, driver="evd")
    lam = np.clip(lam, 0, None)
    w = U.T @ zmy
    yy = float(ymy)

    def negll(log_g: float) -> float:
        g = np.exp(log_g)
        S = yy - float(np.sum(w**2 * g / (1 + g * lam)))
        return 0.5 * (np.sum(np.log1p(g * lam)) + df_resid * np.log(max(S, 1e-300)))

    def slope(log_g: float) -> float:  # d negll / d log γ
        g = np.exp(log_g)
        S = yy - float(np.sum(w**2 * g / (1 + g * lam)))
        dS = -float(np.sum(w**2 * g / (1 + g * lam) ** 2))
        return 0.5 * (float(np.sum(g * lam / (1 + g * lam))) + df_resid * dS / max(S, 1e-300))

    lo, hi = np.log(1e-8), np.log(1e4)
    opt = minimize_scalar(negll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    x = float(opt.x)
    # the likelihood is flat at its maximum, so its argmax is found to about the square root of
    # the rounding error; the root of its slope is found to the rounding error itself
    a, b = max(x - 1e-3, lo), min(x + 1e-3, hi)
    if slope(a) < 0 < slope(b):
        x = float(brentq(slope, a, b, xtol=1e-14, rtol=1e-15))
    g = float(np.exp(x))
    if negll(lo) <= min(opt.fun, negll(x)) + 1e-9:
        g = 0.0
    shrink = g / (1 + g * lam)
    S = yy - float(np.sum(w**2 * shrink))
    sigma2 = S / df_resid
    blup = U @ (shrink * w)
    cond_var = sigma2 * np.einsum("ij,ij,j->i", U, U, shrink)
    return {"gamma": g, "sigma2": sigma2, "sigma2_unit": g * sigma2, "blup": blup,
            "cond_var": cond_var, "eigenvalues": lam, "eigenvectors": U}


def unit_contributions(
    data: Any,
    *,
    outcome: OutcomeOrComposite = "composite",
    controls: Sequence[str] = DEFAULT_CONTROLS,
    engine: MixedEngine = "profiled",
    time_effects: UnitTimeEffects = "quarter",
    alpha: float = 0.05,
) -> UnitContributionResult:
    """Helper-unit effects by a linear mixed model with unit random effects (partial pooling).

    ``y_it = α_i + γ_t + β·log1p(activities_i,t−1) + controls·δ + Σ_u z_itu b_u + ε_it`` where
    ``z_itu = 1/k`` for each of the ``k`` units paired with institution ``i`` in quarter ``t``
    (an institution with two units gets their average effect), ``b_u ~ N(0, σ_u²)``. Institution
    and quarter effects are fixed: absorbed by the within transformation (``engine="profiled"``)
    or as dummies in ``statsmodels.MixedLM`` (one group, the unit effects as a variance
    component; ``engine="statsmodels"``). Both maximise the REML likelihood; the shrunken
    estimates are the BLUPs with intervals from their conditional variances. The naive league
    table is the same model with ``b_u`` as fixed effects (no pooling), centred. Unit effects are
    identified relative to one another only (the average unit effect is confounded with the
    programme start), so both columns are centred on zero.

    **What it identifies.** With quarter effects ``γ_t`` (the default) the model does not absorb
    county × quarter shocks (a county campaign, a county inspection round): a unit's estimate is
    its effect *plus* the shocks of the counties and quarters it works in, relative to other
    units. A unit whose pairings follow a county's calendar — the township teams, one per county,
    paired with every institution of the county from the programme start — is exactly a county ×
    post-start effect: it cannot be told apart from its county's shocks (``separable = False``;
    read no effect into it). With ``time_effects="county_quarter"`` the shocks are absorbed and
    a unit's effect comes only from differences within a county and quarter between the
    institutions it helps and those it does not; ``identified_share`` (the share of the unit's
    exposure variance left after the fixed effects) then shows how little is left for the
    township teams (about 2% on the demo). On the demo world that specification estimates the
    spread of unit effects at about half the planted one (σ_u 0.48 against 1.0 for the
    environment score, interval coverage 70%), so it is offered, not the default.

    **Province by province.** When the data hold more than one province (the first two digits of
    the county codes, :func:`analysis.hierarchy.province_code`), the model is fitted to each
    province on its own: units are compared within their province, the time effects are per
    province (``γ_pt``), σ_u and σ are estimated per province (the ``provinces`` table) and the
    estimates are centred and ranked within the province (``province_code`` column). The reason
    is memory: the fit needs a units × units matrix, and across the nation (tens of thousands of
    units) that matrix alone would take gigabytes. A unit paired in more than one province (none
    in the synthetic worlds: their units work within one prefecture) is estimated in the province
    where most of its exposure is; its exposure elsewhere is left out of the model (those rows
    count as not paired with it), and the notes say how many such units there are. A province
    with fewer than :data:`MIN_UNITS` units is not fitted (the notes name it). With one province
    (a city, a province) this is the one model of all the data; county codes that are not 6-digit
    GB/T 2260 codes (a hand-built panel; the data contract admits none) count as one province,
    ``province_code`` empty.

    Parameters
    ----------
    data : Processed
        The processed dataset (``panel`` and the pairings and units tables).
    outcome : {"environment_score", "service_score", "happiness_score", "safety_hazards", \
"composite"}
        A target or the composite index.
    controls : sequence of str
        As in :func:`~analysis.effectiveness.dose_response` (a control constant within a province
        is dropped in that province).
    engine : {"profiled", "statsmodels"}
        ``"statsmodels"`` fits ``MixedLM`` with institution and quarter dummies and a dense
        membership matrix (exact REML, several seconds on the demo city, impossible at provincial
        or national scale); ``"profiled"`` (default) absorbs the fixed effects by the within
        transformation and maximises the same REML likelihood profiled over σ² in one dimension
        via the eigendecomposition of ``Z'MZ``, computed from the sparse membership matrix (no
        rows × units array). Tests check that both engines give the same σ_u and BLUPs.
    time_effects : {"quarter", "county_quarter"}
        Fixed effects per quarter (default; county × quarter shocks stay in the unit estimates)
        or per county and quarter (absorbs them).
    alpha : float
        1 − level of the intervals of the shrunken estimates.

    Returns
    -------
    UnitContributionResult
        ``tidy()`` columns: outcome, unit_id, sector, level, exposure, naive, naive_se, shrunken,
        shrunken_se, ci_low, ci_high, naive_rank, shrunken_rank, identified_share, separable
        (``False`` for township teams and for any unit with ``identified_share`` below
        :data:`MIN_IDENTIFIED_SHARE`: not separable from county shocks; read no effect into
        it), time_effects, province_code (the province the unit was fitted in; estimates are
        centred and ranked within it). ``sigma_unit`` is the estimated SD of the true unit
        effects and ``sigma_resid`` the residual SD; with several provinces, the root mean square
        of the provinces' values weighted by their units (each province's in ``provinces``).

    References
    ----------
    Patterson, H. D., & Thompson, R. (1971). Recovery of inter-block information when block
    sizes are unequal. *Biometrika* 58(3), 545–554. Robinson, G. K. (1991). That BLUP is a good
    thing: the estimation of random effects. *Statistical Science* 6(1), 15–32. Gelman, A., & Hill, J. (2007), *Data Analysis Using
    Regression and Multilevel/Hierarchical Models*, ch. 12 (partial pooling).
    """
    check_option("engine", engine, MixedEngine)
    check_option("time_effects", time_effects, UnitTimeEffects)
    panel = getattr(data, "panel", None)
    tables = tables_of(data)
    if panel is None or "pairings" not in tables:
        raise SpecificationError("Pass the processed dataset (`load_processed(...)`): the panel and "
                                 "the pairings table are both needed.")
    d = with_outcome(panel, outcome)
    controls = [c for c in controls if c in d.columns]
    keys = ["institution_id", "county_code", "period", outcome, "activities_lag1", *controls]
    d = d[list(dict.fromkeys(keys))].dropna(subset=[outcome, "activities_lag1", *controls])
    d = d.reset_index(drop=True)
    Z, units = unit_membership(d, tables["pairings"])
    if len(units) < MIN_UNITS:
        raise SpecificationError(f"Only {len(units)} helper units are paired in the data; a mixed "
                                 f"model needs at least {MIN_UNITS}.")
    d["dose"] = np.log1p(d["activities_lag1"].to_numpy(float))
    county = d["county_code"].astype(str)
    # the province of each row; county codes that are not GB/T 2260 codes (a hand-built panel)
    # are taken as one province without a code
    gbt = all(len(c) == 6 and c.isdigit() for c in county.unique())
    prov = (county.map({c: province_code(c) for c in county.unique()}).to_numpy() if gbt
            else np.full(len(d), "", dtype=object))
    prov_of_row, provinces = pd.factorize(prov, sort=True)
    # a unit belongs to the province where most of its exposure is (ties: the first code)
    share = sparse.csr_matrix((np.ones(len(d)), (prov_of_row, np.arange(len(d)))),
                              shape=(len(provinces), len(d))) @ Z
    exposure_by_province = share.toarray()
    home = exposure_by_province.argmax(axis=0)
    spanning = (exposure_by_province > 0).sum(axis=0) > 1
    info = tables.get("units")
    sector = dict(zip(info["unit_id"], info["sector"], strict=False)) if info is not None else {}
    level = (dict(zip(info["unit_id"], info["level"], strict=False))
             if info is not None and "level" in info.columns else {})
    fits, skipped = [], []
    for p, code in enumerate(provinces):
        cols = np.flatnonzero(home == p)
        if len(cols) < MIN_UNITS:
            skipped.append(str(code))
            continue
        if len(provinces) == 1:
            d_p, z_p = d, Z
        else:
            rows = np.flatnonzero(prov_of_row == p)
            d_p, z_p = d.iloc[rows].reset_index(drop=True), Z[rows][:, cols]
        table, s2u, s2 = _fit_one(d_p, z_p, [units[c] for c in cols], outcome=outcome,
                                  controls=controls, engine=engine, time_effects=time_effects,
                                  alpha=alpha)
        table["sector"] = [sector.get(u, "") for u in table["unit_id"]]
        table["level"] = [str(level.get(u, "")) for u in table["unit_id"]]
        table["separable"] = ((table["level"] != "township")
                              & (table["identified_share"] >= MIN_IDENTIFIED_SHARE))
        table["province_code"] = str(code)
        fits.append((str(code), table, s2u, s2, len(d_p)))
    if not fits:
        raise SpecificationError(f"No province has {MIN_UNITS} helper units or more; a mixed model "
                                 f"needs at least {MIN_UNITS} units in a province.")
    table = pd.concat([f[1] for f in fits], ignore_index=True)
    by_province = pd.DataFrame({
        "province_code": [f[0] for f in fits], "units": [len(f[1]) for f in fits],
        "rows": [f[4] for f in fits],
        "sigma_unit": [float(np.sqrt(max(f[2], 0.0))) for f in fits],
        "sigma_resid": [float(np.sqrt(f[3])) for f in fits]})
    weight = by_province["units"].to_numpy(float)
    sigma_u = float(np.sqrt(np.average(by_province["sigma_unit"] ** 2, weights=weight)))
    sigma_e = float(np.sqrt(np.average(by_province["sigma_resid"] ** 2, weights=weight)))
    q = len(table)
    ratio = float(table["naive"].std() / table["shrunken"].std()) if table["shrunken"].std() > 0 else np.inf
    notes = [
        f"{q} helper units; estimated SD of true unit effects σ_u = {sigma_u:.3g}; the naive league "
        f"table's spread (SD {table['naive'].std():.3g}) is {ratio:.1f}× the shrunken one "
        f"(SD {table['shrunken'].std():.3g}).",
        "Exposure = institution-quarters covered, each shared equally among the units paired that "
        "quarter. Rank by the shrunken estimate and read its interval; most units cannot be told apart.",
        ("Fixed effects: institution and county × quarter (county shocks absorbed; unit effects "
         "from differences within a county and quarter)" if time_effects == "county_quarter" else
         "Fixed effects: institution and quarter (county × quarter shocks are NOT absorbed: a "
         "unit's estimate includes the shocks of the counties it works in)")
        + f"; {int((~table['separable']).sum())} units are not separable from county shocks "
        "(township teams, or exposure with little variation beyond the fixed effects): "
        "separable = False, read no effect into them.",
    ]
    if len(provinces) > 1:
        notes.append(
            f"{len(fits)} provinces fitted one by one (a units × units matrix across the nation "
            "does not fit in memory): units are compared within their province, time effects, "
            "σ_u and σ are per province (table provinces), estimates are centred and ranked "
            "within the province (column province_code); σ_u above is the root mean square of "
            "the provinces' values weighted by their units.")
    if spanning.any():
        outside = 1.0 - exposure_by_province.max(axis=0)[spanning].sum() \
            / exposure_by_province[:, spanning].sum()
        notes.append(
            f"{int(spanning.sum())} units are paired in more than one province; each is estimated "
            "in the province with most of its exposure, its exposure elsewhere left out "
            f"({outside:.1%} of those units' exposure).")
    if skipped:
        notes.append(f"Not fitted (fewer than {MIN_UNITS} helper units): province "
                     f"{', '.join(skipped)}.")
    return UnitContributionResult(outcome=outcome, table=table, sigma_unit=sigma_u,
                                  sigma_resid=sigma_e, provinces=by_province, _notes=tuple(notes))


def _fit_one(d: pd.DataFrame, Z: sparse.csr_matrix, units: list[str], *, outcome: str,
             controls: Sequence[str], engine: MixedEngine, time_effects: UnitTimeEffects,
             alpha: float) -> tuple[pd.DataFrame, float, float]:
    """The mixed model and the naive estimates of one province: ``d`` its rows (with ``dose``),
    ``Z`` their membership in its units. Returns the unit table (without sector, level and
    separability), σ_u² and σ²."""
    controls = [c for c in controls if d[c].nunique() > 1]
    tfe = "period"
    if time_effects == "county_quarter":
        tfe = "county_quarter"
        d = d.assign(county_quarter=d["county_code"].astype(str) + ":" + d["period"].astype(str))
    n, q = Z.shape
    yv = d[outcome].to_numpy(float)
    Xc = d[["dose", *controls]].to_numpy(float)
    k = Xc.shape[1]
    codes = [factorize(d[c])[0] for c in ("institution_id", tfe)]
    fer = fe_rank(codes)
    # every cross product under the within transformation, from the sparse Z
    w = _Within(*codes)
    sz, sx, sy = w.sums(Z), w.sums(Xc), w.sums(yv)
    zz = w.cross(Z, Z, sz, sz)
    xz, zy = w.cross(Xc, Z, sx, sz), w.cross(Z, yv, sz, sy)
    xx, xy, yy = w.cross(Xc, Xc, sx, sx), w.cross(Xc, yv, sx, sy), float(w.cross(yv, yv, sy, sy))
    del sz
    # how much of each unit's exposure varies beyond the fixed effects
    zsum = np.asarray(Z.sum(axis=0)).ravel()
    total = np.asarray(Z.multiply(Z).sum(axis=0)).ravel() - zsum**2 / n
    with np.errstate(invalid="ignore", divide="ignore"):
        identified = np.diag(zz) / total
    # the threshold of a zero eigenvalue: relative to the cross-product matrix of all k + q
    # fixed regressors of the no-pooling model, as a least-squares solver would take it
    zero = 1e-10 * _largest_eigenvalue(xx, xz, zz)
    # residualise on the remaining fixed regressors (FWL): M = M_D − X̃(X̃'X̃)⁺X̃'
    xxp, rank_x = _pinv_psd(xx)
    proj = xxp @ xz
    zz -= xz.T @ proj
    zmz, zmy, ymy = zz, zy - proj.T @ xy, yy - float(xy @ xxp @ xy)
    del proj, zz
    if engine == "statsmodels":
        blup, cond_var, sigma2_unit, sigma2 = _fit_statsmodels(d, yv, Xc, Z, units, tfe)
        lam, U = np.linalg.eigh(zmz)
        lam = np.clip(lam, 0, None)
    else:
        est = _profiled_reml(zmz, zmy, ymy, n - k - fer)
        blup, cond_var = est["blup"], est["cond_var"]
        sigma2_unit, sigma2 = est["sigma2_unit"], est["sigma2"]
        lam, U = est["eigenvalues"], est["eigenvectors"]
    se_b = np.sqrt(np.clip(cond_var, 0, None))
    # no pooling: unit effects as fixed regressors (minimum-norm least squares), centred; by FWL
    # their coefficients are (Z'MZ)⁺Z'My with covariance s²(Z'MZ)⁺, from the same eigenvectors
    keep = lam > zero
    inv = np.divide(1.0, lam, out=np.zeros_like(lam), where=keep)  # Λ⁺
    coef = U @ (inv * (U.T @ zmy))
    ss = ymy - 2 * float(coef @ zmy) + float(np.sum(lam * (U.T @ coef) ** 2))
    s2 = ss / (n - rank_x - int(keep.sum()) - fer)
    # var(P b̂) for the centring P = I − 11'/q: diag(PCP) = diag(C) − 2 C1/q + 1'C1/q²
    diag_c = np.einsum("ij,ij,j->i", U, U, inv)
    row_mean = U @ (U.sum(axis=0) * inv) / q
    del U
    naive_se = np.sqrt(np.clip(s2 * (diag_c - 2 * row_mean + row_mean.mean()), 0, None))
    naive = coef - coef.mean()
    shr = blup - blup.mean()
    z = stats.norm.ppf(1 - alpha / 2)
    table = pd.DataFrame({
        "outcome": outcome, "unit_id": units, "sector": "", "level": "", "exposure": zsum,
        "naive": naive, "naive_se": naive_se, "shrunken": shr, "shrunken_se": se_b,
        "ci_low": shr - z * se_b, "ci_high": shr + z * se_b,
    })
    table["naive_rank"] = _rank(naive)
    table["shrunken_rank"] = _rank(shr)
    table["identified_share"] = np.nan_to_num(identified, nan=0.0)
    table["separable"] = True
    table["time_effects"] = time_effects
    return table, float(sigma2_unit), float(sigma2)


def _rank(x: np.ndarray) -> np.ndarray:
    """Rank 1 = largest; estimates equal to 9 significant digits of the largest share a rank (two
    units paired with the same institutions in the same quarters: the data cannot order them, and
    rounding must not)."""
    scale = float(np.max(np.abs(x), initial=0.0)) or 1.0
    return pd.Series(np.round(x / scale, 9)).rank(ascending=False, method="min").to_numpy(int)


def _fit_statsmodels(d: pd.DataFrame, yv: np.ndarray, Xc: np.ndarray, Z: sparse.csr_matrix,
                     units: list[str], tfe: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``statsmodels.MixedLM`` with institution and time dummies and the dense membership matrix
    (the reference engine; small data only): BLUPs, their conditional variances, σ_u², σ²."""
    import warnings

    from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

    fixed = pd.get_dummies(d[["institution_id", tfe]], drop_first=True, dtype=float)
    X = np.column_stack([np.ones(len(d)), Xc, fixed.to_numpy()])
    # county × quarter dummies are collinear with institution dummies: keep a full-rank set
    X = X[:, _independent_columns(X)]
    vc = VCSpec(names=["unit"], colnames=[[[str(u) for u in units]]], mats=[[Z.toarray()]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = MixedLM(yv, X, groups=np.zeros(len(d)), exog_vc=vc).fit(reml=True)
    blup = np.asarray(fit.random_effects[0], float)
    cond = np.asarray(fit.random_effects_cov[0], float)
    return blup, np.diag(cond), float(np.asarray(fit.vcomp)[0]), float(fit.scale)
