"""The raw data contract (v1): what a researcher's ledgers must look like, and the table-level rules.

This module is the single home of the contract. It holds

* the **table specifications** (:data:`TABLES`): canonical columns, Chinese header aliases, types,
  enumerations (English codes and Chinese labels), ranges, primary keys and foreign keys;
* the **rules that need whole tables** (:func:`check`): unique keys, foreign keys, date order,
  residents ≤ beds unless flagged, non-empty tables, left-over template example rows, and the
  warning-level note about activities outside their unit's pairings;
* :func:`validate`, which raises one :class:`~analysis.errors.DataContractError` listing every
  problem (the cell-level ones found while reading, see :mod:`analysis.io`, and the table-level
  ones found here);
* :func:`render_markdown`, which generates ``docs/data_contract.md`` (a test keeps the two equal).

Why not pandera for the checks themselves: the contract must locate every problem *as the user sees
their file* (row numbers after blank and title rows, Excel sheet names, the user's own header
spelling, merged cells) and attach a concrete fix ("February 2023 has 28 days"). Parsing bilingual
enumerations, Excel serial dates and Chinese quarter spellings has to happen cell by cell before any
schema can be applied, so the cell checks live in the reader, which keeps the raw value and its
position; the cross-table rules below are a few vectorised pandas operations. pandera is used as a
second, independent statement of the contract in :func:`parsed_schema`: a schema of the *parsed*
tables (dtypes, ranges, enumerations, keys) that tests and downstream modules can apply.
"""

from __future__ import annotations

import calendar
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import DataContractError, Problem

CONTRACT_VERSION = 1

Kind = Literal["id", "code6", "text", "enum", "int", "float", "share", "date", "period", "bool"]

#: plausible dates: anything outside is almost always a typo or a number that is not a date
DATE_MIN = pd.Timestamp("1980-01-01")
DATE_MAX = pd.Timestamp("2099-12-31")

DATE_SPELLINGS = "YYYY-MM-DD, YYYY/M/D, YYYY年M月D日 or an Excel serial number"
PERIOD_SPELLINGS = "2021Q1, 2021-Q1 or 2021年第1季度"

#: identifiers and names of the template's example rows start with this marker
EXAMPLE_MARK = "示例"


@dataclass(frozen=True)
class Level:
    """One value of an enumeration: canonical English code, Chinese label, other accepted spellings."""

    code: str
    label: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Column:
    """One column of a raw table.

    ``required``: the column must be present in the file. ``nullable``: a cell may be empty.
    Optional columns (``required=False``) are always nullable; when absent they are added as
    all-missing. ``ref`` names a foreign key as ``"table.column"``.
    """

    name: str
    zh: str
    kind: Kind
    description: str
    required: bool = True
    nullable: bool = False
    levels: tuple[Level, ...] = ()
    min: float | None = None
    max: float | None = None
    ref: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(lv.code for lv in self.levels)

    def type_text(self) -> str:
        """The type as a researcher reads it in the documentation."""
        base = {
            "id": "text identifier",
            "code6": "6-digit code (text, GB/T 2260)",
            "text": "text",
            "enum": "one of the listed values",
            "int": "whole number",
            "float": "number",
            "share": "share between 0 and 1 (23.5% is read as 0.235)",
            "date": "date",
            "period": "quarter",
            "bool": "yes/no (是/否, true/false, 1/0; empty = no)",
        }[self.kind]
        rng = []
        if self.kind in ("int", "float"):
            if self.min is not None and self.max is not None:
                rng.append(f"{_num(self.min)}–{_num(self.max)}")
            elif self.min is not None:
                rng.append(f"≥ {_num(self.min)}")
            elif self.max is not None:
                rng.append(f"≤ {_num(self.max)}")
        return base + (f" ({rng[0]})" if rng else "")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class Table:
    name: str
    zh: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[str, ...] = ()
    may_be_empty: bool = False
    sheet_aliases: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"


