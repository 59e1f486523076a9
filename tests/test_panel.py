"""The institution-quarter panel against a hand computation on a tiny world, invariances, and the
panel of the bundled demo world against the facts written in its TRUTH.json."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import SpecificationError
from analysis.panel import PANEL_COLUMNS, derive_panel, period_to_t, t_to_period

NA = np.nan
DEMO_RAW = Path(__file__).resolve().parents[1] / "data" / "raw" / "demo"


def _d(*values):
    return pd.to_datetime(pd.Series(values, dtype=object))


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Two counties, three institutions, 2021Q1–2021Q4 (see the expected values below)."""
    counties = pd.DataFrame(
        {
            "county_code": ["511102", "511111"],
            "county_name": ["市中区", "沙湾区"],
            "county_kind": ["district", "district"],
            "population": pd.array([100, 200], dtype="Int64"),
            "elderly_share": [0.2, 0.25],
            "county_management_date": _d("2021-05-15", None),
        }
    )
    institutions = pd.DataFrame(
        {
            "institution_id": ["A", "B", "C"],
            "institution_name": ["a", "b", "c"],
            "county_code": ["511102", "511102", "511111"],
            "kind": ["elderly", "children", "elderly"],
            "operator": ["public", "public", "public"],
            "area": ["rural", "urban", "rural"],
            "beds": pd.array([20, 8, 50], dtype="Int64"),
        }
    )
    pairings = pd.DataFrame(
        {
            "pairing_id": ["P1", "P2", "P3", "P4", "P5"],
            "unit_id": ["U1", "U2", "U3", "U1", "U4"],
            "institution_id": ["A", "A", "A", "C", "C"],
            "start_date": _d("2021-01-01", "2021-07-01", "2021-03-31", "2021-10-01", "2022-01-01"),
            "end_date": _d("2021-06-30", None, "2021-04-01", None, None),
            "reason": ["initial", "adjusted", "initial", "added", "added"],
        }
    )
    activities = pd.DataFrame(
        {
            "activity_id": ["a1", "a2", "a3", "a4", "a5", "a6"],
            "date": _d(
                "2021-02-10", "2021-03-31", "2021-04-01", "2021-12-31", "2020-12-31", "2021-08-01"
            ),
            "institution_id": ["A", "A", "A", "A", "C", "C"],
            "unit_id": ["U1", "U3", None, "U2", "U1", None],
            "category": ["visit", "culture", "visit", "donation", "visit", "health"],
            "value_rmb": [100.0, 50.0, 200.0, 1000.0, 10.0, 300.0],
        }
    )
    problems = pd.DataFrame(
        {
            "problem_id": ["q1", "q2", "q3", "q4", "q5"],
            "institution_id": ["A", "A", "A", "A", "C"],
            "category": ["environment"] * 5,
            "found_date": _d("2021-01-05", "2021-03-20", "2020-11-01", "2021-06-30", "2021-12-31"),
            "resolved_date": _d("2021-01-20", "2021-04-02", None, "2021-06-30", None),
        }
    )
    rows = [
        ("A", "2021Q1", 10), ("A", "2021Q2", 16), ("A", "2021Q4", 20),
        ("B", "2021Q2", 5), ("B", "2021Q4", 6),
        ("C", "2021Q1", 40), ("C", "2021Q2", 41), ("C", "2021Q3", 0), ("C", "2021Q4", 42),
    ]  # fmt: skip
    assessments = pd.DataFrame(rows, columns=["institution_id", "period", "residents"])
    assessments["residents"] = assessments["residents"].astype("Int64")
    assessments["environment_score"] = np.arange(len(rows), dtype=float) + 60
    assessments["service_score"] = 70.0
    assessments["happiness_score"] = 80.0
    assessments["safety_hazards"] = pd.array(range(len(rows)), dtype="Int64")
    return {
        "counties": counties,
        "institutions": institutions,
        "units": pd.DataFrame({"unit_id": ["U1", "U2", "U3", "U4"]}),
        "pairings": pairings,
        "activities": activities,
        "problems": problems,
        "assessments": assessments,
    }


