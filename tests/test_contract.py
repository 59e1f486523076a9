"""The raw data contract: a tiny valid world, the specs against DESIGN.md's table, the rules, the
documentation page.

``TINY`` / ``write_tiny()`` are the small valid dataset shared by the contract, io, build, template
and bad-input tests (imported from this module).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import get_args

import pandas as pd
import pytest

from analysis import contract
from analysis.contract import TABLES, render_markdown, validate
from analysis.errors import DataContractError
from analysis.io import read_raw

REPO = Path(__file__).resolve().parents[1]

TINY: dict[str, list[dict[str, str]]] = {
    "counties": [
        dict(county_code="511102", county_name="市中区", county_name_en="Shizhong",
             county_kind="district", population="600000", elderly_share="0.21",
             rural_share="0.30", county_management_date="2022-03-15"),
        dict(county_code="511123", county_name="犍为县", county_name_en="Qianwei",
             county_kind="county", population="450000", elderly_share="0.26",
             rural_share="0.55", county_management_date=""),
    ],
    "institutions": [
        dict(institution_id="I001", institution_name="合成养老院甲", county_code="511102",
             township="A镇", kind="elderly", operator="public", area="rural", beds="50",
             distance_km="12.5", opened_year="1998"),
        dict(institution_id="I002", institution_name="合成养老院乙", county_code="511102",
             township="B街道", kind="elderly", operator="private", area="urban", beds="80",
             distance_km="2", opened_year="2015"),
        dict(institution_id="I003", institution_name="合成儿童福利院", county_code="511123",
             township="C镇", kind="children", operator="public", area="urban", beds="10",
             distance_km="0", opened_year="2008"),
        dict(institution_id="007", institution_name="合成敬老院丙", county_code="511123",
             township="D乡", kind="elderly", operator="public", area="rural", beds="40",
             distance_km="30", opened_year="1990"),
    ],
    "units": [
        dict(unit_id="U01", unit_name="合成市级部门一", level="city", sector="party_government",
             staff="40", joined_date="2021-01-01"),
        dict(unit_id="U02", unit_name="合成银行", level="city", sector="finance", staff="25",
             joined_date="2021-06-01"),
    ],
    "pairings": [
        dict(pairing_id="P1", unit_id="U01", institution_id="I001", start_date="2021-01-01",
             end_date="", reason="initial"),
        dict(pairing_id="P2", unit_id="U02", institution_id="I002", start_date="2021-06-01",
             end_date="2022-06-30", reason="added"),
        dict(pairing_id="P3", unit_id="U02", institution_id="I003", start_date="2022-07-01",
             end_date="", reason="adjusted"),
        dict(pairing_id="P4", unit_id="U01", institution_id="007", start_date="2021-01-01",
             end_date="", reason="initial"),
    ],
    "activities": [
        dict(activity_id="A1", date="2021-02-01", institution_id="I001", unit_id="U01",
             category="visit", participants="3", beneficiaries="20", value_rmb="0"),
        dict(activity_id="A2", date="2021-07-10", institution_id="I002", unit_id="U02",
             category="donation", participants="5", beneficiaries="30", value_rmb="5000"),
        dict(activity_id="A3", date="2022-08-01", institution_id="I003", unit_id="U02",
             category="festival", participants="2", beneficiaries="8", value_rmb="1200.5"),
        dict(activity_id="A4", date="2021-03-01", institution_id="007", unit_id="",
             category="cleanup", participants="10", beneficiaries="40", value_rmb="0"),
    ],
    "problems": [
        dict(problem_id="Q1", institution_id="I001", category="environment",
             found_date="2021-02-01", resolved_date="2021-03-01", unit_id="U01"),
        dict(problem_id="Q2", institution_id="007", category="safety", found_date="2021-05-01",
             resolved_date="", unit_id=""),
    ],
    "assessments": [
        dict(institution_id=i, period=p, residents=r, environment_score=e, service_score="70",
             happiness_score="75", safety_hazards=h, over_capacity_flag="")
        for i, r in (("I001", "40"), ("I002", "60"), ("I003", "6"), ("007", "30"))
        for p, e, h in (("2020Q4", "58", "4"), ("2021Q1", "60", "3"), ("2021Q2", "64.5", "2"))
    ],
}


def tiny_rows(table: str) -> list[dict[str, str]]:
    return [dict(r) for r in TINY[table]]


def tiny_workbook() -> tuple[object, dict[str, object]]:
    """The tiny world as one openpyxl workbook (a sheet per table, empty cells blank) and its
    worksheets by table, for tests to edit before saving."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    sheets = {}
    for t in TINY:
        ws = wb.create_sheet(t)
        rows = tiny_rows(t)
        ws.append(list(rows[0]))
        for r in rows:
            ws.append([v or None for v in r.values()])
        sheets[t] = ws
    return wb, sheets