# --------------------------------------------------------------------------------------------
# enumerations
# --------------------------------------------------------------------------------------------
COUNTY_KIND = (
    Level("district", "市辖区", ("区",)),
    Level("county", "县"),
    Level("autonomous_county", "自治县"),
    Level("city", "县级市", ("市",)),
)
INSTITUTION_KIND = (
    Level("elderly", "养老", ("养老机构", "敬老院", "养老院", "老年")),
    Level("children", "儿童", ("儿童福利院", "儿童福利机构", "儿童机构")),
)
OPERATOR = (Level("public", "公办", ("公立",)), Level("private", "民办", ("民营", "社会办")))
AREA = (Level("rural", "农村", ("乡村",)), Level("urban", "城市", ("城镇", "城区")))
UNIT_LEVEL = (
    Level("city", "市级", ("市",)),
    Level("county", "县级", ("县", "县区级", "区县级")),
    Level("township", "乡镇", ("乡镇级", "街道")),
)
SECTOR = (
    Level("party_government", "党政机关", ("党政", "机关")),
    Level("finance", "金融", ("金融机构", "银行")),
    Level("telecom", "通讯", ("通信",)),
    Level("health", "卫生", ("医疗", "卫生健康")),
    Level("education", "教育"),
    Level("enterprise", "企业", ("国有企业", "国企")),
    Level("social_org", "社会组织"),
    Level("other", "其他", ("其它",)),
)
PAIRING_REASON = (
    Level("initial", "初始", ("首批",)),
    Level("adjusted", "调整"),
    Level("added", "新增"),
)
ACTIVITY_CATEGORY = (
    Level("visit", "调研走访", ("走访", "调研")),
    Level("culture", "文娱活动", ("文娱", "文化活动")),
    Level("health", "送医送药义诊", ("义诊", "送医送药", "医疗服务")),
    Level("cleanup", "环境整治", ("环境卫生整治",)),
    Level("safety_check", "安全检查", ("安全排查",)),
    Level("donation", "物资捐赠", ("捐赠", "捐款捐物")),
    Level("training", "培训指导", ("培训",)),
    Level("festival", "节日慰问", ("慰问",)),
    Level("volunteer", "志愿服务", ("志愿",)),
    Level("other", "其他", ("其它",)),
)
PROBLEM_CATEGORY = (
    Level("environment", "环境"),
    Level("safety", "安全"),
    Level("service", "服务"),
    Level("facilities", "设施", ("设施设备",)),
    Level("operations", "运营", ("运营管理",)),
    Level("resident_need", "群众诉求", ("诉求",)),
)

