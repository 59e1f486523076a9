"""The helper-unit mixed model at scale: sparse membership, cross products, province by province.

``unit_contributions`` forms every quantity of the mixed and the no-pooling model from cross
products of the sparse membership matrix under the within transformation, never a dense rows ×
units array. A dense reference (the implementation it replaced: a dense membership matrix,
:func:`analysis.within.demean` on every column, least squares on the demeaned columns) gives the
same numbers on the demo world; both routes share the one-dimensional REML maximisation, which
``test_effectiveness`` checks against ``statsmodels.MixedLM``. With two provinces each is fitted
on its own; a unit paired in both belongs to the one with most of its exposure.
"""

from __future__ import annotations

import tracemalloc
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import DEMO_RAW

from analysis.effectiveness import unit_contributions, unit_membership
from analysis.effectiveness.prepare import DEFAULT_CONTROLS, with_outcome
from analysis.effectiveness.units import MIN_IDENTIFIED_SHARE, _profiled_reml, _rank
from analysis.within import demean, factorize, fe_rank

ESTIMATES = ("exposure", "naive", "naive_se", "shrunken", "shrunken_se", "ci_low", "ci_high",
             "identified_share")


@pytest.fixture(scope="module")
def demo_data():
    """The demo world's tables and panel (read and derived here: no results step is needed)."""
    if not (DEMO_RAW / "institutions.csv").exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    from analysis.io.raw import read_raw
    from analysis.panel import derive_panel

    tables = read_raw(DEMO_RAW).tables
    return SimpleNamespace(tables=tables, panel=derive_panel(tables))


# -- the dense reference ---------------------------------------------------------------------
def _dense_membership(panel_rows: pd.DataFrame, pairings: pd.DataFrame):
    """The rows × units membership as a dense array (the previous implementation)."""
    per = pd.PeriodIndex(panel_rows["period"].astype(str), freq="Q")
    rows = pd.DataFrame({"institution_id": panel_rows["institution_id"].to_numpy(),
                         "row": np.arange(len(panel_rows)), "qs": per.start_time,
                         "qe": per.end_time.normalize()})
    m = rows.merge(pairings[["institution_id", "unit_id", "start_date", "end_date"]],
                   on="institution_id")
    m = m[(m["start_date"] <= m["qe"]) & (m["end_date"].isna() | (m["end_date"] >= m["qs"]))]
    m = m.drop_duplicates(["row", "unit_id"])
    units = sorted(m["unit_id"].unique())
    col = {u: i for i, u in enumerate(units)}
    Z = np.zeros((len(panel_rows), len(units)))
    Z[m["row"].to_numpy(), m["unit_id"].map(col).to_numpy()] = 1.0
    k = Z.sum(axis=1, keepdims=True)
    return np.divide(Z, k, out=np.zeros_like(Z), where=k > 0), units


def _prepared(data, outcome: str, controls=DEFAULT_CONTROLS) -> pd.DataFrame:
    d = with_outcome(data.panel, outcome)
    controls = [c for c in controls if c in d.columns]
    return d.dropna(subset=[outcome, "activities_lag1", *controls]).reset_index(drop=True)


