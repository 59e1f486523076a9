"""XLSX workbooks: every sheet as a grid of native cell values, with its merged ranges, after the
workbook has been measured.

An ``.xlsx`` file is a zip archive of XML parts, and XML compresses well: a few megabytes can
inflate to gigabytes (a "zip bomb"), and a sheet's values are held in memory once read. So the
archive's directory is read first (:meth:`zipfile.ZipFile.infolist`: each part's declared size and
compressed size; :mod:`zipfile` never inflates a part beyond its declared size) and the workbook is
refused, before any part is inflated, when a large part is compressed more than a workbook
saved by Excel or WPS ever is, when one part or all of them inflate above the limits
(:mod:`analysis.io.limits`). The advice names the sheet and says how to split the workbook.

openpyxl's read-only mode is several times faster on large ledgers but does not expose merged
cells, so the ranges are read from the sheet's XML (``<mergeCell ref="A2:A5"/>``) in the same
archive, streamed. Merged cells matter: a value merged over several data rows is lost for every
row but the first, so the reader reports each merged range in the data rows.
"""

from __future__ import annotations

import html
import posixpath
import re
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import SpecificationError
from ..messages import Label, Msg, joined
from .grid import FileProblem, Sheet
from .limits import ENV, RATIO_FLOOR, Limits, size_text

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z0-9:$]+)"')
_ATTR = re.compile(r'([\w:]+)\s*=\s*"([^"]*)"')
#: parts of the workbook read to name sheets in messages are at most this large
_SMALL = 10 * 1024 * 1024


def _split(lim: Limits) -> Msg:
    """How to split a workbook too large to read."""
    return Msg("xlsx.split", limit=size_text(lim.csv_size))


def _tags(xml: str, tag: str) -> Iterator[dict[str, str]]:
    """The attributes of every ``<tag …>`` (any namespace prefix) in a small XML text."""
    for m in re.finditer(rf"<(?:\w+:)?{tag}\b([^>]*)>", xml):
        yield {k.split(":")[-1]: html.unescape(v) for k, v in _ATTR.findall(m[1])}


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Part name (``xl/worksheets/sheet1.xml``) → sheet title, read from the workbook's small
    index parts; empty when they are missing, large or unreadable (the messages then name the
    part)."""
    try:
        infos = {i.filename: i for i in archive.infolist()}
        book, rels = infos.get("xl/workbook.xml"), infos.get("xl/_rels/workbook.xml.rels")
        if book is None or rels is None or max(book.file_size, rels.file_size) > _SMALL:
            return {}
        targets = {}
        for a in _tags(archive.read(rels).decode("utf-8", "replace"), "Relationship"):
            t = a.get("Target", "")
            targets[a.get("Id")] = t.lstrip("/") if t.startswith("/") else posixpath.normpath(
                posixpath.join("xl", t))
        return {targets[a["id"]]: a.get("name", "") for a in
                _tags(archive.read(book).decode("utf-8", "replace"), "sheet")
                if a.get("id") in targets}
    except Exception:  # noqa: BLE001 - names only improve a message; the checks do not need them
        return {}


def check_archive(archive: zipfile.ZipFile, lim: Limits) -> None:
    """Refuse a workbook whose parts would inflate beyond the limits, before inflating any.

    Raises
    ------
    FileProblem
        A part larger than :data:`~analysis.io.limits.RATIO_FLOOR` is compressed more than
        ``lim.xlsx_ratio`` to 1 (a zip bomb), a part inflates above ``lim.xlsx_entry``, or all
        parts together above ``lim.xlsx_size``.
    """
    infos = archive.infolist()
    names: dict[str, str] | None = None

    def part(name: str) -> Msg:
        nonlocal names
        if names is None:
            names = sheet_parts(archive)
        return (Msg("xlsx.part.sheet", title=names[name], name=name) if name in names
                else Msg("xlsx.part.other", name=name))

    for i in infos:
        ratio = i.file_size / max(i.compress_size, 1)
        if i.file_size > RATIO_FLOOR and ratio > lim.xlsx_ratio:
            raise FileProblem(
                Msg("xlsx.ratio.expected", ratio=lim.xlsx_ratio),
                Msg("xlsx.ratio.fix", part=part(i.filename), packed=size_text(i.compress_size),
                    size=size_text(i.file_size), r=ratio, env=ENV["xlsx_ratio"]))
    for i in infos:
        if i.file_size > lim.xlsx_entry:
            raise FileProblem(
                Msg("xlsx.entry.expected", limit=size_text(lim.xlsx_entry)),
                Msg("xlsx.entry.fix", part=part(i.filename), size=size_text(i.file_size),
                    split=_split(lim), env=ENV["xlsx_entry"]))
    total = sum(i.file_size for i in infos)
    if total > lim.xlsx_size:
        largest = sorted(infos, key=lambda i: -i.file_size)[:3]
        parts = [Msg("xlsx.part_size", part=part(i.filename), size=size_text(i.file_size))
                 for i in largest]
        shown = Label(joined(parts, "zh"), joined(parts, "en"))
        raise FileProblem(
            Msg("xlsx.total.expected", limit=size_text(lim.xlsx_size)),
            Msg("xlsx.total.fix", size=size_text(total), shown=shown, split=_split(lim),
                env=ENV["xlsx_size"]))


def _merge_refs(archive: zipfile.ZipFile, name: str) -> list[str]:
    """Every ``<mergeCell ref="…">`` of a sheet's XML, read in blocks (never the part whole)."""
    refs: list[str] = []
    tail = b""
    with archive.open(name) as fh:
        while block := fh.read(1 << 20):
            buf = tail + block
            last = 0
            for m in _MERGE.finditer(buf):
                refs.append(m[1].decode())
                last = m.end()
            # keep an unfinished tag for the next block, never one already matched
            tail = buf[max(last, len(buf) - 256):]
    return refs


def read_xlsx_grids(path: Path, lim: Limits | None = None) -> dict[str, Sheet]:
    """Every sheet of a workbook as a grid (sheet title → :class:`Sheet`), with merged ranges.

    Raises :class:`FileProblem` when the file is not a readable ``.xlsx`` workbook or inflates
    beyond the limits (:func:`check_archive`).
    """
    import openpyxl
    from openpyxl.utils.cell import range_boundaries

    try:
        lim = lim or Limits.from_env()
    except SpecificationError as err:
        raise FileProblem(Msg("xlsx.limits.expected"), err.args[0] if err.args else str(err)) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            archive = zipfile.ZipFile(path)
        except Exception as err:  # noqa: BLE001 - any failure means "not a readable workbook"
            raise FileProblem(Msg("xlsx.open.expected"),
                              Msg("xlsx.open.fix", err=type(err).__name__)) from None
        try:
            check_archive(archive, lim)
            # read-only mode is several times faster; merged ranges are then read from the XML
            wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
        except FileProblem:
            archive.close()
            raise
        except Exception as err:  # noqa: BLE001 - any failure means "not a readable workbook"
            archive.close()
            raise FileProblem(Msg("xlsx.open.expected"),
                              Msg("xlsx.open.fix", err=type(err).__name__)) from None
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
                refs = _merge_refs(archive, xml_path.lstrip("/"))
            for ref in refs:
                c1, r1, c2, r2 = range_boundaries(ref)
                merged.append((r1, r2, c1 - 1, c2 - 1, ref))
            out[ws.title] = Sheet(rows=rows, merged=merged)
    finally:
        wb.close()
        archive.close()
    return out
