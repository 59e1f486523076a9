"""The researcher's documentation of the contract, generated from the specification.

``docs/data_contract.md`` is :func:`render_markdown`'s output and ``docs/zh/data_contract.md`` is
``render_markdown("zh")`` (the same headings, in Chinese, with :data:`ZH_TEXT` for the tables' and
columns' descriptions and :data:`ZH_RULES` for their rules); a test keeps the files equal to them,
so neither page drifts from what ``validate`` checks.
"""

from __future__ import annotations

from ..errors import Problem
from ..messages import Msg
from .spec import DATE_MAX, DATE_MIN, DATE_SPELLINGS, EXAMPLE_MARK, PERIOD_SPELLINGS, TABLES

#: the Chinese descriptions of the tables (``table``) and columns (``table.column``)
ZH_TEXT: dict[str, str] = {
    "counties": "每个县级行政区（县、区、县级市）一行。",
    "counties.county_code": "6 位行政区划代码（GB/T 2260），例如 511102",
    "counties.county_name": "名称，例如 市中区",
    "counties.county_name_en": "英文或拼音名称",
    "counties.county_kind": "行政区类型",
    "counties.population": "常住人口",
    "counties.elderly_share": "60 岁及以上人口占常住人口的比例",
    "counties.rural_share": "居住在农村的人口比例",
    "counties.county_management_date": "农村公办养老机构收归县管的日期；留空 = 数据期内未收归",
    "counties.prefecture_code": "所属地市（GB/T 2260）：县区代码的前四位加 00，例如 511100；不填时由县区代码推出",
    "counties.prefecture_name": "地市名称",
    "counties.province_code": "所属省份（GB/T 2260）：县区代码的前两位加 0000，例如 510000；不填时由县区代码推出",
    "counties.province_name": "省份名称",
    "institutions": "每个机构（养老机构、敬老院、儿童福利院）一行。",
    "institutions.institution_id": "编号，不得重复（按文本保存：开头的 0 保留）",
    "institutions.institution_name": "名称",
    "institutions.county_code": "机构所属县区",
    "institutions.township": "乡镇或街道",
    "institutions.kind": "养老机构或儿童机构",
    "institutions.operator": "公办或民办",
    "institutions.area": "农村或城市",
    "institutions.beds": "床位数",
    "institutions.distance_km": "到县城的距离（公里）",
    "institutions.opened_year": "机构建成年份",
    "units": "项目中每个帮扶单位（部门、企业、组织）一行。",
    "units.unit_id": "编号，不得重复（文本）",
    "units.unit_name": "名称",
    "units.level": "单位的行政层级",
    "units.sector": "单位的类别",
    "units.staff": "人数",
    "units.joined_date": "单位加入项目的日期",
    "pairings": "每个单位与一个机构在一段日期内的结对一行（调整后的结对是新的一行）。",
    "pairings.pairing_id": "编号，不得重复（文本）",
    "pairings.unit_id": "帮扶单位",
    "pairings.institution_id": "机构",
    "pairings.start_date": "结对的第一天",
    "pairings.end_date": "最后一天；留空 = 仍在结对",
    "pairings.reason": "结对的原因",
    "activities": "在机构开展的每次帮扶活动一行。",
    "activities.activity_id": "编号，不得重复（文本）",
    "activities.date": "活动日期",
    "activities.institution_id": "活动地点（机构）",
    "activities.unit_id": "开展活动的单位；留空 = 县、乡镇工作队",
    "activities.category": "活动类别",
    "activities.participants": "参与的帮扶人员人数",
    "activities.beneficiaries": "受益院民人次",
    "activities.value_rmb": "资金和物资折合金额（元）",
    "problems": "在机构发现的每个问题一行（问题清单）。",
    "problems.problem_id": "编号，不得重复（文本）",
    "problems.institution_id": "发现问题的机构",
    "problems.category": "问题类别",
    "problems.found_date": "发现问题的日期",
    "problems.resolved_date": "解决的日期；留空 = 仍未解决",
    "problems.unit_id": "解决问题的单位",
    "assessments": "每个机构每个评估季度一行（“三升一降”得分）。",
    "assessments.institution_id": "机构",
    "assessments.period": "评估季度",
    "assessments.residents": "评估时的在院人数",
    "assessments.environment_score": "院容院貌得分",
    "assessments.service_score": "服务质量得分",
    "assessments.happiness_score": "院民幸福指数",
    "assessments.safety_hazards": "发现的安全隐患数",
    "assessments.over_capacity_flag": "在院人数可以超过床位数时填“是”（临时超员、床位改建中）；不填时在院人数 > 床位数是错误",
}

