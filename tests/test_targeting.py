"""The targeting world: its defaults are the demo world byte for byte, help follows the previous
quarter's shortfall with the stated strength, totals stay calibrated, the truth records it, and
the lead placebo detects it (the Monte Carlo in ``validation/targeting.py``, smoke-run here)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.cli import app
from analysis.effectiveness import dose_response
from analysis.errors import SpecificationError
from analysis.panel import derive_panel
from analysis.synth import TABLE_NAMES, generate, write_demo
from analysis.synth.design import OUTCOME_MODEL
from analysis.synth.targeting import DEFAULT_PERSISTENCE, PERSISTENT_SD
from analysis.within import fe_ols

DEMO = Path(__file__).resolve().parents[1] / "data" / "raw" / "demo"
VALIDATION = Path(__file__).resolve().parents[1] / "validation" / "targeting.py"


def test_default_options_write_the_committed_demo_byte_for_byte(tmp_path):
    if not (DEMO / "institutions.csv").exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    truth = json.loads((DEMO / "TRUTH.json").read_text(encoding="utf-8"))
    written = write_demo(tmp_path, seed=truth["seed"], targeting=0.0, supply_sd=0.0,
                         effect_scale=1.0)
    for f in written:
        assert f.read_bytes() == (DEMO / f.name).read_bytes(), f.name
    assert "targeting" not in truth


def test_default_world_equals_explicit_zero_targeting():
    a, ta = generate(11)
    b, tb = generate(11, targeting=0.0, supply_sd=0.0, effect_scale=1.0, persistence=0.0)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert ta == tb


def test_persistence_defaults_to_0_7_in_a_targeting_world_only():
    _, demo = generate(11)
    assert "targeting" not in demo
    _, t = generate(11, targeting=0.5, supply_sd=1.0)
    assert t["targeting"]["persistence"] == DEFAULT_PERSISTENCE == 0.7
    assert t["targeting"]["persistent_sd"] == PERSISTENT_SD
    _, t0 = generate(11, targeting=0.5, supply_sd=1.0, persistence=0.0)
    assert t0["targeting"]["persistence"] == 0.0
    # persistence alone makes a (re-allocated) targeting world that says so
    _, tp = generate(11, persistence=0.5)
    assert tp["targeting"]["persistence"] == 0.5 and tp["targeting"]["strength"] == 0.0


def test_persistent_shock_is_one_ar1_shared_by_the_three_scores():
    """Without targeting the help does not depend on outcomes, so the same seed with and without
    the shock has the same activities and safety counts; the scores differ by exactly
    PERSISTENT_SD · noise_sd_y · h (up to the one-decimal rounding), and h is a unit-SD AR(1)
    with the stated coefficient."""
    kw = {"targeting": 0.0, "supply_sd": 0.5, "effect_scale": 1.0}
    with_h, _ = generate(13, persistence=0.7, **kw)
    without, _ = generate(13, persistence=0.0, **kw)
    pd.testing.assert_frame_equal(with_h["activities"], without["activities"])
    a, b = with_h["assessments"], without["assessments"]
    assert (a["safety_hazards"] == b["safety_hazards"]).all()
    h = {y: (a[y] - b[y]).to_numpy(float) / (PERSISTENT_SD * OUTCOME_MODEL[y]["noise_sd"])
         for y in ("environment_score", "service_score", "happiness_score")}
    # each difference of two scores rounded to 0.1 is off by at most 0.1
    rounding = {y: 0.1 / (PERSISTENT_SD * OUTCOME_MODEL[y]["noise_sd"]) + 1e-9 for y in h}
    for y in ("service_score", "happiness_score"):
        gap = np.abs(h["environment_score"] - h[y]).max()
        assert gap <= rounding["environment_score"] + rounding[y], y
    hh = a[["institution_id", "period"]].assign(h=h["environment_score"])
    t = hh["period"].map(lambda p: int(p[:4]) * 4 + int(p[-1]) - 1)
    hh = hh.assign(t=t).sort_values(["institution_id", "t"])
    prev = hh.groupby("institution_id")["h"].shift(1)
    consecutive = hh.groupby("institution_id")["t"].diff() == 1
    rho = np.corrcoef(hh.loc[consecutive, "h"], prev[consecutive])[0, 1]
    assert rho == pytest.approx(0.7, abs=0.05)  # about 2,000 pairs: s.e. about 0.015
    assert hh["h"].std() == pytest.approx(1.0, abs=0.1)


@pytest.fixture(scope="module")
def worlds():
    """The same seed with no targeting and with strong targeting (no effect of help)."""
    out = {}
    for kappa in (0.0, 1.0):
        tables, truth = generate(31, targeting=kappa, supply_sd=0.5, effect_scale=0.0)
        out[kappa] = (tables, truth, derive_panel(tables))
    return out


def test_targeting_keeps_every_calibrated_total(worlds):
    base, _ = generate(31)
    for kappa, (tables, truth, _panel) in worlds.items():
        a, b = tables["activities"], base["activities"]
        assert len(a) == len(b), kappa
        assert a["category"].value_counts().to_dict() == b["category"].value_counts().to_dict()
        assert a["value_rmb"].sum() == pytest.approx(b["value_rmb"].sum())
        # per quarter too: targeting moves help between homes, not between quarters
        qa = a["date"].dt.to_period("Q").value_counts().sort_index()
        qb = b["date"].dt.to_period("Q").value_counts().sort_index()
        pd.testing.assert_series_equal(qa, qb)
        for name in ("counties", "institutions", "units", "pairings", "problems"):
            pd.testing.assert_frame_equal(tables[name], base[name])
        assert truth["targeting"]["strength"] == kappa
        assert truth["dose_response"]["effects"]["environment_score"] == 0.0


def _response_to_last_quarter(panel: pd.DataFrame) -> float:
    """Within-institution slope of log1p(activities) on last quarter's environment score
    (programme quarters, quarter effects absorbed)."""
    d = panel.sort_values(["institution_id", "t"]).copy()
    d["prev_env"] = d.groupby("institution_id")["environment_score"].shift(1)
    d["log_act"] = np.log1p(d["activities"])
    d = d[d["t"] >= d.loc[d["activities"] > 0, "t"].min()]
    fit = fe_ols(d, y="log_act", x=["prev_env"], fe=["institution_id", "period"],
                 cluster="institution_id")
    return float(fit.coef[0])


def test_help_follows_last_quarters_shortfall_only_when_asked(worlds):
    slope0 = _response_to_last_quarter(worlds[0.0][2])
    slope1 = _response_to_last_quarter(worlds[1.0][2])
    assert abs(slope0) < 0.01  # supply shocks alone do not follow outcomes
    assert slope1 < -0.03  # a bad quarter brings more help (the score's SD is about 5)


def test_lead_placebo_detects_strong_targeting(worlds):
    lead = "log1p(activities_lead1)"
    p = {k: dose_response(w[2], outcome="environment_score", placebo=True,
                          inference=("analytic",)).coefficient(lead) for k, w in worlds.items()}
    assert p[1.0]["p_value"] < 0.01 and p[1.0]["estimate"] < 0
    assert p[0.0]["p_value"] > 0.01


def test_cli_writes_a_targeting_world(tmp_path):
    out = tmp_path / "t"
    res = CliRunner().invoke(app, ["synth", "--out", str(out), "--seed", "5", "--targeting",
                                   "0.5", "--supply-sd", "0.5", "--effect-scale", "0",
                                   "--persistence", "0.5"])
    assert res.exit_code == 0, res.output
    truth = json.loads((out / "TRUTH.json").read_text(encoding="utf-8"))
    assert truth["targeting"]["strength"] == 0.5 and truth["targeting"]["supply_sd"] == 0.5
    assert truth["targeting"]["persistence"] == 0.5
    assert set(truth["dose_response"]["effects"].values()) == {0.0}
    assert "NOT independent" in truth["dose_response"]["description"]


@pytest.mark.parametrize("bad", [{"targeting": float("nan")}, {"supply_sd": -1.0},
                                 {"effect_scale": "1"}, {"persistence": 1.0},
                                 {"persistence": -0.1}, {"persistence": float("nan")},
                                 {"persistence": "0.7"}])
def test_bad_world_options_are_refused(bad):
    with pytest.raises(SpecificationError):
        generate(1, **bad)


def test_monte_carlo_runs_and_summarises():
    spec = importlib.util.spec_from_file_location("targeting_mc", VALIDATION)
    mc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mc)
    rows = mc.one(0, 9000, strengths=(0.0, 0.5), scales=(1.0,), persistences=(0.7,))
    df = pd.DataFrame(rows)
    assert len(df) == 2 and set(df["truth"]) == {1.5} and set(df["persistence"]) == {0.7}
    s = mc.summarise(df)
    assert list(s["targeting"]) == [0.0, 0.5]
    assert df.loc[df["targeting"] == 0.5, "lead_reject_inst"].item()
    assert "| 1.5 | 0.7 | 0.50 | 1 |" in mc.table(s)