# expected by hand, rows A Q1..Q4, B Q1..Q4, C Q1..Q4
EXPECTED = {
    "assessed": [1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1],
    "residents": [10, 16, NA, 20, NA, 5, NA, 6, 40, 41, 0, 42],
    "paired": [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1],
    "n_units": [2, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1],
    "activities": [2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
    "visits": [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "value_rmb": [150, 200, 0, 1000, 0, 0, 0, 0, 0, 0, 300, 0],
    # A: 150/10, 200/16, 0/beds, 1000/20; C Q3: residents 0 -> max(0, 1) = 1
    "value_per_resident": [15, 12.5, 0, 50, 0, 0, 0, 0, 0, 0, 300, 0],
    "activities_lag1": [NA, 2, 1, 0, NA, 0, 0, 0, NA, 0, 0, 1],
    "visits_lag1": [NA, 1, 1, 0, NA, 0, 0, 0, NA, 0, 0, 0],
    "value_per_resident_lag1": [NA, 15, 12.5, 0, NA, 0, 0, 0, NA, 0, 0, 300],
    "activities_lead1": [1, 0, 1, NA, 0, 0, 0, NA, 0, 1, 0, NA],
    "visits_lead1": [1, 0, 0, NA, 0, 0, 0, NA, 0, 0, 0, NA],
    "value_per_resident_lead1": [12.5, 0, 50, NA, 0, 0, 0, NA, 0, 300, 0, NA],
    "problems_found": [2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    "problems_resolved": [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "problems_open": [2, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1],
    "eligible": [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1],
    "adoption_t": [8085] * 8 + [NA] * 4,
    "reform_treated": [0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    "repair_t": [8086] * 4 + [NA] * 8,
}


def test_tiny_panel_matches_hand_computation():
    panel = derive_panel(tiny_tables())
    assert list(panel.columns) == list(PANEL_COLUMNS)
    assert len(panel) == 12
    assert panel["institution_id"].tolist() == ["A"] * 4 + ["B"] * 4 + ["C"] * 4
    assert panel["period"].tolist() == ["2021Q1", "2021Q2", "2021Q3", "2021Q4"] * 3
    assert panel["t"].tolist() == [8084, 8085, 8086, 8087] * 3
    assert panel["year"].eq(2021).all() and panel["quarter"].tolist() == [1, 2, 3, 4] * 3
    for col, want in EXPECTED.items():
        got = panel[col].to_numpy(dtype="float64")
        np.testing.assert_allclose(got, np.asarray(want, dtype="float64"), err_msg=col)
    # missing text is None on pandas 2 and NaN on pandas 3: compare the missing mask and the rest
    assert panel["adoption_period"].isna().tolist() == [False] * 8 + [True] * 4
    assert panel["adoption_period"].dropna().tolist() == ["2021Q2"] * 8
    assert panel["repair_period"].isna().tolist() == [False] * 4 + [True] * 8
    assert panel["repair_period"].dropna().tolist() == ["2021Q3"] * 4
    # assessment values land on their own rows
    a = tiny_tables()["assessments"]
    merged = panel.merge(a, on=["institution_id", "period"], suffixes=("", "_a"))
    np.testing.assert_array_equal(merged["environment_score"], merged["environment_score_a"])
    np.testing.assert_array_equal(
        merged["safety_hazards"], merged["safety_hazards_a"].astype(float)
    )
    assert panel.loc[~panel["assessed"], "environment_score"].isna().all()


def test_value_per_resident_falls_back_to_beds():
    tables = tiny_tables()
    a = tables["assessments"].copy()
    a.loc[(a["institution_id"] == "A") & (a["period"] == "2021Q1"), "residents"] = pd.NA
    panel = derive_panel({**tables, "assessments": a})
    row = panel[(panel["institution_id"] == "A") & (panel["period"] == "2021Q1")].iloc[0]
    assert row["assessed"] and np.isnan(row["residents"])
    assert row["value_per_resident"] == 150 / 20  # beds
    nxt = panel[(panel["institution_id"] == "A") & (panel["period"] == "2021Q2")].iloc[0]
    assert nxt["value_per_resident_lag1"] == 150 / 20


def test_panel_types():
    panel = derive_panel(tiny_tables())
    for c in ("assessed", "paired", "eligible", "reform_treated"):
        assert panel[c].dtype == bool, c
    for c in ("t", "year", "quarter", "n_units", "activities", "visits", "problems_found"):
        assert pd.api.types.is_integer_dtype(panel[c]), c
    for c in ("residents", "safety_hazards", "activities_lag1", "adoption_t", "repair_t"):
        assert panel[c].dtype == "float64", c
    assert isinstance(panel["period"].iloc[0], str)


def test_panel_invariant_to_row_order_and_does_not_mutate():
    tables = tiny_tables()
    before = {k: v.copy() for k, v in tables.items()}
    base = derive_panel(tables)
    for k in tables:
        pd.testing.assert_frame_equal(tables[k], before[k])
    rng = np.random.default_rng(1)
    shuffled = {
        k: v.sample(frac=1.0, random_state=rng).reset_index(drop=True) for k, v in tables.items()
    }
    pd.testing.assert_frame_equal(derive_panel(shuffled), base)


def test_panel_needs_tables_and_assessments():
    tables = tiny_tables()
    with pytest.raises(SpecificationError, match="assessments.period"):
        derive_panel({**tables, "assessments": tables["assessments"].drop(columns="period")})
    with pytest.raises(SpecificationError, match="empty"):
        derive_panel({**tables, "assessments": tables["assessments"].iloc[:0]})


def test_period_helpers_round_trip():
    for t in range(8000, 8100):
        assert period_to_t(t_to_period(t)) == t
    assert period_to_t("2021Q1") == 2021 * 4


# --- the bundled demo world ----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_tables():
    from analysis.synth import read_demo_tables

    if not (DEMO_RAW / "institutions.csv").exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    return read_demo_tables(DEMO_RAW)


def test_demo_panel_against_truth(demo_tables, truth):
    panel = derive_panel(demo_tables)
    n_inst = len(demo_tables["institutions"])
    assert len(panel) == n_inst * 24
    assert panel["period"].iloc[0] == "2019Q1" and panel["period"].iloc[-1] == "2024Q4"
    assert panel["assessed"].sum() == len(demo_tables["assessments"])
    # adoption quarters are the TRUTH cohorts
    adopt = panel.groupby("county_code")["adoption_period"].first().fillna("never")
    for cohort, codes in truth["reform"]["cohorts"].items():
        for code in codes:
            assert adopt[code] == cohort, code
    # activities sum back to the table; paired only from 2021
    assert panel["activities"].sum() == len(demo_tables["activities"])
    assert not panel.loc[panel["year"] < 2021, "paired"].any()
    assert panel.loc[panel["year"] >= 2021, "paired"].all()
    # lags are the previous row within an institution
    a = panel[panel["institution_id"] == panel["institution_id"].iloc[0]]
    np.testing.assert_array_equal(
        a["activities_lag1"].to_numpy()[1:], a["activities"].to_numpy()[:-1]
    )
    assert panel.loc[panel["period"] == "2019Q1", "activities_lag1"].isna().all()
    assert panel.loc[panel["period"] != "2019Q1", "activities_lag1"].notna().all()
    # 36 institutions re-paired
    assert panel.groupby("institution_id")["repair_t"].first().notna().sum() == 36


def test_demo_panel_same_through_the_package_reader(demo_tables):
    """Two routes to the panel: the package's raw reader and the generator's own reader; and the
    committed demo folder passes `pairing-eval validate` with no notes."""
    from typer.testing import CliRunner

    from analysis.cli import app
    from analysis.io import read_raw

    raw = read_raw(DEMO_RAW)
    assert not raw.problems
    pd.testing.assert_frame_equal(derive_panel(raw.tables), derive_panel(demo_tables))
    result = CliRunner().invoke(app, ["validate", str(DEMO_RAW)])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output and "Notes" not in result.output


def test_empty_event_tables_give_zeros():
    tables = tiny_tables()
    for k in ("pairings", "activities", "problems"):
        tables[k] = tables[k].iloc[:0]
    panel = derive_panel(tables)
    assert len(panel) == 12 and not panel["paired"].any()
    for c in ("n_units", "activities", "visits", "problems_found", "problems_open"):
        assert (panel[c] == 0).all(), c
    assert panel["value_rmb"].eq(0).all() and panel["repair_t"].isna().all()
    assert panel.loc[panel["period"] != "2021Q1", "activities_lag1"].eq(0).all()


def test_demo_panel_cells_by_brute_force(demo_tables):
    """Forty random institution-quarters of the demo recomputed by direct filtering."""
    panel = derive_panel(demo_tables).set_index(["institution_id", "period"])
    p, a, pb = demo_tables["pairings"], demo_tables["activities"], demo_tables["problems"]
    rng = np.random.default_rng(3)
    for k in rng.choice(len(panel), size=40, replace=False):
        (iid, period), row = panel.index[k], panel.iloc[k]
        q = pd.Period(period, freq="Q")
        lo, hi = q.start_time.normalize(), q.end_time.normalize()
        mine = p[p["institution_id"] == iid]
        cover = mine[
            (mine["start_date"] <= hi) & (mine["end_date"].isna() | (mine["end_date"] >= lo))
        ]
        assert row["n_units"] == cover["unit_id"].nunique()
        acts = a[(a["institution_id"] == iid) & (a["date"] >= lo) & (a["date"] <= hi)]
        assert row["activities"] == len(acts)
        assert row["visits"] == (acts["category"] == "visit").sum()
        assert row["value_rmb"] == pytest.approx(acts["value_rmb"].sum())
        probs = pb[pb["institution_id"] == iid]
        assert row["problems_found"] == probs["found_date"].between(lo, hi).sum()
        assert row["problems_resolved"] == probs["resolved_date"].between(lo, hi).sum()
        is_open = (probs["found_date"] <= hi) & (
            probs["resolved_date"].isna() | (probs["resolved_date"] > hi)
        )
        assert row["problems_open"] == is_open.sum()
