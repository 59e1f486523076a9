"""One table: a grid of cells → a typed DataFrame, with every problem located in the user's file.

* the **header row** is row 1, or the row among the first ten non-blank ones that matches most
  column names (title rows above it are skipped and reported);
* **columns** are matched by canonical, Chinese or bilingual header spelling
  (:func:`header_table`); missing required columns, duplicated columns and extra (kept) columns
  are reported;
* **merged cells** in data rows are reported once per range (a merged title or subtotal row as a
  row problem); ragged CSV rows (more values than headers) too;
* every **cell** is parsed by its column's parser (:func:`analysis.io.cells.cell_parser`), with
  results cached per distinct value (ledgers repeat the same ids, dates and labels);
* a cell holding a **control character** (NUL, other C0 controls, bidirectional controls such as
  U+202E: :func:`analysis.contract.control_character`) is reported, in data, header and title rows
  alike, and left empty rather than parsed; a header cell is matched without them;
* a header row in which **no cell names a column** of the table is one problem (the file lacks
  its header row, or holds another table), not one per missing column.

Rows are parsed in chunks of :data:`CHUNK_ROWS`: a chunk's cells are typed into arrays (and its
parse cache dropped) before the next chunk is read, so a CSV file streamed from disk
(:class:`analysis.io.csvfiles.CsvRows`) is never held whole as Python strings; the chunks' columns
are joined once at the end. Whether a column without a header holds values (it is then kept as an
extra column) is therefore decided while the rows are parsed, not before.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any

import numpy as np
import pandas as pd

from ..contract import CONTROL_CHARACTERS, Table, control_character, strip_control_characters
from ..contract.markdown import ZH_TEXT
from ..errors import Problem
from ..messages import Label, Msg
from .cells import Err, cell_parser, is_empty
from .grid import Sheet
from .inert import csv_unguarding
from .text import col_letter, is_blank, lookup, match_key

#: data rows parsed at a time (the raw cells of one chunk are let go once its values are typed)
CHUNK_ROWS = 50_000


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
    _shown: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def where(self) -> str:
        """The file, and the sheet of a workbook, as messages name them (a
        :class:`~analysis.messages.Msg`: English as text, any language on ``render``)."""
        return Msg("loc.source", file=self.file, sheet=self.sheet) if self.sheet else self.file

    def display_column(self, column: str) -> str:
        """A column as the user headed it, with the canonical name when that differs (the same
        object for every problem of the column)."""
        shown = self._shown.get(column)
        if shown is None:
            shown = self._shown[column] = self._display_column(column)
        return shown

    def _display_column(self, column: str) -> str:
        h = self.headers.get(column)
        if h is None:
            return column
        h = " ".join(str(h).split())
        if h == column or column in h.split():
            return h
        return Msg("column.as_written", header=h, name=column)


def header_table(spec: Table) -> dict[str, str]:
    """Every accepted header spelling of a table's columns (canonical name, Chinese name,
    aliases; with and without brackets; normalised by :func:`~analysis.io.text.match_key`) →
    canonical name."""
    out: dict[str, str] = {}
    for c in spec.columns:
        for a in (c.name, c.zh, *c.aliases):
            out[match_key(a)] = c.name
            out[match_key(a.replace("(", "").replace(")", ""))] = c.name
    return out


def empty_frame(spec: Table) -> pd.DataFrame:
    """A table with the specification's columns and types and no rows."""
    return typed_frame(spec, {c.name: [] for c in spec.columns}, [], {})


def typed_frame(spec: Table, values: dict[str, list], extra_names: list[str],
                extra: dict[str, list]) -> pd.DataFrame:
    """The parsed values as a DataFrame with the contract's dtypes (see :func:`typed_columns`)."""
    n = len(next(iter(values.values()))) if values else 0
    return pd.DataFrame(typed_columns(spec, values, extra_names, extra, n), index=pd.RangeIndex(n))


