"""The Cox model's checks: clustered errors, home-size strata, the proportional-hazards test.

Small simulated problem ledgers with a known hazard: the clustered standard error equals the
sandwich computed by hand from the model's score residuals (a second route), the stratified model
removes the confounding of a covariate with home size that the unstratified one shows, and the
Schoenfeld test flags a planted time-varying effect but not a proportional one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.effectiveness.survival import SIZE_BANDS, problem_durations, problem_survival


def ledger(seed: int, *, n_inst: int = 60, per: int = 40, size_effect: float = 0.0,
           confound: bool = False, crossing: float = 0.0, frailty: float = 0.3) -> dict:
    """Problems of ``n_inst`` homes. Hazard of resolution: ``exp(size_effect · large)`` times the
    home's frailty; category ``service`` vs ``environment`` has no effect, except with
    ``crossing``: service problems are fast early and slow later (non-proportional). With
    ``confound`` large homes mostly get service problems."""
    rng = np.random.default_rng(seed)
    beds = rng.integers(10, 300, n_inst)
    large = beds > np.median(beds)
    inst = pd.DataFrame({"institution_id": [f"I{i:03d}" for i in range(n_inst)],
                         "county_code": "511102",  # one county: no county dummies
                         "beds": pd.array(beds, dtype="Int64")})
    rows = []
    start = pd.Timestamp("2021-01-01")
    for i in range(n_inst):
        fr = np.exp(rng.normal(0, frailty))
        for j in range(per):
            p_service = (0.85 if large[i] else 0.15) if confound else 0.5
            service = rng.uniform() < p_service
            rate = 0.05 * fr * np.exp(size_effect * large[i])
            if crossing and service:
                # piecewise: three times as fast in the first 10 days, a third as fast after
                early = rng.exponential(1 / (rate * crossing))
                days = early if early < 10 else 10 + rng.exponential(1 / (rate / crossing))
            else:
                days = rng.exponential(1 / rate)
            found = start + pd.Timedelta(days=int(rng.integers(0, 300)))
            resolved = found + pd.Timedelta(days=int(np.ceil(days)))
            rows.append({"problem_id": f"P{i:03d}{j:03d}", "institution_id": inst.iloc[i, 0],
                         "category": "service" if service else "environment",
                         "found_date": found, "resolved_date": resolved})
    problems = pd.DataFrame(rows)
    end = pd.Timestamp("2022-06-30")
    problems.loc[problems["resolved_date"] > end, "resolved_date"] = pd.NaT
    return {"problems": problems, "institutions": inst}


def test_clustered_errors_equal_the_sandwich_by_hand() -> None:
    from lifelines import CoxPHFitter

    tables = ledger(1, frailty=0.6)
    res = problem_survival(tables, by="category", stratify_size=False, end_date="2022-06-30")
    row = res.cox.set_index("covariate").loc["category_service"]
    assert row["se_type"] == "robust_institution"
    pr = problem_durations(tables, end_date="2022-06-30")
    X = pd.DataFrame({"days": pr["days"], "event": pr["event"].astype(int),
                      "service": (pr["category"] == "service").astype(float)})
    cph = CoxPHFitter().fit(X, duration_col="days", event_col="event")
    # Lin & Wei: V = I⁻¹ (Σ_g U_g U_g') I⁻¹ with U_g the institution sums of score residuals
    score = cph.compute_residuals(X, kind="score").sort_index()
    U = score.groupby(pr["institution_id"].to_numpy()).sum().to_numpy()
    Iinv = cph.variance_matrix_.to_numpy()
    se = float(np.sqrt(Iinv @ (U.T @ U) @ Iinv)[0, 0])
    assert row["std_error"] == pytest.approx(se, rel=1e-4)
    model = problem_survival(tables, by="category", stratify_size=False, robust=False,
                             end_date="2022-06-30").cox.set_index("covariate")
    assert model.loc["category_service", "se_type"] == "model"
    # shared frailty within homes: the clustered error is larger than the model-based one
    assert row["std_error"] > model.loc["category_service", "std_error"]
    assert row["n_institutions"] == 60 and not row["few_clusters"]


def test_size_strata_remove_confounding_with_home_size() -> None:
    tables = ledger(2, size_effect=1.0, confound=True, frailty=0.0)
    pooled = problem_survival(tables, by="category", stratify_size=False).cox
    strat = problem_survival(tables, by="category").cox
    name = next(c for c in pooled["covariate"] if c.startswith("category_"))
    hr_pooled = float(pooled.loc[pooled["covariate"] == name, "hazard_ratio"].iloc[0])
    hr_pooled = hr_pooled if name == "category_service" else 1 / hr_pooled
    r = strat[strat["covariate"] == name].iloc[0]
    assert r["strata"] == "size_band" and set(pooled["strata"]) == {""}
    assert hr_pooled > 1.5  # service problems look fast because large homes are fast
    assert r["ci_low"] < 1.0 < r["ci_high"] or abs(np.log(r["hazard_ratio"])) < 0.15
    pr = problem_durations(tables)
    assert pr["size_band"].nunique() == SIZE_BANDS


def test_schoenfeld_test_flags_a_time_varying_effect() -> None:
    crossing = problem_survival(ledger(3, crossing=3.0, frailty=0.0), by="category").cox
    prop = problem_survival(ledger(4, frailty=0.0), by="category").cox
    # the reference category is the more frequent one: read whichever category row exists
    p_cross = float(crossing.loc[crossing["covariate"].str.startswith("category_"),
                                 "ph_p_value"].iloc[0])
    p_prop = float(prop.loc[prop["covariate"].str.startswith("category_"), "ph_p_value"].iloc[0])
    assert p_cross < 1e-3
    assert p_prop > 0.01
    assert (crossing["ph_statistic"] >= 0).all()


def test_demo_cox_has_its_checks(demo) -> None:
    cox = demo.result("survival_cox")
    assert set(cox["se_type"]) == {"robust_institution"}
    assert set(cox["strata"]) == {"size_band"}
    for c in ("ph_statistic", "ph_p_value", "n_institutions", "few_clusters", "std_error"):
        assert c in cox.columns and cox[c].notna().all(), c
    # a covariate seen in few homes is flagged, and only such covariates
    assert (cox["few_clusters"] == (cox["n_institutions"] < 5)).all()
