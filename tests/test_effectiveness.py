"""Pairing effectiveness: planted effects of the demo world recovered, placebo, equivalences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.domain import DIRECTION, INDICATORS, INFERENCE_NAMES
from analysis.effectiveness import (
    dose_response,
    interrupted_time_series,
    problem_durations,
    problem_survival,
    repairing_event_study,
    unit_contributions,
)
from analysis.errors import SpecificationError
from analysis.indicators import composite_index


@pytest.fixture(scope="module")
def world(demo):
    """The processed demo dataset (panel + tables)."""
    return demo


@pytest.fixture(scope="module")
def results(world):
    """What ``pairing-eval build`` wrote through :func:`build_results` (read back from parquet)."""
    names = ("effectiveness", "survival", "survival_cox", "unit_contributions", "dose_response_curve")
    return {name: world.result(name) for name in names}


def _planted_composite(panel: pd.DataFrame, truth: dict) -> float:
    """The composite's planted dose effect implied by TRUTH.json and the documented construction."""
    con = composite_index(panel).construction.set_index("indicator")
    eff = truth["dose_response"]["effects"]
    return float(np.mean([DIRECTION[c] * eff[c] / con.loc[k, "baseline_sd"]
                          for k, c in INDICATORS.items()]))


# -- recovery of planted effects -----------------------------------------------------------
def test_dose_response_recovers_planted_effects(results, world, truth) -> None:
    assert truth["dose_response"]["intensity"] == "activities_lag1"
    assert truth["dose_response"]["transform"] == "log1p"
    eff = results["effectiveness"]
    primary = eff[(eff["model"] == "dose_response") & (eff["term"] == "log1p(activities_lag1)")]
    planted = dict(truth["dose_response"]["effects"])
    planted["composite"] = _planted_composite(world.panel, truth)
    assert set(primary["outcome"]) == set(planted)
    assert set(primary["inference"]) == {"analytic", "wild_bootstrap"}
    assert len(primary) == 2 * len(planted)  # one row per outcome and inference
    for _, r in primary.iterrows():
        assert r["ci_low"] <= planted[r["outcome"]] <= r["ci_high"], (r["outcome"], r["inference"])
    # every planted effect is non-zero; the institution-clustered test detects each of them
    assert (primary.loc[primary["inference"] == "analytic", "p_value"] < 0.05).all()


def test_placebo_lead_is_not_significant(results, truth) -> None:
    """The lead (next quarter's activities) has no planted effect: not significant at 5% for any
    outcome, with either inference, with quarter or county × quarter effects. (Such a test
    rejects a true null in about 5–7% of demo worlds — measured over 25 regenerated worlds, see
    docs/methods_effectiveness.md — so a failure after the demo is regenerated is worth a look,
    not automatically a bug.)"""
    assert truth["dose_response"]["lead_effect"] == 0.0
    eff = results["effectiveness"]
    lead = eff[eff["term"] == "log1p(activities_lead1)"]
    assert set(lead["model"]) == {"placebo_lead", "placebo_lead_county_quarter"}
    assert len(lead) == 2 * 2 * 5  # two specifications × two inferences × five outcomes
    assert (lead["p_value"] > 0.05).all(), lead[["outcome", "model", "inference", "p_value"]]
    assert ((lead["ci_low"] <= 0) & (lead["ci_high"] >= 0)).all()


def test_repairing_event_study_covers_planted_shift(results, truth) -> None:
    eff = results["effectiveness"]
    overall = eff[(eff["model"] == "repairing_event_study") & (eff["term"] == "overall")]
    for y, planted in truth["repairing"]["effects"].items():
        for _, r in overall[overall["outcome"] == y].iterrows():
            assert r["ci_low"] <= planted <= r["ci_high"], (y, r["inference"])
    pre = eff[eff["model"] == "repairing_pretrend"]
    assert len(pre) == 5 and pre["p_value"].notna().all()


def test_unit_contributions_shrink_towards_truth(world, truth) -> None:
    y = "environment_score"
    res = unit_contributions(world, outcome=y)
    t = res.tidy()
    real = t["unit_id"].map(truth["units"]["realized"][y])
    assert real.notna().all()
    real = real - real.mean()  # unit effects are identified relative to one another
    rmse_shrunk = np.sqrt(((t["shrunken"] - real) ** 2).mean())
    rmse_naive = np.sqrt(((t["naive"] - real) ** 2).mean())
    assert rmse_shrunk < 0.7 * rmse_naive
    # the naive league table overstates the spread of true effects; shrinkage does not
    assert t["naive"].std() > 1.5 * real.std() > 1.5 * 0.6 * t["shrunken"].std()
    sd = truth["units"]["random_effect_sd"][y]
    assert 0.5 * sd < res.sigma_unit < 1.6 * sd
    coverage = ((t["ci_low"] <= real) & (real <= t["ci_high"])).mean()
    assert coverage > 0.85