# --------------------------------------------------------------------------------------------
# the seven tables
# --------------------------------------------------------------------------------------------
_INST_FK = "institutions.institution_id"
_UNIT_FK = "units.unit_id"

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "counties",
            "县区",
            "One row per county-level division (县、区、县级市).",
            ("county_code",),
            (
                Column("county_code", "县区代码", "code6", "6-digit administrative code (GB/T 2260), e.g. 511102", aliases=("行政区划代码", "区县代码")),
                Column("county_name", "县区名称", "text", "name, e.g. 市中区", aliases=("区县名称",)),
                Column("county_name_en", "英文名", "text", "English or pinyin name", required=False),
                Column("county_kind", "类型", "enum", "kind of division", levels=COUNTY_KIND, aliases=("县区类型",)),
                Column("population", "常住人口", "int", "resident population", min=0),
                Column("elderly_share", "老年人口占比", "share", "share of residents aged 60+", min=0, max=1),
                Column("rural_share", "农村人口占比", "share", "share of residents living in rural areas", required=False, min=0, max=1),
                Column("county_management_date", "收归县管日期", "date", "date rural public elderly homes moved under county management; empty = not moved in the data window", nullable=True),
            ),
            rules=("county_code is unique.",),
            sheet_aliases=("区县",),
        ),
        Table(
            "institutions",
            "机构",
            "One row per care institution (养老机构、敬老院、儿童福利院).",
            ("institution_id",),
            (
                Column("institution_id", "机构编号", "id", "identifier, unique (kept as text: leading zeros stay)", aliases=("机构代码",)),
                Column("institution_name", "机构名称", "text", "name"),
                Column("county_code", "县区代码", "code6", "county the institution belongs to", ref="counties.county_code", aliases=("行政区划代码", "区县代码")),
                Column("township", "乡镇街道", "text", "township or street", required=False, aliases=("乡镇",)),
                Column("kind", "机构类型", "enum", "elderly or children's institution", levels=INSTITUTION_KIND),
                Column("operator", "举办主体", "enum", "public or private operator", levels=OPERATOR, aliases=("性质",)),
                Column("area", "城乡", "enum", "rural or urban", levels=AREA, aliases=("城乡属性",)),
                Column("beds", "床位数", "int", "number of beds", min=0, aliases=("床位",)),
                Column("distance_km", "距县城距离", "float", "distance to the county seat in km", required=False, min=0, aliases=("距县城距离(公里)", "距县城距离(km)")),
                Column("opened_year", "建成年份", "int", "year the institution opened", required=False, min=1900, max=2100),
            ),
            rules=("institution_id is unique.", "county_code must be listed in counties."),
        ),
        Table(
            "units",
            "帮扶单位",
            "One row per helper unit (department, company, organisation) in the programme.",
            ("unit_id",),
            (
                Column("unit_id", "帮扶单位编号", "id", "identifier, unique (text)", aliases=("单位编号",)),
                Column("unit_name", "帮扶单位名称", "text", "name", aliases=("单位名称",)),
                Column("level", "层级", "enum", "administrative level of the unit", levels=UNIT_LEVEL, aliases=("单位层级",)),
                Column("sector", "类别", "enum", "sector of the unit", levels=SECTOR, aliases=("单位类别",)),
                Column("staff", "人数", "int", "number of staff", required=False, min=0, aliases=("职工人数",)),
                Column("joined_date", "加入日期", "date", "date the unit joined the programme"),
            ),
            rules=("unit_id is unique.",),
            sheet_aliases=("单位",),
        ),
        Table(
            "pairings",
            "结对关系",
            "One row per pairing of a unit with an institution over a span of dates (an adjusted pair is a new row).",
            ("pairing_id",),
            (
                Column("pairing_id", "结对编号", "id", "identifier, unique (text)"),
                Column("unit_id", "帮扶单位编号", "id", "the helper unit", ref=_UNIT_FK, aliases=("单位编号",)),
                Column("institution_id", "机构编号", "id", "the institution", ref=_INST_FK, aliases=("机构代码",)),
                Column("start_date", "开始日期", "date", "first day of the pairing"),
                Column("end_date", "结束日期", "date", "last day; empty = ongoing", nullable=True),
                Column("reason", "原因", "enum", "why the pairing exists", levels=PAIRING_REASON, aliases=("结对原因",)),
            ),
            rules=(
                "pairing_id is unique.",
                "unit_id must be listed in units; institution_id in institutions.",
                "end_date, when given, is on or after start_date.",
            ),
            sheet_aliases=("结对",),
        ),
        Table(
            "activities",
            "帮扶活动",
            "One row per assistance activity held at an institution.",
            ("activity_id",),
            (
                Column("activity_id", "活动编号", "id", "identifier, unique (text)"),
                Column("date", "日期", "date", "day of the activity", aliases=("活动日期",)),
                Column("institution_id", "机构编号", "id", "where it took place", ref=_INST_FK, aliases=("机构代码",)),
                Column("unit_id", "帮扶单位编号", "id", "the unit that held it; empty = a county or township team", nullable=True, ref=_UNIT_FK, aliases=("单位编号",)),
                Column("category", "活动类别", "enum", "kind of activity", levels=ACTIVITY_CATEGORY, aliases=("活动类型",)),
                Column("participants", "参与人数", "int", "helpers taking part", min=0),
                Column("beneficiaries", "受益人次", "int", "person-times of residents served", min=0),
                Column("value_rmb", "折合金额(元)", "float", "money and goods, in yuan", min=0, aliases=("折合金额", "金额(元)", "金额")),
            ),
            rules=(
                "activity_id is unique.",
                "institution_id must be listed in institutions; unit_id, when given, in units.",
                "Note (not an error): an activity whose unit was not paired with that institution on that date is listed as a note, because it is either a data-entry slip or help outside the formal pairing; the researcher decides.",
            ),
            may_be_empty=True,
            sheet_aliases=("活动",),
        ),
        Table(
            "problems",
            "问题",
            "One row per problem found at an institution (问题清单).",
            ("problem_id",),
            (
                Column("problem_id", "问题编号", "id", "identifier, unique (text)"),
                Column("institution_id", "机构编号", "id", "where the problem was found", ref=_INST_FK, aliases=("机构代码",)),
                Column("category", "问题类别", "enum", "kind of problem", levels=PROBLEM_CATEGORY, aliases=("问题类型",)),
                Column("found_date", "发现日期", "date", "day the problem was found"),
                Column("resolved_date", "解决日期", "date", "day it was resolved; empty = still open", nullable=True),
                Column("unit_id", "解决单位", "id", "unit that resolved it", required=False, ref=_UNIT_FK, aliases=("解决单位编号",)),
            ),
            rules=(
                "problem_id is unique.",
                "institution_id must be listed in institutions; unit_id, when given, in units.",
                "resolved_date, when given, is on or after found_date.",
            ),
            may_be_empty=True,
            sheet_aliases=("问题清单",),
        ),
        Table(
            "assessments",
            "季度评估",
            "One row per institution and quarter assessed (三升一降 scores).",
            ("institution_id", "period"),
            (
                Column("institution_id", "机构编号", "id", "the institution", ref=_INST_FK, aliases=("机构代码",)),
                Column("period", "季度", "period", "quarter assessed", aliases=("评估季度",)),
                Column("residents", "在院人数", "int", "residents at the time of assessment", min=0, aliases=("在院人员",)),
                Column("environment_score", "院容院貌得分", "float", "environment score", min=0, max=100),
                Column("service_score", "服务质量得分", "float", "service quality score", min=0, max=100),
                Column("happiness_score", "幸福指数", "float", "residents' happiness index", min=0, max=100),
                Column("safety_hazards", "安全隐患数", "int", "number of safety hazards found", min=0),
                Column("over_capacity_flag", "超员标记", "bool", "yes when residents may exceed beds (temporary overflow, beds being rebuilt); without it residents > beds is an error", required=False),
            ),
            rules=(
                "(institution_id, period) is unique.",
                "institution_id must be listed in institutions.",
                "residents ≤ the institution's beds, unless over_capacity_flag is yes.",
            ),
            sheet_aliases=("评估",),
        ),
    )
}

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)