#: the Chinese rules of each table (the English ones are ``Table.rules``)
ZH_RULES: dict[str, tuple[str, ...]] = {
    "counties": ("county_code 不得重复。", "prefecture_code 和 province_code 填写时，必须与 county_code 一致。"),
    "institutions": ("institution_id 不得重复。", "county_code 必须是 counties 表中列出的。"),
    "units": ("unit_id 不得重复。",),
    "pairings": ("pairing_id 不得重复。", "unit_id 必须是 units 表中列出的；institution_id 必须是 institutions 表中列出的。",
                 "end_date 填写时，不得早于 start_date。"),
    "activities": ("activity_id 不得重复。",
                   "institution_id 必须是 institutions 表中列出的；unit_id 填写时，必须是 units 表中列出的。",
                   "提示（不是错误）：开展活动的单位在当天没有与该机构结对的，会作为提示列出，因为这要么是录入笔误，要么是正式结对之外的帮扶；由研究人员判断。"),
    "problems": ("problem_id 不得重复。",
                 "institution_id 必须是 institutions 表中列出的；unit_id 填写时，必须是 units 表中列出的。",
                 "resolved_date 填写时，不得早于 found_date。"),
    "assessments": ("（institution_id, period）不得重复。", "institution_id 必须是 institutions 表中列出的。",
                    "在院人数（residents）≤ 该机构的床位数，除非 over_capacity_flag 为“是”。"),
}


def render_markdown(language: str = "en") -> str:
    """The researcher's documentation of the contract: ``docs/data_contract.md`` in English,
    ``docs/zh/data_contract.md`` in Chinese (``language="zh"``)."""
    if language == "zh":
        return _render_zh()
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
        "part of the input hash, so changing them makes `build` run again. Symbolic links in the",
        "folder are refused, never followed: copy the file itself into the folder.",
        "",
        "* **Encodings**: CSV files may be UTF-8, UTF-8 with BOM, or GB18030/GBK (what Excel and WPS",
        "  export on Chinese Windows). The encoding is detected from the file's bytes, never from",
        "  the computer's settings.",
        "* **Invisible characters**: no cell (header and title rows included) may hold a control",
        "  character: NUL, the other C0 controls except tab and line breaks, DEL, the C1 controls,",
        "  or the bidirectional controls U+061C, U+200E–U+200F, U+202A–U+202E and U+2066–U+2069",
        "  (they reverse how a name is displayed, or make two identical-looking identifiers differ).",
        "  The message names the character by code point and name and its place in the cell.",
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
        f"* **Quarters**: {PERIOD_SPELLINGS} (also `2021 Q1`, `2021年1季度`, `2021年第一季度`), "
        f"between {DATE_MIN.year}Q1 and {DATE_MAX.year}Q4.",
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
        "* **Levels**: a dataset may hold one county, one prefecture, a province or the nation.",
        "  Counties belong to prefectures and provinces by their GB/T 2260 code (first four digits",
        "  and `00`, first two and `0000`); the optional `prefecture_code` / `province_code` columns",
        "  only repeat this and must agree with it. Analyses cluster at the county and are summarised",
        "  at the levels above it.",
        "",
    ]
    return "\n".join(out)


