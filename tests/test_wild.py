"""Wild cluster restricted bootstrap: brute-force equivalence, analytic SE, the one p-value
convention and test inversion, several terms from one stream, size with few clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from analysis.errors import SpecificationError
from analysis.inference.weights import webb
from analysis.inference.wild import WCRBootstrap, wild_cluster_bootstrap
from analysis.within import demean, factorize


def _few_cluster_panel(rng: np.random.Generator, beta: float = 0.0, n_county: int = 11) -> pd.DataFrame:
    """Institutions nested in counties (very unequal sizes), quarters, county-by-quarter shocks."""
    sizes = np.maximum(2, np.round(np.geomspace(2, 14, n_county))).astype(int)
    rows = []
    inst = 0
    n_per = 8
    county_x = rng.normal(size=n_county)
    for c, s in enumerate(sizes):
        cq = rng.normal(0, 1.0, n_per)  # county-by-quarter shock
        cx = rng.normal(0, 1.0, n_per) + county_x[c]  # intensity also moves by county-quarter
        for _ in range(s):
            a = rng.normal()
            for p in range(n_per):
                x = cx[p] + 0.3 * rng.normal()
                rows.append((f"c{c:02d}", f"i{inst:03d}", f"p{p}", x, beta * x + a + cq[p] + 0.5 * rng.normal()))
            inst += 1
    return pd.DataFrame(rows, columns=["county_code", "institution_id", "period", "x", "y"])


def test_fast_algebra_equals_brute_force_refits() -> None:
    rng = np.random.default_rng(11)
    df = _few_cluster_panel(rng, beta=0.4, n_county=6)
    df["z"] = rng.normal(size=len(df))
    r = 0.1
    Bsmall = 40
    W = np.random.default_rng(5).choice([-1.0, 1.0], size=(Bsmall, 6))
    # fast route: institution FE projected out, quarter dummies in X
    codes_i, _ = factorize(df["institution_id"])
    codes_p, gp = factorize(df["period"])
    D = np.eye(gp)[codes_p][:, 1:]
    X = demean(np.column_stack([df[["x", "z"]].to_numpy(), D]), [codes_i])
    yv = demean(df["y"].to_numpy(), [codes_i])
    boot = WCRBootstrap(yv, X, df["county_code"].to_numpy(), 0, W,
                        n_params=X.shape[1] + df["institution_id"].nunique())
    fast = boot.t_star(r)
    # brute force: restricted fit with dummies, regenerate y*, re-fit by statsmodels, CR1 by county
    restricted = smf.ols("I(y - r * x) ~ z + C(institution_id) + C(period)", data=df.assign(r=r)).fit()
    ccodes, _ = factorize(df["county_code"])
    slow = []
    for b in range(Bsmall):
        ystar = restricted.fittedvalues + r * df["x"] + restricted.resid * W[b, ccodes]
        fit = smf.ols("ystar ~ x + z + C(institution_id) + C(period)", data=df.assign(ystar=ystar)).fit(
            cov_type="cluster", cov_kwds={"groups": ccodes})
        slow.append((fit.params["x"] - r) / fit.bse["x"])
    np.testing.assert_allclose(fast, np.array(slow), atol=1e-8, rtol=1e-8)
    # the analytic SE is statsmodels' CR1 by county
    full = smf.ols("y ~ x + z + C(institution_id) + C(period)", data=df).fit(
        cov_type="cluster", cov_kwds={"groups": ccodes})
    assert boot.estimate == pytest.approx(full.params["x"], abs=1e-8)
    assert boot.se == pytest.approx(full.bse["x"], abs=1e-8)


def test_interval_is_test_inversion() -> None:
    rng = np.random.default_rng(3)
    df = _few_cluster_panel(rng, beta=0.5)
    res = wild_cluster_bootstrap(df, y="y", x=["x"], term="x", cluster="county_code",
                                 fe="institution_id", dummies=["period"], n_boot=999, seed=1)
    row = res.row()
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    # at the bounds the p-value crosses alpha (rejected when p <= alpha): just inside is not
    # rejected, just outside is
    codes_i, _ = factorize(df["institution_id"])
    codes_p, gp = factorize(df["period"])
    X = demean(np.column_stack([df[["x"]].to_numpy(), np.eye(gp)[codes_p][:, 1:]]), [codes_i])
    W = webb(np.random.default_rng(1), 11, 999)
    boot = WCRBootstrap(demean(df["y"].to_numpy(), [codes_i]), X, df["county_code"].to_numpy(), 0, W)
    eps = 1e-4 * row["std_error"]
    assert boot.p_value(row["ci_high"] - eps) > 0.05 >= boot.p_value(row["ci_high"] + eps)
    assert boot.p_value(row["ci_low"] + eps) > 0.05 >= boot.p_value(row["ci_low"] - eps)
    # the p-value is (1 + #{|t*| >= |t|}) / (B + 1) of the same draws
    hits = np.sum(np.abs(boot.t_star(0.0)) >= abs(boot.t_stat(0.0)) - 1e-12)
    assert row["p_value"] == (1 + hits) / (999 + 1)
    assert "Few clusters" in res.summary()


def test_size_under_true_null_with_eleven_clusters() -> None:
    """Seeded simulation: WCR holds its size; the analytic CR1 normal test over-rejects."""
    master = np.random.default_rng(20240601)
    reps, B = 400, 199
    rej_boot = rej_cr1 = 0
    for _ in range(reps):
        df = _few_cluster_panel(master)
        codes_i, _ = factorize(df["institution_id"])
        codes_p, gp = factorize(df["period"])
        X = demean(np.column_stack([df[["x"]].to_numpy(), np.eye(gp)[codes_p][:, 1:]]), [codes_i])
        yv = demean(df["y"].to_numpy(), [codes_i])
        W = webb(master, 11, B)
        boot = WCRBootstrap(yv, X, df["county_code"].to_numpy(), 0, W)
        rej_boot += boot.p_value(0.0) < 0.05
        rej_cr1 += 2 * stats.norm.sf(abs(boot.t_stat(0.0))) < 0.05
    rate_boot, rate_cr1 = rej_boot / reps, rej_cr1 / reps
    print(f"rejection at 5%: WCR {rate_boot:.3f}, analytic CR1 {rate_cr1:.3f}")
    assert 0.01 <= rate_boot <= 0.10, rate_boot
    assert rate_cr1 > rate_boot + 0.03, (rate_cr1, rate_boot)


def test_bad_specifications_are_explained() -> None:
    df = _few_cluster_panel(np.random.default_rng(0))
    with pytest.raises(SpecificationError, match="seed="):
        wild_cluster_bootstrap(df, y="y", x=["x"], term="x", cluster="county_code",
                               seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="not nested"):
        wild_cluster_bootstrap(df, y="y", x=["x"], term="x", cluster="period", fe="institution_id")
    with pytest.raises(SpecificationError, match="weights="):
        wild_cluster_bootstrap(df, y="y", x=["x"], term="x", cluster="county_code",
                               weights="mammen")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="term='z'"):
        wild_cluster_bootstrap(df, y="y", x=["x"], term=["x", "z"], cluster="county_code")


def test_several_terms_draw_in_order_from_one_stream() -> None:
    """Testing terms together equals testing each with the draws that follow the previous
    term's in one ``default_rng(seed)`` stream (the first term: exactly its single-term test)."""
    rng = np.random.default_rng(7)
    df = _few_cluster_panel(rng, beta=0.3)
    df["z"] = rng.normal(size=len(df)) + 0.2 * df["x"]
    kw = dict(y="y", x=["x", "z"], cluster="county_code", fe="institution_id",
              dummies=["period"], n_boot=199, seed=5)
    both = wild_cluster_bootstrap(df, term=["x", "z"], **kw).tidy().set_index("term")
    first = wild_cluster_bootstrap(df, term="x", **kw).row()
    assert both.loc["x", "p_value"] == first["p_value"]
    assert both.loc["x", "ci_low"] == first["ci_low"]
    codes_i, _ = factorize(df["institution_id"])
    codes_p, gp = factorize(df["period"])
    X = demean(np.column_stack([df[["x", "z"]].to_numpy(), np.eye(gp)[codes_p][:, 1:]]),
               [codes_i])
    stream = np.random.default_rng(5)
    webb(stream, 11, 199)  # the first term's draws
    boot = WCRBootstrap(demean(df["y"].to_numpy(), [codes_i]), X, df["county_code"].to_numpy(), 1,
                        webb(stream, 11, 199), n_params=X.shape[1] + df["institution_id"].nunique())
    assert both.loc["z", "p_value"] == boot.p_value(0.0)
