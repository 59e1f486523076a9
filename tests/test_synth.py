"""The demo world generator: byte-identical regeneration of the committed ``data/raw/demo``,
determinism, the design properties the analyses rely on, and that the planted effects are in the
data (a regression with the true controls recovers them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis import synth
from analysis.cli import app
from analysis.domain import PUBLISHED, period_to_t, t_to_period
from analysis.errors import SpecificationError
from analysis.io import read_raw
from analysis.panel import derive_panel
from analysis.synth import TABLE_NAMES, generate, read_demo_tables, write_demo

DEMO = Path(__file__).resolve().parents[1] / "data" / "raw" / "demo"
FILES = [f"{t}.csv" for t in TABLE_NAMES] + ["TRUTH.json", "README.md"]


@pytest.fixture(scope="module")
def committed() -> dict[str, pd.DataFrame]:
    if not (DEMO / "institutions.csv").exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    return read_demo_tables(DEMO)


@pytest.fixture(scope="module")
def demo_panel(committed) -> pd.DataFrame:
    return derive_panel(committed)


# --- regeneration and determinism --------------------------------------------------------------


def test_cli_regenerates_committed_demo_byte_for_byte(tmp_path):
    if not (DEMO / "TRUTH.json").exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    seed = json.loads((DEMO / "TRUTH.json").read_text(encoding="utf-8"))["seed"]
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["synth", "--out", str(out), "--seed", str(seed)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert sorted(p.name for p in DEMO.iterdir()) == sorted(FILES)
    for name in FILES:
        assert (out / name).read_bytes() == (DEMO / name).read_bytes(), (
            f"{name} differs from the committed file: run `pairing-eval synth --out data/raw/demo` "
            "and commit, or fix the generator's determinism"
        )


def test_other_seed_is_deterministic_and_different(tmp_path, committed):
    a = write_demo(tmp_path / "a", seed=7)
    b = write_demo(tmp_path / "b", seed=7)
    assert [p.name for p in a] == [p.name for p in b] == FILES
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    other = read_demo_tables(tmp_path / "a")
    # different seed, different data; the calibrated totals stay
    assert not other["assessments"]["environment_score"].equals(
        committed["assessments"]["environment_score"]
    )
    assert not other["activities"]["institution_id"].equals(
        committed["activities"]["institution_id"]
    )
    truth = json.loads((tmp_path / "a" / "TRUTH.json").read_text(encoding="utf-8"))
    assert truth["seed"] == 7
    assert truth["calibration"]["research_visits"] == 769
    # read back == generated (the writer loses nothing but what generate already rounded)
    tables, _ = generate(7)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(other[name], tables[name], check_dtype=True, obj=name)
    # ... in the types the reader gives them (text dtype, dates in nanoseconds, Int64), which
    # generate's docstring promises
    parsed = read_raw(tmp_path / "a").tables
    for name in TABLE_NAMES:
        cols = list(tables[name].columns)
        assert tables[name].dtypes.to_dict() == parsed[name][cols].dtypes.to_dict(), name


# --- design properties ---------------------------------------------------------------------------


def test_exposure_is_the_panels_definition(committed, demo_panel):
    """Two routes to the outcome model's regressors: the generator's own computation and the
    panel's columns (lagged activities, eligibility, adoption and re-pairing quarters)."""
    ts = np.arange(period_to_t("2019Q1"), period_to_t("2024Q4") + 1)
    exp = synth.exposure(committed, ts)
    panel = demo_panel.set_index(["institution_id", "t"]).sort_index()
    ids = committed["institutions"]["institution_id"].to_numpy()
    n_t = len(ts)
    lag = panel["activities_lag1"].fillna(0.0).to_numpy().reshape(len(ids), n_t)
    assert sorted(ids) == list(ids)  # the panel's order is the table's
    np.testing.assert_array_equal(exp.activities_lag1, lag)
    first = panel.groupby(level="institution_id").first()
    np.testing.assert_array_equal(exp.eligible, first["eligible"].to_numpy())
    np.testing.assert_array_equal(exp.adoption_t, first["adoption_t"].to_numpy())
    np.testing.assert_array_equal(exp.repair_t, first["repair_t"].to_numpy())
    assert exp.activities_lag1.sum() > 0 and exp.eligible.any() and not exp.eligible.all()
    assert np.isfinite(exp.repair_t).sum() == PUBLISHED["pairs_adjusted"].figure


