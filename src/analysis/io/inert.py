"""Spreadsheet cells that stay text: every cell the package writes into a workbook or a CSV file.

A spreadsheet program reads a cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula (OWASP, "CSV Injection"): a name such as
``=HYPERLINK("http://x","y")`` or ``=cmd|' /C calc'!A0`` in a ledger would become a live link or
command in the template or in a problems list that a department opens in Excel or WPS. So:

* **workbooks** (:func:`put_cell`): text is written as an explicit string cell (``t="inlineStr"``,
  openpyxl ``data_type = "s"``; openpyxl itself would store text starting with ``=`` as a
  formula), and text that looks like a formula also gets Excel's *quote prefix* style, so that
  editing the cell in Excel keeps it text. The text itself is unchanged and reads back as written;
* **CSV files** (:func:`csv_cell`, :func:`write_csv`): a CSV has no cell types, so such text is
  written with a leading apostrophe, the guard Excel and LibreOffice show as text. The guard is
  reversible: :func:`csv_uncell` removes exactly the apostrophe :func:`csv_cell` added (a text
  that itself starts with apostrophes before a formula character gets one more on writing), and
  the reader of raw CSV files removes it (:func:`csv_unguarding`), so a CSV the package writes
  reads back to the same text. Workbook cells are never unguarded: their text is what it says.

Hand-written because it is a few lines and the libraries that write spreadsheets (openpyxl,
pandas ``to_csv``) offer no such mode.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

#: first characters that make a spreadsheet program read a cell as a formula (OWASP)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_GUARDED = re.compile("^'*[" + re.escape("".join(FORMULA_START)) + "]")
_ADDED = re.compile("^'+[" + re.escape("".join(FORMULA_START)) + "]")
_FIRST = frozenset((*FORMULA_START, "'"))  # first characters that may need the guard


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet program would read ``text`` as a formula (its first character is one
    of :data:`FORMULA_START`)."""
    return text.startswith(FORMULA_START)


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell: text that would start a formula gets a leading apostrophe (so does
    text that already starts with apostrophes before such a character, which keeps the guard
    reversible by :func:`csv_uncell`); other values are returned unchanged."""
    if isinstance(value, str) and value[:1] in _FIRST and _GUARDED.match(value):
        return "'" + value
    return value


def csv_uncell(text: str) -> str:
    """The text :func:`csv_cell` was given: one leading apostrophe removed where it guards a
    formula character; any other text unchanged."""
    return text[1:] if text[:1] == "'" and _ADDED.match(text) else text


def csv_unguarding(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``parse`` applied to a CSV cell's text after :func:`csv_uncell` (a guarded ``'=1+1`` is
    parsed as ``=1+1``, a guarded ``'-3`` as the number -3)."""

    def unguarded(v: Any) -> Any:
        return parse(csv_uncell(v) if isinstance(v, str) else v)

    return unguarded


def put_cell(ws: Any, row: int, column: int, value: Any) -> Any:
    """Write ``value`` into cell (``row``, ``column``) of the openpyxl worksheet ``ws`` so that no
    spreadsheet program evaluates it, and return the cell.

    Text is an explicit string cell (never a formula); text that looks like a formula also gets
    the quote-prefix style; the text itself is unchanged. Numbers, dates and ``None`` are written
    as they are.
    """
    cell = ws.cell(row=row, column=column)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if looks_like_formula(value):
            cell.quotePrefix = True
    return cell


def write_csv(path: Path | str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
              bom: bool = True) -> Path:
    """Write a CSV file whose every cell is inert (:func:`csv_cell`), atomically.

    Parameters
    ----------
    path : the file to write; its folder is created. A temporary sibling is written first and
        renamed over ``path`` only when complete, so a failure leaves no half-written file.
    header : the column names (first row).
    rows : the data rows; ``None`` is written as an empty cell.
    bom : start the file with the UTF-8 byte-order mark, which Excel needs to read UTF-8
        (Chinese text) correctly when the file is opened by double-click.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(tmp, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow([csv_cell(h) for h in header])
            for r in rows:
                w.writerow(["" if v is None else csv_cell(v) for v in r])
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path

