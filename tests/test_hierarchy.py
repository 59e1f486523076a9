"""Administrative levels: county → prefecture → province from the GB/T 2260 code, the contract
rule on the optional explicit columns, and the league summarised by level."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_contract import write_tiny

from analysis.contract import validate
from analysis.describe import LEAGUE_RULES, level_summary, summarise_by_level
from analysis.errors import DataContractError
from analysis.hierarchy import hierarchy, level_of, levels_above, prefecture_code, province_code
from analysis.io import read_raw


def test_parents_come_from_the_code():
    assert prefecture_code("511102") == "511100"
    assert province_code("511102") == "510000"
    h = hierarchy(pd.DataFrame({"county_code": ["511102", "510104", "110105"],
                                "prefecture_name": [None, "成都", None]}))
    assert h["prefecture_code"].tolist() == ["511100", "510100", "110100"]
    assert h["province_code"].tolist() == ["510000", "510000", "110000"]
    assert h["prefecture_name"].tolist()[1] == "成都" and pd.isna(h["prefecture_name"].iat[0])
    assert levels_above("prefecture") == ("prefecture", "province", "nation")


@pytest.mark.parametrize("codes, level", [
    (["511102"], "county"),
    (["511102", "511123"], "prefecture"),
    (["511102", "510104"], "province"),
    (["511102", "110105"], "nation"),
])
def test_level_of(codes, level):
    assert level_of(pd.DataFrame({"county_code": codes})) == level


def test_explicit_parent_codes_must_agree(tmp_path: Path):
    good = write_tiny(tmp_path / "good", edit={
        ("counties", 0, "prefecture_code"): "511100", ("counties", 0, "province_code"): "510000",
        ("counties", 0, "prefecture_name"): "合成地市", ("counties", 1, "prefecture_code"): ""})
    raw = read_raw(good)
    assert validate(raw) == []
    assert raw.tables["counties"]["prefecture_name"].iat[0] == "合成地市"
    bad = write_tiny(tmp_path / "bad", edit={("counties", 0, "prefecture_code"): "",
                                             ("counties", 1, "prefecture_code"): "511200",
                                             ("counties", 0, "province_code"): "520000"})
    with pytest.raises(DataContractError) as err:
        validate(read_raw(bad))
    probs = {p.column: p for p in err.value.problems}
    assert set(probs) == {"prefecture_code", "province_code"}
    p = probs["prefecture_code"]
    assert (p.file, p.row, p.value) == ("counties.csv", 3, "511200")
    assert "511100" in str(p.expected) and "511123" in str(p.expected)
    assert "511100" in str(p.fix)
    zh = err.value.render(language="zh")
    assert "地市代码" in zh or "前四位" in zh
    assert "510000" in str(probs["province_code"].expected)


@pytest.fixture
def two_prefectures() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three counties in two prefectures of one province, league-like figures."""
    counties = pd.DataFrame({"county_code": ["511102", "511123", "510104"],
                             "prefecture_name": ["地市甲", None, "地市乙"],
                             "province_name": [None, None, None]})
    league = pd.DataFrame({
        "county_code": ["511102", "511123", "510104"],
        "institutions": [10.0, 30.0, 5.0], "elderly_institutions": [8.0, 25.0, 4.0],
        "children_institutions": [2.0, 5.0, 1.0], "beds": [500.0, 1500.0, 100.0],
        "residents": [100.0, 300.0, 50.0], "paired_share": [1.0, 0.5, np.nan],
        "activities": [100.0, 60.0, 10.0], "visits": [10.0, 6.0, 1.0],
        "value_rmb": [5.0, 15.0, 1.0], "problems_found": [10.0, 30.0, 0.0],
        "problems_resolved": [5.0, 27.0, 0.0], "activities_per_inst": [10.0, 2.0, 2.0],
        "value_per_bed": [100.0, 100.0, 100.0], "resolved_share": [0.5, 0.9, np.nan],
        "composite_change": [2.0, 4.0, 1.0],
    })
    return counties, league


def test_summarise_by_level_weights(two_prefectures):
    counties, league = two_prefectures
    pref = summarise_by_level(league, "prefecture", LEAGUE_RULES, counties=counties)
    assert pref["code"].tolist() == ["510100", "511100"]
    assert pref["name"].tolist() == ["地市乙", "地市甲"]
    assert pref["counties"].tolist() == [1, 2]
    le = pref.set_index("code").loc["511100"]
    assert le["institutions"] == 40 and le["activities"] == 160
    assert le["activities_per_inst"] == pytest.approx(160 / 40)      # from the sums
    assert le["resolved_share"] == pytest.approx(32 / 40)
    assert le["value_per_bed"] == pytest.approx(20 * 1e4 / 2000)
    assert le["paired_share"] == pytest.approx((10 * 1.0 + 30 * 0.5) / 40)  # by institutions
    assert le["composite_change"] == pytest.approx((100 * 2 + 300 * 4) / 400)  # by residents
    other = pref.set_index("code").loc["510100"]
    assert np.isnan(other["paired_share"]) and np.isnan(other["resolved_share"])
    prov = summarise_by_level(league, "province", LEAGUE_RULES, counties=counties)
    assert prov["code"].tolist() == ["510000"] and prov["counties"].iat[0] == 3
    assert prov["paired_share"].iat[0] == pytest.approx(25 / 40)  # the missing county drops out
    assert prov["composite_change"].iat[0] == pytest.approx((200 + 1200 + 50) / 450)
    nation = summarise_by_level(league, "nation", LEAGUE_RULES)
    assert nation["code"].tolist() == ["000000"] and nation["institutions"].iat[0] == 45
    same = summarise_by_level(league, "county", LEAGUE_RULES)
    assert same["institutions"].tolist() == [5.0, 10.0, 30.0]  # code order


def test_leshan_is_one_prefecture_and_its_summary_is_the_city(demo):
    counties = demo.tables["counties"]
    assert level_of(counties) == "prefecture"
    h = hierarchy(counties)
    assert set(h["prefecture_code"]) == {"511100"} and set(h["province_code"]) == {"510000"}
    res = level_summary(demo)
    t = res.tidy()
    assert t["level"].tolist() == ["prefecture", "province", "nation"]
    assert t["code"].tolist() == ["511100", "510000", "000000"]
    assert (t["counties"] == 11).all()
    from analysis.describe import county_league

    city = county_league(demo).tables()["city"].iloc[0]
    row = t.iloc[0]
    for col in ("institutions", "beds", "residents", "activities", "value_rmb", "problems_found",
                "activities_per_inst", "value_per_bed", "resolved_share", "paired_share"):
        assert row[col] == pytest.approx(float(city[col]), rel=1e-12), col
    assert "分级汇总" in res.summary() and "<table" in res._repr_html_()
    res.plot()
