"""How large a raw file may be: the readers' resource limits, in one place.

A raw file is measured *before* it is read, so that a file too large for the memory of an ordinary
computer is refused with advice instead of ending in a ``MemoryError`` (or the operating system
killing the process):

* **CSV files** are read in a streaming way (:mod:`analysis.io.csvfiles`): memory grows with the
  parsed table, a small multiple of the file (``benchmarks/reader_memory.py`` measures it). A file
  above :attr:`Limits.csv_size` is refused.
* **XLSX workbooks** are zip archives whose XML can inflate a thousandfold (a "zip bomb": a few
  megabytes that inflate to gigabytes), and a sheet's XML is parsed whole. The archive's directory
  is read first (:func:`zipfile.ZipFile.infolist`: each entry's declared ``file_size`` and
  ``compress_size``; :mod:`zipfile` never inflates an entry beyond its declared size) and the
  workbook is refused when the total or one entry inflates above the limits, or when a large entry
  is compressed more than :attr:`Limits.xlsx_ratio` to 1 (spreadsheet XML compresses about 10 to 1,
  a very repetitive sheet about 25 to 1).
* **One cell of a CSV file** may hold at most :attr:`Limits.cell_size` characters (the ``csv``
  module's own default): a longer one is almost always a quote that opens a value and never closes.

Each limit can be changed with an environment variable, read when a folder is read:

==================================== ======================================= ==============
variable                             limit                                   default
==================================== ======================================= ==============
``PAIRING_EVAL_MAX_CSV_SIZE``        size of one CSV file                    2 GB
``PAIRING_EVAL_MAX_XLSX_SIZE``       total inflated size of a workbook        500 MB
``PAIRING_EVAL_MAX_XLSX_ENTRY``      inflated size of one part (a sheet)      250 MB
``PAIRING_EVAL_MAX_XLSX_RATIO``      compression ratio of a part over 1 MB    100
``PAIRING_EVAL_MAX_CELL_SIZE``       characters in one CSV cell               131072
==================================== ======================================= ==============

Sizes are written as a number of bytes or with a unit: ``2GB``, ``500 MB``, ``64KiB`` (KB, MB, GB
are powers of 1000; KiB, MiB, GiB powers of 1024). A value that is not a size is an error
(:class:`~analysis.errors.SpecificationError`, exit 2) naming the variable.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from typing import Any

from ..errors import SpecificationError
from ..messages import Msg

KB, MB, GB = 1000, 1000**2, 1000**3
_UNITS = {"": 1, "b": 1, "k": KB, "kb": KB, "m": MB, "mb": MB, "g": GB, "gb": GB,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3}
#: entries of a workbook smaller than this are not checked for their compression ratio (small XML
#: parts such as styles compress unevenly and cannot hurt)
RATIO_FLOOR = 1 * MB


@dataclass(frozen=True)
class Limits:
    """The readers' limits; :meth:`from_env` reads them with their environment overrides."""

    #: bytes of one CSV file (``PAIRING_EVAL_MAX_CSV_SIZE``)
    csv_size: int = 2 * GB
    #: bytes a workbook inflates to, all parts together (``PAIRING_EVAL_MAX_XLSX_SIZE``)
    xlsx_size: int = 500 * MB
    #: bytes one part of a workbook (a sheet's XML, the shared strings) inflates to
    #: (``PAIRING_EVAL_MAX_XLSX_ENTRY``)
    xlsx_entry: int = 250 * MB
    #: inflated / compressed size of a part larger than :data:`RATIO_FLOOR`
    #: (``PAIRING_EVAL_MAX_XLSX_RATIO``)
    xlsx_ratio: float = 100.0
    #: characters of one CSV cell (``PAIRING_EVAL_MAX_CELL_SIZE``)
    cell_size: int = 131072

    @classmethod
    def from_env(cls) -> Limits:
        """The limits in force: the defaults of :class:`Limits`, each overridden by its environment
        variable (:data:`ENV`) when set.

        Raises
        ------
        SpecificationError
            A variable is set to something that is not a size (or, for the ratio, a number > 1).
        """
        values: dict[str, Any] = {}
        for f in fields(cls):
            var = ENV[f.name]
            text = os.environ.get(var, "").strip()
            if not text:
                continue
            try:
                if f.name == "xlsx_ratio":
                    ratio = float(text)
                    if not ratio > 1:
                        raise ValueError(text)
                    values[f.name] = ratio
                else:
                    values[f.name] = parse_size(text)
            except ValueError:
                expected = Msg("limits.ratio" if f.name == "xlsx_ratio" else "limits.size")
                default = getattr(cls, f.name)
                shown = f"{default:g}" if f.name == "xlsx_ratio" else (
                    Msg("limits.chars", n=default) if f.name == "cell_size" else size_text(default))
                raise SpecificationError(Msg("limits.bad", var=var, text=text, expected=expected,
                                             default=shown)) from None
        return cls(**values)


#: the environment variable of each limit
ENV = {
    "csv_size": "PAIRING_EVAL_MAX_CSV_SIZE",
    "xlsx_size": "PAIRING_EVAL_MAX_XLSX_SIZE",
    "xlsx_entry": "PAIRING_EVAL_MAX_XLSX_ENTRY",
    "xlsx_ratio": "PAIRING_EVAL_MAX_XLSX_RATIO",
    "cell_size": "PAIRING_EVAL_MAX_CELL_SIZE",
}


def parse_size(text: str) -> int:
    """Bytes of a size written as ``2GB``, ``500 MB``, ``64KiB`` or a plain number.

    Raises ``ValueError`` for anything else (or a size below 1).
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", text.lower())
    if m is None or m[2] not in _UNITS:
        raise ValueError(text)
    n = int(float(m[1]) * _UNITS[m[2]])
    if n < 1:
        raise ValueError(text)
    return n


def size_text(n: float) -> str:
    """A byte count as people read it: ``2 GB``, ``512 MB``, ``130 KB``, ``900 bytes``."""
    for unit, size in (("GB", GB), ("MB", MB), ("KB", KB)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"