# --------------------------------------------------------------------------------------------
# table-level rules
# --------------------------------------------------------------------------------------------
@dataclass
class Findings:
    """What :func:`check` found: errors (:class:`Problem`) and notes (warnings, text)."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _locator(raw: Any, table: str):
    """A function ``(position, column, value, expected, fix) -> Problem`` for one table."""
    src = raw.sources[table]
    rows = raw.rows[table]

    def make(pos: int | None, column: str | None, value: object, expected: str, fix: str) -> Problem:
        col = src.display_column(column) if column else None
        row = int(rows[pos]) if pos is not None else None
        return Problem(file=src.file, sheet=src.sheet, row=row, column=col, value=value,
                       expected=expected, fix=fix)

    return make


def _fmt(v: object) -> object:
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def check(raw: Any) -> Findings:
    """Table-level and cross-table rules on parsed tables.

    ``raw`` is an :class:`analysis.io.RawData` (duck-typed: ``tables``, ``rows``, ``sources`` and
    ``failed`` — the tables that could not be read at all, whose rules are skipped).
    """
    out = Findings()
    present = [t for t in TABLES if t in raw.tables and t not in raw.failed]

    # non-empty tables
    for name in present:
        spec = TABLES[name]
        if len(raw.tables[name]) == 0:
            src = raw.sources[name]
            if spec.may_be_empty:
                out.notes.append(f"{src.where()} has a header but no data rows: no {name} recorded.")
            else:
                out.problems.append(Problem(
                    file=src.file, sheet=src.sheet, row=None, column=None, value=None,
                    expected=f"at least one data row of {name} ({spec.zh}) under the header",
                    fix=f"fill in the {name} rows (row 2 onwards); an empty {name} table cannot be analysed"))

    # left-over example rows of the template
    for name in present:
        spec, df = TABLES[name], raw.tables[name]
        # identifiers carry the mark; counties have a real 6-digit code, so their name does
        cols = [c.name for c in spec.columns if c.kind == "id" or c.name == "county_name"]
        if len(df) == 0:
            continue
        make = _locator(raw, name)
        marked = np.zeros(len(df), dtype=bool)
        for c in cols:
            marked |= df[c].astype("string").str.startswith(EXAMPLE_MARK).fillna(False).to_numpy(bool)
        for pos in np.flatnonzero(marked):
            col = next(c for c in cols if str(df[c].iat[pos]).startswith(EXAMPLE_MARK))
            out.problems.append(make(pos, col, df[col].iat[pos],
                                     "real data, not one of the template's example rows",
                                     f"delete the grey example rows (marked {EXAMPLE_MARK}) before "
                                     "sending the file"))

    # unique keys
    for name in present:
        spec, df = TABLES[name], raw.tables[name]
        if len(df) == 0:
            continue
        key = list(spec.key)
        ok = df[key].notna().all(axis=1)
        dup = df[key].duplicated(keep=False) & ok
        if not dup.any():
            continue
        make = _locator(raw, name)
        first_of: dict[tuple, int] = {}
        for pos in np.flatnonzero(dup.to_numpy()):
            k = tuple(df[c].iat[pos] for c in key)
            if k not in first_of:
                first_of[k] = pos
                continue
            first_row = int(raw.rows[name][first_of[k]])
            shown = k[0] if len(k) == 1 else " + ".join(map(str, k))
            what = " and ".join(key)
            out.problems.append(make(
                pos, key[-1] if len(key) > 1 else key[0], shown,
                f"a unique {what} (each appears on one row only)",
                f"row {first_row} has the same {what}; delete the repeated row or correct its {what}"))

    # foreign keys
    for name in present:
        spec, df = TABLES[name], raw.tables[name]
        for col in spec.columns:
            if not col.ref or col.name not in df.columns:
                continue
            parent, pcol = col.ref.split(".")
            if parent not in present or len(raw.tables[parent]) == 0:
                continue  # the parent table itself is broken or empty; that is reported already
            known = set(raw.tables[parent][pcol].dropna())
            vals = df[col.name]
            bad = vals.notna() & ~vals.isin(known)
            if not bad.any():
                continue
            make = _locator(raw, name)
            psrc = raw.sources[parent]
            cand = sorted(map(str, known))
            hint_cache: dict[str, str] = {}
            for pos in np.flatnonzero(bad.to_numpy()):
                v = vals.iat[pos]
                if v not in hint_cache:
                    close = difflib.get_close_matches(str(v), cand, n=1, cutoff=0.8)
                    hint_cache[v] = f" (did you mean {close[0]!r}?)" if close else ""
                out.problems.append(make(
                    pos, col.name, v,
                    f"a {pcol} listed in {psrc.where()}",
                    f"correct the id{hint_cache[v]} or add {pcol} {v!r} to {psrc.where()}"))

    # date order
    for name, start, end, verb in (
        ("pairings", "start_date", "end_date", "end"),
        ("problems", "found_date", "resolved_date", "be resolved"),
    ):
        if name not in present:
            continue
        df = raw.tables[name]
        bad = df[end].notna() & df[start].notna() & (df[end] < df[start])
        make = _locator(raw, name)
        for pos in np.flatnonzero(bad.to_numpy()):
            s, e = df[start].iat[pos], df[end].iat[pos]
            out.problems.append(make(
                pos, end, _fmt(e),
                f"a date on or after {start} ({_fmt(s)}): a record cannot {verb} before it starts",
                f"correct {end} or {start} (were they swapped?)"))

    # residents <= beds unless flagged
    if "assessments" in present and "institutions" in present:
        a, inst = raw.tables["assessments"], raw.tables["institutions"]
        beds = a["institution_id"].map(
            inst.dropna(subset=["institution_id"]).drop_duplicates("institution_id")
            .set_index("institution_id")["beds"])
        flag = a["over_capacity_flag"].fillna(False).astype(bool)
        over = (a["residents"] > beds).fillna(False).astype(bool) & ~flag
        make = _locator(raw, "assessments")
        for pos in np.flatnonzero(over.to_numpy()):
            out.problems.append(make(
                pos, "residents", _fmt(a["residents"].iat[pos]),
                f"at most the institution's {int(beds.iat[pos])} beds (institutions, beds)",
                "correct residents or beds; if the institution really housed more people than beds, "
                "put 是 (yes) in the optional column over_capacity_flag (超员标记)"))

    # activities outside the unit's pairings with that institution: a note, not an error
    if "activities" in present and "pairings" in present:
        out.notes += _activities_outside_pairings(raw)
    return out


def activities_outside_pairings(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Activities by a unit at an institution on a day no pairing of that unit with that
    institution covers: positions (``pos``) in ``tables["activities"]`` and ``never`` (True when
    the unit was never paired with that institution at all)."""
    act, pair = tables["activities"], tables["pairings"]
    act = act[act["unit_id"].notna() & act["date"].notna()]
    if len(act) == 0:
        return pd.DataFrame({"pos": pd.Series(dtype=int), "never": pd.Series(dtype=bool)})
    a = act[["unit_id", "institution_id", "date"]].reset_index(names="_pos")
    p = pair.loc[pair["start_date"].notna(), ["unit_id", "institution_id", "start_date", "end_date"]]
    m = a.merge(p, on=["unit_id", "institution_id"], how="left")
    cover = (m["date"] >= m["start_date"]) & (m["end_date"].isna() | (m["date"] <= m["end_date"]))
    m["cover"] = cover.fillna(False).astype(bool)
    m["ever"] = m["start_date"].notna()
    g = m.groupby("_pos").agg(cover=("cover", "any"), ever=("ever", "any"))
    g = g[~g["cover"]]
    return pd.DataFrame({"pos": g.index.to_numpy(dtype=int), "never": ~g["ever"].to_numpy(bool)})