def test_csv_columns_are_the_contracts(committed):
    from analysis.contract import TABLES

    for name in TABLE_NAMES:
        header = (DEMO / f"{name}.csv").read_text(encoding="utf-8").split("\n", 1)[0].split(",")
        spec = TABLES[name]
        assert header == [c for c in spec.names if c in header], name
        assert {c.name for c in spec.columns if c.required} <= set(header), name
    with pytest.raises(ValueError, match="unknown columns"):
        synth.contract_columns("units", ["unit_id", "unit_name", "level", "sector", "joined_date",
                                         "budget"])
    with pytest.raises(ValueError, match="missing required"):
        synth.contract_columns("units", ["unit_id", "unit_name"])


def test_seed_must_be_an_integer():
    with pytest.raises(SpecificationError, match="seed"):
        generate("20210101")  # type: ignore[arg-type]


def test_design_is_checked_against_the_published_figures(monkeypatch):
    from analysis.synth import design

    design.check_design()
    monkeypatch.setattr(design, "CITY_SECTORS", (("party_government", 113),))
    with pytest.raises(ValueError, match="city_departments_paired_at_start"):
        design.check_design()


def test_names_are_obviously_synthetic(committed):
    for table, col in (("institutions", "institution_name"), ("units", "unit_name")):
        names = committed[table][col]
        assert names.str.contains("(synthetic)", regex=False).all(), table
        assert names.str.startswith("示例").all(), table
        assert names.is_unique, table
    readme = (DEMO / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in readme.lower()


def test_keys_and_references(committed):
    c = committed
    assert c["institutions"]["institution_id"].is_unique
    assert c["units"]["unit_id"].is_unique
    assert c["pairings"]["pairing_id"].is_unique
    assert c["activities"]["activity_id"].is_unique
    assert c["problems"]["problem_id"].is_unique
    assert not c["assessments"].duplicated(["institution_id", "period"]).any()
    inst = set(c["institutions"]["institution_id"])
    units = set(c["units"]["unit_id"])
    assert set(c["institutions"]["county_code"]) <= set(c["counties"]["county_code"])
    for t in ("pairings", "activities", "problems", "assessments"):
        assert set(c[t]["institution_id"]) <= inst, t
    for t in ("pairings", "activities", "problems"):
        assert set(c[t]["unit_id"].dropna()) <= units, t


def test_every_county_has_eligible_and_ineligible(committed):
    inst = committed["institutions"]
    elig = (inst["kind"] == "elderly") & (inst["operator"] == "public") & (inst["area"] == "rural")
    per = inst.assign(e=elig).groupby("county_code")["e"].agg(["sum", "size"])
    assert len(per) == 11
    assert (per["sum"] > 0).all() and (per["sum"] < per["size"]).all()
    assert per["size"].between(9, 10).all() and per["size"].sum() == 104
    kinds = (
        inst.assign(e=elig)
        .groupby("county_code")
        .apply(
            lambda g: {
                ("children" if k == "children" else f"{o}_{a}")
                for k, o, a in zip(g["kind"], g["operator"], g["area"], strict=True)
            },
            include_groups=False,
        )
    )
    for code, present in kinds.items():
        assert {
            "children",
            "public_urban",
            "private_rural",
            "private_urban",
            "public_rural",
        } <= present, code


def test_staggered_adoption_with_not_yet_treated_controls(committed):
    counties = committed["counties"]
    dates = counties["county_management_date"]
    adopt_t = dates.dt.year * 4 + dates.dt.quarter - 1
    groups = sorted(adopt_t.dropna().unique())
    assert len(groups) >= 4
    assert dates.isna().sum() >= 2
    for g in groups:
        later = (adopt_t > g) | adopt_t.isna()
        assert later.sum() >= 2, g
        assert period_to_t("2019Q1") < g - 1  # pre-periods exist for every cohort
    assert (dates.dropna().dt.day != 1).any()
    assert counties.groupby(adopt_t.fillna(-1))["county_code"].size().max() <= 2


def test_assessments_unbalanced_and_in_range(committed):
    a = committed["assessments"]
    inst = committed["institutions"].set_index("institution_id")
    periods = sorted(a["period"].unique(), key=period_to_t)
    assert periods[0] == "2019Q1" and periods[-1] == "2024Q4" and len(periods) == 24
    full = 24 * len(inst)
    missing = 1 - len(a) / full
    assert 0.02 <= missing <= 0.06, missing
    assert a["institution_id"].nunique() == len(inst)
    beds = a["institution_id"].map(inst["beds"])
    assert (a["residents"] <= beds).all() and (a["residents"] >= 0).all()
    for col in ("environment_score", "service_score", "happiness_score"):
        assert a[col].between(0, 100).all(), col
        assert a[col].between(1, 99).all(), f"{col}: clipping should never bind"
    assert (a["safety_hazards"] >= 0).all()
    assert 3 <= a["safety_hazards"].mean() <= 8


def test_tiny_childrens_homes(committed):
    a, inst = committed["assessments"], committed["institutions"]
    children = inst.loc[inst["kind"] == "children", "institution_id"]
    most = a.groupby("institution_id")["residents"].max().reindex(children)
    assert 3 <= (most < 10).sum() < len(children)


def test_pairings_consistent(committed):
    p = committed["pairings"].merge(committed["units"], on="unit_id")
    assert (p["end_date"].isna() | (p["end_date"] >= p["start_date"])).all()
    assert (p["start_date"] >= p["joined_date"]).all()
    start = p[p["start_date"] == pd.Timestamp("2021-01-01")]
    assert (start["reason"] == "initial").all()
    # each adjusted pairing starts the day after an earlier pair of the same institution ended
    ended = p.dropna(subset=["end_date"])
    for row in p[p["reason"] == "adjusted"].itertuples():
        prev = ended[(ended["institution_id"] == row.institution_id)]
        assert (prev["end_date"] + pd.Timedelta(days=1) == row.start_date).any(), row.pairing_id
        assert row.unit_id not in set(prev["unit_id"])
    # some institutions have two units at the start; levels present
    city_start = start[start["level"] == "city"]
    assert (city_start.groupby("institution_id").size() == 2).sum() == 10
    # township teams are paired with every institution of their county from the start
    assert (start["level"] == "township").sum() == 104
    assert {"city", "county", "township"} <= set(committed["units"]["level"])


def test_activities_by_paired_units_or_teams(committed):
    acts = committed["activities"]
    units = committed["units"].set_index("unit_id")
    assert acts["date"].between(pd.Timestamp("2021-01-01"), pd.Timestamp("2024-12-31")).all()
    assert (acts["date"].dt.year == 2024).sum() > 1000
    assert acts["unit_id"].isna().any()
    p = committed["pairings"]
    with_unit = acts.dropna(subset=["unit_id"])
    team = with_unit["unit_id"].map(units["level"]) == "township"
    m = with_unit[~team].reset_index().merge(p, on=["institution_id", "unit_id"])
    covered = (m["date"] >= m["start_date"]) & (m["end_date"].isna() | (m["date"] <= m["end_date"]))
    ok = covered.groupby(m["index"]).any()
    assert len(ok) == (~team).sum() and ok.all()
    assert (acts["value_rmb"] >= 0).all() and (acts["participants"] >= 1).all()


def test_problems_consistent(committed):
    pb = committed["problems"]
    solved = pb.dropna(subset=["resolved_date"])
    assert (solved["resolved_date"] >= solved["found_date"]).all()
    assert pb["resolved_date"].isna().sum() > 0  # censored
    assert pb.loc[pb["resolved_date"].isna(), "unit_id"].isna().all()
    assert set(pb["category"]) == {
        "environment",
        "safety",
        "service",
        "facilities",
        "operations",
        "resident_need",
    }


def test_intensity_varies(demo_panel):
    prog = demo_panel[demo_panel["year"] >= 2021]
    x = np.log1p(prog["activities"])
    between = x.groupby(prog["institution_id"]).mean().std()
    within = (x - x.groupby(prog["institution_id"]).transform("mean")).std()
    assert between > 0.3 and within > 0.3, (between, within)
    assert prog["n_units"].nunique() >= 3
    # seasonality: first quarters (Spring Festival) are busiest
    by_q = prog.groupby("quarter")["activities"].mean()
    assert by_q.idxmax() == 1


# --- truth and planted effects ------------------------------------------------------------------


def test_truth_structure(truth, committed):
    assert truth["synthetic"] is True
    outcomes = truth["outcomes"]
    assert outcomes == ["environment_score", "service_score", "happiness_score", "safety_hazards"]
    dr = truth["dose_response"]
    assert dr["intensity"] == "activities_lag1" and dr["transform"] == "log1p"
    assert set(dr["effects"]) == set(outcomes) and dr["lead_effect"] == 0.0
    ref = truth["reform"]
    assert ref["anticipation"] == 0 and ref["att_ineligible"] == 0.0
    for y in outcomes:
        keys = [int(k) for k in ref["att_by_event_time"][y]]
        assert keys == list(range(len(keys)))
    codes = [c for cs in ref["cohorts"].values() for c in cs]
    assert sorted(codes) == sorted(committed["counties"]["county_code"])
    assert set(truth["repairing"]["effects"]) == set(outcomes)
    assert set(truth["units"]["random_effect_sd"]) == set(outcomes)
    for key in ("calibration", "calibration_targets", "outcome_model"):
        assert key in truth
    assert truth["outcome_model"]["safety_floor_hits"] == 0
    assert truth["outcome_model"]["score_clip_hits"] == 0


def _cluster_ols(y: np.ndarray, X: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS with cluster-robust (CR0) standard errors."""
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    bread = np.linalg.pinv(X.T @ X)
    meat = np.zeros_like(bread)
    for g in np.unique(groups):
        s = X[groups == g].T @ resid[groups == g]
        meat += np.outer(s, s)
    cov = bread @ meat @ bread
    return beta, np.sqrt(np.diag(cov))


@pytest.mark.parametrize(
    "outcome", ["environment_score", "service_score", "happiness_score", "safety_hazards"]
)
def test_planted_effects_are_in_the_data(demo_panel, truth, outcome):
    """Regress each outcome on the planted regressors with institution and county×quarter fixed
    effects: dose, the planted reform path (coefficient 1), the re-pairing shift and a lead
    placebo must come back within four cluster-robust standard errors."""
    d = demo_panel[demo_panel["assessed"] & (demo_panel["period"] != "2019Q1")].copy()
    path = truth["reform"]["att_by_event_time"][outcome]
    e = (d["t"] - d["adoption_t"]).fillna(-1).astype(int)
    reform = np.where(d["reform_treated"], [path.get(str(k), 0.0) for k in e], 0.0)
    planted_reform_scale = float(np.max(np.abs(reform)))
    regs = pd.DataFrame(
        {
            "dose": np.log1p(d["activities_lag1"]),
            "reform": reform / planted_reform_scale,
            "repair": (d["t"] >= d["repair_t"]).astype(float),
            "lead": np.log1p(d["activities_lead1"].fillna(0.0)),
        },
        index=d.index,
    )
    fe = pd.get_dummies(d["institution_id"], drop_first=True, dtype=float)
    ct = pd.get_dummies(d["county_code"] + d["period"], dtype=float)
    X = np.column_stack([regs.to_numpy(), fe.to_numpy(), ct.to_numpy()])
    beta, se = _cluster_ols(d[outcome].to_numpy(float), X, d["institution_id"].to_numpy())
    want = {
        "dose": truth["dose_response"]["effects"][outcome],
        "reform": planted_reform_scale,
        "repair": truth["repairing"]["effects"][outcome],
        "lead": truth["dose_response"]["lead_effect"],
    }
    for k, name in enumerate(regs.columns):
        assert abs(beta[k] - want[name]) < 4 * se[k], (name, beta[k], se[k], want[name])
    # and the effects are detectable, not buried in noise
    assert abs(want["dose"]) / se[0] > 3


def test_truth_aggregations_match_cs_on_noise_free_outcome(demo_panel, truth):
    """Two routes to the reform truths: TRUTH's simple/group/calendar/dynamic values against the
    Callaway–Sant'Anna aggregations (analysis.did, checked against R did elsewhere) of an
    outcome that is exactly the planted reform path on the demo panel's (unbalanced) layout."""
    from analysis.did import att_gt

    y = "safety_hazards"
    path = truth["reform"]["att_by_event_time"][y]
    d = demo_panel[demo_panel["eligible"] & demo_panel["assessed"]].copy()
    e = (d["t"] - d["adoption_t"]).fillna(-1).astype(int)
    d["y_planted"] = np.where(d["reform_treated"], [path.get(str(k), 0.0) for k in e], 0.0)
    res = att_gt(d, outcome="y_planted", unit="institution_id", time="t", group="adoption_t")
    simple = res.aggregate("simple").tidy()
    assert simple["att"].iloc[0] == pytest.approx(truth["reform"]["att_simple"][y], abs=1e-5)
    group = res.aggregate("group").tidy().set_index("key")
    for g, v in truth["reform"]["att_group"][y].items():
        key = "overall" if g == "overall" else period_to_t(g)
        assert group.loc[key, "att"] == pytest.approx(v, abs=1e-5), g
    cal = res.aggregate("calendar").tidy().set_index("key")
    for p, v in truth["reform"]["att_calendar"][y].items():
        key = "overall" if p == "overall" else period_to_t(p)
        assert cal.loc[key, "att"] == pytest.approx(v, abs=1e-5), p
    dyn = res.aggregate("dynamic").tidy().set_index("key")
    for k, v in path.items():
        assert dyn.loc[int(k), "att"] == pytest.approx(v, abs=1e-9), k
    assert t_to_period(int(d["adoption_t"].min())) == min(
        g for g in truth["reform"]["cohorts"] if g != "never"
    )
