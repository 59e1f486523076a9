"""Text normalisation shared by the readers: how a header, a sheet name or an enumeration
spelling is matched whatever its width, case, spacing or bilingual form."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any


def norm(s: object) -> str:
    """NFKC (full-width → ASCII), trimmed, lower-case, inner whitespace collapsed."""
    t = unicodedata.normalize("NFKC", str(s)).strip().lower()
    return " ".join(t.split())


def match_key(s: str) -> str:
    """The key spellings are matched by: :func:`norm`, no trailing ``*``, runs of spaces and
    hyphens as one ``_``."""
    t = norm(s).rstrip("*").strip()
    return re.sub(r"[\s\-]+", "_", t)


_SPLIT = re.compile(r"[\n/|,;()\s]+")
_SPLIT_COARSE = re.compile(r"[\n/|,;\s]+")


def lookup(text: object, table: dict[str, str]) -> str | None:
    """Map a header or enumeration spelling through ``table`` (normalised key → canonical).

    Tries the whole text first, then its parts (``机构编号 institution_id``, ``养老 (elderly)``):
    all recognised parts must agree and no part may be unknown.
    """
    k = match_key(str(text))
    if k in table:
        return table[k]
    squeezed = re.sub(r"(?<=[^\x00-\x7f])_|_(?=[^\x00-\x7f])", "", k)  # stray spaces in Chinese
    if squeezed in table:
        return table[squeezed]
    clean = unicodedata.normalize("NFKC", str(text)).strip().rstrip("*")
    for splitter in (_SPLIT_COARSE, _SPLIT):
        parts = [p for p in splitter.split(clean) if p]
        if len(parts) < 2:
            continue
        found = {table.get(match_key(p)) for p in parts}
        if None not in found and len(found) == 1:
            return found.pop()
    return None


def col_letter(i: int) -> str:
    """Spreadsheet column letter of a 0-based column index (0 → ``A``, 26 → ``AA``)."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def is_blank(cells: Iterable[Any]) -> bool:
    """True when every cell is missing or whitespace."""
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)
