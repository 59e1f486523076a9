"""CSV files: the encoding detected from the bytes, never from the computer's locale; the rows
streamed from disk, never held whole.

UTF-8, UTF-8 with a byte-order mark and UTF-16 with a byte-order mark are recognised by their
bytes; otherwise UTF-8 is tried strictly, then GB18030 (a superset of GBK and GB2312: what Excel and
WPS export on Chinese Windows). A file neither decodes gets the row where decoding failed. Python's
``csv`` module splits the text (quoted delimiters and newlines inside quotes are handled); every
cell stays text for :mod:`analysis.io.cells` to parse.

Memory: a file is read twice, in blocks, and never held whole (neither its bytes, nor its text,
nor its cells as Python strings — a Python string per cell costs about ten times the cell's
bytes). The first pass checks that every byte decodes and every row splits into cells (a cell
longer than :attr:`~analysis.io.limits.Limits.cell_size` characters is refused: almost always a
quote that opens a value and never closes); :func:`read_csv_grid` returns a :class:`Sheet` whose
rows are a :class:`CsvRows` stream, which :func:`analysis.io.table.parse_grid` reads chunk by
chunk in the second pass. A file above :attr:`~analysis.io.limits.Limits.csv_size` is refused
before it is read (:mod:`analysis.io.limits`).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import DataContractError, Problem
from ..messages import Msg
from .grid import FileProblem, Sheet
from .limits import ENV, Limits, size_text

#: bytes read at a time
BLOCK = 1 << 20
#: the start of a file that is checked for NUL bytes (a binary file, or UTF-16 without a BOM)
SNIFF = 4096
_SAVE_AS = Msg("csv.save_as")
#: Python codec → the encoding's name in messages
_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16",
          "gb18030": "GB18030/GBK"}


def _codecs(head: bytes) -> list[str]:
    """The codecs a file starting with ``head`` may be in, in the order they are tried; raises
    :class:`FileProblem` for a workbook renamed to .csv and for binary files."""
    if head.startswith(b"PK\x03\x04"):
        raise FileProblem(Msg("csv.workbook.expected"), Msg("csv.workbook.fix"))
    if head.startswith(b"\xef\xbb\xbf"):
        return ["utf-8-sig"]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ["utf-16"]
    if b"\x00" in head[:SNIFF]:
        raise FileProblem(Msg("csv.text.expected"), Msg("csv.binary.fix", save_as=_SAVE_AS))
    return ["utf-8", "gb18030"]


def _first_error(blocks: Iterable[bytes], codec: str) -> tuple[int, int] | None:
    """Where decoding ``blocks`` (a file, in order) with ``codec`` first fails: the byte offset
    and the row (newlines before it + 1); ``None`` when all of it decodes."""
    dec = codecs.getincrementaldecoder(codec)("strict")
    pos = lines = 0
    for block in _then_end(blocks):
        state = dec.getstate()
        try:
            lines += dec.decode(block, final=not block).count("\n")
        except UnicodeDecodeError as err:
            pending = len(state[0])  # bytes of an unfinished character carried from the last block
            before = codecs.getincrementaldecoder(codec)("replace")
            before.setstate(state)
            lines += before.decode(block[:max(err.start - pending, 0)]).count("\n")
            return pos - pending + err.start, lines + 1
        pos += len(block)
    return None


def _then_end(blocks: Iterable[bytes]) -> Iterator[bytes]:
    yield from blocks
    yield b""


def _undecodable(failures: dict[str, tuple[int, int]]) -> FileProblem:
    """The problem of a file no candidate codec decodes; the codec that reads further is the
    one the file was meant to be in."""
    codec, (_, row) = max(failures.items(), key=lambda kv: kv[1][0])
    name = _NAMES[codec]
    if codec == "utf-16":
        return FileProblem(Msg("csv.utf16.expected"),
                           Msg("csv.utf16.fix", row=row, save_as=_SAVE_AS), row=row)
    if len(failures) == 1:
        return FileProblem(Msg("csv.bom.expected", name=name),
                           Msg("csv.bom.fix", name=name, row=row, save_as=_SAVE_AS), row=row)
    return FileProblem(Msg("csv.text.expected"),
                       Msg("csv.neither.fix", name=name, row=row, save_as=_SAVE_AS), row=row)


class _Undecodable(FileProblem):
    """Bytes that do not decode in the codec tried (another codec may read them)."""


def _empty() -> FileProblem:
    return FileProblem(Msg("table.empty.expected"), Msg("csv.empty.fix"))


_BLANK = b" \t\r\n\xef\xbb\xbf"


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Text and encoding name of a file's bytes, detected from the bytes (never from the
    locale), by the rules :func:`read_csv_grid` applies to a file on disk."""
    if not data.strip(_BLANK):
        raise _empty()
    failures: dict[str, tuple[int, int]] = {}
    for codec in _codecs(data[:SNIFF]):
        try:
            return data.decode(codec), _NAMES[codec]
        except UnicodeDecodeError:
            failures[codec] = _first_error([data], codec) or (len(data), 1)
    raise _undecodable(failures) from None