def typed_columns(spec: Table, values: dict[str, list], extra_names: list[str],
                  extra: dict[str, list], n: int) -> dict[str, Any]:
    """The parsed values of ``n`` rows as arrays with the contract's dtypes
    (``docs/architecture.md``): ids, text and enumerations ``object``, whole numbers ``Int64``,
    numbers and shares ``float64``, dates ``datetime64[ns]``, yes/no ``bool`` (empty = no).
    Columns absent from ``values`` are all-missing; extra columns stay text."""
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
    return cols


class _Columns:
    """A table's typed columns, filled chunk by chunk into arrays allocated once for the rows
    expected (doubled should more come): each chunk's arrays are let go as soon as they are
    copied, instead of all being held until one join at the end (which held the table twice, and
    left the memory of the many chunk arrays fragmented)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(capacity, 1)
        self.n = 0
        self.bufs: dict[str, list[np.ndarray]] = {}  # name -> [values] or [values, mask] (Int64)

    def add(self, cols: dict[str, Any], k: int) -> None:
        if self.n + k > self.capacity:
            self.capacity = max(2 * self.capacity, self.n + k)
            for bufs in self.bufs.values():
                for i, b in enumerate(bufs):
                    bufs[i] = np.concatenate([b[:self.n], np.empty(self.capacity - self.n, b.dtype)])
        for name, arr in cols.items():
            parts = ([arr.to_numpy("int64", na_value=0), arr.isna()]
                     if isinstance(arr, pd.arrays.IntegerArray) else [np.asarray(arr)])
            bufs = self.bufs.setdefault(name, [np.empty(self.capacity, p.dtype) for p in parts])
            for b, part in zip(bufs, parts, strict=True):
                b[self.n:self.n + k] = part
        self.n += k

    def pop(self, name: str) -> Any:
        """The column's ``n`` values (an ``Int64`` array for whole numbers), released here."""
        bufs = [b[:self.n] if 2 * self.n >= self.capacity else b[:self.n].copy()
                for b in self.bufs.pop(name)]
        return pd.arrays.IntegerArray(bufs[0], bufs[1]) if len(bufs) == 2 else bufs[0]


@dataclass
class _Reading:
    """One table being read: its specification, its source, and what was found so far."""

    spec: Table
    src: Source
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def problem(self, row: int | None, column: str | None, value: object, expected: Msg,
                fix: Msg, rule: str | None = None) -> None:
        self.problems.append(Problem(file=self.src.file, sheet=self.src.sheet, row=row,
                                     column=column, value=value, expected=expected, fix=fix,
                                     rule=rule, table=self.spec.name))


Rows = list[tuple[int, list[Any]]]


def _find_header(nonblank: Rows, htab: dict[str, str]) -> int:
    """Index of the header among the non-blank rows: the first row, unless a later one of the
    first 10 matches more column names."""
    best, best_n = 0, -1
    for i, (_, cells) in enumerate(nonblank[:10]):
        n = sum(lookup(c, htab) is not None for c in cells if c is not None and str(c).strip())
        if n > best_n:
            best, best_n = i, n
    return best if best_n > 0 else 0