def csv_text(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    """CSV text of ``rows`` (dicts keyed by canonical names); ``header`` relabels the columns."""
    keys = list(rows[0])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header or keys)
    for r in rows:
        w.writerow([r.get(k, "") for k in keys])
    return buf.getvalue()


def write_tiny(folder: Path, *, edit: dict | None = None, drop: tuple[str, ...] = (),
               encoding: str = "utf-8", truth: bool = False) -> Path:
    """Write the tiny world as CSV files into ``folder``.

    ``edit`` maps ``(table, row_index, column)`` to a new cell text (row_index 0 is the user's row 2).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for t in TINY:
        if t in drop:
            continue
        rows = tiny_rows(t)
        for (tt, i, col), v in (edit or {}).items():
            if tt == t:
                rows[i][col] = v
        (folder / f"{t}.csv").write_bytes(csv_text(rows).encode(encoding))
    if truth:
        (folder / "TRUTH.json").write_text(json.dumps({"synthetic": True, "seed": 7}), encoding="utf-8")
    return folder


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    return write_tiny(tmp_path / "tiny")


# --------------------------------------------------------------------------------------------
# the specs against DESIGN.md's table (typed out here, independently of the module)
# --------------------------------------------------------------------------------------------
DESIGN_COLUMNS = {
    "counties": "county_code 县区代码 · county_name 县区名称 · county_name_en 英文名 · county_kind 类型 · "
                "population 常住人口 · elderly_share 老年人口占比 · rural_share 农村人口占比 · "
                "county_management_date 收归县管日期 · prefecture_code 地市代码 · prefecture_name 地市名称 · "
                "province_code 省份代码 · province_name 省份名称",
    "institutions": "institution_id 机构编号 · institution_name 机构名称 · county_code 县区代码 · "
                    "township 乡镇街道 · kind 机构类型 · operator 举办主体 · area 城乡 · beds 床位数 · "
                    "distance_km 距县城距离 · opened_year 建成年份",
    "units": "unit_id 帮扶单位编号 · unit_name 帮扶单位名称 · level 层级 · sector 类别 · staff 人数 · "
             "joined_date 加入日期",
    "pairings": "pairing_id 结对编号 · unit_id 帮扶单位编号 · institution_id 机构编号 · start_date 开始日期 · "
                "end_date 结束日期 · reason 原因",
    "activities": "activity_id 活动编号 · date 日期 · institution_id 机构编号 · unit_id 帮扶单位编号 · "
                  "category 活动类别 · participants 参与人数 · beneficiaries 受益人次 · value_rmb 折合金额(元)",
    "problems": "problem_id 问题编号 · institution_id 机构编号 · category 问题类别 · found_date 发现日期 · "
                "resolved_date 解决日期 · unit_id 解决单位",
    "assessments": "institution_id 机构编号 · period 季度 · residents 在院人数 · environment_score 院容院貌得分 · "
                   "service_score 服务质量得分 · happiness_score 幸福指数 · safety_hazards 安全隐患数",
}
DESIGN_KEYS = {"counties": ("county_code",), "institutions": ("institution_id",),
               "units": ("unit_id",), "pairings": ("pairing_id",), "activities": ("activity_id",),
               "problems": ("problem_id",), "assessments": ("institution_id", "period")}
DESIGN_ENUMS = {
    ("counties", "county_kind"): {"district", "county", "autonomous_county", "city"},
    ("institutions", "kind"): {"elderly": "养老", "children": "儿童"},
    ("institutions", "operator"): {"public": "公办", "private": "民办"},
    ("institutions", "area"): {"rural": "农村", "urban": "城市"},
    ("units", "level"): {"city": "市级", "county": "县级", "township": "乡镇"},
    ("units", "sector"): {"party_government": "党政机关", "finance": "金融", "telecom": "通讯",
                          "health": "卫生", "education": "教育", "enterprise": "企业",
                          "social_org": "社会组织", "other": "其他"},
    ("pairings", "reason"): {"initial": "初始", "adjusted": "调整", "added": "新增"},
    ("activities", "category"): {"visit": "调研走访", "culture": "文娱活动", "health": "送医送药义诊",
                                 "cleanup": "环境整治", "safety_check": "安全检查", "donation": "物资捐赠",
                                 "training": "培训指导", "festival": "节日慰问", "volunteer": "志愿服务",
                                 "other": "其他"},
    ("problems", "category"): {"environment": "环境", "safety": "安全", "service": "服务",
                               "facilities": "设施", "operations": "运营", "resident_need": "群众诉求"},
}
DESIGN_OPTIONAL = {("counties", "county_name_en"), ("counties", "rural_share"),
                   ("institutions", "township"), ("institutions", "distance_km"),
                   ("institutions", "opened_year"), ("units", "staff"), ("problems", "unit_id"),
                   ("assessments", "over_capacity_flag"), ("counties", "prefecture_code"),
                   ("counties", "prefecture_name"), ("counties", "province_code"),
                   ("counties", "province_name")}


def test_columns_and_aliases_follow_design():
    for t, text in DESIGN_COLUMNS.items():
        pairs = [tuple(x.strip().split(" ", 1)) for x in text.split("·")]
        spec = TABLES[t]
        design_names = [p[0] for p in pairs]
        assert [c for c in spec.names if c != "over_capacity_flag"] == design_names, t
        for name, zh in pairs:
            assert spec.column(name).zh == zh, (t, name)
        assert spec.key == DESIGN_KEYS[t]


def test_enumerations_follow_design():
    for (t, col), levels in DESIGN_ENUMS.items():
        c = TABLES[t].column(col)
        assert set(c.codes) == set(levels), (t, col)
        if isinstance(levels, dict):
            assert {lv.code: lv.label for lv in c.levels} == levels, (t, col)


def test_optional_and_nullable_columns():
    optional = {(t.name, c.name) for t in TABLES.values() for c in t.columns if not c.required}
    assert optional == DESIGN_OPTIONAL
    nullable = {(t.name, c.name) for t in TABLES.values() for c in t.columns if c.required and c.nullable}
    assert nullable == {("counties", "county_management_date"), ("pairings", "end_date"),
                        ("activities", "unit_id"), ("problems", "resolved_date")}


def test_foreign_keys():
    refs = {(t.name, c.name): c.ref for t in TABLES.values() for c in t.columns if c.ref}
    assert refs == {
        ("institutions", "county_code"): "counties.county_code",
        ("pairings", "unit_id"): "units.unit_id",
        ("pairings", "institution_id"): "institutions.institution_id",
        ("activities", "institution_id"): "institutions.institution_id",
        ("activities", "unit_id"): "units.unit_id",
        ("problems", "institution_id"): "institutions.institution_id",
        ("problems", "unit_id"): "units.unit_id",
        ("assessments", "institution_id"): "institutions.institution_id",
    }


def test_date_order_rules_name_date_columns_of_their_table():
    orders = {(t.name, o.first, o.then) for t in TABLES.values() for o in t.date_order}
    assert orders == {("pairings", "start_date", "end_date"),
                      ("problems", "found_date", "resolved_date")}
    for t in TABLES.values():
        for o in t.date_order:
            assert t.column(o.first).kind == t.column(o.then).kind == "date", (t.name, o)
            assert any(o.then in r and o.first in r for r in t.rules), (t.name, o)


def test_a_column_kind_outside_the_literal_is_refused():
    from analysis.contract import Column, Kind
    from analysis.errors import SpecificationError

    assert {c.kind for t in TABLES.values() for c in t.columns} == set(get_args(Kind))
    with pytest.raises(SpecificationError, match="kind of column x"):
        Column("x", "叉", "number", "a column of an unknown kind")  # type: ignore[arg-type]


def test_assessments_hold_the_domain_outcomes():
    from analysis.domain import OUTCOMES

    assert set(OUTCOMES) <= set(TABLES["assessments"].names)


# --------------------------------------------------------------------------------------------
# a valid world
# --------------------------------------------------------------------------------------------
def test_tiny_world_is_valid_and_typed(tiny_dir: Path):
    raw = read_raw(tiny_dir)
    assert validate(raw) == []
    t = raw.tables
    assert t["institutions"]["institution_id"].tolist() == ["I001", "I002", "I003", "007"]
    assert t["institutions"]["beds"].dtype == "Int64"
    assert t["assessments"]["environment_score"].dtype == "float64"
    assert str(t["pairings"]["start_date"].dtype) == "datetime64[ns]"
    assert t["pairings"]["end_date"].isna().tolist() == [True, False, True, True]
    assert t["counties"]["county_management_date"].isna().tolist() == [False, True]
    assert pd.isna(t["activities"]["unit_id"].iloc[3])
    assert t["assessments"]["period"].tolist()[:3] == ["2020Q4", "2021Q1", "2021Q2"]
    assert t["assessments"]["over_capacity_flag"].dtype == bool


def test_parsed_tables_meet_the_pandera_schema(tiny_dir: Path):
    """Second route: the pandera statement of the contract accepts what the reader produced."""
    raw = read_raw(tiny_dir)
    for name, df in raw.tables.items():
        contract.parsed_schema(name).validate(df)


def test_pandera_schema_rejects_what_the_contract_rejects(tiny_dir: Path):
    raw = read_raw(tiny_dir)
    bad = raw.tables["assessments"].copy()
    bad.loc[0, "environment_score"] = 101.0
    import pandera.errors

    with pytest.raises(pandera.errors.SchemaError):
        contract.parsed_schema("assessments").validate(bad)


def test_demo_world_meets_the_contract(repo_root: Path):
    demo = repo_root / "data" / "raw" / "demo"
    if not (demo / "institutions.csv").exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    raw = read_raw(demo)
    validate(raw)  # raises DataContractError listing every problem if the demo violates it
    for name, df in raw.tables.items():
        contract.parsed_schema(name).validate(df)


# --------------------------------------------------------------------------------------------
# rules with a choice in them
# --------------------------------------------------------------------------------------------
def test_over_capacity_flag_allows_residents_above_beds(tmp_path: Path):
    d = write_tiny(tmp_path / "a", edit={("assessments", 0, "residents"): "55"})
    with pytest.raises(DataContractError) as err:
        validate(read_raw(d))
    assert "over_capacity_flag" in err.value.problems[0].fix
    d = write_tiny(tmp_path / "b", edit={("assessments", 0, "residents"): "55",
                                         ("assessments", 0, "over_capacity_flag"): "是"})
    assert validate(read_raw(d)) == []


def test_activities_outside_pairings_are_notes_not_errors(tmp_path: Path):
    # row 2: U02 never paired with I001; row 3: U02 at I002 after its pairing ended (2022-06-30)
    d = write_tiny(tmp_path / "a", edit={("activities", 0, "unit_id"): "U02",
                                         ("activities", 1, "date"): "2022-09-01"})
    notes = validate(read_raw(d))
    assert len(notes) == 2
    never = next(n for n in notes if "never paired" in n)
    outside = next(n for n in notes if "outside every pairing" in n)
    assert "activities.csv" in never and "rows 2)" in never
    assert "rows 3)" in outside
    # a county/township team (empty unit_id) is never flagged
    assert all("row 5" not in n for n in notes)


def test_empty_activity_and_problem_tables_are_notes(tmp_path: Path):
    d = write_tiny(tmp_path / "a")
    (d / "problems.csv").write_text(",".join(TINY["problems"][0]) + "\n", encoding="utf-8")
    notes = validate(read_raw(d))
    assert any("problems.csv has a header but no data rows" in n for n in notes)


def test_validate_lists_every_problem_at_once(tmp_path: Path):
    d = write_tiny(tmp_path / "a", edit={("activities", 0, "value_rmb"): "-5",
                                         ("institutions", 1, "kind"): "elder",
                                         ("assessments", 2, "service_score"): "120"})
    with pytest.raises(DataContractError) as err:
        validate(read_raw(d))
    where = {(p.file, p.row) for p in err.value.problems}
    assert where == {("activities.csv", 2), ("institutions.csv", 3), ("assessments.csv", 4)}
    assert err.value.exit_code == 2


# --------------------------------------------------------------------------------------------
# documentation
# --------------------------------------------------------------------------------------------
def test_docs_page_is_generated_from_the_contract():
    page = (REPO / "docs" / "data_contract.md").read_text(encoding="utf-8")
    assert page == render_markdown(), (
        "docs/data_contract.md is out of date: regenerate it with "
        "python -c 'from analysis.contract import render_markdown; print(render_markdown(), end=\"\")' "
        "> docs/data_contract.md")


def test_docs_page_names_every_column_alias_and_label():
    page = render_markdown()
    for t in TABLES.values():
        assert f"### `{t.name}` — {t.zh}" in page
        for c in t.columns:
            assert f"`{c.name}`" in page and c.zh in page
            for lv in c.levels:
                assert f"`{lv.code}` {lv.label}" in page


def test_tiny_helper_round_trips():
    rows = list(csv.DictReader(io.StringIO(csv_text(tiny_rows("units")))))
    assert rows == TINY["units"]
    assert pd.DataFrame(TINY["assessments"]).shape == (12, 8)
