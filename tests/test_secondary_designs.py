"""Secondary reform designs say what they estimate.

* The triple difference weighted by eligible institutions has the main estimate's estimand: on a
  balanced world where the ineligible institutions' mean does not move it equals the
  institution-level Callaway–Sant'Anna ATT exactly (a second route), while weighting counties
  equally gives a different number when effects differ with county size.
* It drops no county-quarter silently: a quarter with no assessed ineligible institution stays in
  its panel with a missing gap, and the counts say so.
* The Bacon decomposition's weighted 2×2s sum to the coefficient it claims to decompose — the TWFE
  of the balanced county-mean panel, fitted independently by ``analysis.within.fe_ols`` — and the
  diagnostic rows put the reported institution-level TWFE beside it, labelled as not decomposed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import reform
from analysis.within import fe_ols


def world(seed: int = 0) -> pd.DataFrame:
    """Eight counties of 2–9 eligible and 3 ineligible institutions, 12 quarters, adoption in
    quarters 4, 6, 8 or never; the effect on eligible institutions grows with county size."""
    rng = np.random.default_rng(seed)
    sizes = [2, 9, 3, 7, 4, 8, 5, 6]
    adopt = [4, 4, 6, 6, 8, 8, np.nan, np.nan]
    rows = []
    for c, (n, g) in enumerate(zip(sizes, adopt, strict=True)):
        county_shock = rng.normal(0, 1, 12)
        for k in range(n + 3):
            eligible = k < n
            a = rng.normal(0, 2)
            for t in range(12):
                y = a + 0.3 * t + rng.normal(0, 0.5)
                if eligible:
                    y += county_shock[t]
                    if not np.isnan(g) and t >= g:
                        y += 0.5 * n
                else:
                    y = 10.0  # the ineligible institutions' mean does not move
                rows.append({"institution_id": f"c{c}i{k}", "county_code": f"5111{c:02d}",
                             "t": float(t), "period": f"{2020 + t // 4}Q{t % 4 + 1}",
                             "eligible": eligible, "adoption_t": g, "environment_score": y})
    return pd.DataFrame(rows)


def test_triple_difference_has_the_main_estimand() -> None:
    p = world()
    main = reform.reform_attgt(p, outcome="environment_score").aggregate("simple").overall()
    ddd = reform.triple_difference(p, outcome="environment_score").aggregate("simple").overall()
    assert ddd["att"] == pytest.approx(main["att"], rel=1e-10)
    equal = reform.triple_difference(p, outcome="environment_score", weighting="counties")
    assert abs(equal.aggregate("simple").overall()["att"] - main["att"]) > 0.1


def test_triple_difference_keeps_and_counts_missing_county_quarters() -> None:
    p = world(1)
    hole = (~p["eligible"]) & (p["county_code"] == "511101") & (p["t"] == 5)
    p.loc[hole, "environment_score"] = np.nan
    m, counts = reform.triple_difference_panel(p, outcome="environment_score")
    assert counts["county_quarters"] == 8 * 12 == len(m)
    assert counts["no_ineligible_mean"] == 1 and counts["no_eligible_mean"] == 0
    assert counts["gap_observed"] == 8 * 12 - 1
    row = m[(m["county_code"] == "511101") & (m["t"] == 5)]
    assert len(row) == 1 and row["gap"].isna().all()
    # the estimator still runs on the other county-quarters of that county
    res = reform.triple_difference(p, outcome="environment_score")
    assert np.isfinite(res.aggregate("simple").overall()["att"])


def test_bacon_components_sum_to_the_coefficient_they_decompose() -> None:
    p = world(2)
    b = reform.reform_bacon(p, outcome="environment_score")
    t = b.table
    assert t["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    # independent route: the TWFE of exactly the decomposed panel (county-quarter means of the
    # eligible institutions, every county observed in every quarter), by fe_ols
    d = reform.reform_data(p, "environment_score")
    c = reform.county_panel(d, "environment_score", sample="eligible")
    c["treated"] = (c["t"] >= c["adoption_t"]).astype(float)
    fit = fe_ols(c, y="environment_score", x=["treated"], fe=["county_code", "t"])
    assert float((t["weight"] * t["estimate"]).sum()) == pytest.approx(float(fit.coef[0]), rel=1e-9)
    assert b.twfe_coef == pytest.approx(float(fit.coef[0]), rel=1e-9)
    assert "balanced" in b.title


def test_demo_diagnostics_label_what_is_decomposed(demo) -> None:
    d = demo.result("reform_diagnostics")
    bacon = d[d["diagnostic"] == "bacon"]
    for _, g in bacon.groupby("outcome"):
        parts = g[~g["comparison"].isin(["total", "not_decomposed"])]
        total = g[g["comparison"] == "total"]["estimate"].iloc[0]
        assert (parts["weight"] * parts["estimate"]).sum() == pytest.approx(total, rel=1e-9)
        assert (g["comparison"] == "not_decomposed").sum() == 1
        assert g["decomposes"].str.contains("not the reported institution-level").all()
    cov = d[d["diagnostic"] == "triple_difference_coverage"]
    assert set(cov["term"]) >= {"county_quarters", "no_eligible_mean", "no_ineligible_mean"}
