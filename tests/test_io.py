"""Readers: encodings detected from bytes, XLSX workbooks, date/period/enumeration spellings,
identifiers as text, header spellings, blank and title rows, extra and optional columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from test_contract import TINY, csv_text, tiny_rows, write_tiny

from analysis import io as aio
from analysis.contract import TABLES, validate
from analysis.io import parse_date, parse_period, read_raw


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    raw = read_raw(folder)
    validate(raw)
    return raw.tables


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, pd.DataFrame]:
    return _tables(write_tiny(tmp_path_factory.mktemp("ref") / "tiny"))


# --------------------------------------------------------------------------------------------
# encodings
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding, detected", [
    ("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 with BOM"), ("gb18030", "GB18030/GBK"),
    ("gbk", "GB18030/GBK"), ("utf-16", "UTF-16"),
])
def test_encodings_give_identical_tables(tmp_path, reference, encoding, detected):
    folder = write_tiny(tmp_path / "x", encoding=encoding)
    raw = read_raw(folder)
    validate(raw)
    # files holding Chinese text; pure-ASCII files are (correctly) UTF-8 whatever wrote them
    assert {raw.sources[t].encoding for t in ("counties", "institutions", "units")} == {detected}
    for t, df in raw.tables.items():
        pd.testing.assert_frame_equal(df, reference[t])
    assert raw.tables["institutions"]["institution_name"].iloc[0] == "合成养老院甲"


def test_encoding_is_not_taken_from_the_locale(tmp_path, reference, monkeypatch):
    monkeypatch.setenv("LANG", "C")
    monkeypatch.setenv("LC_ALL", "C")
    monkeypatch.setattr("locale.getpreferredencoding", lambda *a, **k: "ascii")
    folder = write_tiny(tmp_path / "x", encoding="gb18030")
    assert _tables(folder)["counties"]["county_name"].tolist() == ["市中区", "犍为县"]


def test_decode_bytes_rules():
    assert aio.decode_bytes(b"a,b\n")[1] == "UTF-8"
    assert aio.decode_bytes(b"\xef\xbb\xbfa,b\n") == ("a,b\n", "UTF-8 with BOM")
    assert aio.decode_bytes("县,区\n".encode("gbk")) == ("县,区\n", "GB18030/GBK")
    with pytest.raises(aio.FileProblem):
        aio.decode_bytes(b"")


# --------------------------------------------------------------------------------------------
# xlsx
# --------------------------------------------------------------------------------------------
def _workbook(path: Path, *, sheet_names=None, transform=None) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for t in TINY:
        ws = wb.create_sheet((sheet_names or {}).get(t, t))
        rows = tiny_rows(t)
        ws.append(list(rows[0]))
        for r in rows:
            ws.append([transform(t, k, v) if transform else (v or None) for k, v in r.items()])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def test_xlsx_workbook_reads_like_csv(tmp_path, reference):
    _workbook(tmp_path / "wb" / "ledger.xlsx")
    raw = read_raw(tmp_path / "wb")
    validate(raw)
    assert raw.format == "xlsx"
    assert raw.sources["activities"].sheet == "activities"
    for t, df in raw.tables.items():
        pd.testing.assert_frame_equal(df, reference[t])


def test_xlsx_native_types_dates_and_numbers(tmp_path, reference):
    """Date cells, Excel serial numbers, numeric ids and numeric counts all read as the contract says."""
    def native(t, k, v):
        col = TABLES[t].column(k)
        if v == "":
            return None
        if col.kind == "date":
            d = dt.datetime.fromisoformat(v)
            # alternate: real date cells and bare serial numbers (openpyxl's own conversion)
            from openpyxl.utils.datetime import to_excel
            return d if d.day % 2 else to_excel(d)
        if col.kind in ("int",):
            return int(v)
        if col.kind in ("float", "share"):
            return float(v)
        if k == "county_code":
            return int(v)  # typed as a number in Excel: still read as the 6-digit text
        return v

    _workbook(tmp_path / "wb" / "ledger.xlsx", transform=native)
    tables = _tables(tmp_path / "wb")
    for t, df in tables.items():
        pd.testing.assert_frame_equal(df, reference[t])


def test_chinese_sheet_names_are_accepted(tmp_path, reference):
    names = {t.name: t.zh for t in TABLES.values()}
    _workbook(tmp_path / "wb" / "台账.xlsx", sheet_names=names)
    tables = _tables(tmp_path / "wb")
    pd.testing.assert_frame_equal(tables["pairings"], reference["pairings"])


# --------------------------------------------------------------------------------------------
# spellings
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [
    "2021-03-05", "2021/3/5", "2021年3月5日", "2021年03月05日", "2021.3.5", "20210305", "44260",
    44260, 44260.0, "2021-03-05 00:00:00", "２０２１－０３－０５", dt.datetime(2021, 3, 5, 14, 30),
    dt.date(2021, 3, 5),
])
def test_date_spellings(value):
    assert parse_date(value) == (pd.Timestamp("2021-03-05"), None)


def test_excel_serial_matches_openpyxl():
    from openpyxl.utils.datetime import from_excel

    for serial in (1, 5, 12, 59, 61, 365, 36526, 44260, 45657, 54000):
        assert parse_date(serial)[0] == pd.Timestamp(from_excel(serial))


@settings(max_examples=150, deadline=None)
@given(st.dates(min_value=dt.date(1980, 1, 1), max_value=dt.date(2099, 12, 31)),
       st.sampled_from(["{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}年{m}月{d}日", "{y}.{m}.{d}"]))
def test_date_spellings_property(day, fmt):
    text = fmt.format(y=day.year, m=day.month, d=day.day)
    assert parse_date(text) == (pd.Timestamp(day), None)


@pytest.mark.parametrize("value, fix", [
    ("2023-02-30", "February 2023 has 28 days"),
    ("2024-02-30", "February 2024 has 29 days"),
    ("2021-04-31", "April 2021 has 30 days"),
    ("2021-13-01", "month 13 does not exist"),
    ("05/03/2021", "write it as 2021-MM-DD"),
    ("next week", "YYYY-MM-DD"),
])
def test_impossible_dates_get_advice(value, fix):
    parsed, err = parse_date(value)
    assert parsed is None and fix in err[1]


@pytest.mark.parametrize("value", ["2021Q1", "2021-Q1", "2021q1", "2021 Q1", "2021年第1季度",
                                   "2021年1季度", "2021年第一季度", "２０２１Ｑ１"])
def test_period_spellings(value):
    assert parse_period(value) == ("2021Q1", None)


@pytest.mark.parametrize("value", ["2021Q5", "2021", "Q1 2021", "2021年第五季度"])
def test_bad_periods(value):
    assert parse_period(value)[1] is not None


def test_enumeration_spellings(tmp_path, reference):
    rows = tiny_rows("institutions")
    rows[0].update(kind="养老", operator="公办", area="农村")
    rows[1].update(kind="养老 elderly", operator="Private", area="城市 (urban)")
    rows[2].update(kind="儿童福利院", operator="公办 public", area="urban")
    rows[3].update(kind="养 老", operator=" 公　办 ", area="Rural")  # stray (full-width) spaces
    d = write_tiny(tmp_path / "x")
    (d / "institutions.csv").write_text(csv_text(rows), encoding="utf-8")
    pd.testing.assert_frame_equal(_tables(d)["institutions"], reference["institutions"])


def test_identifiers_stay_text_with_leading_zeros(reference):
    assert reference["institutions"]["institution_id"].iloc[3] == "007"
    assert reference["activities"]["institution_id"].iloc[3] == "007"
    assert reference["counties"]["county_code"].map(type).eq(str).all()


# --------------------------------------------------------------------------------------------
# headers and rows
# --------------------------------------------------------------------------------------------
def test_chinese_bilingual_and_mixed_headers(tmp_path, reference):
    d = write_tiny(tmp_path / "x")
    spec = TABLES["activities"]
    header = [c.zh if i % 2 else c.name for i, c in enumerate(spec.columns)]  # mixed
    header[-1] = "折合金额（元）"  # full-width brackets
    (d / "activities.csv").write_text(csv_text(tiny_rows("activities"), header), encoding="utf-8")
    header = [f"{c.zh}\n{c.name}" for c in TABLES["units"].columns]  # the template's bilingual cells
    (d / "units.csv").write_text(csv_text(tiny_rows("units"), header), encoding="utf-8")
    header = [c.zh for c in TABLES["counties"].columns]
    (d / "counties.csv").write_bytes(csv_text(tiny_rows("counties"), header).encode("gb18030"))
    tables = _tables(d)
    for t in ("activities", "units", "counties"):
        pd.testing.assert_frame_equal(tables[t], reference[t])


def test_blank_trailing_rows_and_blank_middle_rows(tmp_path, reference):
    d = write_tiny(tmp_path / "x")
    text = csv_text(tiny_rows("activities")).splitlines()
    text.insert(2, ",,,,,,,")
    (d / "activities.csv").write_text("\n".join(text) + "\n,,,,,,,\n\n\n", encoding="utf-8")
    raw = read_raw(d)
    validate(raw)
    pd.testing.assert_frame_equal(raw.tables["activities"], reference["activities"])
    assert raw.rows["activities"].tolist() == [2, 4, 5, 6]


def test_title_rows_above_the_header_are_skipped_and_rows_keep_their_numbers(tmp_path, reference):
    d = write_tiny(tmp_path / "x")
    (d / "units.csv").write_text("乐山市帮扶单位台账,,,,,\n\n" + csv_text(tiny_rows("units")),
                                 encoding="utf-8")
    raw = read_raw(d)
    notes = validate(raw)
    assert raw.rows["units"].tolist() == [4, 5]
    assert any("units.csv: rows 1–2 above the header (row 3)" in n for n in notes)
    pd.testing.assert_frame_equal(raw.tables["units"], reference["units"])


def test_extra_columns_are_kept_and_reported(tmp_path):
    d = write_tiny(tmp_path / "x")
    rows = tiny_rows("units")
    for r in rows:
        r["备注"] = "联系人 张三"
    (d / "units.csv").write_text(csv_text(rows), encoding="utf-8")
    raw = read_raw(d)
    notes = validate(raw)
    assert raw.tables["units"]["备注"].tolist() == ["联系人 张三"] * 2
    assert any("extra column(s) kept but not checked: 备注" in n for n in notes)


def test_missing_optional_columns_are_added_as_missing(tmp_path):
    d = write_tiny(tmp_path / "x")
    rows = [{k: v for k, v in r.items() if k not in ("township", "distance_km", "opened_year")}
            for r in tiny_rows("institutions")]
    (d / "institutions.csv").write_text(csv_text(rows), encoding="utf-8")
    rows = [{k: v for k, v in r.items() if k != "over_capacity_flag"} for r in tiny_rows("assessments")]
    (d / "assessments.csv").write_text(csv_text(rows), encoding="utf-8")
    tables = _tables(d)
    inst = tables["institutions"]
    assert inst["township"].isna().all() and inst["distance_km"].isna().all()
    assert inst["opened_year"].dtype == "Int64" and inst["opened_year"].isna().all()
    assert list(inst.columns) == list(TABLES["institutions"].names)
    assert not tables["assessments"]["over_capacity_flag"].any()


def test_numbers_with_separators_and_percent_shares(tmp_path, reference):
    d = write_tiny(tmp_path / "x", edit={("counties", 0, "population"): "600,000",
                                         ("counties", 0, "elderly_share"): "21%",
                                         ("activities", 1, "value_rmb"): "5,000.00"})
    tables = _tables(d)
    pd.testing.assert_frame_equal(tables["counties"], reference["counties"])
    pd.testing.assert_frame_equal(tables["activities"], reference["activities"])


def test_input_is_never_modified(tmp_path):
    d = write_tiny(tmp_path / "x", encoding="gb18030")
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    read_raw(d)
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


def test_xlsx_merged_title_above_the_header_is_fine(tmp_path, reference):
    def title(t, k, v):
        return v or None

    path = _workbook(tmp_path / "wb" / "ledger.xlsx", transform=title)
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb["units"]
    ws.insert_rows(1, 2)
    ws["A1"] = "乐山市“一老一小”帮扶单位台账（2021年）"
    ws.merge_cells("A1:F1")
    wb.save(path)
    raw = read_raw(tmp_path / "wb")
    notes = validate(raw)
    assert raw.rows["units"].tolist() == [4, 5]
    assert any("rows 1–2 above the header (row 3)" in n for n in notes)
    pd.testing.assert_frame_equal(raw.tables["units"], reference["units"])


def test_two_extra_columns_with_the_same_header_are_both_kept(tmp_path):
    d = write_tiny(tmp_path / "x")
    rows = [dict(r, n1="甲", n2="乙") for r in tiny_rows("units")]
    header = [*TINY["units"][0], "备注", "备注"]
    (d / "units.csv").write_text(csv_text(rows, header), encoding="utf-8")
    units = _tables(d)["units"]
    assert units["备注"].tolist() == ["甲", "甲"] and units["备注 (H)"].tolist() == ["乙", "乙"]


def test_row_order_does_not_matter(tmp_path, reference):
    d = write_tiny(tmp_path / "x")
    for t in ("activities", "assessments"):
        rows = tiny_rows(t)[::-1]
        (d / f"{t}.csv").write_text(csv_text(rows), encoding="utf-8")
    tables = _tables(d)
    for t in ("activities", "assessments"):
        key = list(TABLES[t].key)
        got = tables[t].sort_values(key).reset_index(drop=True)
        want = reference[t].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)
