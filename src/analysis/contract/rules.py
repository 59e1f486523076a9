"""The contract's rules on whole tables, and :func:`validate`, which reports every problem at once.

The reader (:mod:`analysis.io`) checks single cells while it parses them (types, enumerations,
ranges, empty required cells, and :func:`control_character`: no cell, header or title row may hold
a control character — see :data:`CONTROL_CHARACTERS`). The rules here need whole tables or several
of them, and each reads what it checks from the specification (:mod:`analysis.contract.spec`):

* every table that may not be empty has a data row;
* no left-over example rows of the template (identifiers, or the county name, start with
  :data:`~analysis.contract.spec.EXAMPLE_MARK`);
* primary keys are unique;
* foreign keys point at listed rows (with a "did you mean" hint);
* date order (each table's :class:`~analysis.contract.spec.DateOrder`);
* residents ≤ beds unless the assessment row is flagged ``over_capacity_flag``;
* a *note*, not an error, for activities by a unit outside its pairings with that institution.

Every problem is located as the user sees their file (file, sheet, row, the user's own header
spelling), which is why these are a few vectorised pandas operations rather than a schema library:
a schema's failure cases carry positions in a DataFrame, not rows of the user's file. The pandera
statement of the same contract on *parsed* tables is :func:`analysis.contract.schema.parsed_schema`.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..errors import DataContractError, Problem
from ..hierarchy import prefecture_code, province_code
from ..messages import Label, Msg, joined
from .spec import EXAMPLE_MARK, TABLES

#: characters no cell of a raw file may hold: the C0 controls except tab, line feed and carriage
#: return (which a quoted CSV cell or an Excel cell may hold), DEL and the C1 controls, and the
#: invisible bidirectional controls (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069) that
#: change the order in which text is displayed: a name holding U+202E shows reversed in a report,
#: and an identifier holding any of them matches no other row while looking identical. NUL is
#: one of them wherever it is in a file.
CONTROL_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

#: names of the C0 controls and DEL (``unicodedata`` has none for them)
_C0_NAMES = (
    "NULL", "START OF HEADING", "START OF TEXT", "END OF TEXT", "END OF TRANSMISSION", "ENQUIRY",
    "ACKNOWLEDGE", "BELL", "BACKSPACE", "CHARACTER TABULATION", "LINE FEED", "LINE TABULATION",
    "FORM FEED", "CARRIAGE RETURN", "SHIFT OUT", "SHIFT IN", "DATA LINK ESCAPE",
    "DEVICE CONTROL ONE", "DEVICE CONTROL TWO", "DEVICE CONTROL THREE", "DEVICE CONTROL FOUR",
    "NEGATIVE ACKNOWLEDGE", "SYNCHRONOUS IDLE", "END OF TRANSMISSION BLOCK", "CANCEL",
    "END OF MEDIUM", "SUBSTITUTE", "ESCAPE", "INFORMATION SEPARATOR FOUR",
    "INFORMATION SEPARATOR THREE", "INFORMATION SEPARATOR TWO", "INFORMATION SEPARATOR ONE",
)
#: the cell text shown around a control character (the value of the problem)
_EXCERPT = 40


def character_name(ch: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: a character's code point and Unicode name."""
    o = ord(ch)
    if o < 0x20:
        name = _C0_NAMES[o]
    elif o == 0x7F:
        name = "DELETE"
    elif 0x80 <= o <= 0x9F:
        name = "a C1 control character"
    else:
        name = unicodedata.name(ch, "an unnamed character")
    return f"U+{o:04X} {name}"