def _dense_reference(d: pd.DataFrame, Z: np.ndarray, outcome: str, time_effects: str,
                     controls=DEFAULT_CONTROLS) -> dict:
    """The profiled engine with dense arrays: ``demean`` on the membership columns, the controls
    residualised by least squares on the demeaned columns, the no-pooling fit through the
    cross-product matrix of all demeaned regressors."""
    controls = [c for c in controls if c in d.columns and d[c].nunique() > 1]
    tfe = d["period"].astype(str)
    if time_effects == "county_quarter":
        tfe = d["county_code"].astype(str) + ":" + tfe
    codes = [factorize(d["institution_id"])[0], factorize(tfe)[0]]
    yv = d[outcome].to_numpy(float)
    Xc = np.column_stack([np.log1p(d["activities_lag1"].to_numpy(float)),
                          d[list(controls)].to_numpy(float)])
    n, q, k = len(d), Z.shape[1], Xc.shape[1]
    yt, Xt, Zt = (demean(a, codes) for a in (yv, Xc, Z))
    proj = np.linalg.lstsq(Xt, np.column_stack([yt, Zt]), rcond=None)[0]
    R = np.column_stack([yt, Zt]) - Xt @ proj
    est = _profiled_reml(R[:, 1:].T @ R[:, 1:], R[:, 1:].T @ R[:, 0], R[:, 0] @ R[:, 0],
                         n - k - fe_rank(codes))
    XZ = np.column_stack([Xt, Zt])
    ev, EV = np.linalg.eigh(XZ.T @ XZ)
    keep = ev > ev.max() * 1e-10
    pinv = (EV[:, keep] / ev[keep]) @ EV[:, keep].T
    coef = pinv @ (XZ.T @ yt)
    resid = yt - XZ @ coef
    s2 = resid @ resid / (n - int(keep.sum()) - fe_rank(codes))
    P = np.eye(q) - 1.0 / q
    se_b = np.sqrt(est["cond_var"])
    shr = est["blup"] - est["blup"].mean()
    Zc = Z - Z.mean(axis=0)
    return {"exposure": Z.sum(axis=0), "naive": P @ coef[k:],
            "naive_se": np.sqrt(np.diag(P @ pinv[k:, k:] @ P) * s2),
            "shrunken": shr, "shrunken_se": se_b,
            "ci_low": shr - 1.959963984540054 * se_b, "ci_high": shr + 1.959963984540054 * se_b,
            "identified_share": (Zt**2).sum(0) / (Zc**2).sum(0),
            "sigma_unit": np.sqrt(est["sigma2_unit"]), "sigma_resid": np.sqrt(est["sigma2"])}


def _assert_matches(table: pd.DataFrame, ref: dict, tol: float = 1e-8) -> None:
    for c in ESTIMATES:
        np.testing.assert_allclose(table[c].to_numpy(float), ref[c], rtol=0, atol=tol, err_msg=c)
    np.testing.assert_array_equal(table["naive_rank"], _rank(ref["naive"]))
    np.testing.assert_array_equal(table["shrunken_rank"], _rank(ref["shrunken"]))


# -- the tests -------------------------------------------------------------------------------------
def test_sparse_membership_equals_the_dense_one(demo_data) -> None:
    d = _prepared(demo_data, "composite")
    Z, units = unit_membership(d, demo_data.tables["pairings"])
    dense, dense_units = _dense_membership(d, demo_data.tables["pairings"])
    assert units == dense_units and Z.format == "csr" and Z.nnz == (dense > 0).sum()
    np.testing.assert_array_equal(Z.toarray(), dense)
    # the edge cases: the same unit twice in one quarter, a pairing ending on the quarter's first
    # day, one starting the day after the quarter, open-ended pairings, an unpaired institution
    rows = pd.DataFrame({"institution_id": ["A", "A", "B", "B", "C"],
                         "period": ["2021Q1", "2021Q2", "2021Q1", "2021Q2", "2021Q1"]})
    pairings = pd.DataFrame({
        "institution_id": ["A", "A", "A", "B", "B"], "unit_id": ["u1", "u1", "u2", "u2", "u3"],
        "start_date": pd.to_datetime(["2020-01-01", "2021-02-01", "2021-04-01", "2020-06-01",
                                      "2021-04-01"]),
        "end_date": pd.to_datetime(["2021-04-01", None, "2021-06-30", None, None])})
    Z, units = unit_membership(rows, pairings)
    dense, dense_units = _dense_membership(rows, pairings)
    assert units == dense_units == ["u1", "u2", "u3"]
    np.testing.assert_array_equal(Z.toarray(), dense)
    np.testing.assert_array_equal(Z.toarray()[:, 0], [1, 0.5, 0, 0, 0])


