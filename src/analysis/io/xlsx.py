"""XLSX workbooks: every sheet as a grid of native cell values, with its merged ranges.

openpyxl's read-only mode is several times faster on large ledgers but does not expose merged
cells, so the ranges are read from the sheet's XML (``<mergeCell ref="A2:A5"/>``) in the same
archive. Merged cells matter: a value merged over several data rows is lost for every row but the
first, so the reader reports each merged range in the data rows.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

from .grid import FileProblem, Sheet


def read_xlsx_grids(path: Path) -> dict[str, Sheet]:
    """Every sheet of a workbook as a grid (sheet title → :class:`Sheet`), with merged ranges.

    Raises :class:`FileProblem` when the file is not a readable ``.xlsx`` workbook.
    """
    import openpyxl
    from openpyxl.utils.cell import range_boundaries

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # read-only mode is several times faster; merged ranges are then read from the XML
            wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
            archive = zipfile.ZipFile(path)
        except Exception as err:  # noqa: BLE001 - any failure means "not a readable workbook"
            raise FileProblem("an Excel workbook (.xlsx)",
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
            out[ws.title] = Sheet(rows=rows, merged=merged)
    finally:
        wb.close()
        archive.close()
    return out