# -- equivalences ------------------------------------------------------------------------------
def _small_units_world(seed: int = 0):
    """A tiny panel with pairings and unit effects for the engine comparison."""
    rng = np.random.default_rng(seed)
    periods = [f"{y}Q{q}" for y in (2020, 2021, 2022) for q in (1, 2, 3, 4)]
    n_inst, n_units = 24, 12
    b = rng.normal(0, 1.0, n_units)
    rows, pair_rows = [], []
    for i in range(n_inst):
        u1 = i % n_units
        u2 = (i * 5 + 3) % n_units
        switch = 6 + (i % 5)
        pair_rows.append((f"P{i}a", f"U{u1:02d}", f"I{i:02d}", pd.Timestamp("2021-01-01"),
                          pd.Timestamp(f"{2020 + (switch // 4)}-{3 * (switch % 4) + 1:02d}-01")
                          - pd.Timedelta(days=1)))
        pair_rows.append((f"P{i}b", f"U{u2:02d}", f"I{i:02d}",
                          pd.Timestamp(f"{2020 + (switch // 4)}-{3 * (switch % 4) + 1:02d}-01"), pd.NaT))
        a = rng.normal(0, 2)
        for k, p in enumerate(periods):
            act = 0.0 if k < 4 else float(rng.poisson(4))
            unit = 0.0 if k < 4 else (b[u1] if k < switch else b[u2])
            rows.append({"institution_id": f"I{i:02d}", "county_code": f"C{i % 4}", "period": p,
                         "t": 8080 + k, "activities_lag1": act, "reform_treated": False,
                         "repair_t": np.nan,
                         "y": 60 + a + 0.1 * k + 1.0 * np.log1p(act) + unit + rng.normal(0, 1)})
    panel = pd.DataFrame(rows).rename(columns={"y": "environment_score"})
    pairings = pd.DataFrame(pair_rows, columns=["pairing_id", "unit_id", "institution_id",
                                                "start_date", "end_date"])
    units = pd.DataFrame({"unit_id": [f"U{u:02d}" for u in range(n_units)], "sector": "health"})

    class World:
        pass

    w = World()
    w.panel = panel
    w.tables = {"pairings": pairings, "units": units}
    return w


def test_profiled_reml_equals_statsmodels_mixedlm() -> None:
    w = _small_units_world(3)
    a = unit_contributions(w, outcome="environment_score", controls=())
    b = unit_contributions(w, outcome="environment_score", controls=(), engine="statsmodels")
    assert a.sigma_unit == pytest.approx(b.sigma_unit, rel=1e-3)
    assert a.sigma_resid == pytest.approx(b.sigma_resid, rel=1e-4)
    np.testing.assert_allclose(a.tidy()["shrunken"], b.tidy()["shrunken"], atol=2e-3)
    # prediction-error variances include the fixed-effect uncertainty: never below statsmodels'
    assert (a.tidy()["shrunken_se"] >= b.tidy()["shrunken_se"] - 1e-6).all()


def test_its_equals_statsmodels_segmented_regression() -> None:
    rng = np.random.default_rng(1)
    periods = [f"{y}Q{q}" for y in range(2019, 2025) for q in (1, 2, 3, 4)]
    rows = []
    for i in range(10):
        for k, p in enumerate(periods):
            post = k >= 8
            rows.append({"institution_id": f"I{i}", "county_code": "C1", "period": p, "t": 8076 + k,
                         "paired": post, "residents": 10.0,
                         "environment_score": 70 + 0.1 * k + 2 * post + 0.2 * (k - 8) * post
                         + rng.normal(0, 1)})
    panel = pd.DataFrame(rows)
    res = interrupted_time_series(panel, outcome="environment_score")
    m = panel.groupby("t")["environment_score"].mean().to_numpy()
    time = np.arange(24) - 8
    post = (time >= 0).astype(float)
    X = sm.add_constant(np.column_stack([time, post, time * post]))
    ref = sm.OLS(m, X).fit(cov_type="HAC", cov_kwds={"maxlags": 4, "use_correction": True}, use_t=True)
    t = res.tidy().set_index("term")
    np.testing.assert_allclose(t.loc[["pre_level", "pre_slope", "level_change", "slope_change"],
                                     "estimate"], ref.params, atol=1e-10)
    np.testing.assert_allclose(t.loc[["pre_level", "pre_slope", "level_change", "slope_change"],
                                     "std_error"], ref.bse, atol=1e-10)
    assert res.start_period == "2021Q1"
    # descriptive everywhere: title, notes, tidy, plot title
    assert "descriptive: no control group" in res.summary()
    assert (t["note"] == "descriptive: no control group").all()
    import matplotlib

    matplotlib.use("Agg")
    assert "descriptive: no control group" in res.plot().get_title()


