"""Bad input never crashes, never half-writes: each case runs ``pairing-eval validate`` and
``pairing-eval build`` through the CLI and asserts exit code 2, a message naming file, row and
column (where the problem has them), no traceback, and ``data/processed/`` unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from test_contract import TINY, csv_text, tiny_rows, tiny_workbook, write_tiny
from typer.testing import CliRunner

from analysis.cli import app
from analysis.contract import TABLES

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Path], None]
    file: str
    row: int | None
    column: str | None
    says: str


def edit(**kw) -> Callable[[Path], None]:
    """Tiny world with cells replaced: ``edit(encoding=..., cells={(table, i, col): text})``."""
    def make(d: Path) -> None:
        write_tiny(d, edit=kw.get("cells"), encoding=kw.get("encoding", "utf-8"))
    return make


def replace_file(table: str, content: Callable[[], bytes]) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        write_tiny(d)
        (d / f"{table}.csv").write_bytes(content())
    return make


def with_rows(table: str, rows_fn: Callable[[list[dict]], list[dict]], header=None,
              encoding="utf-8") -> Callable[[Path], None]:
    def make(d: Path) -> None:
        write_tiny(d)
        rows = rows_fn(tiny_rows(table))
        h = header(rows) if callable(header) else header
        (d / f"{table}.csv").write_bytes(csv_text(rows, h).encode(encoding))
    return make


def workbook(modify: Callable[[dict], None]) -> Callable[[Path], None]:
    """The tiny world as one workbook; ``modify(sheets)`` edits the openpyxl worksheets."""
    def make(d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        wb, sheets = tiny_workbook()
        modify(sheets)
        wb.save(d / "ledger.xlsx")
    return make


def _merge_vertical(s):
    ws = s["institutions"]
    ws["C3"] = None
    ws.merge_cells("C2:C3")


def _merged_subtotal_row(s):
    ws = s["activities"]
    ws.insert_rows(3)
    ws["A3"] = "小计"
    ws.merge_cells("A3:H3")


def _serial_cell(s):
    s["activities"]["B2"] = 5  # a bare number in a date column: Excel serial 5 = 1900-01-05


def _ragged(rows):
    text = csv_text(rows).replace("donation,5,30,5000", "donation,5,30,5,000")
    return text.encode()


def _undecodable() -> bytes:
    good = csv_text(tiny_rows("institutions")).encode("utf-8").split(b"\n")
    good[2] = good[2].replace("合成".encode(), b"\xff\xfe\xff")
    return b"\n".join(good)


def _xlsx_bytes() -> bytes:
    import io

    wb = Workbook()
    wb.active.append(["institution_id"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _mixed_headers(rows):
    return [c.zh if i % 2 else c.name for i, c in enumerate(TABLES["activities"].columns)]


def _both_formats(d: Path) -> None:
    write_tiny(d)
    workbook(lambda s: None)(d)


def _example_row(rows):
    return [*rows, dict(rows[0], unit_id="示例U09", unit_name="示例单位")]


SECRET = "root:TOP-SECRET-LINE-7f3a"


def _symlink_to_outside(d: Path) -> None:
    write_tiny(d)
    secret = d.parent / "outside.csv"
    secret.write_text(f"{SECRET}\n{SECRET},x,y\n", encoding="utf-8")
    (d / "units.csv").unlink()
    (d / "units.csv").symlink_to(secret)


def _nul_after_4kb() -> bytes:
    rows = tiny_rows("units")
    rows += [dict(rows[0], unit_id=f"U{i}", unit_name=f"合成单位{i}") for i in range(100, 200)]
    rows[-1]["unit_name"] = "合成\x00单位"
    data = csv_text(rows).encode("utf-8")
    assert data.index(b"\x00") > 4096
    return data


def _lrm_in_header() -> bytes:
    return csv_text(tiny_rows("units"), header=["unit_id\u200e", *list(TINY["units"][0])[1:]]).encode()


def _xlsx_bidi(s):
    s["institutions"]["B2"] = "合成\u202e院老养"


def _blank_rows_then_bad(d: Path) -> None:
    write_tiny(d, edit={("activities", 2, "category"): "party"})
    lines = (d / "activities.csv").read_text(encoding="utf-8").splitlines()
    lines.insert(2, ",,,,,,,")  # blank row 3: the bad row A3 is now row 5 in the file
    (d / "activities.csv").write_text("\n".join(lines) + "\n\n,,,\n", encoding="utf-8")


CASES = [
    # encodings
    Case("gbk-bad-enum", edit(encoding="gbk", cells={("institutions", 1, "kind"): "养老院X"}),
         "institutions.csv", 3, "kind", "one of elderly (养老)"),
    Case("gb18030-impossible-day", edit(encoding="gb18030", cells={("activities", 2, "date"): "2022-08-32"}),
         "activities.csv", 4, "date", "August 2022 has 31 days"),
    Case("utf8-bom-negative-money", edit(encoding="utf-8-sig", cells={("activities", 1, "value_rmb"): "-5000"}),
         "activities.csv", 3, "value_rmb", "cannot be negative"),
    Case("undecodable-bytes", replace_file("institutions", _undecodable),
         "institutions.csv", 3, None, "reads as UTF-8 up to row 3"),
    Case("utf16-without-bom", replace_file("units", lambda: csv_text(tiny_rows("units")).encode("utf-16-le")),
         "units.csv", None, None, "UTF-16 without a byte-order mark"),
    Case("xlsx-renamed-to-csv", replace_file("institutions", _xlsx_bytes),
         "institutions.csv", None, None, "Excel workbook renamed to .csv"),
    # columns
    Case("missing-column", with_rows("institutions", lambda r: [{k: v for k, v in x.items() if k != "beds"} for x in r]),
         "institutions.csv", 1, "beds", "add a column headed 'beds'"),
    Case("renamed-column", with_rows("institutions", lambda r: r,
                                     header=lambda r: [("机构种类" if k == "kind" else k) for k in r[0]]),
         "institutions.csv", 1, "kind", "rename the header '机构种类'"),
    Case("duplicated-column", with_rows("institutions", lambda r: [dict(x, dup=x["institution_id"]) for x in r],
                                        header=lambda r: [*list(r[0])[:-1], "机构编号"]),
         "institutions.csv", 1, "K 机构编号", "already holds institution_id"),
    Case("mixed-headers-bad-value", with_rows("activities", lambda r: [dict(r[0], date="2021-02-29"), *r[1:]],
                                              header=_mixed_headers),
         "activities.csv", 2, "日期 (date)", "February 2021 has 28 days"),
    # keys
    Case("duplicate-key", edit(cells={("activities", 1, "activity_id"): "A1"}),
         "activities.csv", 3, "activity_id", "row 2 has the same activity_id"),
    Case("duplicate-composite-key", edit(cells={("assessments", 1, "period"): "2020Q4"}),
         "assessments.csv", 3, "period", "row 2 has the same institution_id and period"),
    Case("fk-county", edit(cells={("institutions", 0, "county_code"): "511199"}),
         "institutions.csv", 2, "county_code", "listed in counties.csv"),
    Case("fk-unit-of-activity", edit(cells={("activities", 0, "unit_id"): "U99"}),
         "activities.csv", 2, "unit_id", "listed in units.csv"),
    Case("fk-institution-of-pairing", edit(cells={("pairings", 2, "institution_id"): "I030"}),
         "pairings.csv", 4, "institution_id", "listed in institutions.csv"),
    Case("missing-table", lambda d: write_tiny(d, drop=("pairings",)),
         "pairings.csv", None, None, "add the pairings table"),
    # enumerations and values
    Case("unknown-enum", edit(cells={("activities", 0, "category"): "visits"}),
         "activities.csv", 2, "category", "did you mean 'visit'"),
    Case("required-value-empty", edit(cells={("institutions", 0, "institution_name"): ""}),
         "institutions.csv", 2, "institution_name", "may not be empty"),
    Case("negative-count", edit(cells={("activities", 3, "participants"): "-1"}),
         "activities.csv", 5, "participants", "counts cannot be negative"),
    Case("score-above-100", edit(cells={("assessments", 4, "happiness_score"): "101"}),
         "assessments.csv", 6, "happiness_score", "0–100 scale"),
    Case("residents-above-beds", edit(cells={("assessments", 7, "residents"): "11"}),
         "assessments.csv", 9, "residents", "at most the institution's 10 beds"),
    Case("share-written-as-percent-number", edit(cells={("counties", 1, "elderly_share"): "26"}),
         "counties.csv", 3, "elderly_share", "0.26"),
    Case("county-code-five-digits", edit(cells={("counties", 0, "county_code"): "51110"}),
         "counties.csv", 2, "county_code", "6-digit"),
    Case("non-integer-count", edit(cells={("activities", 0, "participants"): "3.5"}),
         "activities.csv", 2, "participants", "remove the decimals"),
    Case("bad-yes-no", edit(cells={("assessments", 0, "over_capacity_flag"): "maybe"}),
         "assessments.csv", 2, "over_capacity_flag", "是 or 否"),
    Case("bad-period", edit(cells={("assessments", 0, "period"): "2021Q5"}),
         "assessments.csv", 2, "period", "quarter 5 does not exist"),
    # dates
    Case("end-before-start", edit(cells={("pairings", 1, "end_date"): "2021-05-01"}),
         "pairings.csv", 3, "end_date", "cannot end before it starts"),
    Case("resolved-before-found", edit(cells={("problems", 0, "resolved_date"): "2021-01-15"}),
         "problems.csv", 2, "resolved_date", "cannot be resolved before it starts"),
    Case("unparseable-date", edit(cells={("units", 0, "joined_date"): "去年"}),
         "units.csv", 2, "joined_date", "write the date as YYYY-MM-DD"),
    Case("impossible-date", edit(cells={("activities", 0, "date"): "2023-02-30"}),
         "activities.csv", 2, "date", "February 2023 has 28 days"),
    Case("month-13", edit(cells={("problems", 1, "found_date"): "2021-13-01"}),
         "problems.csv", 3, "found_date", "month 13 does not exist"),
    Case("day-first-date", edit(cells={("pairings", 0, "start_date"): "01/01/2021"}),
         "pairings.csv", 2, "start_date", "write it as 2021-MM-DD"),
    Case("csv-serial-date-implausible", edit(cells={("counties", 0, "county_management_date"): "12"}),
         "counties.csv", 2, "county_management_date", "1900-01-12 is implausible"),
    Case("xlsx-serial-date-implausible", workbook(_serial_cell),
         "ledger.xlsx, sheet activities", 2, "date", "1900-01-05 is implausible"),
    # files and rows
    Case("empty-file", replace_file("units", lambda: b""), "units.csv", None, None, "the file is empty"),
    Case("header-only", replace_file("institutions", lambda: ",".join(TINY["institutions"][0]).encode() + b"\n"),
         "institutions.csv", None, None, "at least one data row"),
    Case("blank-rows-keep-row-numbers", _blank_rows_then_bad, "activities.csv", 5, "category", "party"),
    Case("xlsx-merged-cells", workbook(_merge_vertical),
         "ledger.xlsx, sheet institutions", 3, "county_code", "cells C2:C3 are merged"),
    Case("xlsx-merged-subtotal-row", workbook(_merged_subtotal_row),
         "ledger.xlsx, sheet activities", 3, None, "cells A3:H3 are merged into one"),
    Case("ragged-csv-row", replace_file("activities", lambda: _ragged(tiny_rows("activities"))),
         "activities.csv", 3, "I", "put that value in double quotes"),
    Case("template-example-row-left", with_rows("units", _example_row),
         "units.csv", 4, "unit_id", "delete the grey example rows"),
    Case("xlsx-missing-sheet", workbook(lambda s: s["units"].parent.remove(s["units"])),
         "ledger.xlsx", None, None, "a sheet of the workbook named units"),
    Case("misnamed-file", lambda d: (write_tiny(d), (d / "units.csv").rename(d / "单位台账2023.csv")),
         "units.csv", None, None, "rename the file that holds it ('单位台账2023.csv')"),
    Case("csv-and-workbook-together", _both_formats, "tiny", None, None, "either CSV files or one workbook"),
    # headers, links, invisible characters, sizes
    Case("no-recognised-header", replace_file("units", lambda: b"a,b,c\n1,2,3\n4,5,6\n"),
         "units.csv", 1, None, "no cell of row 1 is a column name of units"),
    Case("symlink-to-outside-file", _symlink_to_outside, "units.csv", None, None,
         "copy the file itself into the folder in place of the link"),
    Case("bidi-override-in-name", edit(cells={("institutions", 0, "institution_name"): "合成\u202e院老养"}),
         "institutions.csv", 2, "institution_name", "character 3 of the cell is U+202E RIGHT-TO-LEFT OVERRIDE"),
    Case("escape-in-id", edit(cells={("activities", 1, "activity_id"): "A\x1b[31m2"}),
         "activities.csv", 3, "activity_id", "U+001B ESCAPE"),
    Case("nul-after-4kb", replace_file("units", _nul_after_4kb), "units.csv", 103, "unit_name",
         "U+0000 NULL"),
    Case("mark-in-header", replace_file("units", _lrm_in_header), "units.csv", 1, "A",
         "U+200E LEFT-TO-RIGHT MARK"),
    Case("xlsx-bidi-override", workbook(_xlsx_bidi), "ledger.xlsx, sheet institutions", 2,
         "institution_name", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    Case("count-too-large", edit(cells={("institutions", 0, "beds"): "99999999999999999999999"}),
         "institutions.csv", 2, "beds", "at most 15 digits"),
    Case("quarter-year-implausible", edit(cells={("assessments", 0, "period"): "0000Q1"}),
         "assessments.csv", 2, "period", "0000Q1 is implausible"),
    Case("date-year-zero", edit(cells={("activities", 0, "date"): "0000-01-01"}),
         "activities.csv", 2, "date", "year 0 is implausible"),
]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root whose data/processed/tiny holds a previous build."""
    prev = tmp_path / "data" / "processed" / "tiny"
    (prev / "results").mkdir(parents=True)
    (prev / "manifest.json").write_text('{"dataset": "tiny", "note": "previous build"}')
    (prev / "panel.parquet").write_bytes(b"previous panel bytes")
    (prev / "results" / "indicators.parquet").write_bytes(b"previous results")
    return tmp_path