@pytest.mark.parametrize("time_effects", ["quarter", "county_quarter"])
def test_profiled_engine_equals_the_dense_reference(demo_data, time_effects) -> None:
    for outcome in ("composite", "environment_score"):
        res = unit_contributions(demo_data, outcome=outcome, time_effects=time_effects)
        t = res.tidy()
        d = _prepared(demo_data, outcome)
        Z, units = _dense_membership(d, demo_data.tables["pairings"])
        ref = _dense_reference(d, Z, outcome, time_effects)
        assert list(t["unit_id"]) == units
        _assert_matches(t, ref)
        assert res.sigma_unit == pytest.approx(ref["sigma_unit"], abs=1e-9)
        assert res.sigma_resid == pytest.approx(ref["sigma_resid"], abs=1e-9)
        # one province (Leshan's code, 51): one fit of all the data
        assert set(t["province_code"]) == {"510000"} and len(res.provinces) == 1
        assert not any("province" in n for n in res.notes)
        assert (t["separable"] == ((t["level"] != "township")
                                   & (t["identified_share"] >= MIN_IDENTIFIED_SHARE))).all()


def _relabelled(data, prefix: str, province: str, rng: np.random.Generator):
    """A copy of the demo world in another province: ids prefixed, county codes moved to
    ``province`` (two digits), outcomes given fresh noise so that the copy is not the original."""
    panel = data.panel.copy()
    tables = {name: t.copy() for name, t in data.tables.items()}
    for t in (panel, tables["pairings"], tables["units"]):
        for c in ("institution_id", "unit_id"):
            if c in t.columns:
                t[c] = prefix + t[c].astype(str)
    panel["county_code"] = province + panel["county_code"].astype(str).str[2:]
    for y in ("environment_score", "service_score", "happiness_score"):
        panel[y] = panel[y] + rng.normal(0, 2.0, len(panel))
    return SimpleNamespace(panel=panel, tables=tables)


def test_two_provinces_are_fitted_one_by_one(demo_data) -> None:
    other = _relabelled(demo_data, "B", "52", np.random.default_rng(4))
    both = SimpleNamespace(
        panel=pd.concat([demo_data.panel, other.panel], ignore_index=True),
        tables={name: pd.concat([demo_data.tables[name], other.tables[name]], ignore_index=True)
                for name in demo_data.tables})
    y = "environment_score"
    res = unit_contributions(both, outcome=y)
    t = res.tidy()
    assert list(res.provinces["province_code"]) == ["510000", "520000"]
    for code, alone in (("510000", demo_data), ("520000", other)):
        a = unit_contributions(alone, outcome=y)
        mine = t[t["province_code"] == code].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, a.tidy(), check_exact=False, rtol=0, atol=1e-9)
        row = res.provinces.set_index("province_code").loc[code]
        assert row["sigma_unit"] == pytest.approx(a.sigma_unit, abs=1e-9)
        assert row["units"] == len(a.tidy())
    # the copy's outcomes are noisier: its own residual SD, not a pooled one
    s = res.provinces["sigma_resid"]
    assert s.iloc[1] > 1.2 * s.iloc[0]
    w = res.provinces["units"]
    assert res.sigma_unit == pytest.approx(
        np.sqrt(np.average(res.provinces["sigma_unit"] ** 2, weights=w)))
    assert any("provinces fitted one by one" in n for n in res.notes)
    # a pooled fit (the old behaviour) would rank units of both provinces on one scale
    assert t.groupby("province_code")["naive_rank"].min().eq(1).all()