def test_survival_median_and_censoring_by_hand() -> None:
    found = pd.to_datetime(["2022-01-01"] * 5)
    resolved = pd.to_datetime(["2022-01-11", "2022-01-21", pd.NaT, "2022-01-31", "2022-02-10"])
    tables = {
        "problems": pd.DataFrame({"problem_id": list("abcde"), "institution_id": "I1",
                                  "category": "safety", "found_date": found,
                                  "resolved_date": resolved, "unit_id": None}),
        "institutions": pd.DataFrame({"institution_id": ["I1"], "county_code": ["511102"]}),
    }
    dur = problem_durations(tables, end_date="2022-01-26")
    # open and resolved-after-the-end problems are censored at the end date (25 days)
    assert list(dur["days"]) == [10, 20, 25, 25, 25]
    assert list(dur["event"]) == [True, True, False, False, False]
    res = problem_survival(tables, by="category", end_date="2022-01-26", cox=False)
    km = res.tidy().iloc[0]
    # KM: S = 0.8 after day 10, 0.6 after day 20, then censored: the median is not reached
    assert np.isinf(km["median_days"])
    res2 = problem_survival(tables, by="category", cox=False)  # end = last date (2022-02-10)
    # durations 10, 20, 40(c), 30, 40: S(10)=.8, S(20)=.6, S(30)=.4 → median 30
    assert res2.tidy().iloc[0]["median_days"] == 30


def test_specification_errors_say_what_to_change(world) -> None:
    with pytest.raises(SpecificationError, match="outcome="):
        dose_response(world.panel, outcome="smiles")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="transform="):
        dose_response(world.panel, transform="cubic")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="n_knots"):
        dose_response(world.panel, transform="spline", n_knots=12)
    with pytest.raises(SpecificationError, match="min_e"):
        repairing_event_study(world.panel, min_e=2)
    with pytest.raises(SpecificationError, match="county_code="):
        interrupted_time_series(world.panel, county_code="999999")
    with pytest.raises(SpecificationError, match="start_period="):
        interrupted_time_series(world.panel, start_period="2021-1")
    # options are Literal types checked at the entry: the message lists the allowed values
    with pytest.raises(SpecificationError, match="'analytic', 'analytic_county', 'wild_bootstrap'"):
        dose_response(world.panel, inference=("cluster",))  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="intensity="):
        dose_response(world.panel, intensity="money")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="control_group="):
        repairing_event_study(world.panel, control_group="never")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="weighting="):
        interrupted_time_series(world.panel, weighting="beds")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="by="):
        problem_survival(world, by="unit")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="engine="):
        unit_contributions(world, engine="lme4")  # type: ignore[arg-type]


def test_result_objects_render(world) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dr = dose_response(world.panel, outcome="happiness_score", transform="spline", n_boot=199)
    assert dr.curve["effect"].iloc[0] == pytest.approx(0.0)
    assert (dr.curve["ci_low"] <= dr.curve["effect"]).all()
    assert dr.coefficient()["inference"] == "analytic"
    results = (
        dr,
        repairing_event_study(world.panel, outcome="service_score", n_boot=99, seed=1),
        interrupted_time_series(world.panel, outcome="composite"),
        problem_survival(world, by="category"),
        problem_survival(world, by="sector", cox=False),
        unit_contributions(world, outcome="composite"),
    )
    for res in results:
        # one protocol: the mixin renders every table of tables(); nothing is overridden
        for name in ("tidy", "summary", "_repr_html_", "_display_table"):
            assert name not in vars(type(res)), (type(res).__name__, name)
        tables = res.tables()
        pd.testing.assert_frame_equal(res.tidy(), next(iter(tables.values())))
        text, page = res.summary(), res._repr_html_()
        assert text.startswith(res.title) and "<table" in page
        for i, name in enumerate(tables):
            if i:  # secondary tables appear under their names in both renderings
                assert f"\n{name}\n" in text and f"<h5>{name}</h5>" in page
        assert res.plot() is not None
        plt.close("all")
    # the secondary tables that used to be missing from the rendering
    event, its, cox, no_cox = results[1], results[2], results[3], results[4]
    assert list(event.tables()) == ["event_study", "pretrend"]
    assert "wald" in event.summary() and "wald" in event._repr_html_()
    assert list(cox.tables()) == ["kaplan_meier", "cox"]
    first_covariate = str(cox.tables()["cox"]["covariate"].iloc[0])
    assert first_covariate in cox.summary() and first_covariate in cox._repr_html_()
    assert list(no_cox.tables()) == ["kaplan_meier"]
    assert "descriptive: no control group" in its._repr_html_()


def test_build_results_columns(results) -> None:
    eff = results["effectiveness"]
    need = ["outcome", "model", "term", "estimate", "std_error", "ci_low", "ci_high", "p_value",
            "inference", "n_obs"]
    assert list(eff.columns[: len(need)]) == need
    assert {"analytic", "wild_bootstrap", "hac"} <= set(eff["inference"])
    assert set(eff["inference"]) <= set(INFERENCE_NAMES)  # one vocabulary: never "cluster"
    assert (eff.loc[eff["model"] == "its", "note"] == "descriptive: no control group").all()
    for name in ("survival", "survival_cox", "unit_contributions", "dose_response_curve"):
        assert len(results[name]) > 0