@dataclass(frozen=True)
class CsvRows:
    """The rows of a CSV file, ``(row number, cells)`` as in a :class:`Sheet`, read from disk
    each time they are iterated. Rows are records (a quoted value may span lines), numbered
    from 1 = the header.

    Iterating raises :class:`~analysis.errors.DataContractError` if the file no longer reads as
    it did when :func:`read_csv_grid` checked it (it changed meanwhile).
    """

    path: Path
    codec: str
    delimiter: str
    cell_size: int
    #: the number of rows, counted by :meth:`check` (what the reader allocates for)
    records: int = 0

    def __len__(self) -> int:
        return self.records

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        try:
            yield from self.rows()
        except FileProblem as fp:
            raise DataContractError([Problem(
                file=self.path.name, row=fp.row, column=None, value=fp.value,
                expected=fp.expected, fix=Msg("csv.changed.fix", fix=fp.fix),
                rule="unreadable_file")]) from None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """The rows; raises :class:`FileProblem` (with the row) for bytes that do not decode,
        a cell over the size limit or a row that does not split into cells."""
        saved = csv.field_size_limit()
        n = 0
        try:
            csv.field_size_limit(self.cell_size)
            with self.path.open("rb") as fh, \
                    io.TextIOWrapper(fh, encoding=self.codec, errors="strict", newline="") as text:
                for n, row in enumerate(csv.reader(text, delimiter=self.delimiter), start=1):
                    yield n, row
        except csv.Error as err:
            raise _csv_problem(err, n + 1, self.cell_size) from None
        except UnicodeDecodeError:
            raise _Undecodable(Msg("csv.codec.expected", name=_NAMES[self.codec]),
                               Msg("csv.codec.fix", row=n + 1, name=_NAMES[self.codec],
                                   save_as=_SAVE_AS), row=n + 1) from None
        except OSError as err:
            raise _os_problem(err) from None
        finally:
            csv.field_size_limit(saved)

    def check(self) -> CsvRows:
        """Read every row once, keeping none (the first pass); the same rows with their count."""
        return replace(self, records=sum(1 for _ in self.rows()))


def _csv_problem(err: csv.Error, row: int, cell_size: int) -> FileProblem:
    if "field larger than field limit" in str(err):
        return FileProblem(Msg("csv.cell.expected", n=cell_size),
                           Msg("csv.cell.fix", n=cell_size, env=ENV["cell_size"]), row=row)
    return FileProblem(Msg("csv.split.expected"),
                       Msg("csv.split.fix", err=str(err), save_as=_SAVE_AS), row=row)


def _os_problem(err: OSError) -> FileProblem:
    return FileProblem(Msg("csv.os.expected"),
                       Msg("csv.os.fix", etype=type(err).__name__, reason=str(err.strerror or err)))


def _blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            yield block


def read_csv_grid(path: Path, lim: Limits | None = None) -> tuple[Sheet, str]:
    """The grid of one CSV file (its rows a :class:`CsvRows` stream) and the encoding it is
    read in.

    The delimiter is the one of ``,``, tab and ``;`` that occurs most often in the first line.
    Every row is read once here (decoding, splitting into cells), so that a problem with the
    file is found before it is parsed.

    Raises
    ------
    FileProblem
        The file is above the size limit, empty, binary, a renamed workbook, does not decode, or
        a row does not split into cells (the row is given where known).
    """
    lim = lim or Limits.from_env()
    try:
        size = path.stat().st_size
        if size > lim.csv_size:
            raise FileProblem(
                Msg("csv.size.expected", limit=size_text(lim.csv_size)),
                Msg("csv.size.fix", size=size_text(size), memory=size_text(5 * size),
                    env=ENV["csv_size"], gb=-(-size // 10**9)), value=size_text(size))
        with path.open("rb") as fh:
            head = fh.read(BLOCK)
        if not any(b.strip(_BLANK) for b in _blocks(path)):
            raise _empty()
    except OSError as err:
        raise _os_problem(err) from None
    failures: dict[str, tuple[int, int]] = {}
    for codec in _codecs(head):
        first = head.decode(codec, errors="replace").split("\n", 1)[0]
        delim = max((",", "\t", ";"), key=first.count)
        try:
            rows = CsvRows(path, codec, delim, lim.cell_size).check()
        except _Undecodable as fp:
            failures[codec] = _first_error(_blocks(path), codec) or (size, fp.row or 1)
            continue
        return Sheet(rows=rows), _NAMES[codec]
    raise _undecodable(failures)
