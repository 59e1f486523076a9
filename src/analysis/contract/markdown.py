"""The researcher's documentation of the contract, generated from the specification.

``docs/data_contract.md`` is :func:`render_markdown`'s output; a test keeps the two equal, so the
page never drifts from what ``validate`` checks.
"""

from __future__ import annotations

from .spec import DATE_MAX, DATE_MIN, DATE_SPELLINGS, EXAMPLE_MARK, PERIOD_SPELLINGS, TABLES


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
        "",
    ]
    return "\n".join(out)