def _map_columns(rd: _Reading, header_row: int, header: list[Any],
                 htab: dict[str, str]) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """Column index → canonical name, column index → name of each extra (kept) column with a
    header, and column index → name (``column C``) of each column without a header, kept as an
    extra column if it holds values (known once the rows are parsed: :func:`_unheaded_kept`);
    reports duplicated and missing required columns."""
    src, spec = rd.src, rd.spec
    mapping: dict[int, str] = {}
    extra: dict[int, str] = {}
    unheaded: dict[int, str] = {}
    for j, h in enumerate(header):
        if h is None or not str(h).strip():
            unheaded[j] = f"column {col_letter(j)}"
            continue
        canon = lookup(h, htab)
        if canon is None:
            name = " ".join(str(h).split())
            if name in extra.values() or name in unheaded.values():  # one header twice: keep both
                name = f"{name} ({col_letter(j)})"
            extra[j] = name
            continue
        if canon in mapping.values():
            first = next(k for k, v in mapping.items() if v == canon)
            rd.problem(
                header_row, f"{col_letter(j)} {' '.join(str(h).split())}", h,
                Msg("table.dup.expected", first=col_letter(first),
                    first_header=" ".join(str(header[first]).split()), canon=canon),
                Msg("table.dup.fix"), rule="duplicate_column")
            continue
        mapping[j] = canon
        src.headers[canon] = str(h)
    present = set(mapping.values())
    unknown = [extra[j] for j in extra if not extra[j].startswith("column ")]
    required = [c.name for c in spec.columns if c.required]
    if not mapping and required:
        shown = " | ".join(" ".join(str(h).split())[:30] for h in header if h is not None)
        rd.problem(header_row, None, shown[:120] or None,
                   Msg("table.header.expected", name=spec.name, zh=spec.zh,
                       cols=", ".join(required[:4])),
                   Msg("table.header.fix", row=header_row, name=spec.name), rule="missing_header")
        required = []
    for c in spec.columns:
        if c.name in present or c.name not in required:
            continue
        names = [c.name, c.zh, *c.aliases]
        close = difflib.get_close_matches(c.zh, unknown, n=1, cutoff=0.5) or \
            difflib.get_close_matches(c.name, unknown, n=1, cutoff=0.6)
        fix = (Msg("table.column.rename", old=close[0], name=c.name, zh=c.zh) if close
               else Msg("table.column.add", name=c.name, zh=c.zh, description=Label(
                   ZH_TEXT.get(f"{spec.name}.{c.name}", c.description), c.description)))
        rd.problem(header_row, c.name, None,
                   Msg("table.column.expected", name=c.name, names=" / ".join(names[1:])), fix,
                   rule="missing_column")
    if unknown:
        rd.notes.append(Msg("table.extra.note", where=src.where(), cols=", ".join(unknown)))
    return mapping, extra, unheaded


def _unheaded_kept(rd: _Reading, unheaded: dict[int, str], seen: set[int], at: int) -> dict[int, str]:
    """The columns without a header that hold values (``seen``), each with its note, placed among
    the notes where :func:`_map_columns` met the column (``at``)."""
    kept = {j: name for j, name in unheaded.items() if j in seen}
    rd.notes[at:at] = [Msg("table.unheaded.note", where=rd.src.where(), letter=col_letter(j))
                       for j in kept]
    return kept


def _has_values(grid: Sheet, header_row: int, j: int) -> bool:
    """True when column ``j`` holds a value in a row below the header."""
    return any(r > header_row and j < len(c) and not is_blank([c[j]]) for r, c in grid.rows)


