"""The within transformation equals the dummy-variable route (statsmodels OLS with C() dummies)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis.errors import SpecificationError
from analysis.within import demean, factorize, fe_ols, fe_rank


def _panel(seed: int, n_inst: int = 25, n_per: int = 8, drop: float = 0.25) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    inst = np.repeat(np.arange(n_inst), n_per)
    per = np.tile(np.arange(n_per), n_inst)
    county = inst % 5
    a = rng.normal(0, 2, n_inst)[inst]
    b = rng.normal(0, 1, n_per)[per]
    x1 = rng.poisson(3 + a.clip(-2, 2), len(inst)).astype(float)
    x2 = rng.normal(size=len(inst)) + 0.3 * a
    y = 1.5 * np.log1p(x1) - 0.7 * x2 + a + b + rng.normal(size=len(inst))
    df = pd.DataFrame({"institution_id": [f"i{i:03d}" for i in inst], "period": [f"p{p}" for p in per],
                       "county_code": [f"c{c}" for c in county], "lx": np.log1p(x1), "x2": x2, "y": y})
    keep = rng.random(len(df)) > drop  # unbalanced
    return df[keep].reset_index(drop=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("cluster", ["institution_id", "county_code"])
def test_two_way_within_equals_dummies(seed: int, cluster: str) -> None:
    df = _panel(seed)
    res = fe_ols(df, y="y", x=["lx", "x2"], fe=["institution_id", "period"], cluster=cluster)
    sm = smf.ols("y ~ lx + x2 + C(institution_id) + C(period)", data=df).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(df[cluster])[0]}
    )
    np.testing.assert_allclose(res.coef, sm.params[["lx", "x2"]].to_numpy(), atol=1e-8, rtol=0)
    np.testing.assert_allclose(res.std_error, sm.bse[["lx", "x2"]].to_numpy(), atol=1e-8, rtol=0)
    np.testing.assert_allclose(res.resid, sm.resid.to_numpy(), atol=1e-8, rtol=0)
    assert res.n_params == sm.model.exog.shape[1]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("fe", [("county_code",), ("institution_id", "period")])
def test_weighted_within_equals_wls_with_dummies(seed: int, fe: tuple[str, ...]) -> None:
    """Weights: weighted demeaning and rows scaled by √w give statsmodels WLS with the dummies
    (coefficients, CR1 errors, whitened residuals), with some rows of weight zero."""
    df = _panel(seed)
    rng = np.random.default_rng(seed + 10)
    df["w"] = rng.gamma(2.0, 10.0, len(df))
    df.loc[rng.random(len(df)) < 0.05, "w"] = 0.0
    res = fe_ols(df, y="y", x=["lx", "x2"], fe=list(fe), cluster="county_code", weights="w")
    rhs = " + ".join(["lx", "x2", *(f"C({f})" for f in fe)])
    sm = smf.wls(f"y ~ {rhs}", data=df, weights=df["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(df["county_code"])[0]})
    np.testing.assert_allclose(res.coef, sm.params[["lx", "x2"]].to_numpy(), atol=1e-8, rtol=0)
    np.testing.assert_allclose(res.std_error, sm.bse[["lx", "x2"]].to_numpy(), atol=1e-8,
                               rtol=0)
    np.testing.assert_allclose(res.resid, sm.wresid.to_numpy(), atol=1e-8, rtol=0)
    assert res.n_obs == len(df)
    with pytest.raises(SpecificationError, match="weights"):
        fe_ols(df.assign(w=-df["w"]), y="y", x=["lx"], fe=list(fe), weights="w")


def test_iid_se_equals_dummies() -> None:
    df = _panel(4)
    res = fe_ols(df, y="y", x=["lx"], fe=["institution_id", "period"])
    sm = smf.ols("y ~ lx + C(institution_id) + C(period)", data=df).fit()
    assert res.coef[0] == pytest.approx(sm.params["lx"], abs=1e-8)
    assert res.std_error[0] == pytest.approx(sm.bse["lx"], abs=1e-8)


def test_rank_counts_disconnected_components() -> None:
    # two separate blocks: institutions 0-1 seen only in periods 0-1, institutions 2-3 in 2-3
    inst = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    per = np.array([0, 1, 0, 1, 2, 3, 2, 3])
    assert fe_rank([inst, per]) == 4 + 4 - 2
    assert fe_rank([inst]) == 4


def test_demean_is_projection_and_invariant_to_row_order() -> None:
    df = _panel(5)
    codes = [factorize(df[c])[0] for c in ("institution_id", "period")]
    z = demean(df["y"].to_numpy(), codes)
    # residuals are orthogonal to each factor's dummies: group sums are zero
    for c in codes:
        assert np.abs(np.bincount(c, weights=z)).max() < 1e-8
    perm = np.random.default_rng(0).permutation(len(df))
    a = fe_ols(df, y="y", x=["lx"], fe=["institution_id", "period"], cluster="institution_id")
    b = fe_ols(df.iloc[perm], y="y", x=["lx"], fe=["institution_id", "period"], cluster="institution_id")
    assert a.coef[0] == pytest.approx(b.coef[0], abs=1e-10)
    assert a.std_error[0] == pytest.approx(b.std_error[0], abs=1e-10)


def test_absorbed_regressor_is_explained() -> None:
    df = _panel(6)
    df["county_dummy"] = (df["county_code"] == "c1").astype(float)
    with pytest.raises(SpecificationError, match="do not vary within"):
        fe_ols(df, y="y", x=["county_dummy"], fe=["institution_id"])
    with pytest.raises(SpecificationError, match="not in the data"):
        fe_ols(df, y="y", x=["nope"], fe=["institution_id"])


def test_result_object_renders() -> None:
    df = _panel(7)
    res = fe_ols(df, y="y", x=["lx", "x2"], fe=["institution_id", "period"], cluster="county_code")
    t = res.tidy()
    assert list(t["term"]) == ["lx", "x2"]
    assert "clusters" in res.summary()
    assert "<table" in res._repr_html_()
    import matplotlib

    matplotlib.use("Agg")
    ax = res.plot()
    assert ax is not None