def _activities_outside_pairings(raw: Any) -> list[str]:
    found = activities_outside_pairings(raw.tables)
    notes = []
    src = raw.sources["activities"]
    rows = raw.rows["activities"]
    for never, text in (
        (True, "by a unit never paired with that institution"),
        (False, "on a date outside every pairing of that unit with that institution"),
    ):
        pos = found.loc[found["never"] == never, "pos"].to_numpy()
        if len(pos) == 0:
            continue
        shown = ", ".join(str(int(rows[p])) for p in pos[:10]) + (" …" if len(pos) > 10 else "")
        notes.append(
            f"{src.where()}: {len(pos)} activit{'y' if len(pos) == 1 else 'ies'} {text} "
            f"(rows {shown}). They are kept and count towards the institution's activities; check "
            f"unit_id, institution_id and date if they are slips.")
    return notes


def _sort_key(p: Problem) -> tuple:
    order = {t.file_name: i for i, t in enumerate(TABLES.values())}
    return (order.get(p.file, len(order)), p.file, p.sheet or "", -1 if p.row is None else p.row)


def validate(raw: Any) -> list[str]:
    """Raise :class:`DataContractError` listing **every** problem; else return the notes (warnings).

    The problems are those the reader found in single cells (``raw.problems``) and the table-level
    ones of :func:`check`, ordered by file and row.
    """
    found = check(raw)
    problems = sorted(list(raw.problems) + found.problems, key=_sort_key)
    if problems:
        per_file: dict[str, int] = {}
        for p in problems:
            where = p.file + (f" sheet {p.sheet}" if p.sheet else "")
            per_file[where] = per_file.get(where, 0) + 1
        files = ", ".join(f"{k}: {v}" for k, v in per_file.items())
        raise DataContractError(
            problems,
            header=(f"The raw data in {raw.root_name} does not meet the data contract: "
                    f"{len(problems)} problem(s) ({files}). Rows are numbered as in your file "
                    "(header = row 1). Nothing was built or changed"),
        )
    return list(raw.notes) + found.notes