def _problem_line(output: str, case: Case) -> str | None:
    for line in output.splitlines():
        if case.file not in line or case.says not in line:
            continue
        if case.row is not None and f"row {case.row}," not in line and f"row {case.row}:" not in line:
            continue
        if case.column is not None and f"column {case.column}" not in line:
            continue
        return line
    return None


def test_there_are_at_least_30_cases():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(project: Path, case: Case):
    raw = project / "data" / "raw" / "tiny"
    case.make(raw)
    inputs = _snapshot(raw)
    before = _snapshot(project / "data" / "processed")

    res = runner.invoke(app, ["validate", str(raw)])
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output
    line = _problem_line(res.output, case)
    assert line is not None, f"no line names {case.file} / row {case.row} / {case.column} / {case.says!r}:\n{res.output}"
    assert "expected" in line and "Fix:" in line

    res = runner.invoke(app, ["build", str(raw), "--out-root", str(project / "data" / "processed")])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and _problem_line(res.output, case) is not None
    assert _snapshot(project / "data" / "processed") == before
    assert sorted(p.name for p in (project / "data" / "processed").iterdir()) == ["tiny"]
    assert _snapshot(raw) == inputs


def test_every_problem_is_listed_not_just_the_first(project: Path):
    raw = project / "data" / "raw" / "tiny"
    write_tiny(raw, edit={("activities", 0, "date"): "2023-02-30",
                          ("activities", 1, "value_rmb"): "-1",
                          ("institutions", 2, "area"): "suburb",
                          ("pairings", 1, "end_date"): "2020-01-01",
                          ("assessments", 5, "service_score"): "-3"})
    res = runner.invoke(app, ["validate", str(raw)])
    assert res.exit_code == 2
    assert "5 problem(s)" in res.output
    for needle in ("activities.csv, row 2, column date", "activities.csv, row 3, column value_rmb",
                   "institutions.csv, row 4, column area", "pairings.csv, row 3, column end_date",
                   "assessments.csv, row 7, column service_score"):
        assert needle in res.output


