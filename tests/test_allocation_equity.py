"""Equity measures: two routes to each number, exact Theil decomposition, invariances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.allocation import (
    concentration_index,
    gini,
    lorenz_curve,
    theil,
    theil_decomposition,
)
from analysis.errors import SpecificationError


def brute_gini(y, w):
    y, w = np.asarray(y, float), np.asarray(w, float)
    mu = np.average(y, weights=w)
    if mu == 0:
        return 0.0
    return float(np.sum(w[:, None] * w[None, :] * np.abs(y[:, None] - y[None, :]))
                 / (2 * w.sum() ** 2 * mu))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_gini_equals_mean_absolute_difference(data):
    # subnormal values are excluded, as in the Theil test: the mean is itself subnormal and
    # w * y underflows unevenly (0.5 * 5e-324 == 0), so the sorted-sum route divides rounding
    # residue by that mean (help per resident is never within 1e-308 of zero)
    y = data.draw(st.lists(st.floats(0, 1e4, allow_nan=False, allow_subnormal=False),
                           min_size=1, max_size=30))
    w = data.draw(st.lists(st.floats(0.1, 100), min_size=len(y), max_size=len(y)))
    assert gini(y, w) == pytest.approx(brute_gini(y, w), rel=1e-9, abs=1e-12)


def test_gini_known_values():
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)
    assert gini([5, 5, 5]) == 0.0
    # integer weights are the same as repeating observations
    assert gini([1, 3], [2, 1]) == pytest.approx(gini([1, 1, 3]))


def brute_theil(y, w):
    y, w = np.asarray(y, float), np.asarray(w, float)
    mu = np.sum(w * y) / np.sum(w)
    r = y / mu
    return float(sum(wi * ri * np.log(ri) for wi, ri in zip(w, r, strict=True) if ri > 0)
                 / np.sum(w))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_theil_within_plus_between_is_total(data):
    # subnormal values are excluded: their mean underflows and y / mean overflows in both
    # routes (help per resident is never within 1e-308 of zero)
    y = data.draw(st.lists(st.floats(0, 1e4, allow_subnormal=False), min_size=2, max_size=30))
    n = len(y)
    w = data.draw(st.lists(st.floats(0.5, 50), min_size=n, max_size=n))
    g = data.draw(st.lists(st.sampled_from(["511102", "511111", "511123"]), min_size=n,
                           max_size=n))
    if sum(y) == 0:
        return
    d = theil_decomposition(y, g, w)
    assert d.within + d.between == pytest.approx(d.total, rel=1e-10, abs=1e-12)
    assert d.total == pytest.approx(brute_theil(y, w), rel=1e-10, abs=1e-12)
    # shares are shares
    assert d.groups["income_share"].sum() == pytest.approx(1.0)
    assert d.groups["weight_share"].sum() == pytest.approx(1.0)


def test_theil_decomposition_hand_example():
    # two counties with equal means: all inequality is within
    d = theil_decomposition([1, 3, 1, 3], ["a", "a", "b", "b"])
    assert d.between == pytest.approx(0.0, abs=1e-15)
    assert d.within == pytest.approx(d.total)
    # each county equal inside: all inequality is between
    d = theil_decomposition([1, 1, 3, 3], ["a", "a", "b", "b"])
    assert d.within == pytest.approx(0.0, abs=1e-15)
    assert d.total == pytest.approx(theil([1, 3]))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_concentration_index_equals_curve_area(data):
    n = data.draw(st.integers(2, 25))
    y = np.array(data.draw(st.lists(st.floats(0, 100), min_size=n, max_size=n)))
    w = np.array(data.draw(st.lists(st.floats(0.5, 20), min_size=n, max_size=n)))
    need = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n, unique=True)))
    if y.sum() == 0:
        return
    # second route: 1 − 2 × area under the concentration curve (trapezoids)
    p, c = lorenz_curve(y, w, order_by=need)
    area = np.sum(np.diff(p) * (c[1:] + c[:-1]) / 2)
    assert concentration_index(y, need, w) == pytest.approx(1 - 2 * area, abs=1e-9)


def test_concentration_sign():
    need = [0.1, 0.5, 0.9]
    assert concentration_index([0, 1, 5], need) > 0   # help goes to the needy
    assert concentration_index([5, 1, 0], need) < 0
    assert concentration_index([2, 2, 2], need) == pytest.approx(0.0, abs=1e-15)


def test_lorenz_curve_shape():
    p, L = lorenz_curve([3, 1, 2], [1, 2, 1])
    assert p[0] == L[0] == 0 and p[-1] == pytest.approx(1) and L[-1] == pytest.approx(1)
    assert np.all(np.diff(L) >= 0) and np.all(L <= p + 1e-12)


def test_invariance_to_order_and_labels():
    rng = np.random.default_rng(3)
    y, w, need = rng.gamma(2, 10, 40), rng.integers(1, 50, 40), rng.uniform(size=40)
    g = rng.choice(["a", "b", "c", "d"], 40)
    perm = rng.permutation(40)
    relabel = pd.Series(g).map({"a": "z", "b": "y", "c": "x", "d": "w"}).to_numpy()
    assert gini(y[perm], w[perm]) == pytest.approx(gini(y, w))
    assert concentration_index(y[perm], need[perm], w[perm]) == pytest.approx(
        concentration_index(y, need, w))
    d1, d2 = theil_decomposition(y, g, w), theil_decomposition(y[perm], relabel[perm], w[perm])
    assert (d1.within, d1.between) == pytest.approx((d2.within, d2.between))


def test_bad_inputs_raise_specification_error():
    with pytest.raises(SpecificationError):
        gini([1, -1])
    with pytest.raises(SpecificationError):
        gini([1, 2], [1])


def test_regression_within_route_equals_county_dummies(demo, monkeypatch):
    """Above COUNTY_DUMMIES_MAX counties the equity regression absorbs the county effects: on the
    demo both routes give the same need and sector rows (estimate, s.e., interval, p-value) and
    the within route no intercept or county rows."""
    import importlib

    from analysis.allocation.inputs import allocation_inputs, main_sectors
    from analysis.allocation.need import need_index

    eqm = importlib.import_module("analysis.allocation.equity")
    need = need_index(demo.panel, demo.tables["institutions"])
    sectors = main_sectors(demo, allocation_inputs(demo, need=need).current)
    dummies = eqm.equity(demo.panel, need.table, sectors=sectors).regression
    monkeypatch.setattr(eqm, "COUNTY_DUMMIES_MAX", 0)
    within = eqm.equity(demo.panel, need.table, sectors=sectors).regression
    assert not within["term"].str.contains("county_code|Intercept").any()
    assert set(within["term"]) >= {"need_std"} and within["term"].str.startswith("C(sector)").any()
    both = dummies.merge(within, on=["measure", "term"], suffixes=("_d", "_w"))
    assert len(both) == len(within) == 3 * within["term"].nunique()
    for col in ("estimate", "std_error", "ci_low", "ci_high", "p_value"):
        np.testing.assert_allclose(both[f"{col}_w"], both[f"{col}_d"], rtol=1e-9, atol=1e-12)
    assert (both["n_obs_w"] == both["n_obs_d"]).all()
