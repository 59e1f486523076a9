"""三升一降 indicators: aggregates against a hand computation on a tiny table; composite construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.errors import SpecificationError
from analysis.indicators import build_results, composite_index, indicators, trends

# three institutions, two counties, two quarters in 2020 (baseline) and two in 2021 (latest)
ENV = {"i1": ([60, 62], [70, 72]), "i2": ([50, 50], [52, 54]), "i3": ([80, 80], [78, 80])}
HAZ = {"i1": ([3, 3], [1, 1]), "i2": ([2, 4], [2, 2]), "i3": ([0, 1], [1, 2])}
COUNTY = {"i1": "511102", "i2": "511102", "i3": "511111"}
RESIDENTS = {"i1": 10, "i2": 30, "i3": 20}


def _tiny() -> pd.DataFrame:
    rows = []
    for inst in ENV:
        for y, year in enumerate((2020, 2021)):
            for q in (1, 2):
                rows.append({
                    "institution_id": inst, "county_code": COUNTY[inst], "period": f"{year}Q{q}",
                    "year": year, "quarter": q, "t": year * 4 + q - 1, "residents": float(RESIDENTS[inst]),
                    "environment_score": float(ENV[inst][y][q - 1]),
                    "service_score": 70.0 + q + y + (inst == "i2"),
                    "happiness_score": 75.0 + 2 * y - q + (inst == "i3"),
                    "safety_hazards": float(HAZ[inst][y][q - 1]),
                    "paired": year == 2021,
                })
    return pd.DataFrame(rows)


def _row(res, ident: str, ind: str) -> pd.Series:
    t = res.tidy()
    return t[(t["id"] == ident) & (t["indicator"] == ind)].iloc[0]


def test_county_resident_weighted_by_hand() -> None:
    panel = _tiny()
    before = panel.copy()
    res = indicators(panel, level="county", weighting="residents")
    r = _row(res, "511102", "environment")
    # i1: 61 → 71 (w 10); i2: 50 → 53 (w 30)
    assert r["baseline"] == pytest.approx((61 * 10 + 50 * 30) / 40)
    assert r["latest"] == pytest.approx((71 * 10 + 53 * 30) / 40)
    assert r["change"] == pytest.approx(4.75)
    # clusters = institutions: u = w (d - dbar) = (52.5, -52.5); SE = sqrt(2 * 5512.5) / 40
    assert r["std_error"] == pytest.approx(np.sqrt(2 * 5512.5) / 40)
    assert r["ci_high"] == pytest.approx(4.75 + stats.t.ppf(0.975, 1) * 2.625)
    assert bool(r["target_met"]) and not bool(r["target_met_significant"])
    assert res.baseline_year == 2020 and res.latest_year == 2021  # baseline = year before pairing
    pd.testing.assert_frame_equal(panel, before)  # input not mutated


def test_city_unweighted_clustered_by_county_by_hand() -> None:
    res = indicators(_tiny(), level="city", weighting="unweighted")
    r = _row(res, "city", "environment")
    # changes 10, 3, -1 → mean 4; county sums of (d - 4): 6 - 1 = 5 and -5; SE = sqrt(2 * 50) / 3
    assert r["change"] == pytest.approx(4.0)
    assert r["baseline"] == pytest.approx((61 + 50 + 80) / 3)
    assert r["std_error"] == pytest.approx(np.sqrt(2 * 50) / 3)
    assert r["n_clusters"] == 2 and r["n_institutions"] == 3
    h = _row(res, "city", "safety_hazards")
    # hazards: i1 3 → 1, i2 3 → 2, i3 0.5 → 1.5 → mean change (-2 - 1 + 1) / 3 < 0: target met (down)
    assert h["change"] == pytest.approx(-2 / 3)
    assert bool(h["target_met"]) and h["direction"] == "down"


def test_institution_level_welch_by_hand() -> None:
    res = indicators(_tiny(), level="institution")
    r = _row(res, "i1", "environment")
    assert (r["baseline"], r["latest"], r["change"]) == (61, 71, 10)
    # var of each pair is 2 → se² = 2/2 + 2/2 = 2, Welch dof = 4 / (1 + 1) = 2
    assert r["std_error"] == pytest.approx(np.sqrt(2))
    assert r["ci_low"] == pytest.approx(10 - stats.t.ppf(0.975, 2) * np.sqrt(2))
    assert r["ci_low"] > 0 and bool(r["target_met_significant"])  # 10 - 4.30 * 1.41 = 3.9


def test_composite_construction_by_hand() -> None:
    panel = _tiny()
    ci = composite_index(panel)
    base = panel[panel["year"] == 2020]
    cols = {"environment": "environment_score", "service": "service_score",
            "happiness": "happiness_score", "safety_hazards": "safety_hazards"}
    row = panel.iloc[5]
    z = []
    for name, c in cols.items():
        zi = (row[c] - base[c].mean()) / base[c].std(ddof=1)
        z.append(-zi if name == "safety_hazards" else zi)
    s = ci.scores
    got = s[(s["institution_id"] == row["institution_id"]) & (s["period"] == row["period"])]
    assert got["composite"].iloc[0] == pytest.approx(np.mean(z))
    assert list(ci.tidy()["weight"]) == [0.25] * 4
    assert list(ci.tidy()["direction"]) == [1, 1, 1, -1]
    # baseline-year composite has mean zero by construction
    assert s.loc[s["year"] == 2020, "composite"].mean() == pytest.approx(0, abs=1e-12)
    assert "negated" in ci.summary()


def test_invariance_to_row_order() -> None:
    panel = _tiny()
    a = indicators(panel, level="county").tidy()
    b = indicators(panel.sample(frac=1, random_state=3), level="county").tidy()
    pd.testing.assert_frame_equal(a, b)


def test_bad_options_are_explained() -> None:
    with pytest.raises(SpecificationError, match="level="):
        indicators(_tiny(), level="province")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="baseline_year=2019"):
        indicators(_tiny(), baseline_year=2019)
    with pytest.raises(SpecificationError, match="baseline_year="):
        indicators(_tiny().assign(paired=False))
    with pytest.raises(SpecificationError, match="lacks columns"):
        indicators(_tiny().drop(columns="residents"))


def test_results_and_plots_render() -> None:
    import matplotlib

    matplotlib.use("Agg")

    class P:  # the part of Processed the hook reads
        panel = _tiny()

    out = build_results(P())["indicators"]
    assert {"level", "id", "indicator", "baseline", "latest", "change", "target_met"} <= set(out.columns)
    assert set(out["level"]) == {"institution", "county", "city"}
    assert set(out["indicator"]) == {"environment", "service", "happiness", "safety_hazards", "composite"}
    res = indicators(_tiny(), level="city")
    assert res.plot() is not None and "<table" in res._repr_html_()
    tr = trends(_tiny(), weighting="unweighted")
    city = tr.tidy().query("level == 'city' and indicator == 'environment' and period == '2020Q1'")
    assert city["value"].iloc[0] == pytest.approx((60 + 50 + 80) / 3)
    assert tr.plot(indicator="environment", highlight="511102") is not None


def test_demo_city_indicators(demo) -> None:
    res = indicators(demo.panel, level="city", weighting="residents")
    t = res.tidy()
    assert res.baseline_year == 2020
    assert set(t["indicator"]) == {"environment", "service", "happiness", "safety_hazards", "composite"}
    assert t["ci_low"].le(t["change"]).all() and t["change"].le(t["ci_high"]).all()


def test_results_hook_without_pairing_uses_first_year() -> None:
    class P:
        panel = _tiny().assign(paired=False)

    out = build_results(P())["indicators"]
    assert set(out["baseline_year"]) == {2020} and set(out["latest_year"]) == {2021}


def test_invariance_to_county_relabelling() -> None:
    panel = _tiny()
    relabel = {"511102": "511181", "511111": "511102"}
    a = indicators(panel, level="city").tidy()
    b = indicators(panel.assign(county_code=panel["county_code"].map(relabel)), level="city").tidy()
    cols = ["indicator", "baseline", "latest", "change", "std_error", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    ca = indicators(panel, level="county").tidy().set_index(["id", "indicator"])
    cb = indicators(panel.assign(county_code=panel["county_code"].map(relabel)),
                    level="county").tidy().set_index(["id", "indicator"])
    for old, new in relabel.items():
        np.testing.assert_allclose(ca.loc[old, "change"], cb.loc[new, "change"])
