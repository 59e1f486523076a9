"""Read a raw data folder into canonical, typed tables, finding every cell-level problem on the way.

``read_raw(raw_dir)`` accepts the two layouts of the contract (:mod:`analysis.contract`) and

* finds the header row (row 1, or the first row that looks like a header when title rows sit
  above it), maps canonical / Chinese / bilingual header spellings to canonical names, reports
  missing, duplicated and unknown (extra, kept) columns;
* numbers rows as the user sees them (header = row 1; Excel rows are sheet rows), skips blank rows,
  reports merged cells and ragged CSV rows;
* parses every cell by its column's kind: identifiers stay text (leading zeros kept), dates in
  every documented spelling incl. Excel serial numbers, quarters, bilingual enumerations, whole
  numbers, real numbers, shares and yes/no flags, with range checks;
* never raises for a data problem: problems are collected in ``RawData.problems`` and
  :func:`analysis.contract.validate` raises them all at once;
* measures every file before reading it and refuses files above the limits of
  :mod:`~analysis.io.limits` (zip bombs included); CSV files are streamed, never held whole.

Modules: :mod:`~analysis.io.cells` (cell parsers), :mod:`~analysis.io.text` (spelling
normalisation), :mod:`~analysis.io.limits` (size limits), :mod:`~analysis.io.csvfiles` (CSV
decoding, streamed rows), :mod:`~analysis.io.xlsx` (workbooks measured, merged cells),
:mod:`~analysis.io.grid` (the grid both produce), :mod:`~analysis.io.table` (one grid → one typed
table, in chunks), :mod:`~analysis.io.raw` (the folder: :class:`RawData`, :func:`read_raw`).

Hand-written rather than ``pandas.read_csv``/``read_excel`` because those lose what the messages
need (the user's row numbers around blank and title rows, merged cells, the raw cell text) and
guess types (leading zeros, dates) before the contract can say what a column is.
"""

from __future__ import annotations

from .cells import (
    EMPTY_TOKENS,
    MAX_SERIAL,
    Err,
    cell_parser,
    enum_display,
    enum_table,
    is_empty,
    parse_bool,
    parse_code6,
    parse_date,
    parse_float,
    parse_id,
    parse_int,
    parse_period,
    parse_share,
    parse_text,
)
from .csvfiles import CsvRows, decode_bytes, read_csv_grid
from .grid import FileProblem, Sheet
from .limits import Limits
from .raw import TEMPLATE_SHEETS, RawData, RawFormat, read_raw, table_files, table_for_name
from .table import Source, header_table, parse_grid
from .xlsx import read_xlsx_grids

__all__ = [
    "EMPTY_TOKENS", "MAX_SERIAL", "TEMPLATE_SHEETS", "CsvRows", "Err", "FileProblem", "Limits",
    "RawData", "RawFormat", "Sheet", "Source", "cell_parser", "decode_bytes", "enum_display",
    "enum_table", "header_table", "is_empty", "parse_bool", "parse_code6", "parse_date",
    "parse_float", "parse_grid", "parse_id", "parse_int", "parse_period", "parse_share",
    "parse_text", "read_csv_grid", "read_raw", "read_xlsx_grids", "table_files", "table_for_name",
]
