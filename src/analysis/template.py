"""The Excel template researchers send to departments (``pairing-eval template OUT.xlsx``).

One sheet per table of the contract (:mod:`analysis.contract`), named ``<中文> <table>``, with

* bilingual headers (``机构编号`` over ``institution_id`` in one cell) and a comment on each header
  (meaning, type, required or not, allowed values);
* a dropdown (data validation) for every enumeration, fed from a hidden ``lists`` sheet, plus
  validations for whole numbers, scores, shares and dates so Excel/WPS warn while typing;
* identifier columns formatted as text (leading zeros survive), dates formatted ``yyyy-mm-dd``;
* grey example rows (identifiers start with ``示例``; the validator rejects them if they are sent
  back) — or, with ``data_dir``, the tables of a raw folder written in instead;
* an instructions sheet (说明) in Chinese and English.

Every cell is inert (:func:`analysis.io.inert.put_cell`): text from the data that a spreadsheet
program would read as a formula (a name starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) is written as an explicit string cell, never as a formula, and reads back as
written.

The reader (:func:`analysis.io.read_raw`) reads a filled-in template back: sheet names, bilingual
headers and the ``养老 elderly`` dropdown spellings are all accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pandas as pd

from .contract import DATE_MAX, DATE_MIN, EXAMPLE_MARK, TABLES, Column, Kind, Table, validate
from .errors import DataContractError, Problem
from .io import enum_display, read_raw
from .io.inert import put_cell
from .messages import Msg

LISTS_SHEET = "lists"
INSTRUCTIONS_SHEET = "说明"
EXTRA_ROWS = 1000  # rows below the data that get dropdowns and formats
#: Excel number format of each column kind: text kinds as text (``@``, so leading zeros and codes
#: survive typing), whole numbers as Excel's general format
NUMBER_FORMATS: dict[str, str | None] = {
    "id": "@", "code6": "@", "text": "@", "enum": "@", "int": None, "float": "0.##",
    "share": "0.000", "date": "yyyy-mm-dd", "period": "@", "bool": "@",
}
assert set(NUMBER_FORMATS) == set(get_args(Kind))

#: example rows, consistent across tables (foreign keys hold); identifiers carry EXAMPLE_MARK
_E = EXAMPLE_MARK
EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "counties": [
        dict(county_code="511102", county_name=f"{_E}市中区", county_name_en="Shizhong",
             county_kind="district", population=600000, elderly_share=0.21, rural_share=0.3,
             county_management_date="2022-03-15", prefecture_code="511100",
             prefecture_name=f"{_E}地市", province_code="510000", province_name=f"{_E}省"),
    ],
    "institutions": [
        dict(institution_id=f"{_E}I001", institution_name=f"{_E}敬老院", county_code="511102",
             township="某镇", kind="elderly", operator="public", area="rural", beds=50,
             distance_km=12.5, opened_year=1998),
        dict(institution_id=f"{_E}I002", institution_name=f"{_E}儿童福利院", county_code="511102",
             township="某街道", kind="children", operator="public", area="urban", beds=20,
             distance_km=1.0, opened_year=2008),
    ],
    "units": [
        dict(unit_id=f"{_E}U01", unit_name=f"{_E}市级部门", level="city", sector="party_government",
             staff=40, joined_date="2021-01-01"),
    ],
    "pairings": [
        dict(pairing_id=f"{_E}P1", unit_id=f"{_E}U01", institution_id=f"{_E}I001",
             start_date="2021-01-01", end_date=None, reason="initial"),
    ],
    "activities": [
        dict(activity_id=f"{_E}A1", date="2021-03-05", institution_id=f"{_E}I001",
             unit_id=f"{_E}U01", category="visit", participants=3, beneficiaries=20, value_rmb=0),
        dict(activity_id=f"{_E}A2", date="2021-09-20", institution_id=f"{_E}I002", unit_id=None,
             category="festival", participants=5, beneficiaries=18, value_rmb=1200.5),
    ],
    "problems": [
        dict(problem_id=f"{_E}Q1", institution_id=f"{_E}I001", category="safety",
             found_date="2021-03-05", resolved_date="2021-04-10", unit_id=f"{_E}U01"),
    ],
    "assessments": [
        dict(institution_id=f"{_E}I001", period="2021Q1", residents=42, environment_score=61.5,
             service_score=70, happiness_score=75, safety_hazards=3, over_capacity_flag=None),
        dict(institution_id=f"{_E}I001", period="2021Q2", residents=44, environment_score=66,
             service_score=72, happiness_score=78, safety_hazards=2, over_capacity_flag=None),
    ],
}

INSTRUCTIONS: list[tuple[str, str]] = [
    ("乐山市“一老一小”结对帮扶 数据填报模板", "Paired-assistance programme: data template"),
    ("", ""),
    ("怎么填", "How to fill it in"),
    ("每个工作表是一张台账，表头（第1行）不要改动，也不要删除或合并单元格。",
     "Each sheet is one ledger. Do not change the header (row 1); do not merge cells."),
    ("灰色斜体的“示例”行只是示范，交回前请删除。",
     "The grey italic rows marked 示例 are examples: delete them before sending the file back."),
    ("带下拉箭头的列请从下拉列表中选择。", "Columns with a dropdown take one of the listed values."),
    ("日期写成 2021-03-05 或 2021/3/5 或 2021年3月5日；季度写成 2021Q1 或 2021年第1季度。",
     "Dates: 2021-03-05, 2021/3/5 or 2021年3月5日. Quarters: 2021Q1 or 2021年第1季度."),
    ("编号类列（机构编号、帮扶单位编号等）按文本填写，前导零会保留。",
     "Identifier columns are text: leading zeros are kept."),
    ("橙色表头的列必须填写（表头批注写明“必填”）；蓝色表头的列可留空。",
     "Orange headers are required (the header comment says so); blue ones may be left empty."),
    ("在院人数不能超过床位数；确有超员时在“超员标记”列选“是”。",
     "Residents may not exceed beds unless 超员标记 (over_capacity_flag) is 是 (yes)."),
    ("保存为 .xlsx 文件交回；校验命令：pairing-eval validate 文件夹",
     "Save as .xlsx and send it back; check it with: pairing-eval validate FOLDER"),
    ("", ""),
    ("各工作表", "Sheets"),
]


def _header(col: Column) -> str:
    return f"{col.zh}\n{col.name}"


def _comment(col: Column) -> str:
    req = ("必填 required" if col.required and not col.nullable
           else "可空 may be empty" if col.required else "可选 optional")
    lines = [f"{col.zh} / {col.name}", col.description, f"{col.type_text()} — {req}"]
    if col.levels:
        lines.append("可选值 values: " + "; ".join(f"{lv.label} {lv.code}" for lv in col.levels))
    if col.ref:
        lines.append(f"须在 must be listed in: {col.ref}")
    return "\n".join(lines)


def _cell_value(col: Column, v: Any) -> Any:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if col.kind == "enum":
        lv = next(lv for lv in col.levels if lv.code == v)
        return f"{lv.label} {lv.code}"
    if col.kind == "date":
        return pd.Timestamp(v).to_pydatetime()
    if col.kind == "bool":
        return "是" if bool(v) else None
    if col.kind == "int":
        return int(v)
    if col.kind in ("float", "share"):
        return float(v)
    return str(v)


def _sheet_name(t: Table) -> str:
    return f"{t.zh} {t.name}"[:31]


def write_template(path: Path | str, data_dir: Path | str | None = None) -> Path:
    """Write the Excel template to ``path``.

    Parameters
    ----------
    path : the ``.xlsx`` file to write.
    data_dir : a raw folder whose tables are written into the sheets instead of the example rows
        (it must pass validation). ``None`` writes the example rows.
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise DataContractError([Problem(file=path.name, row=None, column=None, value=path.suffix,
                                         expected=Msg("template.suffix.expected"),
                                         fix=Msg("template.suffix.fix",
                                                 name=path.with_suffix(".xlsx").name))],
                                header=Msg("template.suffix.header"))
    if data_dir is not None:
        raw = read_raw(data_dir)
        validate(raw)
        rows_of = {t: raw.tables[t] for t in TABLES}
    else:
        rows_of = {t: pd.DataFrame(EXAMPLES[t], columns=list(TABLES[t].names)) for t in TABLES}

    wb = Workbook()
    info = wb.active
    info.title = INSTRUCTIONS_SHEET
    lists = wb.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"

    head_fill = PatternFill("solid", fgColor="DDEBF7")
    req_fill = PatternFill("solid", fgColor="FCE4D6")
    example_font = Font(italic=True, color="808080")
    bold = Font(bold=True)

    # hidden lists sheet: one column per enumeration column
    list_ref: dict[tuple[str, str], str] = {}
    li = 0
    for t in TABLES.values():
        for c in t.columns:
            if not c.levels:
                continue
            li += 1
            letter = get_column_letter(li)
            put_cell(lists, 1, li, f"{t.name}.{c.name}")
            values = enum_display(c)
            for k, v in enumerate(values, start=2):
                put_cell(lists, k, li, v)
            list_ref[(t.name, c.name)] = f"{LISTS_SHEET}!${letter}$2:${letter}${len(values) + 1}"

    for t in TABLES.values():
        ws = wb.create_sheet(_sheet_name(t))
        df = rows_of[t.name]
        n = len(df)
        last = n + 1 + EXTRA_ROWS
        for j, c in enumerate(t.columns, start=1):
            cell = put_cell(ws, 1, j, _header(c))
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cell.fill = req_fill if (c.required and not c.nullable) else head_fill
            cell.comment = Comment(_comment(c), "pairing-eval", width=320, height=160)
            letter = get_column_letter(j)
            ws.column_dimensions[letter].width = max(14, min(28, len(c.name) + 4))
            fmt = NUMBER_FORMATS[c.kind]
            if fmt:
                ws.column_dimensions[letter].number_format = fmt  # for rows typed in later
            # per cell only where it matters for what is shown (dates) or few (examples): fast
            cell_fmt = fmt if (data_dir is None or c.kind == "date") else None
            values = df[c.name].tolist() if c.name in df.columns else [None] * n
            for i, v in enumerate(values, start=2):
                cell = put_cell(ws, i, j, _cell_value(c, v))
                if cell_fmt:
                    cell.number_format = cell_fmt
                if data_dir is None:
                    cell.font = example_font
            rng = f"{letter}2:{letter}{last}"
            dv = None
            if c.levels:
                dv = DataValidation(type="list", formula1=list_ref[(t.name, c.name)],
                                    allow_blank=c.nullable or not c.required)
            elif c.kind == "bool":
                dv = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
            elif c.kind == "int":
                lo = int(c.min) if c.min is not None else -(10**9)
                hi = int(c.max) if c.max is not None else 10**12
                dv = DataValidation(type="whole", operator="between", formula1=str(lo), formula2=str(hi))
            elif c.kind in ("float", "share"):
                lo = c.min if c.min is not None else -1e15
                hi = c.max if c.max is not None else 1e15
                dv = DataValidation(type="decimal", operator="between", formula1=f"{lo:g}", formula2=f"{hi:g}")
            elif c.kind == "date":
                dv = DataValidation(type="date", operator="between",
                                    formula1=f"DATE({DATE_MIN.year},{DATE_MIN.month},{DATE_MIN.day})",
                                    formula2=f"DATE({DATE_MAX.year},{DATE_MAX.month},{DATE_MAX.day})")
            if dv is not None:
                dv.error = f"{c.zh} / {c.name}: {c.type_text()}"
                dv.errorTitle = "不符合要求 / not allowed"
                dv.showErrorMessage = True
                dv.prompt = _comment(c)[:255]
                ws.add_data_validation(dv)
                dv.add(rng)
        ws.row_dimensions[1].height = 34
        ws.freeze_panes = "A2"

    # instructions
    info.column_dimensions["A"].width = 70
    info.column_dimensions["B"].width = 70
    r = 1
    for zh, en in INSTRUCTIONS:
        put_cell(info, r, 1, zh or None)
        put_cell(info, r, 2, en or None)
        if r == 1 or zh in ("怎么填", "各工作表"):
            info.cell(row=r, column=1).font = bold
            info.cell(row=r, column=2).font = bold
        r += 1
    for t in TABLES.values():
        put_cell(info, r, 1, f"{_sheet_name(t)}：{t.zh}，主键 {' + '.join(t.key)}")
        put_cell(info, r, 2, f"{t.name}: {t.description} Key: {', '.join(t.key)}.")
        r += 1
        for rule in t.rules:
            put_cell(info, r, 2, f"  • {rule}")
            r += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        wb.save(tmp)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
