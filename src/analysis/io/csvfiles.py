"""CSV files: the encoding detected from the bytes, never from the computer's locale.

UTF-8, UTF-8 with a byte-order mark and UTF-16 with a byte-order mark are recognised by their
bytes; otherwise UTF-8 is tried strictly, then GB18030 (a superset of GBK and GB2312: what Excel and
WPS export on Chinese Windows). A file neither decodes gets the row where decoding failed. Python's
``csv`` module splits the text (quoted delimiters and newlines inside quotes are handled); every
cell stays text for :mod:`analysis.io.cells` to parse.
"""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

from .grid import FileProblem, Sheet


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Text and encoding name, detected from the bytes (never from the locale)."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileProblem("a header row and data rows", "the file is empty; export the table again")
    if data.startswith(b"PK\x03\x04"):
        raise FileProblem("a CSV text file", "this is an Excel workbook renamed to .csv; save it as "
                           "CSV (UTF-8) or put the workbook (.xlsx) into the folder instead of the CSV files")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "UTF-8 with BOM"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    if b"\x00" in data[:4096]:
        raise FileProblem("text in UTF-8 or GB18030/GBK", "the file is binary or UTF-16 without a "
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
        raise FileProblem("text in UTF-8 or GB18030/GBK",
                           f"the file reads as {name} up to row {line}, whose bytes cannot be read in "
                           "either encoding (a damaged file, or Big5/Latin-1?); correct that row or "
                           "save the file from Excel/WPS as CSV UTF-8 (逗号分隔)", row=line) from None


def read_csv_grid(path: Path) -> tuple[Sheet, str]:
    """The grid of one CSV file and the encoding it was read in.

    The delimiter is the one of ``,``, tab and ``;`` that occurs most often in the first line.
    Raises :class:`FileProblem` when the file cannot be decoded.
    """
    text, enc = decode_bytes(path.read_bytes())
    first = text.split("\n", 1)[0]
    delim = max((",", "\t", ";"), key=first.count)
    reader = csv.reader(StringIO(text, newline=""), delimiter=delim)
    rows = [(i, list(r)) for i, r in enumerate(reader, start=1)]
    return Sheet(rows=rows), enc