def test_no_traceback_reaches_the_user_in_a_real_process(tmp_path: Path):
    exe = Path(sys.executable).parent / "pairing-eval"
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    bad = write_tiny(tmp_path / "raw" / "bad", edit={("activities", 0, "date"): "2023-02-30"})
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    p = subprocess.run([str(exe), "validate", str(bad)], capture_output=True, text=True, env=env,
                       timeout=120)
    assert p.returncode == 2
    assert "Traceback" not in p.stdout + p.stderr
    assert ("activities.csv, row 2, column date: value '2023-02-30': expected a real calendar date "
            "(YYYY-MM-DD, YYYY/M/D, YYYY年M月D日 or an Excel serial number). Fix: correct the day; "
            "February 2023 has 28 days") in p.stderr
    p = subprocess.run([str(exe), "validate", str(tmp_path / "nowhere")], capture_output=True,
                       text=True, env=env, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stdout + p.stderr
    assert "No raw data folder" in p.stderr
    good = write_tiny(tmp_path / "raw" / "good")
    p = subprocess.run([str(exe), "validate", str(good)], capture_output=True, text=True, env=env,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert "is valid" in p.stdout


def test_a_file_instead_of_a_folder_gets_advice(tmp_path: Path):
    d = write_tiny(tmp_path / "raw")
    res = runner.invoke(app, ["validate", str(d / "units.csv")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "pass the folder" in res.output


_CELLS = [(t, i, c) for t, rows in TINY.items() for i in range(len(rows)) for c in rows[0]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(_CELLS),
                          st.one_of(st.text(max_size=12), st.sampled_from(
                              ["", "0", "-1", "1e309", "2021-02-29", "44260", "2021Q9", "养老 urban",
                               "\"", "a,b", "\u3000", "nan", "None", "２０２１年２月３０日"]))),
                min_size=1, max_size=4),
       st.sampled_from(["utf-8", "gb18030", "utf-8-sig"]))
def test_random_cells_never_crash(tmp_path_factory, edits, encoding):
    """Whatever lands in the cells, the outcome is 'valid' or a DataContractError, never a crash."""
    from analysis.contract import validate
    from analysis.errors import DataContractError
    from analysis.io import read_raw

    d = tmp_path_factory.mktemp("fuzz")
    try:
        write_tiny(d, edit=dict(edits), encoding=encoding)
    except UnicodeEncodeError:
        return  # text the encoding cannot hold is not a file anyone could have
    try:
        validate(read_raw(d))
    except DataContractError as err:
        assert err.problems and all(p.file and p.expected and p.fix for p in err.problems)


def test_a_link_is_not_followed_and_its_target_never_shown(project: Path):
    raw = project / "data" / "raw" / "tiny"
    _symlink_to_outside(raw)
    (raw / "TRUTH.json").symlink_to(raw.parent / "outside.csv")  # not a table: ignored, not hashed
    res = runner.invoke(app, ["validate", str(raw)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert SECRET not in res.output and "TOP-SECRET" not in res.output
    assert "a sheet" not in res.output and "named units" not in res.output  # not also "missing"
    from analysis.io import read_raw, table_files

    assert all(not p.is_symlink() for p in table_files(raw))
    r = read_raw(raw)
    assert any("TRUTH.json is a symbolic link" in n for n in r.notes)
    assert all(SECRET not in str(p.value) for p in r.problems)


def test_invisible_characters_are_one_problem_each_and_not_parsed(project: Path):
    from analysis.contract import validate
    from analysis.errors import DataContractError
    from analysis.io import read_raw

    raw = project / "data" / "raw" / "tiny"
    write_tiny(raw, edit={("activities", 0, "date"): "2021-03-0\u20665",
                          ("institutions", 1, "beds"): "8\x070"})
    (raw / "units.csv").write_bytes(_lrm_in_header())
    with pytest.raises(DataContractError) as err:
        validate(read_raw(raw))
    probs = err.value.problems
    assert [(p.file, p.row, p.rule) for p in probs] == [
        ("institutions.csv", 3, "control_characters"), ("units.csv", 1, "control_characters"),
        ("activities.csv", 2, "control_characters")]
    text = "\n".join(p.render() for p in probs)
    assert "U+2066 LEFT-TO-RIGHT ISOLATE" in text and "U+0007 BELL" in text
    assert "\\u2066" in text and "\\x07" in text  # the value is shown escaped, never raw
    assert "\u2066" not in text and "\x07" not in text


def test_a_file_that_cannot_be_opened_is_a_problem(tmp_path: Path, monkeypatch):
    from analysis.contract import validate
    from analysis.errors import DataContractError
    from analysis.io import raw as raw_module

    d = write_tiny(tmp_path / "tiny")
    real = raw_module.read_csv_grid

    def locked(p):
        if p.name == "units.csv":
            raise PermissionError(13, "Permission denied", str(p))
        return real(p)

    monkeypatch.setattr(raw_module, "read_csv_grid", locked)
    with pytest.raises(DataContractError) as err:
        validate(raw_module.read_raw(d))
    (p,) = err.value.problems
    assert p.file == "units.csv" and "cannot be opened (Permission denied)" in p.fix


def test_a_file_name_with_a_control_character_is_refused_and_shown_escaped(project: Path):
    raw = write_tiny(project / "data" / "raw" / "tiny")
    (raw / "units.csv").rename(raw / "units\u202ev.csv")
    (raw / "notes\x1b[2J.txt").write_text("x", encoding="utf-8")
    res = runner.invoke(app, ["validate", str(raw)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "\u202e" not in res.output and "\x1b" not in res.output
    assert "units\\u202ev.csv: expected a file name without control characters" in res.output
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in res.output and "U+001B ESCAPE" in res.output


@pytest.mark.parametrize(("error", "says"), [
    (MemoryError(), "ran out of memory"),
    (KeyError("xl/worksheets/sheet9.xml"), "the workbook is damaged (KeyError"),
    (PermissionError(13, "Permission denied"), "cannot be opened (Permission denied)"),
])
def test_any_failure_of_the_workbook_reader_is_one_problem(tmp_path: Path, monkeypatch, error, says):
    from analysis.contract import validate
    from analysis.errors import DataContractError
    from analysis.io import raw as raw_module

    workbook(lambda s: None)(tmp_path / "tiny")

    def fails(p):
        raise error

    monkeypatch.setattr(raw_module, "read_xlsx_grids", fails)
    with pytest.raises(DataContractError) as err:
        validate(raw_module.read_raw(tmp_path / "tiny"))
    (p,) = err.value.problems  # the sheets are not also reported missing
    assert p.file == "ledger.xlsx" and says in p.fix


# --------------------------------------------------------------------------------------------
# the same problems in Chinese
# --------------------------------------------------------------------------------------------
#: a sample of the cases, as a Chinese reader sees them: case id -> (location, value, expected,
#: fix); the location names file (and sheet), row and the column as the file heads it
ZH_CASES = {
    "gbk-bad-enum": ("文件 institutions.csv，第3行，“kind”列", "值为 '养老院X'",
                     "应为以下之一：elderly（养老）、children（儿童）",
                     "如何改正：是否应为 'elderly'（养老院）？请使用列出的代码或中文名称（模板中有下拉列表）。"),
    "gb18030-impossible-day": ("文件 activities.csv，第4行，“date”列", "值为 '2022-08-32'",
                               "应为真实存在的日期（YYYY-MM-DD、YYYY/M/D、YYYY年M月D日或 Excel 日期序号）",
                               "如何改正：请更正日：2022年8月只有31天。"),
    "utf8-bom-negative-money": ("文件 activities.csv，第3行，“value_rmb”列", "值为 '-5000'",
                                "应为≥ 0 的数值", "如何改正：金额不能为负数；请更正符号或数值。"),
    "mixed-headers-bad-value": ("文件 activities.csv，第2行，“日期（date）”列", "值为 '2021-02-29'",
                                "应为真实存在的日期", "如何改正：请更正日：2021年2月只有28天。"),
    "duplicate-composite-key": ("文件 assessments.csv，第3行，“period”列", "值为 'I001 + 2020Q4'",
                                "应为不重复的 institution_id和period（每个值只出现在一行）",
                                "如何改正：第2行的 institution_id和period 与此相同；请删除重复的行，或更正其 institution_id和period。"),
    "fk-county": ("文件 institutions.csv，第2行，“county_code”列", "值为 '511199'",
                  "应为counties.csv 中列出的 county_code", "如何改正：请更正编号"),
    "score-above-100": ("文件 assessments.csv，第6行，“happiness_score”列", "值为 '101'",
                        "应为0到100之间的数值", "如何改正：得分采用 0–100 分制；请更正该得分。"),
    "residents-above-beds": ("文件 assessments.csv，第9行，“residents”列", "值为 11",
                             "应为不超过该机构的床位数 10（institutions 表的 beds 列）",
                             "如何改正：请更正在院人数（residents）或床位数（beds）"),
    "resolved-before-found": ("文件 problems.csv，第2行，“resolved_date”列", "值为 '2021-01-15'",
                              "记录不能在开始之前解决", "如何改正：请更正 resolved_date 或 found_date（是否填反了？）。"),
    "xlsx-merged-cells": ("文件 ledger.xlsx，工作表“institutions”，第3行，“county_code”列", "",
                          "应为每个单元格都有值（数据行中不能有合并单元格）",
                          "如何改正：单元格 C2:C3 被合并了；请取消合并，并在每一行重复填写该值。"),
    "undecodable-bytes": ("文件 institutions.csv，第3行", "", "应为UTF-8 或 GB18030/GBK 编码的文本",
                          "如何改正：文件按 UTF-8 可以读到第3行，但这一行的字节用两种编码都读不出来"),
    "bidi-override-in-name": ("文件 institutions.csv，第2行，“institution_name”列", "值为 '合成\\u202e院老养'",
                              "应为不含控制字符的文本",
                              "如何改正：该单元格的第3个字符是 U+202E RIGHT-TO-LEFT OVERRIDE，这是一个会改变文字显示顺序的不可见字符"),
    "missing-column": ("文件 institutions.csv，第1行，“beds”列", "", "应为beds 列（床位数 / 床位）",
                       "如何改正：请添加表头为 'beds' 或 '床位数' 的列（床位数）。"),
    "missing-table": ("文件 pairings.csv", "", "应为名为 pairings（或 结对关系）的一个文件，存放 pairings 表",
                      "如何改正：请补上 pairings 表（各列见 `pairing-eval template` 生成的模板）。"),
}


@pytest.mark.parametrize("case_id", sorted(ZH_CASES))
def test_bad_input_in_chinese(tmp_path: Path, case_id: str):
    case = next(c for c in CASES if c.id == case_id)
    raw = tmp_path / "data" / "raw" / "tiny"
    case.make(raw)
    res = runner.invoke(app, ["validate", str(raw), "--lang", "zh"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.output.startswith("错误：")
    where, value, expected, fix = ZH_CASES[case_id]
    lines = [ln for ln in res.output.splitlines() if f"{where}：" in ln]
    assert lines, f"no line starts with {where!r}:\n{res.output}"
    line = next((ln for ln in lines if expected in ln and fix in ln), None)
    assert line is not None, f"{expected!r} / {fix!r} not in:\n" + "\n".join(lines)
    assert value in line and "应为" in line and "如何改正：" in line
    assert "expected" not in line and "Fix:" not in line


def test_every_problem_of_every_case_is_a_message(tmp_path: Path):
    """No problem text of the bad-input cases is a plain English string: each ``expected`` and
    ``fix`` is a message of the catalogue, so it has a Chinese rendering."""
    from analysis.build.engine import validate_raw
    from analysis.errors import DataContractError
    from analysis.messages import Msg

    for case in CASES:
        raw = tmp_path / case.id / "raw"
        case.make(raw)
        with pytest.raises(DataContractError) as err:
            validate_raw(raw)
        for p in err.value.problems:
            assert isinstance(p.expected, Msg) and isinstance(p.fix, Msg), (case.id, p)
            zh = p.render("zh")
            assert "expected" not in zh and "Fix:" not in zh, (case.id, zh)
        assert isinstance(err.value.header, Msg), case.id
