"""Read a raw data folder into canonical, typed tables, finding every cell-level problem on the way.

``read_raw(raw_dir)`` accepts the two layouts of the contract (:mod:`analysis.contract`): one CSV
per table (UTF-8, UTF-8 with BOM, GB18030/GBK — detected from the bytes, never from the locale) or
one XLSX workbook with a sheet per table. It

* finds the header row (row 1, or the first row that looks like a header when title rows sit
  above it), maps canonical / Chinese / bilingual header spellings to canonical names, reports
  missing, duplicated and unknown (extra, kept) columns;
* numbers rows as the user sees them (header = row 1; Excel rows are sheet rows), skips blank rows,
  reports merged cells and ragged CSV rows;
* parses every cell by its column's type: identifiers stay text (leading zeros kept), dates in
  every documented spelling incl. Excel serial numbers, quarters, bilingual enumerations, whole
  numbers, real numbers, shares and yes/no flags, with range checks;
* never raises for a data problem: problems are collected in ``RawData.problems`` and
  :func:`analysis.contract.validate` raises them all at once.

Hand-written rather than ``pandas.read_csv``/``read_excel`` because those lose what the messages
need (the user's row numbers around blank and title rows, merged cells, the raw cell text) and
guess types (leading zeros, dates) before the contract can say what a column is. It also holds the
atomic file helpers used by :mod:`analysis.build`.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import io as _io
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .contract import (
    DATE_MAX,
    DATE_MIN,
    DATE_SPELLINGS,
    PERIOD_SPELLINGS,
    TABLES,
    Column,
    Table,
    days_in_month,
    levels_text,
)
from .errors import DataContractError, Problem

EMPTY_TOKENS = frozenset({"", "-", "--", "—", "——", "/", "无", "空", "na", "n/a", "nan", "none", "null", "nat"})
TEMPLATE_SHEETS = frozenset({"instructions", "说明", "lists", "选项", "填写说明"})
MAX_SERIAL = 2958465  # 9999-12-31


# --------------------------------------------------------------------------------------------
# data structures
# --------------------------------------------------------------------------------------------
@dataclass
class Source:
    """Where one table came from and how its header was read."""

    table: str
    file: str
    sheet: str | None = None
    encoding: str | None = None
    header_row: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # canonical -> the user's header text
    extra: list[str] = field(default_factory=list)
    n_rows: int = 0

    def where(self) -> str:
        return self.file + (f" sheet {self.sheet}" if self.sheet else "")

    def display_column(self, column: str) -> str:
        h = self.headers.get(column)
        if h is None:
            return column
        h = " ".join(str(h).split())
        if h == column or column in h.split():
            return h
        return f"{h} ({column})"


@dataclass
class RawData:
    """The tables of one raw folder, parsed, with every problem and note found while reading."""

    root: Path
    format: str
    tables: dict[str, pd.DataFrame]
    rows: dict[str, np.ndarray]
    sources: dict[str, Source]
    problems: list[Problem]
    notes: list[str]
    failed: set[str]
    files: list[Path]

    @property
    def root_name(self) -> str:
        return str(self.root)

    @property
    def dataset(self) -> str:
        return self.root.name


@dataclass
class _Sheet:
    """A grid of cells: ``rows`` is ``[(user_row_number, [cell, ...]), ...]`` (blank rows kept)."""

    rows: list[tuple[int, list[Any]]]
    merged: list[tuple[int, int, int, int, str]] = field(default_factory=list)  # r1, r2, c1, c2, coord


class _FileProblem(Exception):
    def __init__(self, expected: str, fix: str, value: object = None, row: int | None = None) -> None:
        super().__init__(expected)
        self.expected, self.fix, self.value, self.row = expected, fix, value, row


# --------------------------------------------------------------------------------------------
# text normalisation and header matching
# --------------------------------------------------------------------------------------------
def _norm(s: object) -> str:
    """NFKC (full-width → ASCII), trimmed, lower-case, inner whitespace collapsed."""
    t = unicodedata.normalize("NFKC", str(s)).strip().lower()
    return " ".join(t.split())


def _key(s: str) -> str:
    t = _norm(s).rstrip("*").strip()
    return re.sub(r"[\s\-]+", "_", t)


_SPLIT = re.compile(r"[\n/|,;()\s]+")
_SPLIT_COARSE = re.compile(r"[\n/|,;\s]+")


def _lookup(text: object, table: dict[str, str]) -> str | None:
    """Map a header or enumeration spelling through ``table`` (normalised key → canonical).

    Tries the whole text first, then its parts (``机构编号 institution_id``, ``养老 (elderly)``):
    all recognised parts must agree and no part may be unknown.
    """
    k = _key(str(text))
    if k in table:
        return table[k]
    squeezed = re.sub(r"(?<=[^\x00-\x7f])_|_(?=[^\x00-\x7f])", "", k)  # stray spaces in Chinese
    if squeezed in table:
        return table[squeezed]
    clean = unicodedata.normalize("NFKC", str(text)).strip().rstrip("*")
    for splitter in (_SPLIT_COARSE, _SPLIT):
        parts = [p for p in splitter.split(clean) if p]
        if len(parts) < 2:
            continue
        found = {table.get(_key(p)) for p in parts}
        if None not in found and len(found) == 1:
            return found.pop()
    return None


def header_table(spec: Table) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in spec.columns:
        for a in (c.name, c.zh, *c.aliases):
            out[_key(a)] = c.name
            out[_key(a.replace("(", "").replace(")", ""))] = c.name
    return out


def enum_table(col: Column) -> dict[str, str]:
    out: dict[str, str] = {}
    for lv in col.levels:
        for a in (lv.code, lv.label, *lv.synonyms):
            out[_key(a)] = lv.code
    return out


def enum_display(col: Column) -> list[str]:
    """The dropdown spellings (``养老 elderly``) the template offers; the reader accepts them."""
    return [f"{lv.label} {lv.code}" for lv in col.levels]


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


# --------------------------------------------------------------------------------------------
# cell parsers: value -> (parsed, None) or (None, (expected, fix))
# --------------------------------------------------------------------------------------------
Err = tuple[str, str]


def _is_empty(v: object) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    if isinstance(v, str):
        return _norm(v) in EMPTY_TOKENS
    return False


def _number_text(v: object) -> str | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        t = unicodedata.normalize("NFKC", v).strip().replace(",", "").replace(" ", "")
        t = t.removeprefix("¥").removesuffix("元")
        return t
    return None


def parse_int(v: object) -> tuple[Any, Err | None]:
    if isinstance(v, (float, np.floating)):
        if float(v).is_integer():
            return int(v), None
        return None, ("a whole number", "remove the decimals: counts are whole numbers")
    t = _number_text(v)
    if t is not None and re.fullmatch(r"[+-]?\d+(\.0*)?", t):
        return int(t.split(".")[0]), None
    if t is not None and re.fullmatch(r"[+-]?\d*\.\d+", t):
        return None, ("a whole number", "remove the decimals: counts are whole numbers")
    return None, ("a whole number", "write digits only, e.g. 12 (no words or units)")


def parse_float(v: object) -> tuple[Any, Err | None]:
    t = _number_text(v)
    if t is not None:
        try:
            x = float(t)
            if np.isfinite(x):
                return x, None
        except ValueError:
            pass
    return None, ("a number", "write digits only, e.g. 1200 or 1200.5 (no words or units)")


def parse_share(v: object) -> tuple[Any, Err | None]:
    if isinstance(v, str) and v.strip().endswith(("%", "％")):
        x, err = parse_float(v.strip()[:-1])
        return (None, ("a share such as 0.235 or 23.5%", "write the share as a number")) if err else (x / 100, None)
    x, err = parse_float(v)
    if err:
        return None, ("a share between 0 and 1, e.g. 0.235 (or 23.5%)", "write the share as a number")
    if 1 < x <= 100:
        return None, ("a share between 0 and 1", f"write shares as fractions: {x / 100:g} (or {x:g}%) rather than {x:g}")
    return x, None


def _date_from_parts(y: int, m: int, d: int, raw: str) -> tuple[Any, Err | None]:
    if not 1 <= m <= 12:
        fix = (f"month {m} does not exist; write the year first, then month, then day "
               "(YYYY-MM-DD); were day and month swapped?")
        return None, (f"a real calendar date ({DATE_SPELLINGS})", fix)
    n = days_in_month(y, m)
    if not 1 <= d <= n:
        month = dt.date(2000, m, 1).strftime("%B")
        return None, (f"a real calendar date ({DATE_SPELLINGS})",
                      f"correct the day; {month} {y} has {n} days")
    return pd.Timestamp(y, m, d), None


_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
)


def parse_date(v: object) -> tuple[Any, Err | None]:
    if isinstance(v, dt.datetime):
        return pd.Timestamp(v.year, v.month, v.day), None
    if isinstance(v, dt.date):
        return pd.Timestamp(v), None
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return _serial(float(v), str(v))
    s = unicodedata.normalize("NFKC", str(v)).strip().lower()
    for pat in _DATE_PATTERNS:
        m = pat.fullmatch(s)
        if m:
            return _date_from_parts(int(m[1]), int(m[2]), int(m[3]), s)
    m = re.fullmatch(r"((?:19|20)\d{2})(\d{2})(\d{2})", s)
    if m:
        return _date_from_parts(int(m[1]), int(m[2]), int(m[3]), s)
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return _serial(float(s), s)
    m = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})", s)
    if m:
        return None, (f"a date written year first ({DATE_SPELLINGS})",
                      f"write it as {m[3]}-MM-DD; {s!r} leaves open which number is the month")
    return None, (f"a date ({DATE_SPELLINGS})", "write the date as YYYY-MM-DD, e.g. 2021-03-05")


def _serial(x: float, raw: str) -> tuple[Any, Err | None]:
    if not 1 <= x <= MAX_SERIAL:
        return None, (f"a date ({DATE_SPELLINGS})",
                      "the number is not an Excel date; write the date as YYYY-MM-DD")
    # Excel's 1900 system counts a fictitious 1900-02-29 (serial 60): before it, day 1 = 1900-01-01
    epoch = dt.date(1899, 12, 30) if x >= 61 else dt.date(1899, 12, 31)
    return pd.Timestamp(epoch + dt.timedelta(days=int(x))), None


_ZH_Q = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def parse_period(v: object) -> tuple[Any, Err | None]:
    s = unicodedata.normalize("NFKC", str(v)).strip().upper().replace(" ", "")
    m = re.fullmatch(r"(\d{4})-?Q(\d)", s) or re.fullmatch(r"(\d{4})年第?([一二三四\d])季度?", s)
    if m:
        q = _ZH_Q.get(m[2])
        if q is None:
            return None, (f"a quarter ({PERIOD_SPELLINGS})", f"quarter {m[2]} does not exist; use 1–4")
        return f"{m[1]}Q{q}", None
    return None, (f"a quarter ({PERIOD_SPELLINGS})", "write the quarter like 2021Q1")


def parse_bool(v: object) -> tuple[Any, Err | None]:
    if isinstance(v, bool):
        return v, None
    k = _norm(v)
    if k in {"1", "1.0", "true", "yes", "y", "是", "√", "✓", "t"}:
        return True, None
    if k in {"0", "0.0", "false", "no", "n", "否", "f"}:
        return False, None
    return None, ("yes or no (是/否, true/false, 1/0)", "write 是 or 否 (or leave it empty for no)")


def parse_id(v: object) -> tuple[Any, Err | None]:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v)), None
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v)), None
    return unicodedata.normalize("NFKC", str(v)).strip(), None


def parse_code6(v: object) -> tuple[Any, Err | None]:
    s, _ = parse_id(v)
    s = re.sub(r"^(\d{6})\.0+$", r"\1", s)
    if re.fullmatch(r"\d{6}", s):
        return s, None
    return None, ("a 6-digit administrative code (GB/T 2260), e.g. 511102",
                  "write the county's 6-digit code as text (the code of 市中区 is 511102)")


def parse_text(v: object) -> tuple[Any, Err | None]:
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d"), None
    if isinstance(v, float) and v.is_integer():
        return str(int(v)), None
    return " ".join(unicodedata.normalize("NFKC", str(v)).split()), None


def _enum_parser(col: Column) -> Callable[[object], tuple[Any, Err | None]]:
    tbl = enum_table(col)
    choices = sorted(tbl)
    expected = f"one of {levels_text(col)}"

    def parse(v: object) -> tuple[Any, Err | None]:
        code = _lookup(v, tbl)
        if code is not None:
            return code, None
        close = difflib.get_close_matches(_key(str(v)), choices, n=1, cutoff=0.6)
        fix = (f"did you mean {tbl[close[0]]!r} ({close[0]})? " if close else "") + \
            "use one of the listed codes or Chinese labels (the template has a dropdown)"
        return None, (expected, fix)

    return parse


def _range_check(col: Column, x: Any) -> Err | None:
    if col.kind == "date":
        if x < DATE_MIN or x > DATE_MAX:
            return (f"a date between {DATE_MIN:%Y-%m-%d} and {DATE_MAX:%Y-%m-%d}",
                    f"{x.date().isoformat()} is implausible: check the year, or whether the cell holds a number "
                    "that Excel read as a date")
        return None
    lo, hi = col.min, col.max
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        if col.kind == "share":
            return None if 0 <= x <= 1 else ("a share between 0 and 1", "correct the share")
        if lo is not None and hi is not None:
            exp = f"a value between {lo:g} and {hi:g}"
            if col.name.endswith("_score"):
                return exp, "scores are on a 0–100 scale; correct the score"
            return exp, "correct the value"
        if lo == 0 and x < 0:
            noun = "amounts of money" if col.name == "value_rmb" else ("distances" if "distance" in col.name else "counts")
            return "a value ≥ 0", f"{noun} cannot be negative; correct the sign or the value"
        return (f"a value ≥ {lo:g}" if lo is not None else f"a value ≤ {hi:g}"), "correct the value"
    return None


def cell_parser(col: Column) -> Callable[[object], tuple[Any, Err | None]]:
    """The parser of one column: ``value -> (parsed, None)`` or ``(None, (expected, fix))``."""
    base = {
        "id": parse_id, "code6": parse_code6, "text": parse_text, "int": parse_int,
        "float": parse_float, "share": parse_share, "date": parse_date, "period": parse_period,
        "bool": parse_bool,
    }.get(col.kind) or _enum_parser(col)

    def parse(v: object) -> tuple[Any, Err | None]:
        x, err = base(v)
        if err is None and col.kind in ("int", "float", "share", "date"):
            err = _range_check(col, x)
            if err is not None:
                x = None
        return x, err

    return parse


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Text and encoding name, detected from the bytes (never from the locale)."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise _FileProblem("a header row and data rows", "the file is empty; export the table again")
    if data.startswith(b"PK\x03\x04"):
        raise _FileProblem("a CSV text file", "this is an Excel workbook renamed to .csv; save it as "
                           "CSV (UTF-8) or put the workbook (.xlsx) into the folder instead of the CSV files")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "UTF-8 with BOM"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    if b"\x00" in data[:4096]:
        raise _FileProblem("text in UTF-8 or GB18030/GBK", "the file is binary or UTF-16 without a "
                           "byte-order mark; save it from Excel/WPS as CSV UTF-8 (逗号分隔)")
    try:
        return data.decode("utf-8", errors="strict"), "UTF-8"
    except UnicodeDecodeError as err:
        utf8_err = err
    try:
        return data.decode("gb18030", errors="strict"), "GB18030/GBK"
    except UnicodeDecodeError as err:
        # the encoding that reads further is the one the file was meant to be in
        worst, name = max((utf8_err, "UTF-8"), (err, "GB18030/GBK"), key=lambda e: e[0].start)
        line = data[:worst.start].count(b"\n") + 1
        raise _FileProblem("text in UTF-8 or GB18030/GBK",
                           f"the file reads as {name} up to row {line}, whose bytes cannot be read in "
                           "either encoding (a damaged file, or Big5/Latin-1?); correct that row or "
                           "save the file from Excel/WPS as CSV UTF-8 (逗号分隔)", row=line) from None


def read_csv_grid(path: Path) -> tuple[_Sheet, str]:
    text, enc = decode_bytes(path.read_bytes())
    first = text.split("\n", 1)[0]
    delim = max((",", "\t", ";"), key=first.count)
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=delim)
    rows = [(i, list(r)) for i, r in enumerate(reader, start=1)]
    return _Sheet(rows=rows), enc


def read_xlsx_grids(path: Path) -> dict[str, _Sheet]:
    import warnings

    import openpyxl
    from openpyxl.utils.cell import range_boundaries

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # read-only mode is several times faster; merged ranges are then read from the XML
            wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
            archive = zipfile.ZipFile(path)
        except Exception as err:  # noqa: BLE001 - any failure means "not a readable workbook"
            raise _FileProblem("an Excel workbook (.xlsx)",
                               f"the file cannot be opened ({type(err).__name__}); open it in Excel/WPS "
                               "and save it again as .xlsx") from None
    out = {}
    try:
        for ws in wb.worksheets:
            rows = [(i, list(r)) for i, r in
                    enumerate(ws.iter_rows(min_row=1, min_col=1, values_only=True), start=1)]
            merged = []
            xml_path = getattr(ws, "_worksheet_path", None)
            if xml_path is None:  # pragma: no cover - openpyxl internals changed: slow route
                full = openpyxl.load_workbook(path, data_only=True)[ws.title]
                refs = [m.coord for m in full.merged_cells.ranges]
            else:
                xml = archive.read(xml_path.lstrip("/"))
                refs = [m.decode() for m in re.findall(rb'<(?:\w+:)?mergeCell ref="([A-Z0-9:$]+)"', xml)]
            for ref in refs:
                c1, r1, c2, r2 = range_boundaries(ref)
                merged.append((r1, r2, c1 - 1, c2 - 1, ref))
            out[ws.title] = _Sheet(rows=rows, merged=merged)
    finally:
        wb.close()
        archive.close()
    return out


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling and ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# --------------------------------------------------------------------------------------------
# one table
# --------------------------------------------------------------------------------------------
def _blank(cells: Iterable[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _empty_frame(spec: Table) -> pd.DataFrame:
    return _typed(spec, {c.name: [] for c in spec.columns}, [], {})


def _typed(spec: Table, values: dict[str, list], extra_names: list[str], extra: dict[str, list]) -> pd.DataFrame:
    n = len(next(iter(values.values()))) if values else 0
    cols: dict[str, Any] = {}
    for c in spec.columns:
        v = values.get(c.name, [None] * n)
        if c.kind == "int":
            cols[c.name] = pd.array(v, dtype="Int64")
        elif c.kind in ("float", "share"):
            cols[c.name] = np.array([np.nan if x is None else x for x in v], dtype="float64")
        elif c.kind == "date":
            cols[c.name] = pd.Series(pd.to_datetime(pd.Series(v, dtype=object)), dtype="datetime64[ns]").to_numpy()
        elif c.kind == "bool":
            cols[c.name] = np.array([bool(x) if x is not None else False for x in v], dtype=bool)
        else:
            cols[c.name] = pd.Series(v, dtype=object).to_numpy()
    for name in extra_names:
        cols[name] = pd.Series(extra[name], dtype=object).to_numpy()
    return pd.DataFrame(cols, index=pd.RangeIndex(n))


def parse_grid(spec: Table, grid: _Sheet, src: Source) -> tuple[pd.DataFrame, np.ndarray, list[Problem], list[str]]:
    """Header detection, column mapping and cell parsing of one table."""
    problems: list[Problem] = []
    notes: list[str] = []
    htab = header_table(spec)

    def prob(row: int | None, column: str | None, value: object, expected: str, fix: str) -> Problem:
        return Problem(file=src.file, sheet=src.sheet, row=row, column=column, value=value,
                       expected=expected, fix=fix)

    nonblank = [(r, cells) for r, cells in grid.rows if not _blank(cells)]
    if not nonblank:
        problems.append(prob(None, None, None, "a header row and data rows",
                             "the file or sheet is empty; export the table again with its header"))
        return _empty_frame(spec), np.array([], dtype=int), problems, notes

    # header row: the first row, unless a later one of the first 10 matches more column names
    best, best_n = 0, -1
    for i, (_, cells) in enumerate(nonblank[:10]):
        n = sum(_lookup(c, htab) is not None for c in cells if c is not None and str(c).strip())
        if n > best_n:
            best, best_n = i, n
    if best_n <= 0:
        best = 0
    header_row, header = nonblank[best]
    src.header_row = header_row
    if best > 0 or header_row > 1:
        notes.append(f"{src.where()}: rows 1–{header_row - 1} above the header (row {header_row}) were skipped.")

    # map columns
    data_rows = [(r, cells) for r, cells in nonblank[best + 1:]]
    mapping: dict[int, str] = {}
    extra: dict[int, str] = {}
    for j, h in enumerate(header):
        if h is None or not str(h).strip():
            if any(j < len(c) and not _blank([c[j]]) for _, c in data_rows):
                extra[j] = f"column {_col_letter(j)}"
                notes.append(f"{src.where()}: column {_col_letter(j)} has values but no header; kept as "
                             f"'column {_col_letter(j)}'.")
            continue
        canon = _lookup(h, htab)
        if canon is None:
            name = " ".join(str(h).split())
            if name in extra.values():  # two extra columns with one header: keep both
                name = f"{name} ({_col_letter(j)})"
            extra[j] = name
            continue
        if canon in mapping.values():
            first = next(k for k, v in mapping.items() if v == canon)
            problems.append(prob(
                header_row, f"{_col_letter(j)} {' '.join(str(h).split())}", h,
                f"each column once; column {_col_letter(first)} ({' '.join(str(header[first]).split())}) "
                f"already holds {canon}",
                "delete one of the two columns or rename it"))
            continue
        mapping[j] = canon
        src.headers[canon] = str(h)
    present = set(mapping.values())
    unknown = [extra[j] for j in extra if not extra[j].startswith("column ")]
    for c in spec.columns:
        if c.name in present or not c.required:
            continue
        names = [c.name, c.zh, *c.aliases]
        close = difflib.get_close_matches(c.zh, unknown, n=1, cutoff=0.5) or \
            difflib.get_close_matches(c.name, unknown, n=1, cutoff=0.6)
        fix = (f"rename the header {close[0]!r} to {c.name!r} or {c.zh!r}" if close
               else f"add a column headed {c.name!r} or {c.zh!r} ({c.description})")
        problems.append(prob(header_row, c.name, None,
                             f"a column {c.name} ({' / '.join(names[1:])})", fix))
    if unknown:
        notes.append(f"{src.where()}: extra column(s) kept but not checked: {', '.join(unknown)}.")
    src.extra = list(extra.values())

    # merged cells inside the data rows: one problem per merged range
    merged_rows: set[int] = set()  # whole rows merged into one cell (title or subtotal lines)
    merged_cells: set[tuple[int, int]] = set()  # (row, column) covered by a merge, not its anchor
    ncols = len(header)
    first_data = data_rows[0][0] if data_rows else None
    for r1, r2, c1, c2, coord in grid.merged:
        if first_data is None or r2 < first_data:
            continue  # merges in the title or header rows are fine
        if r1 == r2 and (c2 - c1 + 1) >= max(2, ncols // 2):
            merged_rows.add(r1)
            problems.append(prob(r1, None, None, "a data row with one value per column",
                                 f"cells {coord} are merged into one (a title or subtotal row?); delete "
                                 "the row or unmerge the cells and fill every column"))
            continue
        col = mapping.get(c1) or extra.get(c1) or _col_letter(c1)
        first_hole = r1 + 1 if r2 > r1 else r1  # the first row that lost its value to the merge
        problems.append(prob(max(first_hole, first_data), src.display_column(col), None,
                             "a value in every cell (no merged cells in data rows)",
                             f"cells {coord} are merged; unmerge them and repeat the value in every row"))
        merged_cells.update((r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                            if (r, c) != (r1, c1))

    # parse cells
    parsers = {j: cell_parser(spec.column(canon)) for j, canon in mapping.items()}
    caches: dict[int, dict] = {j: {} for j in mapping}
    values: dict[str, list] = {c: [] for c in mapping.values()}
    extras: dict[str, list] = {name: [] for name in extra.values()}
    rownums: list[int] = []
    for r, cells in data_rows:
        if r in merged_rows:
            continue
        rownums.append(r)
        if len(cells) > ncols and not _blank(cells[ncols:]):
            k = next(i for i in range(ncols, len(cells)) if not _blank([cells[i]]))
            problems.append(prob(r, _col_letter(k), cells[k], f"{ncols} values, like the header",
                                 "a value contains the delimiter (comma): put that value in double quotes, "
                                 "or delete the values beyond the last header column"))
        for j, canon in mapping.items():
            v = cells[j] if j < len(cells) else None
            col = spec.column(canon)
            if _is_empty(v):
                values[canon].append(None)
                if (r, j) in merged_cells:
                    continue  # reported once per merged range
                if not col.nullable and col.required:
                    problems.append(prob(r, src.display_column(canon), None,
                                         f"a value ({col.type_text()})",
                                         f"fill in {canon} ({col.zh}); it may not be empty"))
                continue
            try:
                ck = (type(v), v)
                hit = caches[j].get(ck)
            except TypeError:
                ck, hit = None, None
            if hit is None:
                try:
                    hit = parsers[j](v)
                except Exception:  # noqa: BLE001 - a cell must never crash the reader
                    hit = (None, (f"a value of type {col.type_text()}",
                                  "the value could not be read; retype it"))
                if ck is not None:
                    caches[j][ck] = hit
            x, err = hit
            values[canon].append(x)
            if err is not None:
                shown = v.strftime("%Y-%m-%d") if isinstance(v, dt.datetime) else v
                problems.append(prob(r, src.display_column(canon), shown, err[0], err[1]))
        for j, name in extra.items():
            v = cells[j] if j < len(cells) else None
            extras[name].append(None if _is_empty(v) else str(v))
    src.n_rows = len(rownums)
    df = _typed(spec, values, list(extra.values()), extras)
    return df, np.asarray(rownums, dtype=int), problems, notes


# --------------------------------------------------------------------------------------------
# the folder
# --------------------------------------------------------------------------------------------
def _table_for_name(name: str) -> str | None:
    k = _key(name)
    for t in TABLES.values():
        if k in {_key(a) for a in (t.name, t.zh, *t.sheet_aliases)}:
            return t.name
    tbl = {_key(a): t.name for t in TABLES.values() for a in (t.name, t.zh, *t.sheet_aliases)}
    return _lookup(name, tbl)


def table_files(raw_dir: Path) -> list[Path]:
    """Every regular, non-hidden file of the raw folder (what the input hash covers)."""
    return sorted(p for p in Path(raw_dir).iterdir()
                  if p.is_file() and not p.name.startswith((".", "~$")))


def read_raw(raw_dir: Path | str) -> RawData:
    """Read and parse a raw folder. Never raises for problems in the data (see module docstring),
    only when the folder itself does not exist."""
    raw_dir = Path(raw_dir)
    if raw_dir.is_file():
        raise DataContractError([Problem(
            file=str(raw_dir), row=None, column=None, value=None,
            expected="a folder of raw tables, not a single file",
            fix=f"put the file into a folder of its own and pass the folder, e.g. "
                f"`pairing-eval validate {raw_dir.parent}`")],
            header=f"{raw_dir} is a file")
    if not raw_dir.is_dir():
        raise DataContractError([Problem(
            file=str(raw_dir), row=None, column=None, value=None,
            expected="a folder of raw tables (one CSV per table or one .xlsx workbook)",
            fix="check the path, e.g. `pairing-eval validate data/raw/demo`")],
            header=f"No raw data folder at {raw_dir}")
    files = table_files(raw_dir)
    csvs = [p for p in files if p.suffix.lower() in (".csv", ".txt")]
    books = [p for p in files if p.suffix.lower() in (".xlsx", ".xlsm")]
    olds = [p for p in files if p.suffix.lower() == ".xls"]
    raw = RawData(root=raw_dir, format="csv", tables={}, rows={}, sources={}, problems=[], notes=[],
                  failed=set(), files=files)

    def folder_problem(file: str, expected: str, fix: str) -> None:
        raw.problems.append(Problem(file=file, row=None, column=None, value=None, expected=expected, fix=fix))

    for p in olds:
        folder_problem(p.name, "an .xlsx workbook or CSV files",
                       "old .xls files are not read; open it in Excel/WPS and save as .xlsx")
    grids: dict[str, tuple[_Sheet, Source]] = {}
    unmatched: list[str] = []  # files or sheets that are not a table: maybe misnamed ones
    if books and csvs:
        folder_problem(raw_dir.name, "either CSV files or one workbook, not both",
                       f"move {', '.join(p.name for p in books)} or the CSV files out of the folder")
    elif len(books) > 1:
        folder_problem(raw_dir.name, "one workbook with a sheet per table",
                       f"found {', '.join(p.name for p in books)}; keep one workbook in the folder")
    elif books:
        raw.format = "xlsx"
        book = books[0]
        try:
            sheets = read_xlsx_grids(book)
        except _FileProblem as fp:
            folder_problem(book.name, fp.expected, fp.fix)
            sheets = {}
        for title, sheet in sheets.items():
            t = _table_for_name(title)
            if t is None:
                if _key(title) not in TEMPLATE_SHEETS and not _blank(c for _, cells in sheet.rows for c in cells):
                    raw.notes.append(f"{book.name}: sheet {title!r} is not one of the tables; ignored.")
                    unmatched.append(title)
                continue
            if t in grids:
                folder_problem(book.name, f"one sheet for table {t}",
                               f"sheets {grids[t][1].sheet!r} and {title!r} both look like {t}; keep one")
                continue
            grids[t] = (sheet, Source(table=t, file=book.name, sheet=title))
    else:
        for p in csvs:
            t = _table_for_name(p.stem)
            if t is None:
                raw.notes.append(f"{p.name} is not one of the tables ({', '.join(TABLES)}); ignored.")
                unmatched.append(p.name)
                continue
            if t in grids:
                folder_problem(p.name, f"one file for table {t}",
                               f"{grids[t][1].file} and {p.name} both look like {t}; keep one")
                continue
            try:
                sheet, enc = read_csv_grid(p)
            except _FileProblem as fp:
                raw.problems.append(Problem(file=p.name, row=fp.row, column=None, value=fp.value,
                                            expected=fp.expected, fix=fp.fix))
                raw.failed.add(t)
                continue
            grids[t] = (sheet, Source(table=t, file=p.name, encoding=enc))

    for name, spec in TABLES.items():
        if name not in grids:
            if name not in raw.failed:
                where = "a sheet of the workbook" if raw.format == "xlsx" else "a file"
                fix = f"add the {name} table (see `pairing-eval template` for its columns)"
                if raw.format == "xlsx" and unmatched:
                    fix += f", or rename the sheet that holds it ({', '.join(map(repr, unmatched))})"
                elif raw.format == "csv" and unmatched:
                    fix += f", or rename the file that holds it ({', '.join(map(repr, unmatched))})"
                folder_problem(spec.file_name if raw.format == "csv" else (books[0].name if books else raw_dir.name),
                               f"{where} named {name} (or {spec.zh}) for table {name}", fix)
            raw.failed.add(name)
            raw.tables[name] = _empty_frame(spec)
            raw.rows[name] = np.array([], dtype=int)
            raw.sources[name] = Source(table=name, file=spec.file_name)
            continue
        sheet, src = grids[name]
        df, rows, probs, notes = parse_grid(spec, sheet, src)
        if any(p.row is None or (src.header_row is not None and p.row == src.header_row and p.value is None
                                 and p.column in spec.names and spec.column(p.column).required) for p in probs):
            # empty file or a required column missing: rules on this table would only repeat it
            raw.failed.add(name)
        raw.tables[name] = df
        raw.rows[name] = rows
        raw.sources[name] = src
        raw.problems += probs
        raw.notes += notes
    return raw
