"""The contract's specification: the seven raw tables as data.

For every table: canonical columns, Chinese header names and aliases, the kind of each column
(:data:`Kind`), enumerations (English code, Chinese label, accepted synonyms), ranges, whether a
column is required or may be empty, foreign keys, the primary key, which date must not precede
which (:class:`DateOrder`) and the sheet names a workbook may use. Nothing here checks data: the
reader (:mod:`analysis.io`) parses cells by this specification, :mod:`analysis.contract.rules`
checks whole tables against it, :mod:`analysis.contract.schema` restates it as a pandera schema
and :mod:`analysis.contract.markdown` documents it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

import pandas as pd

from ..errors import check_option
from ..messages import Msg

CONTRACT_VERSION = 1

#: what a column holds; decides how the reader parses a cell and how the template formats it
Kind = Literal["id", "code6", "text", "enum", "int", "float", "share", "date", "period", "bool"]
#: each kind as a researcher reads it in the documentation and the template's header comments
KIND_TEXT: dict[str, str] = {
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
}
assert tuple(KIND_TEXT) == get_args(Kind)

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

    def __post_init__(self) -> None:
        check_option(f"kind of column {self.name}", self.kind, Kind)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(lv.code for lv in self.levels)

    def type_text(self) -> str:
        """The type as a researcher reads it in the documentation."""
        rng = ""
        if self.kind in ("int", "float"):
            if self.min is not None and self.max is not None:
                rng = f"{_num(self.min)}–{_num(self.max)}"
            elif self.min is not None:
                rng = f"≥ {_num(self.min)}"
            elif self.max is not None:
                rng = f"≤ {_num(self.max)}"
        return KIND_TEXT[self.kind] + (f" ({rng})" if rng else "")

    def type_msg(self) -> Msg:
        """:meth:`type_text` as a message of :mod:`analysis.messages` (Chinese on ``render``)."""
        rng = self.type_text()[len(KIND_TEXT[self.kind]):].strip()[1:-1]
        kind = Msg(f"kind.{self.kind}")
        return Msg("kind.range", kind=kind, range=rng) if rng else kind


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class DateOrder:
    """A rule of one table: ``then``, when given, is on or after ``first``. ``verb`` completes
    "a record cannot … before it starts" in the message."""

    first: str
    then: str
    verb: str


@dataclass(frozen=True)
class Table:
    """One raw table: its columns, primary ``key``, the ``rules`` in words (for the documentation
    and the template), ``date_order`` rules, whether it ``may_be_empty`` and further sheet names."""

    name: str
    zh: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[str, ...] = ()
    may_be_empty: bool = False
    sheet_aliases: tuple[str, ...] = field(default=())
    date_order: tuple[DateOrder, ...] = ()

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
                Column("prefecture_code", "地市代码", "code6", "prefecture the county belongs to (GB/T 2260): the county code's first four digits and 00, e.g. 511100; derived from county_code when absent", required=False, aliases=("市州代码", "地级市代码")),
                Column("prefecture_name", "地市名称", "text", "name of the prefecture", required=False, aliases=("市州名称", "地级市名称")),
                Column("province_code", "省份代码", "code6", "province the county belongs to (GB/T 2260): the county code's first two digits and 0000, e.g. 510000; derived from county_code when absent", required=False, aliases=("省级代码",)),
                Column("province_name", "省份名称", "text", "name of the province", required=False, aliases=("省级名称",)),
            ),
            rules=("county_code is unique.",
                   "prefecture_code and province_code, when given, agree with county_code."),
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
            date_order=(DateOrder("start_date", "end_date", "end"),),
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
            date_order=(DateOrder("found_date", "resolved_date", "be resolved"),),
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


def levels_text(col: Column) -> str:
    """The levels of an enumeration as messages list them: ``elderly (养老), children (儿童)``."""
    return ", ".join(f"{lv.code} ({lv.label})" for lv in col.levels)


def header_names(table: str) -> Mapping[str, str]:
    """canonical → Chinese name, for one table."""
    return {c.name: c.zh for c in TABLES[table].columns}