def test_a_unit_paired_in_two_provinces_belongs_to_the_one_with_most_exposure(demo_data) -> None:
    codes = sorted(demo_data.panel["county_code"].unique())
    moved = {c: "52" + c[2:] for c in codes[::2]}  # every other county into province 52
    panel = demo_data.panel.assign(county_code=demo_data.panel["county_code"].replace(moved))
    data = SimpleNamespace(panel=panel, tables=demo_data.tables)
    y = "composite"
    res = unit_contributions(data, outcome=y)
    t = res.tidy()
    d = _prepared(data, y)
    Z, units = _dense_membership(d, data.tables["pairings"])
    prov = d["county_code"].str[:2].add("0000").to_numpy()
    by = np.vstack([Z[prov == p].sum(axis=0) for p in ("510000", "520000")])
    home = np.where(by[1] > by[0], "520000", "510000")
    spanning = int(((by > 0).sum(axis=0) > 1).sum())
    assert spanning > 0 and any(f"{spanning} units are paired in more than one province" in n
                                for n in res.notes)
    assert sorted(t["unit_id"]) == units  # every unit once
    assert dict(zip(t["unit_id"], t["province_code"], strict=True)) == dict(
        zip(units, home, strict=True))
    for p in ("510000", "520000"):
        rows, cols = prov == p, home == p
        # the province's rows and units; a unit of the other province is left out of the rows
        # it shares here (their other units keep their share 1/k)
        ref = _dense_reference(d[rows].reset_index(drop=True), Z[rows][:, cols], y, "quarter")
        _assert_matches(t[t["province_code"] == p].reset_index(drop=True), ref)


def test_no_dense_rows_by_units_array() -> None:
    """144,000 institution-quarters and 400 units: a dense membership matrix alone would take
    461 MB; the fit stays far below it (and recovers the planted spread of unit effects)."""
    rng = np.random.default_rng(11)
    n_inst, n_q, q = 6_000, 24, 400
    inst = np.array([f"I{i:05d}" for i in range(n_inst)])
    county = np.array([f"51{1 + i % 90:04d}" for i in range(n_inst)])
    periods = [f"{y}Q{k}" for y in range(2019, 2025) for k in (1, 2, 3, 4)]
    first = rng.integers(0, q, n_inst)
    second = (first + rng.integers(1, q, n_inst)) % q
    switch = rng.integers(4, n_q, n_inst)  # the quarter the second unit takes over
    starts = pd.PeriodIndex(periods, freq="Q").start_time
    pairings = pd.DataFrame({
        "institution_id": np.concatenate([inst, inst]),
        "unit_id": [f"U{u:04d}" for u in np.concatenate([first, second])],
        "start_date": np.concatenate([np.full(n_inst, starts[0]), starts[switch]]),
        "end_date": np.concatenate([starts[switch] - pd.Timedelta(days=1),
                                    np.full(n_inst, pd.NaT)])})
    b = rng.normal(0, 0.5, q)
    tq = np.tile(np.arange(n_q), n_inst)
    unit = np.where(tq < np.repeat(switch, n_q), np.repeat(first, n_q), np.repeat(second, n_q))
    alpha = np.repeat(rng.normal(0, 2, n_inst), n_q)
    act = rng.poisson(3, n_inst * n_q).astype(float)
    panel = pd.DataFrame({
        "institution_id": np.repeat(inst, n_q), "county_code": np.repeat(county, n_q),
        "period": np.tile(periods, n_inst), "t": 8076 + tq, "activities_lag1": act,
        "reform_treated": False, "repair_t": np.nan,
        "environment_score": 60 + alpha + 0.05 * tq + 0.5 * np.log1p(act) + b[unit]
        + rng.normal(0, 1, len(tq))})
    data = SimpleNamespace(panel=panel, tables={"pairings": pairings})
    tracemalloc.start()
    try:
        res = unit_contributions(data, outcome="environment_score")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    t = res.tidy()
    assert len(t) == q
    assert peak < 120e6, f"peak {peak / 1e6:.0f} MB of traced allocations"
    assert 0.4 < res.sigma_unit < 0.6
    real = b - b.mean()
    assert np.corrcoef(t["shrunken"], real[[int(u[1:]) for u in t["unit_id"]]])[0, 1] > 0.9