# --------------------------------------------------------------------------------------------
# helpers for messages and the documentation
# --------------------------------------------------------------------------------------------
def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def levels_text(col: Column) -> str:
    return ", ".join(f"{lv.code} ({lv.label})" for lv in col.levels)


def parsed_schema(table: str):
    """A pandera ``DataFrameSchema`` of a *parsed* table (as in ``data/processed/<dataset>/``).

    A second, independent statement of the contract's types, ranges, enumerations and keys, used
    by tests and available to any module that wants to assert its input.
    """
    import pandera.pandas as pa

    spec = TABLES[table]
    cols = {}
    for c in spec.columns:
        checks = []
        nullable = c.nullable or not c.required
        if c.kind in ("id", "code6", "text", "period", "enum"):
            dtype = object
            if c.kind == "enum":
                checks.append(pa.Check.isin(list(c.codes)))
            if c.kind == "code6":
                checks.append(pa.Check.str_matches(r"^\d{6}$"))
            if c.kind == "period":
                checks.append(pa.Check.str_matches(r"^\d{4}Q[1-4]$"))
        elif c.kind == "int":
            dtype = "Int64"
        elif c.kind in ("float", "share"):
            dtype = "float64"
        elif c.kind == "date":
            dtype = "datetime64[ns]"
            checks.append(pa.Check.in_range(DATE_MIN, DATE_MAX))
        else:  # bool
            dtype = bool
            nullable = False
        if c.kind in ("int", "float", "share"):
            if c.min is not None:
                checks.append(pa.Check.ge(c.min))
            if c.max is not None:
                checks.append(pa.Check.le(c.max))
        cols[c.name] = pa.Column(dtype, checks=checks, nullable=nullable)
    return pa.DataFrameSchema(cols, unique=list(spec.key), strict=False)


