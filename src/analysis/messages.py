"""The message catalogue: every text the command line and the data contract say to a person, in
Chinese and English, and the mechanism both bilingual catalogues share.

The mechanism (one home, also used by :mod:`analysis.labels` for the reports):

* :func:`catalogue` builds ``key -> Label(zh, en)`` (:class:`analysis.domain.Label`) from pairs;
* :func:`text` picks the language of an entry and fills its ``{placeholders}``;
* :class:`Msg` is one message of :data:`MESSAGES` with its parameters: a ``str`` whose text is
  the English rendering (so that logs, CSV files and rule names read as before), which keeps its
  ``key`` and ``params`` so that the same object renders in Chinese (:meth:`Msg.render`). A
  parameter may itself be a :class:`Msg` or a :class:`~analysis.domain.Label`; it is rendered in
  the same language. Nothing is ever translated by rewriting English output.
* :func:`resolve_language`: ``--lang zh|en`` in the arguments, else the locale (``LC_ALL``,
  ``LC_MESSAGES``, ``LANG``, in POSIX order of precedence: a value starting with ``zh`` means
  Chinese), else English.

The Chinese texts are written as a colleague would give advice: where (文件、工作表、行、列),
the value found, what it should be (应为) and how to correct it (如何改正).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

from .domain import Label

Language = Literal["zh", "en"]
#: the languages every label and message exists in
LANGUAGES: tuple[str, ...] = get_args(Language)
#: the language when neither ``--lang`` nor the locale asks for another
DEFAULT_LANGUAGE = "en"
#: locale variables in POSIX order of precedence
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def catalogue(entries: Mapping[str, tuple[str, str]]) -> dict[str, Label]:
    """A catalogue from ``key -> (zh, en)`` pairs."""
    return {key: Label(zh, en) for key, (zh, en) in entries.items()}


def text(entry: Label, language: str, **fmt: object) -> str:
    """``entry`` in ``language`` (``zh``; anything else is English), formatted with ``fmt``."""
    out = entry(language)
    return out.format(**fmt) if fmt else out


def say(obj: object, language: str) -> str:
    """Any text in ``language``: a :class:`Msg` or :class:`Label` rendered, anything else as
    ``str(obj)`` (a name, a number, a path)."""
    if isinstance(obj, Msg):
        return obj.render(language)
    if isinstance(obj, Label):
        return obj(language)
    return str(obj)


def resolve_language(argv: Sequence[str] | None = None,
                     environ: Mapping[str, str] | None = None) -> str:
    """The language of messages: ``--lang zh|en`` (or ``--lang=zh``) among ``argv``, else the
    locale of ``environ`` (``LC_ALL``, then ``LC_MESSAGES``, then ``LANG``; the first one set
    decides: ``zh…`` is Chinese, anything else English), else :data:`DEFAULT_LANGUAGE`. A
    ``--lang`` value that is neither language is left for the command to refuse."""
    args = list(argv or ())
    for i, a in enumerate(args):
        if a == "--":
            break
        value = a[len("--lang="):] if a.startswith("--lang=") else (
            args[i + 1] if a == "--lang" and i + 1 < len(args) else None)
        if value in LANGUAGES:
            return value
    env = os.environ if environ is None else environ
    for var in LOCALE_VARIABLES:
        v = env.get(var, "")
        if v:
            return "zh" if v.lower().startswith("zh") else "en"
    return DEFAULT_LANGUAGE


class Msg(str):
    """One message of :data:`MESSAGES` with its parameters.

    ``str(m)`` (and the string itself) is the English text; :meth:`render` gives any language.
    Parameters that are a :class:`Msg` or a :class:`~analysis.domain.Label` are rendered in the
    language asked for; others are formatted as they are.
    """

    key: str
    params: dict[str, Any]

    def __new__(cls, key: str, /, **params: Any) -> Msg:
        entry = MESSAGES[key]  # an unknown key is a programming error: KeyError
        self = super().__new__(cls, _fill(entry, "en", params))
        self.key = key
        self.params = params
        return self

    def render(self, language: str) -> str:
        """The message in ``language`` (``zh``; anything else is English)."""
        if language != "zh":
            return str.__str__(self)
        return _fill(MESSAGES[self.key], language, self.params)

    def __reduce__(self) -> tuple:
        return (_rebuild, (self.key, self.params))

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, {str.__repr__(self)})"


def _rebuild(key: str, params: dict[str, Any]) -> Msg:
    return Msg(key, **params)


def _fill(entry: Label, language: str, params: Mapping[str, Any]) -> str:
    return text(entry, language, **{k: (say(v, language) if isinstance(v, (Msg, Label)) else v)
                                    for k, v in params.items()})


def joined(items: Sequence[object], language: str) -> str:
    """Items as a list in running text: ``a, b`` (English) or ``a、b`` (Chinese)."""
    return ("、" if language == "zh" else ", ").join(say(i, language) for i in items)


#: ``key -> Label(zh, en)``; keys are grouped by the module that raises them
MESSAGES: dict[str, Label] = catalogue({
    # --- a problem as a person reads it (analysis.errors) ---------------------------------
    "loc.file": ("文件 {file}", "{file}"),
    "loc.sheet": ("工作表“{sheet}”", "sheet {sheet}"),
    "loc.row": ("第{row}行", "row {row}"),
    "loc.column": ("“{column}”列", "column {column}"),
    "loc.where_sheet": ("{file} 工作表“{sheet}”", "{file}, sheet {sheet}"),
    "loc.source": ("{file} 工作表“{sheet}”", "{file} sheet {sheet}"),
    "problem.line": ("{location}：{value}应为{expected}。如何改正：{fix}。",
                     "{location}:{value} expected {expected}. Fix: {fix}"),
    "problem.value": ("值为 {value}，", " value {value}:"),
    "column.as_written": ("{header}（{name}）", "{header} ({name})"),
    "errors.header": ("原始数据中发现{n}个问题", "{n} problem(s) found in the raw data"),
    "errors.more": ("  ……另有{n}个", "  … and {n} more"),
    "errors.groups": ("共{n:,}个问题，按表、列和规则分为{g:,}组（数量、前几行、第一个例子）：",
                      "{n:,} problems in {g:,} group(s) by table, column and rule "
                      "(count, first rows, first example):"),
    "errors.rows": (" — 第{rows}{more}行", " — row{s} {rows}{more}"),
    "errors.example": ("              例如 {text}", "              e.g. {text}"),
    "errors.hidden": ("  ……另有{g:,}组，共{n:,}个问题", "  … and {g:,} more group(s) with {n:,} problem(s)"),
    "errors.hint": ("逐行列出全部问题：`pairing-eval validate 文件夹 --output problems.csv`（可用 Excel 打开）。",
                    "Every problem, one per row: `pairing-eval validate FOLDER --output "
                    "problems.csv` (opens in Excel)."),
    # --- the contract's rules (analysis.contract.rules) --------------------------------------
    "rules.where_char": ("该单元格的第{i}个字符", "character {i} of the cell"),
    "rules.control.expected": ("不含控制字符的文本", "text without control characters"),
    "rules.control.nul": (
        "{where}是 {char}，正常文本中不会有这个字节（文件损坏，或粘贴了二进制数据）；请删除它：在 Excel/WPS 中重新输入该单元格，再保存文件（CSV UTF-8 或 .xlsx）",
        "{where} is {char}, a byte text never holds (a damaged file, or binary data pasted in); "
        "delete it: retype the cell in Excel/WPS and save the file again (CSV UTF-8 or .xlsx)"),
    "rules.control.bidi": (
        "{where}是 {char}，这是一个会改变文字显示顺序的不可见字符（通常是从网页或聊天软件粘贴进来的）；请手工重新输入该单元格，或用能显示不可见字符的编辑器删除它",
        "{where} is {char}, an invisible character that changes the order in which text is "
        "displayed (usually pasted from a web page or a chat app); retype the cell by hand, or "
        "delete the character with an editor that shows invisible characters"),
    "rules.control.other": (
        "{where}是 {char}，一个不可见的控制字符（通常是从其他程序粘贴进来的）；请手工重新输入该单元格，或用能显示不可见字符的编辑器删除它",
        "{where} is {char}, an invisible control character (usually pasted from another "
        "program); retype the cell by hand, or delete the character with an editor that shows "
        "invisible characters"),
    "rules.empty.note": ("{where} 只有表头、没有数据行：未记录任何 {name}。",
                         "{where} has a header but no data rows: no {name} recorded."),
    "rules.empty.expected": ("表头下至少一行 {name}（{zh}）数据",
                             "at least one data row of {name} ({zh}) under the header"),
    "rules.empty.fix": ("请从第2行起填写 {name} 的数据；空的 {name} 表无法分析",
                        "fill in the {name} rows (row 2 onwards); an empty {name} table cannot be "
                        "analysed"),
    "rules.example.expected": ("真实数据，而不是模板的示例行",
                               "real data, not one of the template's example rows"),
    "rules.example.fix": ("发送文件前请删除灰色的示例行（以“{mark}”开头）",
                          "delete the grey example rows (marked {mark}) before sending the file"),
    "rules.unique.expected": ("不重复的 {what}（每个值只出现在一行）",
                              "a unique {what} (each appears on one row only)"),
    "rules.unique.fix": ("第{first}行的 {what} 与此相同；请删除重复的行，或更正其 {what}",
                         "row {first} has the same {what}; delete the repeated row or correct its "
                         "{what}"),
    "rules.foreign.expected": ("{where} 中列出的 {pcol}", "a {pcol} listed in {where}"),
    "rules.foreign.hint": ("（是否应为 {close!r}？）", " (did you mean {close!r}?)"),
    "rules.foreign.fix": ("请更正编号{hint}，或在 {where} 中补充 {pcol} 为 {value!r} 的行",
                          "correct the id{hint} or add {pcol} {value!r} to {where}"),
    "rules.order.expected": ("不早于 {start}（{first}）的日期：记录不能在开始之前{verb}",
                             "a date on or after {start} ({first}): a record cannot {verb} "
                             "before it starts"),
    "rules.order.fix": ("请更正 {end} 或 {start}（是否填反了？）",
                        "correct {end} or {start} (were they swapped?)"),
    "rules.hierarchy.prefecture.expected": (
        "{want}：县区代码 {code} 的前四位加 00（GB/T 2260 的地市代码）",
        "{want}: the first four digits of county code {code} and 00 (the prefecture, GB/T 2260)"),
    "rules.hierarchy.province.expected": (
        "{want}：县区代码 {code} 的前两位加 0000（GB/T 2260 的省份代码）",
        "{want}: the first two digits of county code {code} and 0000 (the province, GB/T 2260)"),
    "rules.hierarchy.fix": ("请把 {col} 改为 {want}，或更正县区代码；也可以删除 {col} 列，系统会从县区代码推出",
                            "put {want} in {col} or correct county_code; or leave {col} out: it is "
                            "derived from county_code"),
    "verb.end": ("结束", "end"),
    "verb.be resolved": ("解决", "be resolved"),
    "rules.beds.expected": ("不超过该机构的床位数 {beds}（institutions 表的 beds 列）",
                            "at most the institution's {beds} beds (institutions, beds)"),
    "rules.beds.fix": ("请更正在院人数（residents）或床位数（beds）；如果该机构确实收住了超过床位数的人，请在可选列 over_capacity_flag（超员标记）中填写“是”",
                       "correct residents or beds; if the institution really housed more people "
                       "than beds, put 是 (yes) in the optional column over_capacity_flag (超员标记)"),
    "rules.outside.never": ("由从未与该机构结对的单位开展", "by a unit never paired with that institution"),
    "rules.outside.date": ("日期不在该单位与该机构的任何结对期内",
                           "on a date outside every pairing of that unit with that institution"),
    "rules.outside.note": (
        "{where}：{n}条活动{what}（第{rows}行）。这些活动会保留，并计入机构的帮扶活动；如属笔误，请检查 unit_id、institution_id 和 date。",
        "{where}: {n} activit{ies} {what} (rows {rows}). They are kept and count towards the "
        "institution's activities; check unit_id, institution_id and date if they are slips."),
    "rules.validate.file_count": ("{file}：{n}个", "{file}: {n}"),
    "rules.validate.header": (
        "{root} 中的原始数据不符合数据约定：共{n}个问题（{files}）。行号与您文件中的一致（表头为第1行）。没有生成或改动任何内容",
        "The raw data in {root} does not meet the data contract: {n} problem(s) ({files}). Rows "
        "are numbered as in your file (header = row 1). Nothing was built or changed"),
    # --- cells (analysis.io.cells) -----------------------------------------------------------
    "spell.date": ("YYYY-MM-DD、YYYY/M/D、YYYY年M月D日或 Excel 日期序号",
                   "YYYY-MM-DD, YYYY/M/D, YYYY年M月D日 or an Excel serial number"),
    "spell.period": ("2021Q1、2021-Q1 或 2021年第1季度", "2021Q1, 2021-Q1 or 2021年第1季度"),
    "cell.int.big.expected": ("不超过15位的整数", "a whole number of at most 15 digits"),
    "cell.int.big.fix": ("这个数对本列来说太大了；请检查该单元格（是否粘贴了编号或电话号码？）",
                         "the number is far too large for this column; check the cell (a pasted "
                         "identifier or phone number?)"),
    "cell.int.expected": ("整数", "a whole number"),
    "cell.int.decimals": ("请去掉小数：人数、次数等计数都是整数", "remove the decimals: counts are whole numbers"),
    "cell.int.digits": ("只填数字，例如 12（不要带文字或单位）", "write digits only, e.g. 12 (no words or units)"),
    "cell.float.expected": ("数值", "a number"),
    "cell.float.fix": ("只填数字，例如 1200 或 1200.5（不要带文字或单位）",
                       "write digits only, e.g. 1200 or 1200.5 (no words or units)"),
    "cell.share.pct.expected": ("比例，例如 0.235 或 23.5%", "a share such as 0.235 or 23.5%"),
    "cell.share.fix": ("请把比例写成数字", "write the share as a number"),
    "cell.share.number.expected": ("0到1之间的比例，例如 0.235（或 23.5%）",
                                   "a share between 0 and 1, e.g. 0.235 (or 23.5%)"),
    "cell.share.range.expected": ("0到1之间的比例", "a share between 0 and 1"),
    "cell.share.range.fix": ("比例请写成小数：应写 {frac:g}（或 {pct:g}%），而不是 {pct:g}",
                             "write shares as fractions: {frac:g} (or {pct:g}%) rather than {pct:g}"),
    "cell.share.correct": ("请更正该比例", "correct the share"),
    "cell.date.range.expected": ("{lo}至{hi}之间的日期", "a date between {lo} and {hi}"),
    "cell.date.year.fix": ("年份 {y} 不合理：请检查年份", "year {y} is implausible: check the year"),
    "cell.date.real.expected": ("真实存在的日期（{spellings}）", "a real calendar date ({spellings})"),
    "cell.date.month.fix": ("不存在{m}月；请按年、月、日的顺序填写（YYYY-MM-DD）；是否把日和月写反了？",
                            "month {m} does not exist; write the year first, then month, then day "
                            "(YYYY-MM-DD); were day and month swapped?"),
    "cell.date.day.fix": ("请更正日：{y}年{m}月只有{n}天", "correct the day; {month} {y} has {n} days"),
    "cell.date.yearfirst.expected": ("年份在前的日期（{spellings}）",
                                     "a date written year first ({spellings})"),
    "cell.date.yearfirst.fix": ("请写成 {y}-MM-DD；{s!r} 看不出哪个数是月份",
                                "write it as {y}-MM-DD; {s!r} leaves open which number is the month"),
    "cell.date.expected": ("日期（{spellings}）", "a date ({spellings})"),
    "cell.date.fix": ("请按 YYYY-MM-DD 填写日期，例如 2021-03-05",
                      "write the date as YYYY-MM-DD, e.g. 2021-03-05"),
    "cell.date.serial.fix": ("这个数不是 Excel 日期；请按 YYYY-MM-DD 填写日期",
                             "the number is not an Excel date; write the date as YYYY-MM-DD"),
    "cell.date.implausible.fix": (
        "{d} 不合理：请检查年份，或检查该单元格是否是被 Excel 当成日期的数字",
        "{d} is implausible: check the year, or whether the cell holds a number that Excel read "
        "as a date"),
    "cell.period.expected": ("季度（{spellings}）", "a quarter ({spellings})"),
    "cell.period.q.fix": ("不存在第{q}季度；请用 1–4", "quarter {q} does not exist; use 1–4"),
    "cell.period.range.expected": ("{lo}Q1至{hi}Q4之间的季度", "a quarter between {lo}Q1 and {hi}Q4"),
    "cell.period.year.fix": ("{y}Q{q} 不合理：请检查年份", "{y}Q{q} is implausible: check the year"),
    "cell.period.fix": ("请按 2021Q1 的格式填写季度", "write the quarter like 2021Q1"),
    "cell.bool.expected": ("是或否（是/否、true/false、1/0）", "yes or no (是/否, true/false, 1/0)"),
    "cell.bool.fix": ("请填“是”或“否”（留空表示否）", "write 是 or 否 (or leave it empty for no)"),
    "cell.code6.expected": ("6位行政区划代码（GB/T 2260），例如 511102",
                            "a 6-digit administrative code (GB/T 2260), e.g. 511102"),
    "cell.code6.fix": ("请把县区的6位代码按文本填写（市中区的代码是 511102）",
                       "write the county's 6-digit code as text (the code of 市中区 is 511102)"),
    "cell.enum.expected": ("以下之一：{levels}", "one of {levels}"),
    "cell.enum.hint": ("是否应为 {code!r}（{spelling}）？", "did you mean {code!r} ({spelling})? "),
    "cell.enum.fix": ("{hint}请使用列出的代码或中文名称（模板中有下拉列表）",
                      "{hint}use one of the listed codes or Chinese labels (the template has a "
                      "dropdown)"),
    "cell.range.expected": ("{lo:g}到{hi:g}之间的数值", "a value between {lo:g} and {hi:g}"),
    "cell.range.score.fix": ("得分采用 0–100 分制；请更正该得分", "scores are on a 0–100 scale; correct the score"),
    "cell.range.fix": ("请更正该数值", "correct the value"),
    "cell.range.min0.expected": ("≥ 0 的数值", "a value ≥ 0"),
    "cell.range.negative.fix": ("{noun}不能为负数；请更正符号或数值",
                                "{noun} cannot be negative; correct the sign or the value"),
    "noun.money": ("金额", "amounts of money"),
    "noun.distance": ("距离", "distances"),
    "noun.count": ("计数", "counts"),
    "cell.range.min.expected": ("≥ {lo:g} 的数值", "a value ≥ {lo:g}"),
    "cell.range.max.expected": ("≤ {hi:g} 的数值", "a value ≤ {hi:g}"),
    # --- kinds of column (analysis.contract.spec.KIND_TEXT) ----------------------------------
    "kind.id": ("文本编号", "text identifier"),
    "kind.code6": ("6位代码（文本，GB/T 2260）", "6-digit code (text, GB/T 2260)"),
    "kind.text": ("文本", "text"),
    "kind.enum": ("列出的取值之一", "one of the listed values"),
    "kind.int": ("整数", "whole number"),
    "kind.float": ("数值", "number"),
    "kind.share": ("0到1之间的比例（23.5% 读作 0.235）", "share between 0 and 1 (23.5% is read as 0.235)"),
    "kind.date": ("日期", "date"),
    "kind.period": ("季度", "quarter"),
    "kind.bool": ("是/否（是/否、true/false、1/0；留空 = 否）", "yes/no (是/否, true/false, 1/0; empty = no)"),
    "kind.range": ("{kind}（{range}）", "{kind} ({range})"),
    # --- reading a table (analysis.io.table) -------------------------------------------------
    "table.dup.expected": ("每列只出现一次；{first}列（{first_header}）已经是 {canon}",
                           "each column once; column {first} ({first_header}) already holds {canon}"),
    "table.dup.fix": ("请删除两列中的一列，或给它改名", "delete one of the two columns or rename it"),
    "table.header.expected": ("写明 {name}（{zh}）各列名称的表头行，例如 {cols}",
                              "a header row naming the columns of {name} ({zh}), e.g. {cols}"),
    "table.header.fix": (
        "第{row}行没有一个单元格是 {name} 的列名：请在数据上方加上表头行（可从 `pairing-eval template` 生成的模板中复制），或确认这个文件装的是 {name} 表",
        "no cell of row {row} is a column name of {name}: add the header row above the data "
        "(copy it from `pairing-eval template`), or check that this file holds the {name} table"),
    "table.column.expected": ("{name} 列（{names}）", "a column {name} ({names})"),
    "table.column.rename": ("请把表头 {old!r} 改为 {name!r} 或 {zh!r}",
                            "rename the header {old!r} to {name!r} or {zh!r}"),
    "table.column.add": ("请添加表头为 {name!r} 或 {zh!r} 的列（{description}）",
                         "add a column headed {name!r} or {zh!r} ({description})"),
    "table.extra.note": ("{where}：多出的列已保留但未检查：{cols}。",
                         "{where}: extra column(s) kept but not checked: {cols}."),
    "table.unheaded.note": ("{where}：{letter}列有数值但没有表头；已作为 'column {letter}' 保留。",
                            "{where}: column {letter} has values but no header; kept as "
                            "'column {letter}'."),
    "table.merged_row.expected": ("每列一个值的数据行", "a data row with one value per column"),
    "table.merged_row.fix": ("单元格 {coord} 被合并成了一个（标题行或小计行？）；请删除这一行，或取消合并并填满每一列",
                             "cells {coord} are merged into one (a title or subtotal row?); delete "
                             "the row or unmerge the cells and fill every column"),
    "table.merged.expected": ("每个单元格都有值（数据行中不能有合并单元格）",
                              "a value in every cell (no merged cells in data rows)"),
    "table.merged.fix": ("单元格 {coord} 被合并了；请取消合并，并在每一行重复填写该值",
                         "cells {coord} are merged; unmerge them and repeat the value in every row"),
    "table.length.expected": ("与表头一样的{n}个值", "{n} values, like the header"),
    "table.length.fix": ("某个值里含有分隔符（逗号）：请给这个值加上英文双引号，或删除最后一个表头列之后的值",
                         "a value contains the delimiter (comma): put that value in double "
                         "quotes, or delete the values beyond the last header column"),
    "table.required.expected": ("一个值（{type}）", "a value ({type})"),
    "table.required.fix": ("请填写 {name}（{zh}）；此项不能为空", "fill in {name} ({zh}); it may not be empty"),
    "table.unreadable.expected": ("{type}类型的值", "a value of type {type}"),
    "table.unreadable.fix": ("无法读取这个值；请重新输入", "the value could not be read; retype it"),
    "table.empty.expected": ("表头行和数据行", "a header row and data rows"),
    "table.empty.fix": ("文件或工作表是空的；请连同表头重新导出该表",
                        "the file or sheet is empty; export the table again with its header"),
    "table.memory.expected": ("能装进本机空闲内存的表", "a table that fits in this computer's free memory"),
    "table.memory.fix": (
        "读取时内存不足（读取大约需要文件大小五倍的内存）；请关闭其他程序后再校验，换一台内存更大的电脑，或确认文件是否正确",
        "the computer ran out of memory while reading it (reading takes about five times the "
        "file's size); close other programs and validate again, use a computer with more memory, "
        "or check that this is the right file"),
    "table.skipped.note": ("{where}：表头（第{header}行）上方的第1–{last}行已跳过。",
                           "{where}: rows 1–{last} above the header (row {header}) were skipped."),
    # --- the raw folder (analysis.io.raw) ----------------------------------------------------
    "raw.os.expected": ("可以读取的文件", "a file that can be read"),
    "raw.os.fix": ("无法打开该文件（{what}）；请检查您的账户是否有读取权限、是否有其他程序锁定了它，或重新把它复制到文件夹中",
                   "the file cannot be opened ({what}); check that your account may read it and "
                   "that no other program holds it locked, or copy it into the folder again"),
    "raw.is_file.expected": ("存放原始表格的文件夹，而不是单个文件", "a folder of raw tables, not a single file"),
    "raw.is_file.fix": ("请把文件放进单独的文件夹，然后传入这个文件夹，例如 `pairing-eval validate {parent}`",
                        "put the file into a folder of its own and pass the folder, e.g. "
                        "`pairing-eval validate {parent}`"),
    "raw.is_file.header": ("{path} 是一个文件", "{path} is a file"),
    "raw.no_dir.expected": ("存放原始表格的文件夹（每张表一个 CSV 文件，或一个 .xlsx 工作簿）",
                            "a folder of raw tables (one CSV per table or one .xlsx workbook)"),
    "raw.no_dir.fix": ("请检查路径，例如 `pairing-eval validate data/raw/demo`",
                       "check the path, e.g. `pairing-eval validate data/raw/demo`"),
    "raw.no_dir.header": ("{path} 处没有原始数据文件夹", "No raw data folder at {path}"),
    "raw.name.expected": ("不含控制字符的文件名", "a file name without control characters"),
    "raw.name.fix": ("文件名中含有 {char}，一个不可见字符；请给文件重新命名（重新输入文件名）",
                     "the name holds {char}, an invisible character; rename the file (type its "
                     "name anew)"),
    "raw.link.expected": ("原始数据文件夹中的文件本身，而不是符号链接",
                          "a file in the raw folder, not a symbolic link"),
    "raw.link.fix": ("为了不读取原始数据文件夹以外的任何内容，链接不会被跟随：请把文件本身复制到文件夹中，替换这个链接",
                     "links are not followed, so that nothing outside the raw folder is read: copy "
                     "the file itself into the folder in place of the link"),
    "raw.link.note": ("{name} 是符号链接；不跟随，已忽略。", "{name} is a symbolic link; not followed, ignored."),
    "raw.xls.expected": (".xlsx 工作簿或 CSV 文件", "an .xlsx workbook or CSV files"),
    "raw.xls.fix": ("不读取旧的 .xls 文件；请在 Excel/WPS 中打开，另存为 .xlsx",
                    "old .xls files are not read; open it in Excel/WPS and save as .xlsx"),
    "raw.both.expected": ("要么是 CSV 文件，要么是一个工作簿，不能两者都有",
                          "either CSV files or one workbook, not both"),
    "raw.both.fix": ("请把 {books} 或那些 CSV 文件移出该文件夹",
                     "move {books} or the CSV files out of the folder"),
    "raw.books.expected": ("一个工作簿，每张表一个工作表", "one workbook with a sheet per table"),
    "raw.books.fix": ("发现了 {books}；文件夹中只保留一个工作簿", "found {books}; keep one workbook in the folder"),
    "raw.book_memory.expected": ("能装进本机空闲内存的工作簿", "a workbook that fits in this computer's free memory"),
    "raw.book_memory.fix": (
        "读取时内存不足；请关闭其他程序后再校验，换一台内存更大的电脑，或把各工作表另存为 CSV 文件（CSV 按块读取）",
        "the computer ran out of memory while reading it; close other programs and validate "
        "again, use a computer with more memory, or save the sheets as CSV files (read in chunks)"),
    "raw.damaged.expected": ("可以读取的 Excel 工作簿（.xlsx）", "an Excel workbook (.xlsx) that can be read"),
    "raw.damaged.fix": ("工作簿已损坏（读取工作表时出现 {err}）；请在 Excel/WPS 中打开并重新保存为 .xlsx",
                        "the workbook is damaged ({err} while reading its sheets); open it in "
                        "Excel/WPS and save it again as .xlsx"),
    "raw.sheet_ignored.note": ("{book}：工作表 {title!r} 不是数据表之一；已忽略。",
                               "{book}: sheet {title!r} is not one of the tables; ignored."),
    "raw.two_sheets.expected": ("{table} 表只有一个工作表", "one sheet for table {table}"),
    "raw.two_sheets.fix": ("工作表 {a!r} 和 {b!r} 看起来都是 {table}；请只保留一个",
                           "sheets {a!r} and {b!r} both look like {table}; keep one"),
    "raw.file_ignored.note": ("{name} 不是数据表之一（{tables}）；已忽略。",
                              "{name} is not one of the tables ({tables}); ignored."),
    "raw.two_files.expected": ("{table} 表只有一个文件", "one file for table {table}"),
    "raw.two_files.fix": ("{a} 和 {b} 看起来都是 {table}；请只保留一个",
                          "{a} and {b} both look like {table}; keep one"),
    "raw.missing.sheet": ("工作簿中的一个工作表", "a sheet of the workbook"),
    "raw.missing.file": ("一个文件", "a file"),
    "raw.missing.expected": ("名为 {name}（或 {zh}）的{where}，存放 {name} 表",
                             "{where} named {name} (or {zh}) for table {name}"),
    "raw.missing.fix": ("请补上 {name} 表（各列见 `pairing-eval template` 生成的模板）{more}",
                        "add the {name} table (see `pairing-eval template` for its columns){more}"),
    "raw.missing.rename_sheet": ("，或给存放它的工作表改名（{names}）",
                                 ", or rename the sheet that holds it ({names})"),
    "raw.missing.rename_file": ("，或给存放它的文件改名（{names}）",
                                ", or rename the file that holds it ({names})"),
    # --- CSV files (analysis.io.csvfiles) ----------------------------------------------------
    "csv.save_as": ("在 Excel/WPS 中把文件另存为“CSV UTF-8（逗号分隔）”",
                    "save the file from Excel/WPS as CSV UTF-8 (逗号分隔)"),
    "csv.workbook.expected": ("CSV 文本文件", "a CSV text file"),
    "csv.workbook.fix": ("这是一个被改名为 .csv 的 Excel 工作簿；请另存为 CSV（UTF-8），或者把工作簿（.xlsx）放进文件夹，代替这些 CSV 文件",
                         "this is an Excel workbook renamed to .csv; save it as CSV (UTF-8) or put "
                         "the workbook (.xlsx) into the folder instead of the CSV files"),
    "csv.text.expected": ("UTF-8 或 GB18030/GBK 编码的文本", "text in UTF-8 or GB18030/GBK"),
    "csv.binary.fix": ("该文件是二进制文件，或是没有字节顺序标记（BOM）的 UTF-16；请{save_as}",
                       "the file is binary or UTF-16 without a byte-order mark; {save_as}"),
    "csv.utf16.expected": ("UTF-16 文本（与其字节顺序标记一致）", "UTF-16 text, as its byte-order mark says"),
    "csv.utf16.fix": ("文件开头像 UTF-16，但从第{row}行起的字节不是 UTF-16 文本（文件损坏，或根本不是文本文件）；请{save_as}",
                      "the file starts like UTF-16 but its bytes from row {row} on are not UTF-16 "
                      "text (a damaged file, or not a text file at all); {save_as}"),
    "csv.bom.expected": ("{name} 文本（与其字节顺序标记一致）", "{name} text, as its byte-order mark says"),
    "csv.bom.fix": ("文件按 {name} 可以读到第{row}行，但这一行的字节不是 {name}（文件损坏？）；请更正这一行，或{save_as}",
                    "the file reads as {name} up to row {row}, whose bytes are not {name} (a "
                    "damaged file?); correct that row or {save_as}"),
    "csv.neither.fix": (
        "文件按 {name} 可以读到第{row}行，但这一行的字节用两种编码都读不出来（文件损坏，或是 Big5/Latin-1 编码？）；请更正这一行，或{save_as}",
        "the file reads as {name} up to row {row}, whose bytes cannot be read in either encoding "
        "(a damaged file, or Big5/Latin-1?); correct that row or {save_as}"),
    "csv.empty.fix": ("文件是空的；请重新导出该表", "the file is empty; export the table again"),
    "csv.changed.fix": ("{fix}；文件在读取过程中被改动了：请在没有程序写入它时再读一次",
                        "{fix}; the file changed while it was read: read it again when nothing "
                        "writes to it"),
    "csv.codec.expected": ("{name} 文本", "{name} text"),
    "csv.codec.fix": ("第{row}行无法按 {name} 解码；请{save_as}", "row {row} does not decode as {name}; {save_as}"),
    "csv.cell.expected": ("每个单元格不超过{n:,}个字符", "cells of at most {n:,} characters"),
    "csv.cell.fix": (
        "从这一行开始的某个单元格超过了{n:,}个字符：通常是一个英文双引号（\"）开始了一个值却没有结束；请补上或删除这个引号（这么长的文字应放在单独的文档中；{env} 可以提高此上限）",
        "a cell starting in this row runs on for more than {n:,} characters: usually a double "
        "quote (\") that opens a value and never closes; close or remove it (a text this long "
        "belongs in a separate document; {env} raises the limit)"),
    "csv.split.expected": ("能拆分成单元格的行", "rows that split into cells"),
    "csv.split.fix": ("这一行无法拆分成单元格（{err}）；请更正这一行，或{save_as}",
                      "this row cannot be split into cells ({err}); correct it or {save_as}"),
    "csv.os.expected": ("可以读取的文件", "a readable file"),
    "csv.os.fix": ("无法读取该文件（{etype}: {reason}）；请检查文件是否存在、您是否有读取权限",
                   "the file cannot be read ({etype}: {reason}); check that it exists and that "
                   "you may read it"),
    "csv.size.expected": ("不超过 {limit} 的 CSV 文件", "a CSV file of at most {limit}"),
    "csv.size.fix": (
        "该文件有 {size}；读取大约需要 {memory} 内存。请确认文件是否正确（这么大的台账有上千万行）；如果确实要读取，请在有足够空闲内存的电脑上把 {env} 设为大于文件的大小（例如 {env}={gb}GB）",
        "the file is {size}; reading it would take about {memory} of memory. Check that it is the "
        "right file (a ledger this large has tens of millions of rows); to read it anyway, set "
        "{env} above its size (e.g. {env}={gb}GB) on a computer with that much free memory"),
    # --- workbooks (analysis.io.xlsx) --------------------------------------------------------
    "xlsx.part.sheet": ("工作表 {title!r}（{name}）", "sheet {title!r} ({name})"),
    "xlsx.part.other": ("部件 {name}", "part {name}"),
    "xlsx.part_size": ("{part} {size}", "{part} {size}"),
    "xlsx.split": (
        "把工作簿拆成 CSV 文件：把每张表的工作表另存为“CSV UTF-8（逗号分隔）”，按表名命名（activities.csv 等），放进一个不含该工作簿的单独文件夹（CSV 按流读取，每个最多 {limit}）；或删除工作簿中没用的行、列和格式",
        "split the workbook into CSV files: save each table's sheet as CSV UTF-8 (逗号分隔), "
        "named after its table (activities.csv, …), into a folder of their own without the "
        "workbook (CSV files are read as a stream, up to {limit} each); or delete unused rows, "
        "columns and formatting from the workbook"),
    "xlsx.ratio.expected": ("各部件压缩比不超过 {ratio:g} 比 1 的 Excel 工作簿（Excel 和 WPS 的压缩比约为 10 比 1）",
                            "an Excel workbook whose parts are compressed at most {ratio:g} to 1 "
                            "(Excel and WPS compress sheets about 10 to 1)"),
    "xlsx.ratio.fix": (
        "其中的{part}压缩后 {packed}，解压后会变成 {size}（{r:,.0f} 比 1）：这是为耗尽内存而构造的文件（“zip 炸弹”），不是 Excel 或 WPS 保存的工作簿，因此没有打开。请重新索取这些表；如果您信任该文件，{env} 可以提高此上限",
        "its {part} is {packed} that would inflate to {size} ({r:,.0f} to 1): a file built to "
        "exhaust memory (a 'zip bomb'), not a workbook saved by Excel or WPS, so it was not "
        "opened. Ask for the tables again; if you trust the file, {env} raises the limit"),
    "xlsx.entry.expected": ("每个工作表解压后不超过 {limit} 的 Excel 工作簿",
                            "an Excel workbook whose sheets inflate to at most {limit} each"),
    "xlsx.entry.fix": ("其中的{part}解压后有 {size}；{split}；或用 {env} 提高此上限（读取大约需要解压后大小三倍的内存）",
                       "its {part} inflates to {size}; {split}; or raise the limit with {env} "
                       "(reading takes about three times the inflated size in memory)"),
    "xlsx.total.expected": ("解压后不超过 {limit} 的 Excel 工作簿",
                            "an Excel workbook that inflates to at most {limit}"),
    "xlsx.total.fix": ("它解压后有 {size}（最大的部件：{shown}）；{split}；或用 {env} 提高此上限（读取大约需要解压后大小三倍的内存）",
                       "it inflates to {size} (largest: {shown}); {split}; or raise the limit "
                       "with {env} (reading takes about three times the inflated size in memory)"),
    "xlsx.limits.expected": ("以大小表示的上限", "limits that are sizes"),
    "xlsx.open.expected": ("Excel 工作簿（.xlsx）", "an Excel workbook (.xlsx)"),
    "xlsx.open.fix": ("无法打开该文件（{err}）；请在 Excel/WPS 中打开并重新保存为 .xlsx",
                      "the file cannot be opened ({err}); open it in Excel/WPS and save it again "
                      "as .xlsx"),
    # --- limits (analysis.io.limits) ---------------------------------------------------------
    "limits.ratio": ("大于1的数，例如 100", "a number above 1, e.g. 100"),
    "limits.size": ("大小，例如 2GB、500MB 或字节数", "a size such as 2GB, 500MB or a number of bytes"),
    "limits.chars": ("{n:,}个字符", "{n:,} characters"),
    "limits.bad": ("{var}={text!r} 不是{expected}；请更正该环境变量，或取消设置以使用默认值（{default}）",
                   "{var}={text!r} is not {expected}; correct the variable, or unset it for the "
                   "default ({default})."),
    # --- the template (analysis.template) ----------------------------------------------------
    "template.suffix.expected": ("以 .xlsx 结尾的文件名", "a file name ending in .xlsx"),
    "template.suffix.fix": ("请写入 {name}", "write to {name}"),
    "template.suffix.header": ("模板必须是 .xlsx 工作簿", "The template must be an .xlsx workbook"),
    # --- build and validate (analysis.build) -------------------------------------------------
    "build.valid": ("{root} 中的原始数据有效（{kind}，{n}张表）：", "Raw data in {root} is valid ({kind}, {n} tables):"),
    "build.kind.xlsx": ("一个 Excel 工作簿", "one Excel workbook"),
    "build.kind.csv": ("CSV 文件", "CSV files"),
    "build.table_line": ("  {table:<{width}}  {n:>8,} 行   {where}", "  {table:<{width}}  {n:>8,} rows   {where}"),
    "build.notes": ("提示（{n}条；不影响构建）：", "Notes ({n}; they do not stop the build):"),
    "build.where_sheet": ("{file}，工作表 {sheet}", "{file}, sheet {sheet}"),
    "build.output.suffix": ("--output {path}：问题清单是 CSV 文件；请给出以 .csv 结尾的文件名，例如 {name}。",
                            "--output {path}: the problems file is a CSV file; give a name ending in "
                            ".csv, e.g. {name}."),
    "build.output.folder": ("--output {path} 是一个文件夹；请给出文件名，例如 {name}。",
                            "--output {path} is a folder; give a file name such as {name}."),
    "build.output.readonly": ("--output {path}：您对文件夹 {folder} 只有读取权限；请把问题清单写到其他位置。",
                              "--output {path}: the folder {folder} is read-only for you; write "
                              "the problems file somewhere else."),
    "build.output.inside": (
        "--output {path} 位于原始数据文件夹 {raw} 之内，该文件夹中的文件正是被校验的数据（放在那里的 problems.csv 会被当作 problems 表读取）；未写入任何内容。请写到外面，例如 --output {suggest}。",
        "--output {path} is inside the raw folder {raw}, whose files are the data being checked "
        "(and a problems.csv there would be read as the problems table); nothing was written. "
        "Write it outside, e.g. --output {suggest}."),
    "build.up_to_date": ("{path} 已是最新（输入、软件版本和代码均未改变），无需操作。使用 --force 可重新构建。",
                         "{path} is up to date (inputs, package version and code unchanged); "
                         "nothing to do. Use --force to rebuild."),
    "build.built": ("已在 {seconds:.1f} 秒内生成 {path}：{rows} 行。", "Built {path} in {seconds:.1f} s: {rows} rows."),
    "build.row_count": ("{table} {n:,}", "{table} {n:,}"),
    "build.results": ("结果文件：{files}", "Results: {files}"),
    "build.data_notes": ("{n}条数据提示；`pairing-eval validate` 会列出它们。",
                         "{n} data note(s); `pairing-eval validate` lists them."),
    "build.restored": ("已恢复 {target}（上次构建被中断，留下了一半替换的状态）。",
                       "Restored {target}, left half-swapped by an interrupted build."),
    "build.truth.expected": ("包含 'synthetic' 和 'seed' 的 JSON 对象", "a JSON object with 'synthetic' and 'seed'"),
    "build.truth.fix": ("无法读取该文件（{err}）；请用 `pairing-eval synth` 重新生成",
                        "the file cannot be read ({err}); regenerate it with `pairing-eval synth`"),
    "build.truth.header": ("{path} 已损坏", "{path} is broken"),
    "build.no_hashes": ("{target}：其清单没有记录文件指纹（旧版构建）；重新构建。",
                        "{target}: its manifest records no file hashes (an older build); rebuilding."),
    "build.damaged": ("{target} 已损坏（{why}）；重新构建。", "{target} is damaged ({why}); rebuilding."),
    "build.unchanged": ("{target}：输入自 {when} 以来未改变。", "{target}: inputs unchanged since {when}."),
    "build.reading": ("正在读取并校验 {raw}（{n}个文件）……", "Reading and validating {raw} ({n} file(s))…"),
    "build.valid_rows": ("数据有效：{rows} 行。", "Valid: {rows} rows."),
    "build.panel": ("正在生成机构-季度面板……", "Deriving the institution-quarter panel…"),
    "build.step": ("  {step}：{files}（{seconds:.1f} 秒）", "  {step}: {files} ({seconds:.1f} s)"),
    "build.no_tables": ("无结果表", "no tables"),
    "build.wrote": ("已写入 {target}。", "Wrote {target}."),
    "build.step_failed": ("结果步骤 {step!r} 失败：{err} 未替换任何内容；原有的处理后数据保持不变。",
                          "results step {step!r} failed: {err} Nothing was replaced; the previous "
                          "processed data is unchanged."),
    "build.step_crashed": ("结果步骤 {step!r} 出错：{etype}: {err}{where}。未替换任何内容；原有的处理后数据保持不变。",
                           "results step {step!r} failed: {etype}: {err}{where}. Nothing was "
                           "replaced; the previous processed data is unchanged."),
    "build.panel_failed": ("analysis.panel.derive_panel 出错：{etype}: {err}{where}。未替换任何内容。",
                           "analysis.panel.derive_panel failed: {etype}: {err}{where}. Nothing was "
                           "replaced."),
    # --- reports (analysis.reports.driver: the run's progress and summary) --------------------
    "report.summary": ("数据集 {dataset!r} 的报告在 {out} 中：写出{w}份，{s}份已是最新（跳过），{f}份失败（{sec:.1f} 秒，{jobs}个并行任务）。",
                       "Reports for dataset {dataset!r} in {out}: {w} written, {s} up to date "
                       "(skipped), {f} failed ({sec:.1f} s, {jobs} job(s))."),
    "report.open": ("打开 {path}", "Open {path}"),
    "report.skipped": ("已是最新的报告被跳过；使用 --force 可重新运行。",
                       "Up-to-date reports were skipped; use --force to re-run them."),
    "report.pdfs": ("A4 PDF：打印{w}份，{s}份已是最新，{f}份失败（在页面旁边，<页面>.pdf）。",
                    "A4 PDFs: {w} printed, {s} up to date, {f} failed (beside the pages, <page>.pdf)."),
    "report.pdf_failed": ("{name} 的 PDF 生成失败：{error}", "FAILED PDF of {name}: {error}"),
    "report.failed": ("生成失败 {name}{cell}：{error}{where}", "FAILED {name}{cell}: {error}{where}"),
    "report.cell": ("（第{cell}个单元格）", " in cell {cell}"),
    "report.partial": ("；部分执行的笔记本：{path}", "; partial notebook: {path}"),
    "report.keeps": ("失败的报告保留上一次成功的页面，并在索引中标为已过期，直到再次运行成功。",
                     "A report that failed keeps its last good page, marked out of date in the "
                     "index until a run succeeds."),
    "report.todo": ("需要运行{n}份报告，{up}份已是最新；{jobs}个并行任务。",
                    "{n} report(s) to run, {up} up to date; {jobs} job(s)."),
    "report.waiting": ("另一个 `pairing-eval report`（进程 {holder}）正在写 {out}；等待它结束（按 Ctrl-C 放弃）。",
                       "Another `pairing-eval report` (process {holder}) is writing {out}; "
                       "waiting for it to finish (Ctrl-C to give up)."),
    "report.printing": ("正在用 {chromium} 打印{n}份 A4 PDF……", "Printing {n} A4 PDF(s) with {chromium} …"),
    # --- the command line (analysis.cli) -----------------------------------------------------
    "cli.error": ("错误：{text}", "Error: {text}"),
    "cli.note": ("提示：{text}", "Note: {text}"),
    "cli.listed": ("全部问题（{n:,}个）已列在 {path} 中。", "Every problem ({n:,}) is listed in {path}."),
    "cli.not_listed": ("无法把完整清单写入 {path}：{why}。", "The full list could not be written to {path}: {why}."),
    "cli.output_failed": ("--output {path} 无法写入：{why}。", "--output {path} could not be written: {why}."),
    "cli.no_problems": ("没有问题：{path} 中只有空清单的表头。", "No problems: {path} holds the header of an empty list."),
    "cli.synth_wrote": ("已向 {out} 写入{n}个文件（合成数据，种子 {seed}）。",
                        "Wrote {n} files to {out} (synthetic, seed {seed})."),
    "cli.template_wrote": ("已写入模板 {out}", "Wrote template {out}"),
    "cli.dataset": ("--dataset：{err}", "--dataset: {err}"),
    "cli.jobs.low": ("--jobs {jobs}：同时至少要运行1个报告；如需逐个运行，请用 --jobs 1。",
                     "--jobs {jobs}: at least 1 report must run at a time; use --jobs 1 for one "
                     "after the other."),
    "cli.jobs.capped": ("--jobs {jobs} 超过了本机的 {cpus} 个 CPU；同时运行 {cpus} 个。",
                        "--jobs {jobs} is more than the {cpus} CPU(s) of this machine; running {cpus} at a time."),
    "cli.lang.bad": ("--lang {value!r} 不受支持；请选择 zh 或 en。",
                     "--lang {value!r} is not supported; choose zh or en."),
})


#: the command line's help: ``help.<command>`` for a command, ``help.<command>.<parameter>`` for
#: an option or argument (the parameter's Python name), ``help.app`` for ``pairing-eval --help``
HELP: dict[str, Label] = catalogue({
    "help.app": ("评估“一老一小”结对帮扶项目：校验台账、构建数据、生成报告。"
                 "界面语言：--lang zh|en，或由系统区域设置（LANG=zh_CN.UTF-8 为中文）决定。",
                 "Evaluate 一老一小 paired-assistance programmes: validate ledgers, build, report. "
                 "Language: --lang zh|en, or the locale (LANG=zh_CN.UTF-8 for Chinese)."),
    "help.help": ("显示本帮助并退出", "Show this message and exit."),
    "help.lang": ("界面语言：zh（中文）或 en（英文）；默认按系统区域设置",
                  "language of messages: zh (Chinese) or en (English); default: the locale"),
    "help.validate": ("按数据约定检查原始数据文件夹；有效时退出码为0，无效时为2。\n\n"
                      "问题较多时按表、列和规则计数；--output 会写出每一个问题。",
                      "Check a raw data folder against the data contract; exit 0 when valid, 2 "
                      "when not.\n\nMany problems are counted by table, column and rule; --output "
                      "writes every one."),
    "help.validate.raw_dir": ("原始表格所在的文件夹（若干 CSV 文件或一个 XLSX）",
                              "folder of raw tables (CSV files or one XLSX)"),
    "help.validate.output": (
        "同时把每个问题写入这个 CSV 文件，每行一个（table、file、sheet、row、column、rule、value、expected、fix；带 BOM 的 UTF-8，便于 Excel 打开）；不能放在原始数据文件夹内",
        "also write every problem to this CSV file, one per row (table, file, sheet, row, "
        "column, rule, value, expected, fix; UTF-8 with BOM for Excel); not inside the raw "
        "folder"),
    "help.build": ("先校验，再写出 data/processed/<数据集>/：数据表、面板、清单和 results/。",
                   "Validate, then write data/processed/<dataset>/: tables, panel, manifest and results/."),
    "help.build.raw_dir": ("原始表格所在的文件夹", "folder of raw tables"),
    "help.build.force": ("即使输入未变也重新构建", "rebuild even when the inputs are unchanged"),
    "help.build.out_root": ("处理后数据的根目录（默认：data/raw 旁边的 data/processed）",
                            "processed root (default: data/processed next to data/raw)"),
    "help.build.n_boot": ("野自助法的抽样次数", "wild-bootstrap draws"),
    "help.build.n_perm": ("随机化推断的置换次数", "randomisation-inference permutations"),
    "help.build.seed": ("重抽样方法的根随机种子", "root random seed of the resampling methods"),
    "help.build.steps": ("只运行这些结果步骤及其依赖的步骤，用逗号分隔"
                         "（indicators、reform、effectiveness、allocation、describe；默认全部）",
                         "run only these results steps and what they require, comma-separated "
                         "(indicators, reform, effectiveness, allocation, describe; default: all)"),
    "help.synth": ("生成合成的演示数据（由种子决定，结果可重复），并写出 TRUTH.json；"
                   "给出 --targeting 或 --supply-sd 时生成“帮扶跟着缺口走”的数据（见 docs/demo_world.md）。",
                   "Generate the synthetic demo world (deterministic from the seed) with TRUTH.json; "
                   "with --targeting or --supply-sd a targeting world (docs/demo_world.md)."),
    "help.synth.out": ("写入合成原始表格的文件夹", "folder to write the synthetic raw tables into"),
    "help.synth.scale": ("city（演示数据）、sichuan（183 个县）或 national（约 2,850 个县）；后两者由种子生成，不随仓库提交",
                         "city (the demo), sichuan (183 counties) or national (about 2,850 counties); "
                         "the scaled worlds are generated on demand, not committed"),
    "help.synth.seed": ("随机种子（自带的演示数据用 20210101）", "random seed (the bundled demo uses 20210101)"),
    "help.synth.targeting": ("帮扶跟随上一季度缺口的强度（0：演示数据）",
                             "strength with which help follows the previous quarter's shortfall "
                             "(0: the demo)"),
    "help.synth.supply_sd": ("各单位季度供给冲击的标准差，对数尺度（0：演示数据）",
                             "SD of the units' quarterly supply shocks, log scale (0: the demo)"),
    "help.synth.effect_scale": ("计划效应（剂量反应）的倍数（0：帮扶没有效果）",
                                "multiplies the planted dose-response effects (0: help has no effect)"),
    "help.synth.persistence": ("机构持续性冲击（影响三项得分）的 AR(1) 系数（默认：帮扶跟着缺口走的数据为 0.7，"
                               "演示数据没有；0：没有）",
                               "AR(1) coefficient of a persistent institution shock to the scores "
                               "(default: 0.7 in a targeting world, none in the demo; 0: none)"),
    "help.template": ("写出发给各部门填写的 Excel 模板（中英文表头、下拉列表）。",
                      "Write the Excel template researchers send to departments (bilingual headers, dropdowns)."),
    "help.template.out": ("要写出的 .xlsx 模板路径", "path of the .xlsx template to write"),
    "help.template.with_data": ("用这个原始数据文件夹中的表填充模板", "fill the template with the tables of this raw folder"),
    "help.report": ("逐县运行县区报告笔记本，并生成全市汇总和 index.html。",
                    "Execute the county report notebook per county, the city summary and index.html."),
    "help.report.dataset": ("数据集名称：data/processed 下的一个文件夹名（字母、数字、- 和 _），不是路径",
                            "dataset name: a plain folder name under data/processed (letters, "
                            "digits, - and _), not a path"),
    "help.report.county": ("县区代码；可重复给出多个", "county code; repeat for several"),
    "help.report.all_counties": ("数据集中的所有县区", "every county of the dataset"),
    "help.report.jobs": ("并行运行的县区数（至少1个；不超过 CPU 数）",
                         "counties run in parallel (at least 1; capped at the CPU count)"),
    "help.report.lang": ("报告和提示的语言：zh 或 en", "language of the reports and messages: zh or en"),
    "help.report.force": ("重新运行已是最新的报告", "re-run reports that are up to date"),
    "help.report.threshold": ("隐藏低于此数的人数；低于默认值时需要 --i-accept-small-counts",
                              "hide counts of people below this; below the default it needs "
                              "--i-accept-small-counts"),
    "help.report.accept_small_counts": (
        "允许 --threshold 低于默认值：数据所有者已同意可以显示这么小的人数；每一页都会注明",
        "allow a --threshold below the default: the data owner has agreed that counts that small "
        "may be shown; every page then says so"),
    "help.report.pdf": ("同时把每一页打印成旁边的 A4 PDF（需要无界面的 Chromium）",
                        "also print every page to an A4 PDF beside it (needs headless Chromium)"),
    "help.report.scheduler": (
        "在已运行的 Dask 集群上生成报告：调度器地址，如 tcp://HOST:8786（不给则在本机进程池中运行）",
        "run the reports on a running Dask cluster: its scheduler's address, e.g. tcp://HOST:8786 "
        "(without it they run in a local process pool)"),
    "help.report.data_url": (
        "与 --scheduler 一起使用：工作节点读取处理后数据的位置，即它们都能看到的 data/processed 文件夹，"
        "或其副本的 fsspec 地址（如 s3://bucket/pairing/processed）；默认是本项目的 data/processed",
        "with --scheduler: where the workers read the processed data, the data/processed folder as "
        "they all see it, or an fsspec URL of a copy (e.g. s3://bucket/pairing/processed); default "
        "this project's data/processed"),
    "help.report.warm": (
        "在保持运行的内核中连续生成报告（每份之间重置状态）；--no-warm 为每份报告启动新内核",
        "run report after report in kept kernels (state reset between reports); --no-warm starts "
        "a new kernel per report"),
})


def help_text(key: str, language: str) -> str | None:
    """The help text ``key`` of :data:`HELP` in ``language``; ``None`` when there is none."""
    entry = HELP.get(key)
    return None if entry is None else entry(language)


__all__ = [
    "DEFAULT_LANGUAGE", "HELP", "LANGUAGES", "Label", "LOCALE_VARIABLES", "MESSAGES", "Language", "Msg",
    "catalogue", "help_text", "joined", "resolve_language", "say", "text",
]
