"""Romano–Wolf step-down adjusted p-values (analysis.inference.stepdown).

Second route: the closure principle — the adjusted p-value of a hypothesis is the largest max-t
p-value over every intersection of hypotheses that contains it (Romano & Wolf 2005, §3; the
step-down is its shortcut), computed here by brute force over all subsets. Then monotonicity,
Holm against statsmodels, the draws' alignment check, and a small Monte Carlo of the family-wise
error rate on null worlds with few clusters (the bigger run is ``validation/multiplicity.py``).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from analysis.domain import PRIMARY_OUTCOME, SECONDARY_OUTCOMES, is_primary
from analysis.errors import SpecificationError
from analysis.inference.stepdown import NullDraws, family_adjust, holm, romano_wolf


def closure_pvalues(observed: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Adjusted p-values by closed testing with a max-t test of every intersection."""
    K, B = len(observed), draws.shape[0]
    out = np.zeros(K)
    for size in range(1, K + 1):
        for S in combinations(range(K), size):
            S = list(S)
            p = (1 + np.sum(draws[:, S].max(axis=1) >= observed[S].max())) / (B + 1)
            for k in S:
                out[k] = max(out[k], p)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_stepdown_equals_closed_testing(seed: int) -> None:
    rng = np.random.default_rng(seed)
    K, B = 5, 199
    cov = 0.5 * np.eye(K) + 0.5
    draws = np.abs(rng.multivariate_normal(np.zeros(K), cov, size=B))
    observed = np.abs(rng.normal(0, 1.6, size=K))
    np.testing.assert_allclose(romano_wolf(observed, draws), closure_pvalues(observed, draws))


def test_adjusted_at_least_raw_and_monotone() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        K, B = int(rng.integers(2, 7)), 99
        draws = np.abs(rng.standard_t(4, size=(B, K)))
        observed = np.abs(rng.normal(0, 2, size=K))
        adj = romano_wolf(observed, draws)
        raw = (1 + (draws >= observed[None, :]).sum(0)) / (B + 1)
        assert (adj >= raw - 1e-15).all()
        assert (adj <= 1).all() and (adj >= 1 / (B + 1)).all()
        order = np.argsort(-observed)  # a larger statistic never gets a larger adjusted p-value
        assert (np.diff(adj[order]) >= -1e-15).all()


def test_single_hypothesis_is_the_raw_pvalue_and_nan_left_out() -> None:
    rng = np.random.default_rng(3)
    draws = np.abs(rng.normal(size=(99, 3)))
    obs = np.array([1.5, np.nan, 0.4])
    adj = romano_wolf(obs, draws)
    assert np.isnan(adj[1])
    np.testing.assert_allclose(adj[[0, 2]], romano_wolf(obs[[0, 2]], draws[:, [0, 2]]))
    one = romano_wolf(obs[:1], draws[:, :1])[0]
    assert one == pytest.approx((1 + np.sum(draws[:, 0] >= 1.5)) / 100)


def test_holm_matches_statsmodels() -> None:
    rng = np.random.default_rng(11)
    for _ in range(20):
        p = rng.uniform(0, 0.2, size=int(rng.integers(1, 8)))
        np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1])
    assert np.isnan(holm(np.array([0.01, np.nan]))[1])


def test_family_refuses_draws_that_are_not_joint() -> None:
    d = np.abs(np.random.default_rng(0).normal(size=99))
    a = NullDraws(2.0, d, ("wcr", ("a", "b"), 1), "wild_bootstrap")
    b = NullDraws(1.0, d, ("wcr", ("a", "b"), 2), "wild_bootstrap")
    with pytest.raises(SpecificationError, match="not those"):
        family_adjust({"x": a, "y": b})
    out = family_adjust({"x": a, "y": None})
    assert np.isnan(out["y"]) and out["x"] == pytest.approx(a.p_value)