def render_markdown() -> str:
    """The researcher's documentation of the contract (``docs/data_contract.md``)."""
    out: list[str] = [
        "# Raw data contract (v1)",
        "",
        "<!-- generated from analysis.contract by analysis.contract.render_markdown(); "
        "a test keeps this file equal to it -->",
        "",
        "This is what `pairing-eval validate` checks and `pairing-eval build` reads. Send",
        "`pairing-eval template 台账模板.xlsx` to departments: it has these sheets, bilingual headers",
        "and dropdowns for every list below.",
        "",
        "## Files",
        "",
        "Put one file per table into a folder `data/raw/<dataset>/`, named `<table>.csv` (e.g.",
        "`institutions.csv`), **or** one Excel workbook (`*.xlsx`) with one sheet per table, the sheet",
        "named like the table: English name, Chinese name, or both (`机构 institutions`, as in the",
        "template). Other files in the folder (README, `TRUTH.json`) are not read as tables but are",
        "part of the input hash, so changing them makes `build` run again.",
        "",
        "* **Encodings**: CSV files may be UTF-8, UTF-8 with BOM, or GB18030/GBK (what Excel and WPS",
        "  export on Chinese Windows). The encoding is detected from the file's bytes, never from",
        "  the computer's settings.",
        "* **Headers** (row 1; title rows above the header are skipped and reported): the canonical",
        "  English name, the Chinese name, or both in one cell (`机构编号 institution_id`, as in the",
        "  template). Case, spaces, full-width brackets and a trailing `*` do not matter; Chinese",
        "  and English headers may be mixed. Extra columns are kept and reported, never an error.",
        "  Optional columns may be left out (they are added as empty).",
        "* **Rows** are numbered as you see them (header = row 1, first data row = row 2; Excel",
        "  messages also name the sheet). Blank rows are ignored. Merged cells are not allowed in",
        "  data rows: unmerge them and repeat the value in every row.",
        "* **Identifiers** (`*_id`, `county_code`) are always read as text: leading zeros are kept.",
        f"* **Dates**: {DATE_SPELLINGS} (also `YYYY.M.D` and `YYYYMMDD`), between "
        f"{DATE_MIN:%Y-%m-%d} and {DATE_MAX:%Y-%m-%d}. Impossible dates such as `2023-02-30` are errors.",
        f"* **Quarters**: {PERIOD_SPELLINGS} (also `2021 Q1`, `2021年1季度`, `2021年第一季度`).",
        "* **Lists** (enumerations) accept the English code, the Chinese label, a listed synonym,",
        "  or label and code together (`养老 elderly`, as the template's dropdowns write them).",
        "* **Numbers** may use thousands separators (`1,234`); shares accept `23.5%`.",
        "* **Empty** cells: nothing, or `-`, `/`, `无`, `NA`.",
        f"* The template's grey example rows (identifiers, or the county name, starting with `{EXAMPLE_MARK}`) must be",
        "  deleted before the file is sent back; they are reported as errors.",
        "",
        "Every problem is reported at once (file, sheet, row, column, value, what was expected and",
        "how to fix it); `validate` exits with code 2 and `build` writes nothing. For example:",
        "",
        "```text",
        "activities.csv, row 17, column date: value '2023-02-30': expected a real calendar date",
        f"({DATE_SPELLINGS}). Fix: correct the day; February 2023 has 28 days",
        "```",
        "",
        "## Tables",
        "",
    ]
    for t in TABLES.values():
        key = ", ".join(t.key)
        out += [f"### `{t.name}` — {t.zh}", "", t.description, "",
                f"File `{t.file_name}` or sheet `{t.name}` / `{t.zh}`"
                + "".join(f" / `{a}`" for a in t.sheet_aliases)
                + f". Key: ({key})." + (" May have no data rows." if t.may_be_empty else ""), "",
                "| column | 中文 | type | required | meaning |", "|---|---|---|---|---|"]
        for c in t.columns:
            req = "yes" if c.required and not c.nullable else ("yes, may be empty" if c.required else "optional")
            typ = c.type_text()
            if c.ref:
                typ += f" → `{c.ref}`"
            zh = c.zh + "".join(f", {a}" for a in c.aliases)
            out.append(f"| `{c.name}` | {zh} | {typ} | {req} | {c.description} |")
        enums = [c for c in t.columns if c.levels]
        if enums:
            out += [""]
            for c in enums:
                vals = "; ".join(
                    f"`{lv.code}` {lv.label}" + (f" (also {'、'.join(lv.synonyms)})" if lv.synonyms else "")
                    for lv in c.levels)
                out.append(f"* `{c.name}`: {vals}")
        out += ["", "Rules:", ""] + [f"* {r}" for r in t.rules] + [""]
    out += [
        "## Choices made",
        "",
        "* `residents` may exceed `beds` only where the optional column `over_capacity_flag`",
        "  (超员标记) says yes (是 / true / 1) on that assessment row.",
        "* Assessments before the programme or outside any pairing are expected (they are the",
        "  baseline) and are not flagged.",
        "* An activity whose `unit_id` was not paired with that institution on that date is a",
        "  **note** in the validate report (with its rows), not an error: it may be a slip in",
        "  `unit_id`/`institution_id`/`date`, or real help outside the formal pairing. It is kept and",
        "  counts towards the institution's activities.",
        "* `activities` and `problems` may have a header and no data rows (a note is shown); every",
        "  other table needs at least one row.",
        "",
    ]
    return "\n".join(out)


def header_names(table: str) -> Mapping[str, str]:
    """canonical → Chinese name, for one table."""
    return {c.name: c.zh for c in TABLES[table].columns}