def _render_zh() -> str:
    """:func:`render_markdown` in Chinese: the same headings, in the same order."""
    dates, periods = Msg("spell.date").render("zh"), Msg("spell.period").render("zh")
    example = Problem(file="activities.csv", row=17, column="date", value="2023-02-30",
                      expected=Msg("cell.date.real.expected", spellings=Msg("spell.date")),
                      fix=Msg("cell.date.day.fix", month="February", m=2, y=2023, n=28))
    out: list[str] = [
        "# 原始数据约定（v1）",
        "",
        "<!-- 由 analysis.contract.render_markdown(\"zh\") 根据 analysis.contract 生成；"
        "测试保证本文件与之一致 -->",
        "",
        "这里是 `pairing-eval validate` 检查、`pairing-eval build` 读取的内容。把",
        "`pairing-eval template 台账模板.xlsx` 发给各部门：模板包含这些工作表、中英文表头，",
        "以及下面每个列表的下拉选项。英文版：[`docs/data_contract.md`](../data_contract.md)。",
        "",
        "## 文件",
        "",
        "每张表一个文件，放进文件夹 `data/raw/<数据集>/`，命名为 `<表名>.csv`（例如",
        "`institutions.csv`）；**或者**一个 Excel 工作簿（`*.xlsx`），每张表一个工作表，工作表",
        "按表命名：英文名、中文名或两者（`机构 institutions`，与模板一致）。文件夹中的其他文件",
        "（README、`TRUTH.json`）不作为数据表读取，但属于输入指纹的一部分，改动它们会让 `build`",
        "重新运行。文件夹中的符号链接会被拒绝、从不跟随：请把文件本身复制到文件夹中。",
        "",
        "* **编码**：CSV 文件可以是 UTF-8、带 BOM 的 UTF-8，或 GB18030/GBK（中文 Windows 上",
        "  Excel 和 WPS 导出的编码）。编码根据文件的字节判断，从不根据电脑的设置。",
        "* **不可见字符**：任何单元格（包括表头行和标题行）都不能含控制字符：NUL、除制表符和",
        "  换行以外的其他 C0 控制字符、DEL、C1 控制字符，以及双向控制字符 U+061C、",
        "  U+200E–U+200F、U+202A–U+202E 和 U+2066–U+2069（它们会颠倒名称的显示顺序，或让两个",
        "  看起来一样的编码实际不同）。提示信息会给出字符的码位和名称及其在单元格中的位置。",
        "* **表头**（第 1 行；表头上方的标题行会被跳过并提示）：标准英文名、中文名，或两者写在",
        "  同一个单元格中（`机构编号 institution_id`，与模板一致）。大小写、空格、全角括号和末尾",
        "  的 `*` 都不影响；中英文表头可以混用。多出的列会保留并提示，从不算错误。可选列可以",
        "  不写（会作为空列补上）。",
        "* **行号**与您看到的一致（表头 = 第 1 行，第一条数据 = 第 2 行；Excel 文件的提示还会",
        "  给出工作表）。空行会被忽略。数据行中不允许合并单元格：请取消合并，并在每一行重复",
        "  填写该值。",
        "* **编号**（`*_id`、`county_code`）一律按文本读取：开头的 0 会保留。",
        f"* **日期**：{dates}（也可写 `YYYY.M.D` 和 `YYYYMMDD`），在 {DATE_MIN:%Y-%m-%d} 至 "
        f"{DATE_MAX:%Y-%m-%d} 之间。`2023-02-30` 这样不存在的日期是错误。",
        f"* **季度**：{periods}（也可写 `2021 Q1`、`2021年1季度`、`2021年第一季度`），在 "
        f"{DATE_MIN.year}Q1 至 {DATE_MAX.year}Q4 之间。",
        "* **列表**（枚举）接受英文代码、中文名称、列出的同义词，或名称加代码",
        "  （`养老 elderly`，与模板下拉列表的写法一致）。",
        "* **数字**可以带千位分隔符（`1,234`）；比例可以写成 `23.5%`。",
        "* **空**单元格：什么都不填，或 `-`、`/`、`无`、`NA`。",
        f"* 模板中灰色的示例行（编号或县区名称以 `{EXAMPLE_MARK}` 开头）必须在交回文件前删除；",
        "  否则会报错。",
        "",
        "所有问题一次报告完（文件、工作表、行、列、值、应为什么、如何改正）；`validate` 以退出码",
        "2 结束，`build` 什么都不写。界面语言为中文时（`--lang zh`，或 `LANG=zh_CN.UTF-8`），",
        "例如：",
        "",
        "```text",
        example.render("zh"),
        "```",
        "",
        "## 数据表",
        "",
    ]
    for t in TABLES.values():
        key = ", ".join(t.key)
        out += [f"### `{t.name}` — {t.zh}", "", ZH_TEXT[t.name], "",
                f"文件 `{t.file_name}`，或工作表 `{t.name}` / `{t.zh}`"
                + "".join(f" / `{a}`" for a in t.sheet_aliases)
                + f"。主键：（{key}）。" + ("可以没有数据行。" if t.may_be_empty else ""), "",
                "| 列 | 中文 | 类型 | 是否必填 | 含义 |", "|---|---|---|---|---|"]
        for c in t.columns:
            req = "是" if c.required and not c.nullable else ("是，可以为空" if c.required else "可选")
            typ = c.type_msg().render("zh")
            if c.ref:
                typ += f" → `{c.ref}`"
            zh = c.zh + "".join(f"、{a}" for a in c.aliases)
            out.append(f"| `{c.name}` | {zh} | {typ} | {req} | {ZH_TEXT[f'{t.name}.{c.name}']} |")
        enums = [c for c in t.columns if c.levels]
        if enums:
            out += [""]
            for c in enums:
                vals = "；".join(
                    f"`{lv.code}` {lv.label}" + (f"（也可写 {'、'.join(lv.synonyms)}）" if lv.synonyms else "")
                    for lv in c.levels)
                out.append(f"* `{c.name}`：{vals}")
        out += ["", "规则：", ""] + [f"* {r}" for r in ZH_RULES[t.name]] + [""]
    out += [
        "## 所作的选择",
        "",
        "* 只有当该评估行的可选列 `over_capacity_flag`（超员标记）为“是”（是 / true / 1）时，",
        "  `residents` 才可以超过 `beds`。",
        "* 项目开始之前或不在任何结对期内的评估是正常的（它们是基期），不会被标记。",
        "* 开展活动的 `unit_id` 在当天没有与该机构结对的，在校验报告中是一条**提示**（附行号），",
        "  不是错误：这可能是 `unit_id`/`institution_id`/`date` 的笔误，也可能是正式结对之外的",
        "  真实帮扶。它会被保留，并计入该机构的活动。",
        "* `activities` 和 `problems` 可以只有表头、没有数据行（会显示提示）；其他每张表都至少",
        "  需要一行。",
        "* **层级**：一份数据可以是一个县、一个地市、一个省或全国。县区按 GB/T 2260 代码归属",
        "  地市和省份（前四位加 `00`、前两位加 `0000`）；可选列 `prefecture_code` / `province_code`",
        "  只是重复这一关系，必须与之一致。分析在县一级聚类，并可在其上各级汇总。",
        "",
    ]
    return "\n".join(out)