def control_character(text: str) -> tuple[str, str, str] | None:
    """The contract's rule on control characters for one cell's text: ``None`` when ``text``
    holds none of :data:`CONTROL_CHARACTERS`, else ``(excerpt, expected, fix)`` — the text around
    the first one (shown escaped in the message), what was expected and how to remove it (messages
    of :mod:`analysis.messages`), naming the character by code point and name."""
    m = CONTROL_CHARACTERS.search(text)
    if m is None:
        return None
    i = m.start()
    ch = text[i]
    where = Msg("rules.where_char", i=i + 1)
    lo = max(0, i - _EXCERPT // 2)
    excerpt = ("…" if lo else "") + text[lo:lo + _EXCERPT] + ("…" if lo + _EXCERPT < len(text) else "")
    expected = Msg("rules.control.expected")
    if ch == "\x00":
        kind = "nul"
    elif ch in "\u061c\u200e\u200f" or "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069":
        kind = "bidi"
    else:
        kind = "other"
    return excerpt, expected, Msg(f"rules.control.{kind}", where=where, char=character_name(ch))


def strip_control_characters(text: str) -> str:
    """``text`` without :data:`CONTROL_CHARACTERS` (to match a header once its problem is
    reported)."""
    return CONTROL_CHARACTERS.sub("", text)


class RawTables(Protocol):
    """What the rules read of :class:`analysis.io.RawData` (the reader sits above the contract,
    so it is named here by the attributes used, not imported)."""

    tables: dict[str, pd.DataFrame]
    rows: dict[str, np.ndarray]
    sources: dict[str, Any]
    problems: list[Problem]
    notes: list[str]
    failed: set[str]

    @property
    def root_name(self) -> str: ...


@dataclass
class Findings:
    """What :func:`check` found: errors (:class:`Problem`) and notes (warnings, text)."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


Locate = Callable[[int | None, str | None, object, str, str], Problem]


def _locator(raw: RawTables, table: str) -> Locate:
    """A function ``(position, column, value, expected, fix) -> Problem`` for one table."""
    src = raw.sources[table]
    rows = raw.rows[table]

    def make(pos: int | None, column: str | None, value: object, expected: str, fix: str) -> Problem:
        col = src.display_column(column) if column else None
        row = int(rows[pos]) if pos is not None else None
        return Problem(file=src.file, sheet=src.sheet, row=row, column=col, value=value,
                       expected=expected, fix=fix, table=table)

    return make


def _fmt(v: object) -> object:
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


# --------------------------------------------------------------------------------------------
# one function per rule; each appends to ``out``
# --------------------------------------------------------------------------------------------
def _non_empty(raw: RawTables, present: list[str], out: Findings) -> None:
    for name in present:
        spec = TABLES[name]
        if len(raw.tables[name]) > 0:
            continue
        src = raw.sources[name]
        if spec.may_be_empty:
            out.notes.append(Msg("rules.empty.note", where=src.where(), name=name))
        else:
            out.problems.append(Problem(
                file=src.file, sheet=src.sheet, row=None, column=None, value=None, table=name,
                expected=Msg("rules.empty.expected", name=name, zh=spec.zh),
                fix=Msg("rules.empty.fix", name=name)))


def _example_rows(raw: RawTables, present: list[str], out: Findings) -> None:
    for name in present:
        spec, df = TABLES[name], raw.tables[name]
        # identifiers carry the mark; counties have a real 6-digit code, so their name does
        cols = [c.name for c in spec.columns if c.kind == "id" or c.name == "county_name"]
        if len(df) == 0:
            continue
        make = _locator(raw, name)
        marked = np.zeros(len(df), dtype=bool)
        for c in cols:
            marked |= df[c].astype("string").str.startswith(EXAMPLE_MARK).fillna(False).to_numpy(bool)
        for pos in np.flatnonzero(marked):
            col = next(c for c in cols if str(df[c].iat[pos]).startswith(EXAMPLE_MARK))
            out.problems.append(make(pos, col, df[col].iat[pos],
                                     Msg("rules.example.expected"),
                                     Msg("rules.example.fix", mark=EXAMPLE_MARK)))


def _unique_keys(raw: RawTables, present: list[str], out: Findings) -> None:
    for name in present:
        spec, df = TABLES[name], raw.tables[name]
        if len(df) == 0:
            continue
        key = list(spec.key)
        if len(key) == 1:  # one column: its own duplicated() (a frame's hashes the keys twice)
            ok = df[key[0]].notna()
            dup = df[key[0]].duplicated(keep=False) & ok
        else:
            ok = df[key].notna().all(axis=1)
            dup = df[key].duplicated(keep=False) & ok
        if not dup.any():
            continue
        make = _locator(raw, name)
        first_of: dict[tuple, int] = {}
        for pos in np.flatnonzero(dup.to_numpy()):
            k = tuple(df[c].iat[pos] for c in key)
            if k not in first_of:
                first_of[k] = pos
                continue
            first_row = int(raw.rows[name][first_of[k]])
            shown = k[0] if len(k) == 1 else " + ".join(map(str, k))
            what = Label("和".join(key), " and ".join(key))
            out.problems.append(make(
                pos, key[-1] if len(key) > 1 else key[0], shown,
                Msg("rules.unique.expected", what=what),
                Msg("rules.unique.fix", first=first_row, what=what)))


def _foreign_keys(raw: RawTables, present: list[str], out: Findings) -> None:
    for name in present:
        spec, df = TABLES[name], raw.tables[name]
        for col in spec.columns:
            if not col.ref or col.name not in df.columns:
                continue
            parent, pcol = col.ref.split(".")
            if parent not in present or len(raw.tables[parent]) == 0:
                continue  # the parent table itself is broken or empty; that is reported already
            known = set(raw.tables[parent][pcol].dropna())
            vals = df[col.name]
            bad = vals.notna() & ~vals.isin(known)
            if not bad.any():
                continue
            make = _locator(raw, name)
            psrc = raw.sources[parent]
            cand = sorted(map(str, known))
            fix_cache: dict[str, Msg] = {}
            expected = Msg("rules.foreign.expected", pcol=pcol, where=psrc.where())
            for pos in np.flatnonzero(bad.to_numpy()):
                v = vals.iat[pos]
                if v not in fix_cache:
                    close = difflib.get_close_matches(str(v), cand, n=1, cutoff=0.8)
                    hint = Msg("rules.foreign.hint", close=close[0]) if close else ""
                    fix_cache[v] = Msg("rules.foreign.fix", hint=hint, pcol=pcol, value=v,
                                       where=psrc.where())
                out.problems.append(make(pos, col.name, v, expected, fix_cache[v]))


def _date_order(raw: RawTables, present: list[str], out: Findings) -> None:
    for name in present:
        for rule in TABLES[name].date_order:
            start, end = rule.first, rule.then
            df = raw.tables[name]
            bad = df[end].notna() & df[start].notna() & (df[end] < df[start])
            make = _locator(raw, name)
            for pos in np.flatnonzero(bad.to_numpy()):
                s, e = df[start].iat[pos], df[end].iat[pos]
                out.problems.append(make(
                    pos, end, _fmt(e),
                    Msg("rules.order.expected", start=start, first=_fmt(s),
                        verb=Msg(f"verb.{rule.verb}")),
                    Msg("rules.order.fix", end=end, start=start)))


def _residents_within_beds(raw: RawTables, present: list[str], out: Findings) -> None:
    if "assessments" not in present or "institutions" not in present:
        return
    a, inst = raw.tables["assessments"], raw.tables["institutions"]
    beds = a["institution_id"].map(
        inst.dropna(subset=["institution_id"]).drop_duplicates("institution_id")
        .set_index("institution_id")["beds"])
    flag = a["over_capacity_flag"].fillna(False).astype(bool)
    over = (a["residents"] > beds).fillna(False).astype(bool) & ~flag
    make = _locator(raw, "assessments")
    for pos in np.flatnonzero(over.to_numpy()):
        out.problems.append(make(
            pos, "residents", _fmt(a["residents"].iat[pos]),
            Msg("rules.beds.expected", beds=int(beds.iat[pos])), Msg("rules.beds.fix")))


def _hierarchy_codes(raw: RawTables, present: list[str], out: Findings) -> None:
    """``prefecture_code`` and ``province_code``, where a row gives them, are the county code's
    first four digits and ``00`` / first two and ``0000`` (GB/T 2260; :mod:`analysis.hierarchy`)."""
    if "counties" not in present:
        return
    c = raw.tables["counties"]
    code = c["county_code"]
    make = _locator(raw, "counties")
    for col, derive, level in (("prefecture_code", prefecture_code, "prefecture"),
                               ("province_code", province_code, "province")):
        if col not in c.columns:
            continue
        given = c[col]
        for pos in np.flatnonzero((given.notna() & code.notna()).to_numpy()):
            want = derive(str(code.iat[pos]))
            if str(given.iat[pos]) != want:
                out.problems.append(make(
                    pos, col, _fmt(given.iat[pos]),
                    Msg(f"rules.hierarchy.{level}.expected", want=want, code=code.iat[pos]),
                    Msg("rules.hierarchy.fix", col=col, want=want)))


#: activities matched against the pairings at a time (the match, a merge, is held for one chunk)
MATCH_CHUNK = 250_000


def activities_outside_pairings(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Activities by a unit at an institution on a day no pairing of that unit with that
    institution covers: positions (``pos``) in ``tables["activities"]`` and ``never`` (True when
    the unit was never paired with that institution at all). The activities are matched in
    chunks of :data:`MATCH_CHUNK`, so that memory stays bounded on large ledgers."""
    act, pair = tables["activities"], tables["pairings"]
    p = pair.loc[pair["start_date"].notna(), ["unit_id", "institution_id", "start_date", "end_date"]]
    found = []
    for lo in range(0, len(act), MATCH_CHUNK):
        part = act.iloc[lo:lo + MATCH_CHUNK]
        a = part.loc[part["unit_id"].notna() & part["date"].notna(),
                     ["unit_id", "institution_id", "date"]]
        if len(a) == 0:
            continue
        m = a.reset_index(names="_pos").merge(p, on=["unit_id", "institution_id"], how="left")
        cover = (m["date"] >= m["start_date"]) & (m["end_date"].isna() | (m["date"] <= m["end_date"]))
        m["cover"] = cover.fillna(False).astype(bool)
        m["ever"] = m["start_date"].notna()
        g = m.groupby("_pos").agg(cover=("cover", "any"), ever=("ever", "any"))
        g = g[~g["cover"]]
        found.append(pd.DataFrame({"pos": g.index.to_numpy(dtype=int),
                                   "never": ~g["ever"].to_numpy(bool)}))
    if not found:
        return pd.DataFrame({"pos": pd.Series(dtype=int), "never": pd.Series(dtype=bool)})
    return pd.concat(found, ignore_index=True)


def _activities_outside_pairings(raw: RawTables, present: list[str], out: Findings) -> None:
    if "activities" not in present or "pairings" not in present:
        return
    found = activities_outside_pairings(raw.tables)
    src = raw.sources["activities"]
    rows = raw.rows["activities"]
    for never, what in ((True, Msg("rules.outside.never")), (False, Msg("rules.outside.date"))):
        pos = found.loc[found["never"] == never, "pos"].to_numpy()
        if len(pos) == 0:
            continue
        shown = ", ".join(str(int(rows[p])) for p in pos[:10]) + (" …" if len(pos) > 10 else "")
        out.notes.append(Msg("rules.outside.note", where=src.where(), n=len(pos),
                             ies="y" if len(pos) == 1 else "ies", what=what, rows=shown))


#: the rules in the order they run (problems of one row keep this order in the report)
RULES: tuple[Callable[[RawTables, list[str], Findings], None], ...] = (
    _non_empty, _example_rows, _unique_keys, _hierarchy_codes, _foreign_keys, _date_order, _residents_within_beds,
    _activities_outside_pairings,
)


def check(raw: RawTables) -> Findings:
    """Table-level and cross-table rules on parsed tables.

    Parameters
    ----------
    raw : analysis.io.RawData
        The parsed tables with their row numbers and sources; rules on the tables listed in
        ``raw.failed`` (that could not be read at all) are skipped.

    Returns
    -------
    Findings
        The problems (errors) and notes (warnings) found.
    """
    out = Findings()
    present = [t for t in TABLES if t in raw.tables and t not in raw.failed]
    for rule in RULES:
        start = len(out.problems)
        rule(raw, present, out)
        name = rule.__name__.lstrip("_")  # each problem names the rule that found it
        out.problems[start:] = [replace(p, rule=p.rule or name) for p in out.problems[start:]]
    return out


def _sort_key(p: Problem) -> tuple:
    order = {t.file_name: i for i, t in enumerate(TABLES.values())}
    by_table = {t.name: i for i, t in enumerate(TABLES.values())}
    rank = by_table.get(p.table) if p.table is not None and p.sheet is None else None
    if rank is None:  # a workbook's sheets, or a problem of no table: by file name
        rank = order.get(p.file, len(order))
    return (rank, p.file, p.sheet or "", -1 if p.row is None else p.row)


def validate(raw: RawTables) -> list[str]:
    """Raise :class:`DataContractError` listing **every** problem; else return the notes (warnings).

    The problems are those the reader found in single cells (``raw.problems``) and the table-level
    ones of :func:`check`, ordered by file and row.
    """
    found = check(raw)
    problems = sorted(list(raw.problems) + found.problems, key=_sort_key)
    if problems:
        per_file: dict[tuple[str, str | None], int] = {}
        for p in problems:
            per_file[p.file, p.sheet] = per_file.get((p.file, p.sheet), 0) + 1
        counts = [Msg("rules.validate.file_count", n=v,
                      file=Msg("loc.source", file=f, sheet=sh) if sh else f)
                  for (f, sh), v in per_file.items()]
        files = Label(joined(counts, "zh"), joined(counts, "en"))
        raise DataContractError(
            problems,
            header=Msg("rules.validate.header", root=raw.root_name, n=len(problems), files=files),
        )
    return list(raw.notes) + found.notes
