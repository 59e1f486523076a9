"""The grid of cells every reader produces, and the error of a file that is no grid at all.

A CSV file and each sheet of a workbook become a :class:`Sheet`: rows numbered as the user sees
them, cells as read (text from a CSV, native values from Excel), and the merged ranges of a sheet.
:func:`analysis.io.table.parse_grid` turns a sheet into a typed table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sheet:
    """A grid of cells: ``rows`` is ``[(user_row_number, [cell, ...]), ...]`` (blank rows kept):
    a list for a workbook's sheet, a stream read from disk for a CSV file
    (:class:`analysis.io.csvfiles.CsvRows`)."""

    rows: Iterable[tuple[int, list[Any]]]
    merged: list[tuple[int, int, int, int, str]] = field(default_factory=list)  # r1, r2, c1, c2, coord


class FileProblem(Exception):
    """A file that cannot be read as a table at all (empty, binary, undecodable, not a workbook):
    what was expected and how to fix it, with the row where decoding failed when known."""

    def __init__(self, expected: str, fix: str, value: object = None, row: int | None = None) -> None:
        super().__init__(expected)
        self.expected, self.fix, self.value, self.row = expected, fix, value, row