def _merged_ranges(rd: _Reading, grid: Sheet, ncols: int, header_row: int, first_data: int | None,
                   mapping: dict[int, str], extra: dict[int, str],
                   unheaded: dict[int, str]) -> tuple[set[int], set[tuple[int, int]]]:
    """One problem per merged range inside the data rows (the first is ``first_data``). Returns
    the rows merged into one cell (title or subtotal lines, left out of the table) and the (row,
    column) cells covered by a merge other than its anchor (their emptiness is not reported
    again)."""
    merged_rows: set[int] = set()
    merged_cells: set[tuple[int, int]] = set()
    for r1, r2, c1, c2, coord in grid.merged:
        if first_data is None or r2 < first_data:
            continue  # merges in the title or header rows are fine
        if r1 == r2 and (c2 - c1 + 1) >= max(2, ncols // 2):
            merged_rows.add(r1)
            rd.problem(r1, None, None, Msg("table.merged_row.expected"),
                       Msg("table.merged_row.fix", coord=coord), rule="merged_cells")
            continue
        col = (mapping.get(c1) or extra.get(c1)
               or (unheaded[c1] if c1 in unheaded and _has_values(grid, header_row, c1) else None)
               or col_letter(c1))
        first_hole = r1 + 1 if r2 > r1 else r1  # the first row that lost its value to the merge
        rd.problem(max(first_hole, first_data), rd.src.display_column(col), None,
                   Msg("table.merged.expected"), Msg("table.merged.fix", coord=coord),
                   rule="merged_cells")
        merged_cells.update((r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                            if (r, c) != (r1, c1))
    return merged_rows, merged_cells


Parser = Callable[[object], tuple[Any, Err | None]]


def _has_control(cells: list[Any]) -> bool:
    """Whether any text cell of a row holds a control character (one search per row)."""
    try:
        return CONTROL_CHARACTERS.search("".join(cells)) is not None
    except TypeError:  # native Excel values among the cells
        return any(isinstance(v, str) and CONTROL_CHARACTERS.search(v) is not None for v in cells)


def _control_cells(rd: _Reading, r: int, cells: list[Any],
                   column_of: Callable[[int], str]) -> set[int]:
    """Report every cell of row ``r`` that holds a control character; their column indices."""
    bad: set[int] = set()
    for j, v in enumerate(cells):
        found = control_character(v) if isinstance(v, str) else None
        if found is not None:
            excerpt, expected, fix = found
            rd.problem(r, column_of(j), excerpt, expected, fix, rule="control_characters")
            bad.add(j)
    return bad


def _parse_rows(rd: _Reading, data_rows: Rows, ncols: int, mapping: dict[int, str],
                parsers: dict[int, Parser], extra: dict[int, str], unheaded: dict[int, str],
                seen: set[int], merged_rows: set[int],
                merged_cells: set[tuple[int, int]]) -> tuple[dict[str, list], dict[str, list],
                                                             list[int]]:
    """Parse every cell of (a chunk of) the data rows: the values per canonical column, the
    extra columns' text (columns without a header included), and the user's row number of each
    row kept. Adds to ``seen`` the columns without a header that hold a value."""
    spec, src = rd.spec, rd.src
    caches: dict[int, dict] = {j: {} for j in mapping}  # per chunk: unique ids do not pile up
    values: dict[str, list] = {c: [] for c in mapping.values()}
    extra = {**extra, **unheaded}
    extras: dict[str, list] = {name: [] for name in extra.values()}
    rownums: list[int] = []

    def column_of(j: int) -> str:
        return src.display_column(mapping[j]) if j in mapping else extra.get(j, col_letter(j))

    for r, cells in data_rows:
        for j in unheaded:
            if j not in seen and j < len(cells) and not is_blank([cells[j]]):
                seen.add(j)
        refused = _control_cells(rd, r, cells, column_of) if _has_control(cells) else set()
        if r in merged_rows:
            continue
        rownums.append(r)
        if len(cells) > ncols and not is_blank(cells[ncols:]):
            k = next(i for i in range(ncols, len(cells)) if not is_blank([cells[i]]))
            rd.problem(r, col_letter(k), cells[k], Msg("table.length.expected", n=ncols),
                       Msg("table.length.fix"), rule="row_length")
        for j, canon in mapping.items():
            v = cells[j] if j < len(cells) else None
            col = spec.column(canon)
            if j in refused:
                values[canon].append(None)  # reported above: not parsed
                continue
            if is_empty(v):
                values[canon].append(None)
                if (r, j) in merged_cells:
                    continue  # reported once per merged range
                if not col.nullable and col.required:
                    rd.problem(r, src.display_column(canon), None,
                               Msg("table.required.expected", type=col.type_msg()),
                               Msg("table.required.fix", name=canon, zh=col.zh), rule="required")
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
                    hit = (None, (Msg("table.unreadable.expected", type=col.type_msg()),
                                  Msg("table.unreadable.fix")))
                if ck is not None:
                    caches[j][ck] = hit
            x, err = hit
            values[canon].append(x)
            if err is not None:
                shown = v.strftime("%Y-%m-%d") if isinstance(v, dt.datetime) else v
                rd.problem(r, src.display_column(canon), shown, err[0], err[1])
        for j, name in extra.items():
            v = cells[j] if j < len(cells) else None
            extras[name].append(None if j in refused or is_empty(v) else str(v))
    return values, extras, rownums


def parse_grid(spec: Table, grid: Sheet,
               src: Source) -> tuple[pd.DataFrame, np.ndarray, list[Problem], list[str]]:
    """Header detection, column mapping, merged cells and cell parsing of one table.

    Returns the typed table, the user's row number of each of its rows, the problems and the
    notes; fills in ``src`` (header row, the user's header spellings, extra columns, row count).
    """
    rd = _Reading(spec, src)
    htab = header_table(spec)
    nonblank: Iterator[tuple[int, list[Any]]] = (
        (r, cells) for r, cells in grid.rows if not is_blank(cells))
    head = list(islice(nonblank, 10))
    if not head:
        rd.problem(None, None, None, Msg("table.empty.expected"), Msg("table.empty.fix"),
                   rule="empty_table")
        return empty_frame(spec), np.array([], dtype=int), rd.problems, rd.notes

    head_clean = [(r, [strip_control_characters(c) if isinstance(c, str) else c for c in cells])
                  for r, cells in head]
    best = _find_header(head_clean, htab)
    for r, cells in head[:best + 1]:
        if _has_control(cells):  # title and header rows (the data rows are checked as parsed)
            _control_cells(rd, r, cells, col_letter)
    header_row, header = head_clean[best]
    src.header_row = header_row
    if best > 0 or header_row > 1:
        rd.notes.append(Msg("table.skipped.note", where=src.where(), last=header_row - 1,
                            header=header_row))
    data_rows = chain(head[best + 1:], nonblank)
    first = next(data_rows, None)
    if first is not None:
        data_rows = chain([first], data_rows)
    at = len(rd.notes)
    mapping, extra, unheaded = _map_columns(rd, header_row, header, htab)
    ncols = len(header)
    merged_rows, merged_cells = _merged_ranges(rd, grid, ncols, header_row,
                                               None if first is None else first[0],
                                               mapping, extra, unheaded)
    parsers = {j: cell_parser(spec.column(canon)) for j, canon in mapping.items()}
    if src.encoding is not None:  # a CSV file: the ' guard before a formula character goes
        parsers = {j: csv_unguarding(p) for j, p in parsers.items()}
    seen: set[int] = set()
    try:
        # the rows expected: a list's length, or the records a CsvRows stream counted when checked
        table = _Columns(len(grid.rows) if isinstance(grid.rows, Sized) else CHUNK_ROWS)
        for chunk in _chunks(data_rows, CHUNK_ROWS):
            values, extras, nums = _parse_rows(rd, chunk, ncols, mapping, parsers, extra,
                                               unheaded, seen, merged_rows, merged_cells)
            table.add({**typed_columns(spec, values, list(extras), extras, len(nums)),
                       _ROWS: np.asarray(nums, dtype=int)}, len(nums))
            del chunk, values, extras, nums
    except MemoryError:  # below the size limits, on a computer with little free memory
        table = None
        rd.problem(None, None, None, Msg("table.memory.expected"), Msg("table.memory.fix"),
                   rule="out_of_memory")
        return empty_frame(spec), np.array([], dtype=int), rd.problems, rd.notes
    if table.n == 0:  # no data rows: the columns still get their types
        names = [*extra.values(), *unheaded.values()]
        table.add({**typed_columns(spec, {}, names, {n: [] for n in names}, 0),
                   _ROWS: np.array([], dtype=int)}, 0)
    kept = _unheaded_kept(rd, unheaded, seen, at)
    extra = dict(sorted({**extra, **kept}.items()))
    src.extra = list(extra.values())
    rows = table.pop(_ROWS)
    src.n_rows = len(rows)
    cols = {name: table.pop(name) for name in [c.name for c in spec.columns] + list(extra.values())}
    # copy=False: the arrays become the table's columns as they are (not copied into one block
    # per dtype, which would hold the table twice for a moment)
    df = pd.DataFrame(cols, index=pd.RangeIndex(len(rows)), copy=False)
    return df, rows, rd.problems, rd.notes


#: the key of the user's row numbers among a chunk's columns
_ROWS = "\0rows"


def _chunks(rows: Iterable[tuple[int, list[Any]]], size: int) -> Iterator[Rows]:
    """``rows`` in lists of ``size`` (the last one shorter)."""
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk
