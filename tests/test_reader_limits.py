"""Bounded resources when reading: hostile and oversized raw files are refused with advice.

Every case runs ``pairing-eval validate`` and asserts exit code 2, a message naming the file (and
the row where there is one) with what to do, and no traceback: zip bombs and workbooks or CSV files
above the limits (lowered through their environment variables, so the files stay small), cells over
the CSV field limit, bad byte-order marks and files that are not text. The streamed, chunked reader
gives the same tables as one chunk, and its peak memory grows with a small multiple of the file.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from test_contract import TINY, csv_text, tiny_rows, tiny_workbook, write_tiny
from typer.testing import CliRunner

from analysis.cli import app
from analysis.contract import validate
from analysis.io import limits as lim_mod
from analysis.io import read_raw
from analysis.io import table as table_mod

runner = CliRunner()


def run_validate(folder: Path, **env: str):
    res = runner.invoke(app, ["validate", str(folder)], env=env or None)
    assert "Traceback" not in res.output, res.output
    if res.exit_code != 0:
        assert isinstance(res.exception, SystemExit), res.exception
    return res


def refused(folder: Path, *says: str, **env: str) -> str:
    """Validate ``folder``: exit 2, every text of ``says`` in the output, advice given."""
    res = run_validate(folder, **env)
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())
    for s in says:
        assert s in out, f"{s!r} not in:\n{res.output}"
    assert "Fix:" in out
    return out


# --------------------------------------------------------------------------------------------
# workbooks measured before they are inflated
# --------------------------------------------------------------------------------------------
def tiny_workbook_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wb, _ = tiny_workbook()
    path = folder / "ledger.xlsx"
    wb.save(path)
    return path


def sheet_part(path: Path, title: str) -> str:
    """The zip part holding sheet ``title`` (openpyxl names them sheet1.xml … in order)."""
    return f"xl/worksheets/sheet{list(TINY).index(title) + 1}.xml"


def inflate_part(path: Path, part: str, extra: bytes) -> None:
    """Rewrite the workbook with ``extra`` appended to one part (compressed as usual)."""
    with zipfile.ZipFile(path) as z:
        parts = [(i, z.read(i)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in parts:
            z.writestr(info, data + extra if info.filename == part else data,
                       compress_type=zipfile.ZIP_DEFLATED)


def test_a_workbook_within_the_limits_is_read(tmp_path):
    tiny_workbook_file(tmp_path / "wb")
    res = run_validate(tmp_path / "wb")
    assert res.exit_code == 0, res.output
    assert "one Excel workbook" in res.output


def test_zip_bomb_is_refused_before_it_is_inflated(tmp_path, monkeypatch):
    path = tiny_workbook_file(tmp_path / "wb")
    # 3 MB of blanks compress to a few KB: far beyond any sheet Excel writes
    inflate_part(path, sheet_part(path, "activities"), b" " * (3 * 1024 * 1024))
    assert path.stat().st_size < 100_000
    import openpyxl

    def never(*a, **k):
        raise AssertionError("the workbook was opened")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    out = refused(tmp_path / "wb", "ledger.xlsx", "zip bomb", "sheet 'activities'",
                  "PAIRING_EVAL_MAX_XLSX_RATIO")
    assert "to 1" in out


def test_the_ratio_limit_is_configurable(tmp_path):
    path = tiny_workbook_file(tmp_path / "wb")
    inflate_part(path, sheet_part(path, "activities"), b" " * (3 * 1024 * 1024))
    res = run_validate(tmp_path / "wb", PAIRING_EVAL_MAX_XLSX_RATIO="100000")
    assert res.exit_code == 0, res.output


def _big_sheet(folder: Path) -> tuple[Path, int]:
    """The tiny workbook with 60 KB of ordinary (poorly compressible) text added to its
    activities sheet, and the inflated size of the whole workbook."""
    path = tiny_workbook_file(folder)
    rng = random.Random(3)
    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(60_000))
    inflate_part(path, sheet_part(path, "activities"), text.encode())
    with zipfile.ZipFile(path) as z:
        return path, sum(i.file_size for i in z.infolist())


def test_a_sheet_above_the_part_limit_is_refused_with_how_to_split(tmp_path):
    _big_sheet(tmp_path / "wb")
    refused(tmp_path / "wb", "ledger.xlsx", "sheet 'activities'", "inflates to", "CSV",
            "activities.csv", "PAIRING_EVAL_MAX_XLSX_ENTRY", PAIRING_EVAL_MAX_XLSX_ENTRY="50KB")


def test_a_workbook_above_the_total_limit_is_refused(tmp_path):
    _, total = _big_sheet(tmp_path / "wb")
    refused(tmp_path / "wb", "ledger.xlsx", "largest: sheet 'activities'", "CSV",
            "PAIRING_EVAL_MAX_XLSX_SIZE", PAIRING_EVAL_MAX_XLSX_SIZE=str(total - 1))


# --------------------------------------------------------------------------------------------
# CSV files: size limit, huge cells, byte-order marks, not text
# --------------------------------------------------------------------------------------------
def test_a_csv_above_the_size_limit_is_refused_before_it_is_read(tmp_path):
    folder = write_tiny(tmp_path / "tiny")
    with (folder / "problems.csv").open("r+b") as f:
        f.truncate(3 * 10**9)  # a sparse 3 GB file: reading it would take minutes
    out = refused(folder, "problems.csv", "3 GB", "at most 2 GB", "PAIRING_EVAL_MAX_CSV_SIZE")
    assert "of memory" in out


def test_the_csv_size_limit_is_configurable(tmp_path):
    folder = write_tiny(tmp_path / "tiny")
    size = (folder / "assessments.csv").stat().st_size
    refused(folder, "assessments.csv", "PAIRING_EVAL_MAX_CSV_SIZE",
            PAIRING_EVAL_MAX_CSV_SIZE=str(size - 1))
    assert run_validate(folder, PAIRING_EVAL_MAX_CSV_SIZE=str(size)).exit_code == 0


def test_a_cell_over_the_field_limit_names_the_row(tmp_path):
    folder = write_tiny(tmp_path / "tiny")
    rows = tiny_rows("institutions")
    text = csv_text(rows).splitlines()
    # row 3 opens a quote that never closes: the rest of the file (and more) is one cell
    text[2] = text[2].replace("合成养老院乙", '"合成养老院乙')
    body = "\n".join(text) + "\n" + ("x" * 140_000) + "\n"
    (folder / "institutions.csv").write_text(body, encoding="utf-8")
    refused(folder, "institutions.csv", "row 3", "131,072 characters", "double quote",
            "PAIRING_EVAL_MAX_CELL_SIZE")


def test_the_cell_limit_is_configurable(tmp_path):
    folder = write_tiny(tmp_path / "tiny")
    rows = [dict(r, note="") for r in tiny_rows("institutions")]
    rows[1]["note"] = "长" * 3000
    (folder / "institutions.csv").write_text(csv_text(rows), encoding="utf-8")
    assert run_validate(folder).exit_code == 0
    refused(folder, "institutions.csv", "row 3", "2,000 characters", PAIRING_EVAL_MAX_CELL_SIZE="2000")


def _replace(folder: Path, table: str, data: bytes) -> Path:
    (folder / f"{table}.csv").write_bytes(data)
    return folder


def test_utf16_bom_over_bytes_that_are_not_utf16(tmp_path):
    folder = write_tiny(tmp_path / "tiny")
    # a UTF-16 byte-order mark in front of UTF-8 text of odd length
    data = b"\xff\xfe" + csv_text(tiny_rows("units")).encode("utf-8") + b"x"
    if len(data) % 2 == 0:
        data += b"y"
    refused(_replace(folder, "units", data), "units.csv", "UTF-16")


def test_utf16_bom_with_a_broken_row_names_the_row(tmp_path):
    folder = write_tiny(tmp_path / "tiny")
    good = csv_text(tiny_rows("units")).encode("utf-16-le")
    lines = good.split("\n".encode("utf-16-le"))
    lines[2] = lines[2][:4] + b"\x00\xd8" + lines[2][4:]  # a lone surrogate in row 3
    data = b"\xff\xfe" + "\n".encode("utf-16-le").join(lines)
    refused(_replace(folder, "units", data), "units.csv", "row 3", "UTF-16")


def test_utf8_bom_over_bytes_that_are_not_utf8(tmp_path):
    folder = write_tiny(tmp_path / "tiny")
    text = csv_text(tiny_rows("units")).encode("utf-8").split(b"\n")
    text[1] = text[1] + b"\xff\xfe\xfd"
    data = b"\xef\xbb\xbf" + b"\n".join(text)
    refused(_replace(folder, "units", data), "units.csv", "row 2", "UTF-8 with BOM")


@pytest.mark.parametrize("data", [
    random.Random(1).randbytes(20_000),
    b"\x89PNG\r\n\x1a\n" + random.Random(2).randbytes(5_000),
    b"\x1f\x8b\x08\x00" + bytes(range(256)) * 20,
], ids=["random", "png", "gzip"])
def test_a_file_that_is_not_text(tmp_path, data):
    folder = write_tiny(tmp_path / "tiny")
    refused(_replace(folder, "activities", data), "activities.csv", "binary", "CSV UTF-8")


def test_bytes_no_encoding_reads_name_the_row(tmp_path):
    folder = write_tiny(tmp_path / "tiny")
    data = b"activity_id,date\n" + bytes(range(0x80, 0x100)) * 4
    refused(_replace(folder, "activities", data), "activities.csv", "row 2", "UTF-8")


def test_a_bad_limit_setting_is_an_error_naming_the_variable(tmp_path):
    folder = write_tiny(tmp_path / "tiny")
    res = run_validate(folder, PAIRING_EVAL_MAX_CSV_SIZE="lots")
    assert res.exit_code == 2
    assert "PAIRING_EVAL_MAX_CSV_SIZE='lots' is not a size" in res.output
    assert "unset it for the default (2 GB)" in res.output


def test_sizes_are_read_with_their_units():
    assert lim_mod.parse_size("2GB") == 2_000_000_000
    assert lim_mod.parse_size("500 MB") == 500_000_000
    assert lim_mod.parse_size("64KiB") == 65536
    assert lim_mod.parse_size("1.5mb") == 1_500_000
    assert lim_mod.parse_size("1234") == 1234
    for bad in ("", "2 TB", "-1", "0", "two"):
        with pytest.raises(ValueError):
            lim_mod.parse_size(bad)


def test_limits_come_from_the_environment(monkeypatch):
    assert lim_mod.Limits.from_env() == lim_mod.Limits()
    monkeypatch.setenv("PAIRING_EVAL_MAX_XLSX_SIZE", "1GB")
    monkeypatch.setenv("PAIRING_EVAL_MAX_XLSX_RATIO", "250")
    got = lim_mod.Limits.from_env()
    assert (got.xlsx_size, got.xlsx_ratio, got.csv_size) == (10**9, 250.0, lim_mod.Limits().csv_size)


# --------------------------------------------------------------------------------------------
# the chunked reader
# --------------------------------------------------------------------------------------------
def _read(folder: Path):
    raw = read_raw(folder)
    notes = validate(raw)
    return raw, notes


def test_chunks_give_the_same_tables_rows_and_notes(tmp_path, monkeypatch):
    folder = write_tiny(tmp_path / "tiny")
    rows = tiny_rows("assessments")
    header = [*rows[0], "", "备注", ""]
    text = csv_text([dict(r, a="", b="ok", c="") for r in rows], header=header).splitlines()
    text[-1] += "late"  # the last column has no header and one value, in the last row
    text.insert(5, ",,,,,,,,,,")  # a blank row in the middle
    (folder / "assessments.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    whole, notes = _read(folder)
    assert any("column K" in n and "no header" in n for n in notes)
    assert whole.sources["assessments"].extra == ["备注", "column K"]
    for size in (1, 2, 5):
        monkeypatch.setattr(table_mod, "CHUNK_ROWS", size)
        chunked, chunked_notes = _read(folder)
        assert chunked_notes == notes
        for t in TINY:
            pd.testing.assert_frame_equal(chunked.tables[t], whole.tables[t])
            assert chunked.rows[t].tolist() == whole.rows[t].tolist()
            assert chunked.sources[t] == whole.sources[t]


def test_problems_found_in_a_late_chunk_keep_their_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(table_mod, "CHUNK_ROWS", 2)
    folder = write_tiny(tmp_path / "tiny", edit={("assessments", 10, "period"): "2021Q7"})
    refused(folder, "assessments.csv", "row 12", "quarter 7 does not exist")


def test_peak_memory_grows_with_a_small_multiple_of_the_file(tmp_path):
    """Each further megabyte of activities costs less than 10 MB of peak memory when validated
    (the reader before streaming took about 21 MB per MB of these short rows; now about 6.5;
    ``benchmarks/reader_memory.py`` measures large files)."""
    def peak_mb(folder: Path) -> float:
        exe = Path(sys.executable).parent / "pairing-eval"
        proc = subprocess.Popen([str(exe), "validate", str(folder)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        return usage.ru_maxrss / 1024

    def world(mb: int) -> tuple[Path, float]:
        folder = write_tiny(tmp_path / f"w{mb}")
        header, *body = csv_text(tiny_rows("activities")).splitlines()
        with (folder / "activities.csv").open("w", encoding="utf-8") as f:
            f.write(header + "\n")
            k = 0
            while f.tell() < mb * 1_000_000:  # the tiny activities again and again, fresh ids
                f.write("".join(line.replace(",", f"-{k},", 1) + "\n" for line in body))
                k += 1
        return folder, (folder / "activities.csv").stat().st_size / 1e6

    (small, small_mb), (big, big_mb) = world(4), world(12)
    slope = (peak_mb(big) - peak_mb(small)) / (big_mb - small_mb)
    assert slope < 10, f"{slope:.1f} MB of peak memory per MB of CSV"


def test_running_out_of_memory_while_parsing_is_advice(tmp_path, monkeypatch):
    def exhausted(self, cols, k):
        raise MemoryError

    monkeypatch.setattr(table_mod._Columns, "add", exhausted)
    folder = write_tiny(tmp_path / "tiny")
    refused(folder, "activities.csv", "ran out of memory", "close other programs")


def test_a_file_changed_between_the_two_passes_is_a_contract_error(tmp_path):
    from analysis.errors import DataContractError
    from analysis.io import read_csv_grid

    folder = write_tiny(tmp_path / "tiny")
    sheet, enc = read_csv_grid(folder / "units.csv")
    assert enc == "UTF-8" and len(sheet.rows) == 1 + len(tiny_rows("units"))
    (folder / "units.csv").write_bytes(b"unit_id,unit_name\nU1,\xff\xfe\n")
    with pytest.raises(DataContractError, match="changed while it was read"):
        list(sheet.rows)
