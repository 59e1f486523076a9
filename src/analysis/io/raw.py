"""A raw data folder → :class:`RawData`: every table parsed, every problem found, nothing raised.

:func:`read_raw` accepts the two layouts of the contract (:mod:`analysis.contract`): one CSV per
table (UTF-8, UTF-8 with BOM, GB18030/GBK — detected from the bytes, never from the locale,
:mod:`analysis.io.csvfiles`) or one XLSX workbook with a sheet per table
(:mod:`analysis.io.xlsx`). Files and sheets are matched to tables by name (English, Chinese or
both); the template's own sheets (instructions, lists) are skipped. Each table is then parsed by
:func:`analysis.io.table.parse_grid`. Problems in the data are collected in
``RawData.problems``; :func:`analysis.contract.validate` raises them all at once.

Only the raw folder is read. A symbolic link in it is refused, not followed (a link named
``units.csv`` could point at any file of the computer, whose content would then be parsed, hashed
and quoted back in the problem list); neither is it hashed as an input. A file that cannot be
opened (permissions, a lock) or a workbook the reader fails on in any way is a problem of that
file, never a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..contract import CONTROL_CHARACTERS, TABLES, character_name
from ..errors import DataContractError, Problem
from ..messages import Msg
from .csvfiles import read_csv_grid
from .grid import FileProblem, Sheet
from .table import Source, empty_frame, parse_grid
from .text import is_blank, lookup, match_key
from .xlsx import read_xlsx_grids

#: the two layouts of a raw folder
RawFormat = Literal["csv", "xlsx"]
#: file endings read as tables (a link with one of them is refused, other links are ignored)
DATA_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".xls")
#: sheets of the template that are not tables (after :func:`~analysis.io.text.match_key`)
TEMPLATE_SHEETS = frozenset({"instructions", "说明", "lists", "选项", "填写说明"})


@dataclass
class RawData:
    """The tables of one raw folder, parsed, with every problem and note found while reading.

    ``tables``: table name → typed DataFrame (every table of the contract; an empty one with the
    right columns where the table could not be read); ``rows``: the user's row number of each
    row; ``sources``: where each table came from; ``problems``: the cell-level problems (the
    table-level ones are :func:`analysis.contract.validate`'s); ``notes``: warnings;
    ``failed``: tables that could not be read at all; ``files``: every input file (hashed by
    ``build``); ``format``: ``"csv"`` or ``"xlsx"``.
    """

    root: Path
    format: RawFormat
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




def table_for_name(name: str) -> str | None:
    """The table a file stem or sheet title names (English, Chinese, both, or a sheet alias)."""
    k = match_key(name)
    for t in TABLES.values():
        if k in {match_key(a) for a in (t.name, t.zh, *t.sheet_aliases)}:
            return t.name
    tbl = {match_key(a): t.name for t in TABLES.values() for a in (t.name, t.zh, *t.sheet_aliases)}
    return lookup(name, tbl)


def _listed(p: Path) -> bool:
    return not p.name.startswith((".", "~$"))


def table_files(raw_dir: Path) -> list[Path]:
    """Every regular, non-hidden file of the raw folder (what the input hash covers); symbolic
    links are not followed (see :func:`links`)."""
    return sorted(p for p in Path(raw_dir).iterdir()
                  if _listed(p) and not p.is_symlink() and p.is_file())


def links(raw_dir: Path) -> list[Path]:
    """Every non-hidden symbolic link in the raw folder (never followed)."""
    return sorted(p for p in Path(raw_dir).iterdir() if _listed(p) and p.is_symlink())


def shown_name(name: str) -> str:
    """A file or sheet name as messages print it: control characters escaped (``\\u202e``)."""
    return CONTROL_CHARACTERS.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), name)


def _os_problem(err: OSError) -> tuple[Msg, Msg]:
    """(expected, fix) of a file the system would not let us read."""
    what = os.strerror(err.errno) if err.errno else type(err).__name__
    return Msg("raw.os.expected"), Msg("raw.os.fix", what=what)


def read_raw(raw_dir: Path | str) -> RawData:
    """Read and parse a raw folder. Never raises for problems in the data (see module docstring),
    only when the folder itself does not exist."""
    raw_dir = Path(raw_dir)
    if raw_dir.is_file():
        raise DataContractError([Problem(
            file=str(raw_dir), row=None, column=None, value=None,
            expected=Msg("raw.is_file.expected"),
            fix=Msg("raw.is_file.fix", parent=raw_dir.parent))],
            header=Msg("raw.is_file.header", path=raw_dir))
    if not raw_dir.is_dir():
        raise DataContractError([Problem(
            file=str(raw_dir), row=None, column=None, value=None,
            expected=Msg("raw.no_dir.expected"), fix=Msg("raw.no_dir.fix"))],
            header=Msg("raw.no_dir.header", path=raw_dir))
    files = table_files(raw_dir)
    # a name with a control character is neither read nor printed as it is (U+202E can make
    # "xslx.csv" look like "vsc.xlsx", an escape sequence would drive the terminal)
    bad_names = [p for p in files if CONTROL_CHARACTERS.search(p.name)]
    readable = [p for p in files if p not in bad_names]
    csvs = [p for p in readable if p.suffix.lower() in (".csv", ".txt")]
    books = [p for p in readable if p.suffix.lower() in (".xlsx", ".xlsm")]
    olds = [p for p in readable if p.suffix.lower() == ".xls"]
    raw = RawData(root=raw_dir, format="csv", tables={}, rows={}, sources={}, problems=[], notes=[],
                  failed=set(), files=files)

    def folder_problem(file: str, expected: Msg, fix: Msg, table: str | None = None) -> None:
        raw.problems.append(Problem(file=file, row=None, column=None, value=None, expected=expected,
                                    fix=fix, table=table))

    for p in bad_names:
        ch = CONTROL_CHARACTERS.search(p.name)[0]  # type: ignore[index]
        folder_problem(shown_name(p.name), Msg("raw.name.expected"),
                       Msg("raw.name.fix", char=character_name(ch)))
    for p in links(raw_dir):
        if p.suffix.lower() in DATA_SUFFIXES:
            linked = table_for_name(p.stem)
            folder_problem(shown_name(p.name), Msg("raw.link.expected"), Msg("raw.link.fix"),
                           linked)
            if linked is not None:
                raw.failed.add(linked)  # not also "missing"
        else:
            raw.notes.append(Msg("raw.link.note", name=shown_name(p.name)))
    for p in olds:
        folder_problem(p.name, Msg("raw.xls.expected"), Msg("raw.xls.fix"))
    grids: dict[str, tuple[Sheet, Source]] = {}
    unmatched: list[str] = []  # files or sheets that are not a table: maybe misnamed ones
    unreadable = False  # the workbook could not be read: its sheets are not "missing"
    if books and csvs:
        folder_problem(raw_dir.name, Msg("raw.both.expected"),
                       Msg("raw.both.fix", books=", ".join(p.name for p in books)))
    elif len(books) > 1:
        folder_problem(raw_dir.name, Msg("raw.books.expected"),
                       Msg("raw.books.fix", books=", ".join(p.name for p in books)))
    elif books:
        raw.format = "xlsx"
        book = books[0]
        try:
            sheets = read_xlsx_grids(book)
        except FileProblem as fp:
            folder_problem(book.name, fp.expected, fp.fix)
            sheets, unreadable = {}, True
        except OSError as err:
            folder_problem(book.name, *_os_problem(err))
            sheets, unreadable = {}, True
        except MemoryError:  # below the size limits, on a computer with little free memory
            folder_problem(book.name, Msg("raw.book_memory.expected"), Msg("raw.book_memory.fix"))
            sheets, unreadable = {}, True
        except Exception as err:  # noqa: BLE001 - any failure of the workbook reader on these bytes
            folder_problem(book.name, Msg("raw.damaged.expected"),
                           Msg("raw.damaged.fix", err=type(err).__name__))
            sheets, unreadable = {}, True
        for title, sheet in sheets.items():
            t = table_for_name(title)
            if t is None:
                if match_key(title) not in TEMPLATE_SHEETS and not is_blank(c for _, cells in sheet.rows for c in cells):
                    raw.notes.append(Msg("raw.sheet_ignored.note", book=book.name, title=title))
                    unmatched.append(title)
                continue
            if t in grids:
                folder_problem(book.name, Msg("raw.two_sheets.expected", table=t),
                               Msg("raw.two_sheets.fix", a=grids[t][1].sheet, b=title, table=t))
                continue
            grids[t] = (sheet, Source(table=t, file=book.name, sheet=title))
    else:
        for p in csvs:
            t = table_for_name(p.stem)
            if t is None:
                raw.notes.append(Msg("raw.file_ignored.note", name=p.name, tables=", ".join(TABLES)))
                unmatched.append(p.name)
                continue
            if t in grids:
                folder_problem(p.name, Msg("raw.two_files.expected", table=t),
                               Msg("raw.two_files.fix", a=grids[t][1].file, b=p.name, table=t))
                continue
            try:
                sheet, enc = read_csv_grid(p)
            except FileProblem as fp:
                raw.problems.append(Problem(file=p.name, row=fp.row, column=None, value=fp.value,
                                            expected=fp.expected, fix=fp.fix, table=t))
                raw.failed.add(t)
                continue
            except OSError as err:
                folder_problem(p.name, *_os_problem(err), table=t)
                raw.failed.add(t)
                continue
            grids[t] = (sheet, Source(table=t, file=p.name, encoding=enc))

    for name, spec in TABLES.items():
        if name not in grids:
            if name not in raw.failed and not unreadable:
                where = Msg("raw.missing.sheet" if raw.format == "xlsx" else "raw.missing.file")
                more: Msg | str = ""
                if unmatched:
                    more = Msg("raw.missing.rename_sheet" if raw.format == "xlsx"
                               else "raw.missing.rename_file",
                               names=", ".join(map(repr, unmatched)))
                folder_problem(spec.file_name if raw.format == "csv" else (books[0].name if books else raw_dir.name),
                               Msg("raw.missing.expected", where=where, name=name, zh=spec.zh),
                               Msg("raw.missing.fix", name=name, more=more))
            raw.failed.add(name)
            raw.tables[name] = empty_frame(spec)
            raw.rows[name] = np.array([], dtype=int)
            raw.sources[name] = Source(table=name, file=spec.file_name)
            continue
        sheet, src = grids[name]
        try:
            df, rows, probs, notes = parse_grid(spec, sheet, src)
        except OSError as err:  # a CSV file is read as it is parsed
            folder_problem(src.file, *_os_problem(err), table=name)
            df, rows, probs, notes = empty_frame(spec), np.array([], dtype=int), [], []
            raw.failed.add(name)
        if any(p.row is None for p in probs) or any(
                c.required and c.name not in src.headers for c in spec.columns):
            # empty file or a required column missing: rules on this table would only repeat it
            raw.failed.add(name)
        raw.tables[name] = df
        raw.rows[name] = rows
        raw.sources[name] = src
        raw.problems += probs
        raw.notes += notes
    return raw
