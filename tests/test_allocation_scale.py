"""The pairing plan beyond one prefecture: solved per province, new pairs within a unit's county
(:func:`analysis.allocation.inputs.plan_scopes`)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from test_report_levels import DATASET, DEMO_RAW, make_levels_world

from analysis.allocation.inputs import (
    CHANGES_PER_COUNTY,
    allocation_inputs,
    build_results,
    plan_scopes,
    recommend_pairs,
)
from analysis.build import BuildOptions
from analysis.data import load_processed
from analysis.pipeline import build


def test_plan_scopes():
    one = pd.Series(["511102", "511123", "511181"])
    assert plan_scopes(one) == [("", None)]
    two_pref = pd.Series(["511102", "510104", "510105"])
    assert plan_scopes(two_pref) == [("510000", ["510104", "510105", "511102"])]
    two_prov = pd.Series(["511102", "420102", None])
    assert plan_scopes(two_prov) == [("420000", ["420102"]), ("510000", ["511102"])]
    assert math.ceil(CHANGES_PER_COUNTY * 11) == 36  # Leshan keeps its limit


@pytest.fixture(scope="module")
def two_provinces(tmp_path_factory):
    if not (DEMO_RAW / "institutions.csv").exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    root = tmp_path_factory.mktemp("alloc_levels")
    raw = make_levels_world(root / "data" / "raw" / DATASET)
    build(raw, out_root=root / "data" / "processed", echo=lambda _m: None,
          options=BuildOptions(steps=("indicators",)))
    return load_processed(DATASET, root=root)


def test_plan_per_province_within_counties(two_provinces):
    p = two_provinces
    out = build_results(p, seed=1)
    plan, summary = out["allocation_plan"], out["allocation_summary"]
    scopes = plan_scopes(p.tables["institutions"]["county_code"])
    assert len(scopes) == 2
    assert set(plan["province_code"]) == {prov for prov, _ in scopes}
    # every added pair joins a unit and an institution of one county (the unit's county: where
    # most of its current institutions are)
    inst_county = p.tables["institutions"].set_index("institution_id")["county_code"]
    unit_county = allocation_inputs(p).units.set_index("unit_id")["county_code"]
    added = plan[plan["change"] == "added"]
    assert len(added) > 0
    assert (added["unit_id"].map(unit_county) == added["institution_id"].map(inst_county)).all()
    for prov, codes in scopes:
        r = recommend_pairs(p, counties=codes, same_county=True,
                            max_changes=math.ceil(CHANGES_PER_COUNTY * len(codes)))
        assert set(r.plan["institution_id"].map(inst_county)) <= set(codes)
        rows = summary[summary["province_code"] == prov].set_index("metric")["value"]
        assert float(rows["objective"]) == pytest.approx(float(r.metrics().set_index(
            "metric")["value"]["objective"]))
    # the dataset's rows come first and add up the provinces'
    total = summary[summary["province_code"] == ""].set_index("metric")["value"]
    per = summary[summary["province_code"] != ""]
    for metric in ("objective", "gain_vs_status_quo", "n_changes"):
        want = pd.to_numeric(per.loc[per["metric"] == metric, "value"]).sum()
        assert float(total[metric]) == pytest.approx(want, rel=1e-5)  # text to 6 digits
    assert summary["province_code"].iloc[0] == ""
    assert summary["value"].map(type).eq(str).all()  # text, as one province's metrics
