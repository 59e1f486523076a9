"""The Excel template: structure (bilingual headers, dropdowns, formats, instructions), example
rows that are consistent but refused until deleted, and filled-in templates that read back equal."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from test_contract import write_tiny
from typer.testing import CliRunner

from analysis.cli import app
from analysis.contract import EXAMPLE_MARK, TABLES, validate
from analysis.errors import DataContractError
from analysis.io import cell_parser, enum_display, read_raw
from analysis.template import INSTRUCTIONS_SHEET, LISTS_SHEET, write_template

runner = CliRunner()


@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> Path:
    return write_template(tmp_path_factory.mktemp("tpl") / "blank" / "模板.xlsx")


def test_sheets_headers_and_formats(blank: Path):
    wb = load_workbook(blank)
    assert wb.sheetnames[0] == INSTRUCTIONS_SHEET
    assert wb[LISTS_SHEET].sheet_state == "hidden"
    for t in TABLES.values():
        ws = wb[f"{t.zh} {t.name}"]
        headers = [c.value for c in ws[1]]
        assert headers == [f"{c.zh}\n{c.name}" for c in t.columns]
        for j, c in enumerate(t.columns, start=1):
            assert ws.cell(row=1, column=j).comment is not None
            if c.kind in ("id", "code6"):
                assert ws.cell(row=2, column=j).number_format == "@"
            if c.kind == "date":
                assert ws.cell(row=2, column=j).number_format == "yyyy-mm-dd"
    formulas = [(ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows()
                for c in row if c.data_type == "f"]
    assert formulas == []  # every cell is inert (data validations refer to the lists sheet)
    text = " ".join(str(c.value) for row in wb[INSTRUCTIONS_SHEET].iter_rows() for c in row if c.value)
    assert "示例" in text and "delete them" in text
    for t in TABLES.values():
        assert t.name in text


def test_every_enumeration_has_a_dropdown_that_reads_back(blank: Path):
    wb = load_workbook(blank)
    lists = wb[LISTS_SHEET]
    for t in TABLES.values():
        ws = wb[f"{t.zh} {t.name}"]
        by_col = {}
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                by_col[rng.min_col] = (dv, rng)
        for j, c in enumerate(t.columns, start=1):
            if not c.levels:
                continue
            dv, rng = by_col[j]
            assert dv.type == "list" and rng.min_row == 2 and rng.max_row >= 1000
            sheet, ref = dv.formula1.split("!")
            assert sheet == LISTS_SHEET
            values = [cell.value for row in lists[ref.replace("$", "")] for cell in row]
            assert values == enum_display(c)
            parse = cell_parser(c)
            assert [parse(v)[0] for v in values] == list(c.codes)
        kinds = {j: by_col[j][0].type for j in by_col}
        for j, c in enumerate(t.columns, start=1):
            if c.kind == "int":
                assert kinds[j] == "whole"
            if c.kind == "date":
                assert kinds[j] == "date"


def test_example_rows_are_refused_until_deleted(blank: Path):
    with pytest.raises(DataContractError) as err:
        validate(read_raw(blank.parent))
    problems = err.value.problems
    assert problems and all("example rows" in p.fix for p in problems)
    assert {p.sheet for p in problems} == {f"{t.zh} {t.name}" for t in TABLES.values()}


def test_example_rows_are_consistent(blank: Path, tmp_path: Path):
    """With the 示例 marks removed, the examples form a valid world (keys and dates hold)."""
    wb = load_workbook(blank)
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(EXAMPLE_MARK):
                    cell.value = cell.value[len(EXAMPLE_MARK):]
    (tmp_path / "x").mkdir()
    wb.save(tmp_path / "x" / "filled.xlsx")
    raw = read_raw(tmp_path / "x")
    validate(raw)
    assert len(raw.tables["assessments"]) == 2


def test_filled_with_tiny_data_reads_back_equal(tmp_path: Path):
    tiny = write_tiny(tmp_path / "tiny")
    write_template(tmp_path / "wb" / "filled.xlsx", data_dir=tiny)
    back = read_raw(tmp_path / "wb")
    validate(back)
    ref = read_raw(tiny)
    for t in TABLES:
        pd.testing.assert_frame_equal(back.tables[t], ref.tables[t])


def test_filled_with_demo_data_reads_back_and_validates(repo_root: Path, tmp_path: Path):
    demo = repo_root / "data" / "raw" / "demo"
    if not (demo / "institutions.csv").exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    res = runner.invoke(app, ["template", str(tmp_path / "wb" / "demo.xlsx"), "--with-data", str(demo)])
    assert res.exit_code == 0, res.output
    back = read_raw(tmp_path / "wb")
    validate(back)
    ref = read_raw(demo)
    for t in TABLES:
        pd.testing.assert_frame_equal(back.tables[t], ref.tables[t])


def test_cli_template_errors_are_readable(tmp_path: Path):
    res = runner.invoke(app, ["template", str(tmp_path / "t.csv")])
    assert res.exit_code == 2 and "Traceback" not in res.output and ".xlsx" in res.output
    bad = write_tiny(tmp_path / "bad", edit={("pairings", 0, "end_date"): "2020-01-01"})
    res = runner.invoke(app, ["template", str(tmp_path / "t.xlsx"), "--with-data", str(bad)])
    assert res.exit_code == 2 and "pairings.csv, row 2, column end_date" in res.output
    assert not (tmp_path / "t.xlsx").exists()
    res = runner.invoke(app, ["template", str(tmp_path / "ok.xlsx")])
    assert res.exit_code == 0 and (tmp_path / "ok.xlsx").exists()
