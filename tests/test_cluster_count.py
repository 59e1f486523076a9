"""The cluster-count Monte Carlo (``validation/cluster_count.py``): its core function on a few
worlds with 22 counties, the threshold rule, and the simulated worlds it scales
(``validation/worlds.py``): the existing scenarios' worlds are byte for byte those every other
Monte Carlo of ``validation/`` was run on."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

VALIDATION = Path(__file__).resolve().parents[1] / "validation"


def _load(name: str):
    key = f"validation_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, VALIDATION / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[key] = mod
        spec.loader.exec_module(mod)
    return sys.modules[key]


@pytest.fixture(scope="module")
def cc():
    return _load("cluster_count")


@pytest.fixture(scope="module")
def worlds(cc):
    return sys.modules["worlds"]  # the module cluster_count imports: one home for the worlds


def _hash(df: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for c in df.columns:
        v = df[c].to_numpy()
        h.update(c.encode())
        h.update("\x00".join(v).encode() if v.dtype == object
                 else np.ascontiguousarray(v).tobytes())
    return h.hexdigest()


#: sha256 of each scenario's world from the stream [20261130, 0] and [1, 3], taken before
#: ``worlds.scaled`` was added
WORLD_HASHES = {
    ("equal", 0): "54fe92b1cb75ee298206d65aaefa5f5b1f683a8313159f189fcc1df2ddce5978",
    ("equal", 1): "ed8f4c3292a8d14b0d0e59c9a2584cb51f844040c3bfa9454b587e836840b2e6",
    ("unequal", 0): "c0e1cfa9a5b8557753b3744fde4667cb81a26b2155b9a4c59f87511371427800",
    ("unequal", 1): "1117d3a7f9b1fe315b3e96567ce254076b5b1a4ba05367fc3a7fe37b1f6ca155",
    ("small_never", 0): "b155e85ffb412439fa118f63ae0c9f27aec186cbdc091951422b658f497044d2",
    ("small_never", 1): "5f2560076af722f4e7cea6a4dd85c6bc2a5229c0afb0a451083e737cb0836e33",
    ("large_never", 0): "6bf5d6efecda2729963628b4d45bfe97d354cd88d89ed6fb2a607b872ae198a8",
    ("large_never", 1): "2c06bb56c9269fc8e449fc2ec4d7816eaaa5372fc437a72719827662568ee4ce",
    ("noisy_never", 0): "44c6199ea444aba8630ccbb860b1dc5b69037537215cc598d4ce7dfc61f27a91",
    ("noisy_never", 1): "cf491c339d2efc07f0985a2ceaabd2af6d86d4bf41b82dd16bfb4fd12a1f67af",
    ("one_county_cohorts", 0): "a0dc75ea65c360b3fd4d387952d1206c91c3afa5afd19f0eddf671473e84ea65",
    ("one_county_cohorts", 1): "6092a9f52d014fc6a076d644224a6c434a5f5c462e8ad189241e76d5371cb767",
    ("heterogeneous", 0): "6023b74d9782dfc28a026429fe681e11d06f7ffb4b2f558ee0f1eacffa5088d0",
    ("heterogeneous", 1): "62a3ada0335ec589834a6f7561db3cb613ff0eb0a2fecef8beb97cba3f453018",
}
STREAMS = ([20261130, 0], [1, 3])


@pytest.mark.parametrize("scenario", ["equal", "unequal", "small_never", "large_never",
                                      "noisy_never", "one_county_cohorts", "heterogeneous"])
def test_existing_worlds_byte_identical(worlds, scenario):
    design = worlds.SCENARIOS[scenario]
    assert worlds.scaled(design, 1) is design
    for i, stream in enumerate(STREAMS):
        d = worlds.world(np.random.default_rng(stream), worlds.scaled(design, 1))
        assert _hash(d) == WORLD_HASHES[(scenario, i)], (scenario, stream)


def test_scaled_design_keeps_the_structure(worlds):
    base = worlds.SCENARIOS["large_never"]
    d4 = worlds.scaled(base, 4)
    assert len(d4.cohorts) == 44
    assert sorted(d4.treated_sizes) == sorted(base.treated_sizes * 4)
    assert min(d4.treated_sizes) == 2 and max(d4.treated_sizes) == 14
    assert d4.never_sizes == (20, 20) * 4 and d4.never_sd == base.never_sd
    w = worlds.world(np.random.default_rng([5, 5]), d4)
    per = w.groupby("county_code").agg(g=("adoption_t", "first"),
                                       n=("institution_id", "nunique"))
    assert len(per) == 44
    assert per["g"].isna().sum() == 8 and (per.loc[per["g"].isna(), "n"] == 20).all()
    # every cohort four times as large as in the 11-county design
    base_counts = pd.Series(base.cohorts).value_counts()
    assert (per["g"].value_counts().sort_index() == 4 * base_counts.sort_index()).all()
    with pytest.raises(ValueError):
        worlds.scaled(base, 0)


def test_core_function_smoke_g22(cc):
    rows = [x for rep in range(3) for x in cc.one(rep, 20261130, "unequal", 2, "analytic")]
    df = pd.DataFrame(rows)
    assert list(df.columns) == list(cc.COLUMNS)
    assert len(df) == 3 * 3 * 2  # worlds × aggregates × (analytic, analytic normal)
    assert set(df["G"]) == {22} and set(df["copies"]) == {2}
    assert set(df["aggregate"]) == {"simple", "dynamic_balanced", "dynamic"}
    assert set(df["method"]) == {"analytic", "analytic normal"}
    assert df["reject"].dtype == bool
    assert (df["reject"] == (df["p0"] <= 0.05)).all()
    assert np.isfinite(df[["att", "se", "ci_low", "ci_high", "p0"]].to_numpy()).all()
    assert (df["truth"] == 0).all()
    # the analytic interval is the t(G − 1) interval, the reference row the normal one
    a = df[df["method"] == "analytic"]
    np.testing.assert_allclose(a["ci_high"] - a["att"], stats.t.ppf(0.975, 21) * a["se"])
    n = df[df["method"] == "analytic normal"]
    np.testing.assert_allclose(n["ci_high"] - n["att"], stats.norm.ppf(0.975) * n["se"])
    # the same world for the same replication: common random numbers across calls
    again = pd.DataFrame(cc.one(1, 20261130, "unequal", 2, "analytic"))
    first = df[df["rep"] == 1].reset_index(drop=True)
    np.testing.assert_array_equal(again["att"].to_numpy(), first["att"].to_numpy())
    s = cc.summarise(df)
    assert set(s["G"]) == {22} and (s["worlds"] == 3).all()
    assert s["reject"].between(0, 1).all()


def test_threshold_rule(cc):
    def summary(rates):
        return pd.DataFrame([{"G": G, "scenario": s, "aggregate": "simple",
                              "method": "analytic", "reject": p, "reject_se": 0.007}
                             for G, by in rates.items() for s, p in by.items()])

    ok, high = 0.05, 0.09
    # inside at 22 but outside again at 44: the threshold is the G from which on it holds
    s = summary({11: {"a": high, "b": ok}, 22: {"a": ok, "b": ok}, 44: {"a": ok, "b": 0.07},
                 88: {"a": ok, "b": ok}, 176: {"a": 0.04, "b": 0.06}})
    assert cc.threshold(s) == 88
    # 7% is within 1.96 Monte Carlo s.e. (0.7 points) of 6.5%
    assert cc.threshold(s, tolerance=1.96) == 22
    assert cc.threshold(summary({11: {"a": ok}, 22: {"a": high}})) is None
    assert cc.within(0.035, 0.01) and not cc.within(0.034, 0.0)
