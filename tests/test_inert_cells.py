"""Every spreadsheet cell the package writes is inert: the OWASP CSV-injection payloads in
institution, unit and county names are written as text — explicit string cells in the Excel
template, the ``'`` guard in CSV files (the problems list, the synthetic world) — and read back
as written through ``validate`` and ``build``.

The ``spreadsheet`` tests ask a real spreadsheet program: LibreOffice converts the files the
package wrote and must give the literal text back, never a computed value (Debian package
``libreoffice-calc-nogui``; ``make spreadsheet-check``). The rest needs no spreadsheet program.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from test_contract import tiny_rows, write_tiny
from typer.testing import CliRunner

from analysis.build import build
from analysis.cli import app
from analysis.contract import TABLES, validate
from analysis.io import read_raw
from analysis.io.inert import FORMULA_START, csv_cell, csv_uncell, looks_like_formula, put_cell
from analysis.synth.writer import read_demo_tables, write_tables
from analysis.template import write_template

runner = CliRunner()

#: OWASP "CSV Injection" payloads and the edge cases of the guard
PAYLOADS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://x","y")',
    "+1+1",
    "-2+3",
    "@SUM(1,1)",
    "=1+1",
    "\t=1",
    "\r=1",
    '"=1"',
    "=10+20+cmd|' /C calc'!A0",
    "+cmd|' /C notepad'!'B1'",
    '=DDE("cmd";"/C calc";"!A0")A0',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-1",
    "'=1+1",
    "''+x",
    "'plain",
]


def parsed(text: str) -> str:
    """A name as the reader keeps it: a CSV guard removed (``'=1+1`` is ``=1+1``), whitespace
    runs (tab and CR included) collapsed."""
    return " ".join(csv_uncell(text).split())


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    """A CSV file of ``rows``; CRLF line ends, so that a field holding a CR is quoted."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(list(rows[0]))
    w.writerows([list(r.values()) for r in rows])
    path.write_bytes(buf.getvalue().encode("utf-8"))


def payload_world(folder: Path) -> Path:
    """The tiny world plus one institution and one unit per payload (payload as the name and the
    township), and a county named by a payload."""
    write_tiny(folder)
    inst = tiny_rows("institutions")
    inst += [dict(inst[0], institution_id=f"X{i:02d}", institution_name=p, township=p)
             for i, p in enumerate(PAYLOADS)]
    units = tiny_rows("units")
    units += [dict(units[0], unit_id=f"V{i:02d}", unit_name=p) for i, p in enumerate(PAYLOADS)]
    counties = tiny_rows("counties")
    counties[1]["county_name"] = "@SUM(1,1)"
    counties[1]["county_name_en"] = "=1+1"
    for name, rows in (("institutions", inst), ("units", units), ("counties", counties)):
        write_rows(folder / f"{name}.csv", rows)
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return payload_world(tmp_path_factory.mktemp("inert") / "world")


@pytest.fixture(scope="module")
def workbook(world: Path, tmp_path_factory) -> Path:
    return write_template(tmp_path_factory.mktemp("wb") / "filled" / "填报.xlsx", data_dir=world)


# --------------------------------------------------------------------------------------------
# the guard
# --------------------------------------------------------------------------------------------
@given(st.text(alphabet=st.sampled_from([*FORMULA_START, "'", "a", "1", "养", " "]), max_size=8)
       | st.text(max_size=12))
def test_csv_guard_is_reversible_and_never_starts_a_formula(text: str):
    cell = csv_cell(text)
    assert csv_uncell(cell) == text
    assert not looks_like_formula(cell)
    if not re.match("^'*[=+\\-@\t\r]", text):
        assert cell == text  # only what needs the guard gets it


def test_csv_guard_leaves_other_values_alone():
    assert csv_cell(-3) == -3 and csv_cell(None) is None and csv_cell(2.5) == 2.5
    assert csv_cell("=1+1") == "'=1+1" and csv_uncell("'=1+1") == "=1+1"
    assert csv_uncell("'007") == "'007"  # an apostrophe that guards nothing is text


def test_put_cell_never_writes_a_formula(tmp_path: Path):
    from openpyxl import Workbook

    wb = Workbook()
    for i, p in enumerate(PAYLOADS, start=1):
        put_cell(wb.active, i, 1, p)
        plain = wb.active.cell(row=i, column=2, value=p)  # what openpyxl does by itself
        assert plain.data_type == ("f" if p.startswith("=") else "s")
    wb.save(tmp_path / "x.xlsx")
    back = load_workbook(tmp_path / "x.xlsx").active
    for i, p in enumerate(PAYLOADS, start=1):
        c = back.cell(row=i, column=1)
        assert c.data_type == "s" and c.quotePrefix == looks_like_formula(p)
        assert c.value == p.replace("\r", "\n")  # XML keeps no lone CR (the readers collapse both)


# --------------------------------------------------------------------------------------------
# the Excel template
# --------------------------------------------------------------------------------------------
def test_template_writes_payloads_as_string_cells(workbook: Path):
    with zipfile.ZipFile(workbook) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets
        for n in sheets:
            assert b"<f>" not in z.read(n) and b"<f " not in z.read(n), n  # no formula anywhere
    wb = load_workbook(workbook)
    names = {parsed(p) for p in PAYLOADS}
    seen: set[str] = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str) and c.value in names:
                    seen.add(c.value)
                    assert c.data_type == "s"
                    assert c.quotePrefix == looks_like_formula(c.value)
    assert seen == names