def test_primary_outcome_vocabulary() -> None:
    assert PRIMARY_OUTCOME == "composite" and is_primary("composite")
    assert PRIMARY_OUTCOME not in SECONDARY_OUTCOMES and len(SECONDARY_OUTCOMES) == 4
    assert not any(is_primary(o) for o in SECONDARY_OUTCOMES)


def null_world_rejections(rng: np.random.Generator, *, n_boot: int = 199,
                          rho: float = 0.5) -> tuple[bool, bool]:
    """One null world of ``validation/multiplicity.py`` (a few-cluster panel regression with four
    correlated outcomes, none affected by the dose): (any raw wild-bootstrap p ≤ 5%, any
    Romano–Wolf p ≤ 5%)."""
    raw, _, rw = _multiplicity().world(rng, rho=rho, n_boot=n_boot)
    return raw, rw


def _multiplicity():
    """The Monte Carlo's module, loaded from ``validation/`` (one home for its null worlds)."""
    import importlib.util
    import sys
    from pathlib import Path

    if "validation_multiplicity" not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "validation" / "multiplicity.py"
        spec = importlib.util.spec_from_file_location("validation_multiplicity", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
    return sys.modules["validation_multiplicity"]


def test_family_wise_error_rate_on_null_worlds() -> None:
    """300 null worlds (11 clusters, four outcomes correlated 0.5, 199 draws): the Romano–Wolf
    adjustment holds the family-wise error rate near 5% (Monte Carlo s.e. ≈ 1.3 points), while
    reading the four raw p-values rejects some true null far more often."""
    rng = np.random.default_rng(20240501)
    hits = np.array([null_world_rejections(rng) for _ in range(300)])
    raw_fwer, rw_fwer = hits.mean(0)
    assert rw_fwer <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 300)
    assert rw_fwer >= 0.01
    assert raw_fwer > rw_fwer + 0.04


def test_reform_draws_are_the_rows_draws(demo) -> None:
    """The draws the adjustment maximises over are those of the reported rows: the raw p-value
    from them equals each row's p_value, for both resampling methods."""
    from analysis.inference import aggregate
    from analysis.inference.stepdown import cs_null_draws
    from analysis.reform import reform_attgt

    for outcome in SECONDARY_OUTCOMES[:2]:
        res = reform_attgt(demo.panel, outcome=outcome)
        a = aggregate(res, "simple", n_boot=199, n_perm=199, seed=5).tidy().set_index("inference")
        for method in ("wild_bootstrap", "randomization"):
            d = cs_null_draws(res, res.spec("simple"), method, n_boot=199, n_perm=199, seed=5)
            assert d is not None and d.p_value == pytest.approx(a.loc[method, "p_value"])


@pytest.mark.parametrize("stem", ["effectiveness", "reform_aggregate"])
def test_results_carry_primary_and_adjusted_pvalues(demo, stem: str) -> None:
    t = demo.result(stem)
    assert t["primary"].dtype == bool
    assert (t["primary"] == (t["outcome"] == PRIMARY_OUTCOME)).all()
    adj = t[t["p_adjusted"].notna()]
    assert set(adj["outcome"]) == set(SECONDARY_OUTCOMES)
    assert not adj["primary"].any()
    assert (adj["p_adjusted"] >= adj["p_value"] - 1e-12).all() and (adj["p_adjusted"] <= 1).all()
    methods = {"effectiveness": {"wild_bootstrap": "romano_wolf", "analytic": "holm"},
               "reform_aggregate": {"wild_bootstrap": "romano_wolf", "randomization": "romano_wolf",
                                    "analytic": "holm"}}[stem]
    for inference, adjustment in methods.items():
        rows = adj[adj["inference"] == inference]
        assert len(rows) == 4 and set(rows["adjustment"]) == {adjustment}
    if stem == "effectiveness":
        assert set(adj["model"]) == {"dose_response"}
    else:
        assert set(adj["aggregation"]) == {"simple"}
    assert t.loc[t["p_adjusted"].isna(), "adjustment"].isna().all()