def test_filled_template_reads_back_as_written(world: Path, workbook: Path):
    ref = read_raw(world)
    validate(ref)
    back = read_raw(workbook.parent)
    validate(back)
    for t in TABLES:
        pd.testing.assert_frame_equal(back.tables[t], ref.tables[t])
    inst = back.tables["institutions"].set_index("institution_id")
    for i, p in enumerate(PAYLOADS):
        assert inst.loc[f"X{i:02d}", "institution_name"] == parsed(p)
        assert inst.loc[f"X{i:02d}", "township"] == parsed(p)
    county = back.tables["counties"].set_index("county_code").loc["511123"]
    assert (county["county_name"], county["county_name_en"]) == ("@SUM(1,1)", "=1+1")


def test_template_cli_then_validate_and_build_keep_the_names(world: Path, tmp_path: Path):
    out = tmp_path / "wb" / "filled.xlsx"
    res = runner.invoke(app, ["template", str(out), "--with-data", str(world)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["validate", str(out.parent)])
    assert res.exit_code == 0, res.output
    outcome = build(out.parent, out_root=tmp_path / "processed", echo=lambda _: None)
    names = pd.read_parquet(outcome.path / "institutions.parquet")["institution_name"]
    assert set(names) >= {parsed(p) for p in PAYLOADS}
    units = pd.read_parquet(outcome.path / "units.parquet")["unit_name"]
    assert set(units) >= {parsed(p) for p in PAYLOADS}


# --------------------------------------------------------------------------------------------
# CSV files the package writes
# --------------------------------------------------------------------------------------------
def bad_kind_world(folder: Path) -> Path:
    """Institutions whose ``kind`` (an enumeration) holds a payload: each is a problem whose
    value is the payload, so the problems list carries it."""
    write_tiny(folder)
    inst = tiny_rows("institutions")
    inst += [dict(inst[0], institution_id=f"X{i:02d}", kind=p) for i, p in enumerate(PAYLOADS)]
    write_rows(folder / "institutions.csv", inst)
    return folder


def read_problems(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads Chinese correctly
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_problems_file_cells_are_inert(tmp_path: Path):
    raw = bad_kind_world(tmp_path / "raw")
    out = tmp_path / "out" / "problems.csv"
    res = runner.invoke(app, ["validate", str(raw), "--output", str(out)])
    assert res.exit_code == 2, res.output
    rows = read_problems(out)
    for r in rows:
        for v in r.values():
            assert not looks_like_formula(v or ""), r
    kinds = [csv_uncell(r["value"]) for r in rows if r["column"] == "kind"]
    expected = [p for p in PAYLOADS if p.strip() and parsed(p).lower() not in TABLES_KIND_CODES]
    assert sorted(kinds) == sorted(expected)
    assert any(r["value"] == "'=1+1" for r in rows)


TABLES_KIND_CODES = {c for c in TABLES["institutions"].column("kind").codes}


def test_synthetic_world_csv_guards_and_reads_back(world: Path, tmp_path: Path):
    tables = read_raw(world).tables
    inst = tables["institutions"].copy()
    inst.loc[inst["institution_id"] == "X00", "institution_name"] = "\t=1"  # kept as written
    tables = {**tables, "institutions": inst}
    out = tmp_path / "synth"
    out.mkdir()
    write_tables(out, tables, {"synthetic": True}, seed=1)
    text = (out / "institutions.csv").read_text(encoding="utf-8")
    for p in ("=cmd|' /C calc'!A0", "+1+1", "@SUM(1,1)"):
        assert f"'{p}" in text
    for line in text.splitlines():
        for cell in next(csv.reader([line])):
            assert not looks_like_formula(cell)
    back = read_demo_tables(out)
    assert back["institutions"]["institution_name"].tolist() == inst["institution_name"].tolist()
    again = read_raw(out)
    names = again.tables["institutions"]["institution_name"].tolist()
    assert names == [" ".join(n.split()) for n in inst["institution_name"]]


# --------------------------------------------------------------------------------------------
# what a spreadsheet program makes of them (LibreOffice; make spreadsheet-check)
# --------------------------------------------------------------------------------------------
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
#: CSV export: comma, double quotes, UTF-8, every sheet to its own file, values (not formulas)
CSV_EXPORT = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def soffice(args: list[str], home: Path) -> None:
    if SOFFICE is None:
        pytest.skip("LibreOffice is not installed (Debian: apt-get install libreoffice-calc-nogui)")
    proc = subprocess.run([SOFFICE, f"-env:UserInstallation={home.as_uri()}", "--headless",
                           *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.spreadsheet
def test_libreoffice_reads_the_template_as_text(workbook: Path, tmp_path: Path):
    soffice(["--convert-to", CSV_EXPORT, "--outdir", str(tmp_path), str(workbook)], tmp_path / "lo")
    sheet = next(tmp_path.glob("*institutions.csv"))
    rows = list(csv.DictReader(io.StringIO(sheet.read_text(encoding="utf-8"), newline="")))
    key = next(k for k in rows[0] if k.endswith("institution_id"))
    name = next(k for k in rows[0] if k.endswith("institution_name"))
    got = {r[key]: r[name] for r in rows}
    for i, p in enumerate(PAYLOADS):
        assert got[f"X{i:02d}"] == parsed(p)  # the literal text, not a computed value
    counties = next(tmp_path.glob("*counties.csv")).read_text(encoding="utf-8")
    assert "@SUM(1,1)" in counties and "=1+1" in counties


@pytest.mark.spreadsheet
def test_libreoffice_reads_the_problems_file_as_text(tmp_path: Path):
    raw = bad_kind_world(tmp_path / "raw")
    out = tmp_path / "problems.csv"
    res = runner.invoke(app, ["validate", str(raw), "--output", str(out)])
    assert res.exit_code == 2, res.output
    soffice(["--infilter=CSV:44,34,76,1", "--convert-to", CSV_EXPORT, "--outdir",
             str(tmp_path / "lo-out"), str(out)], tmp_path / "lo")
    converted = next((tmp_path / "lo-out").glob("*.csv"))
    back = list(csv.DictReader(io.StringIO(converted.read_text(encoding="utf-8"), newline="")))
    mine = read_problems(out)
    # nothing was computed (LibreOffice writes a CR inside a cell as LF)
    assert [r["value"] for r in back] == [r["value"].replace("\r", "\n") for r in mine]
    assert "'=1+1" in [r["value"] for r in back]


@pytest.mark.spreadsheet
def test_libreoffice_check_can_fail(tmp_path: Path):
    """The same conversion computes an unguarded formula: the checks above could see one."""
    f = tmp_path / "raw.csv"
    f.write_text("name\n=1+1\n", encoding="utf-8")
    soffice(["--infilter=CSV:44,34,76,1", "--convert-to", CSV_EXPORT, "--outdir",
             str(tmp_path / "lo-out"), str(f)], tmp_path / "lo")
    assert next((tmp_path / "lo-out").glob("*.csv")).read_text(encoding="utf-8").split() == \
        ["name", "2"]
