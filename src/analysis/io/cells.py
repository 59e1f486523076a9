"""Cell parsers: one raw cell (text from a CSV, or a native Excel value) → its parsed value, or
what was expected and how to fix it.

Every parser has the signature ``value -> (parsed, None)`` or ``(None, (expected, fix))`` and never
raises for bad data: the reader turns the pair into a :class:`~analysis.errors.Problem` located in
the user's file. :func:`cell_parser` picks the parser of a column by its
:data:`~analysis.contract.Kind` and adds the column's range check.

* **dates**: ``YYYY-MM-DD``, ``YYYY/M/D``, ``YYYY.M.D``, ``YYYYMMDD``, ``YYYY年M月D日``, Excel
  serial numbers (1900 date system, incl. its fictitious 1900-02-29) and native Excel dates;
  impossible days get the month's length in the fix;
* **quarters**: ``2021Q1``, ``2021-Q1``, ``2021年第1季度``, ``2021年第一季度`` → ``"2021Q1"``;
* **enumerations**: code, Chinese label, synonym or label and code together (``养老 elderly``);
* **numbers**: thousands separators, ``¥``/``元``; shares accept ``23.5%``; whole numbers refuse
  decimals;
* **yes/no**: ``是/否``, ``true/false``, ``1/0``, ``√``;
* **identifiers** stay text (``7.0`` from Excel becomes ``"7"``; leading zeros in text are kept).

Hand-written rather than ``pandas.to_datetime``/``to_numeric``: those coerce silently (day-first
guesses, ``NaT`` without a reason) where the contract needs the reason and the fix for each cell.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..contract import (
    DATE_MAX,
    DATE_MIN,
    Column,
    levels_text,
)
from ..messages import Label, Msg
from .text import lookup, match_key, norm

#: cell texts read as empty (after :func:`~analysis.io.text.norm`)
EMPTY_TOKENS = frozenset({"", "-", "--", "—", "——", "/", "无", "空", "na", "n/a", "nan", "none", "null", "nat"})
#: the largest Excel serial date (9999-12-31)
MAX_SERIAL = 2958465
#: the largest whole number a count may hold (15 digits: every such number is exact as a float,
#: which the panel's sums and means use; a longer one is a slip, e.g. a pasted identifier)
MAX_INT = 10**15 - 1

#: a problem with a cell: (what was expected, how to fix it), messages of :mod:`analysis.messages`
Err = tuple[Msg, Msg]
#: the spellings of dates and quarters the reader accepts, as messages name them
_DATES = Msg("spell.date")
_PERIODS = Msg("spell.period")


def is_empty(v: object) -> bool:
    """A missing cell: nothing, NaN, or one of :data:`EMPTY_TOKENS` (``-``, ``/``, ``无``, ``NA`` …)."""
    if v is None:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    if isinstance(v, str):
        return norm(v) in EMPTY_TOKENS
    return False


def _number_text(v: object) -> str | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        t = unicodedata.normalize("NFKC", v).strip().replace(",", "").replace(" ", "")
        t = t.removeprefix("¥").removesuffix("元")
        return t
    return None


def _whole(x: int) -> tuple[Any, Err | None]:
    if abs(x) > MAX_INT:
        return None, (Msg("cell.int.big.expected"), Msg("cell.int.big.fix"))
    return x, None


def parse_int(v: object) -> tuple[Any, Err | None]:
    if isinstance(v, (float, np.floating)):
        if float(v).is_integer():
            return _whole(int(v))
        return None, (Msg("cell.int.expected"), Msg("cell.int.decimals"))
    t = _number_text(v)
    if t is not None and re.fullmatch(r"[+-]?\d+(\.0*)?", t):
        return _whole(int(t.split(".")[0]))
    if t is not None and re.fullmatch(r"[+-]?\d*\.\d+", t):
        return None, (Msg("cell.int.expected"), Msg("cell.int.decimals"))
    return None, (Msg("cell.int.expected"), Msg("cell.int.digits"))


def parse_float(v: object) -> tuple[Any, Err | None]:
    t = _number_text(v)
    if t is not None:
        try:
            x = float(t)
            if np.isfinite(x):
                return x, None
        except ValueError:
            pass
    return None, (Msg("cell.float.expected"), Msg("cell.float.fix"))


def parse_share(v: object) -> tuple[Any, Err | None]:
    if isinstance(v, str) and v.strip().endswith(("%", "％")):
        x, err = parse_float(v.strip()[:-1])
        return (None, (Msg("cell.share.pct.expected"), Msg("cell.share.fix"))) if err else (x / 100, None)
    x, err = parse_float(v)
    if err:
        return None, (Msg("cell.share.number.expected"), Msg("cell.share.fix"))
    if 1 < x <= 100:
        return None, (Msg("cell.share.range.expected"), Msg("cell.share.range.fix", frac=x / 100, pct=x))
    return x, None


def _date_from_parts(y: int, m: int, d: int, raw: str) -> tuple[Any, Err | None]:
    if not 1 <= y <= 9999:
        return None, (Msg("cell.date.range.expected", lo=f"{DATE_MIN:%Y-%m-%d}",
                          hi=f"{DATE_MAX:%Y-%m-%d}"), Msg("cell.date.year.fix", y=y))
    if not 1 <= m <= 12:
        return None, (Msg("cell.date.real.expected", spellings=_DATES), Msg("cell.date.month.fix", m=m))
    n = calendar.monthrange(y, m)[1]
    if not 1 <= d <= n:
        month = calendar.month_name[m]  # English month names (the C locale's), as before
        return None, (Msg("cell.date.real.expected", spellings=_DATES),
                      Msg("cell.date.day.fix", month=month, m=m, y=y, n=n))
    return pd.Timestamp(y, m, d), None


_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
)


def parse_date(v: object) -> tuple[Any, Err | None]:
    if isinstance(v, dt.datetime):
        return pd.Timestamp(v.year, v.month, v.day), None
    if isinstance(v, dt.date):
        return pd.Timestamp(v), None
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return _serial(float(v), str(v))
    s = unicodedata.normalize("NFKC", str(v)).strip().lower()
    for pat in _DATE_PATTERNS:
        m = pat.fullmatch(s)
        if m:
            return _date_from_parts(int(m[1]), int(m[2]), int(m[3]), s)
    m = re.fullmatch(r"((?:19|20)\d{2})(\d{2})(\d{2})", s)
    if m:
        return _date_from_parts(int(m[1]), int(m[2]), int(m[3]), s)
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return _serial(float(s), s)
    m = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})", s)
    if m:
        return None, (Msg("cell.date.yearfirst.expected", spellings=_DATES),
                      Msg("cell.date.yearfirst.fix", y=m[3], s=s))
    return None, (Msg("cell.date.expected", spellings=_DATES), Msg("cell.date.fix"))


def _serial(x: float, raw: str) -> tuple[Any, Err | None]:
    if not 1 <= x <= MAX_SERIAL:
        return None, (Msg("cell.date.expected", spellings=_DATES), Msg("cell.date.serial.fix"))
    # Excel's 1900 system counts a fictitious 1900-02-29 (serial 60): before it, day 1 = 1900-01-01
    epoch = dt.date(1899, 12, 30) if x >= 61 else dt.date(1899, 12, 31)
    return pd.Timestamp(epoch + dt.timedelta(days=int(x))), None


_ZH_Q = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def parse_period(v: object) -> tuple[Any, Err | None]:
    s = unicodedata.normalize("NFKC", str(v)).strip().upper().replace(" ", "")
    m = re.fullmatch(r"(\d{4})-?Q(\d)", s) or re.fullmatch(r"(\d{4})年第?([一二三四\d])季度?", s)
    if m:
        q = _ZH_Q.get(m[2])
        if q is None:
            return None, (Msg("cell.period.expected", spellings=_PERIODS),
                          Msg("cell.period.q.fix", q=m[2]))
        if not DATE_MIN.year <= int(m[1]) <= DATE_MAX.year:
            return None, (Msg("cell.period.range.expected", lo=DATE_MIN.year, hi=DATE_MAX.year),
                          Msg("cell.period.year.fix", y=m[1], q=q))
        return f"{m[1]}Q{q}", None
    return None, (Msg("cell.period.expected", spellings=_PERIODS), Msg("cell.period.fix"))


def parse_bool(v: object) -> tuple[Any, Err | None]:
    if isinstance(v, bool):
        return v, None
    k = norm(v)
    if k in {"1", "1.0", "true", "yes", "y", "是", "√", "✓", "t"}:
        return True, None
    if k in {"0", "0.0", "false", "no", "n", "否", "f"}:
        return False, None
    return None, (Msg("cell.bool.expected"), Msg("cell.bool.fix"))


def parse_id(v: object) -> tuple[Any, Err | None]:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v)), None
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v)), None
    return unicodedata.normalize("NFKC", str(v)).strip(), None


def parse_code6(v: object) -> tuple[Any, Err | None]:
    s, _ = parse_id(v)
    s = re.sub(r"^(\d{6})\.0+$", r"\1", s)
    if re.fullmatch(r"\d{6}", s):
        return s, None
    return None, (Msg("cell.code6.expected"), Msg("cell.code6.fix"))


def parse_text(v: object) -> tuple[Any, Err | None]:
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d"), None
    if isinstance(v, float) and v.is_integer():
        return str(int(v)), None
    return " ".join(unicodedata.normalize("NFKC", str(v)).split()), None


def enum_table(col: Column) -> dict[str, str]:
    """Every accepted spelling of an enumeration (code, Chinese label, synonyms; normalised by
    :func:`~analysis.io.text.match_key`) → its English code."""
    out: dict[str, str] = {}
    for lv in col.levels:
        for a in (lv.code, lv.label, *lv.synonyms):
            out[match_key(a)] = lv.code
    return out


def enum_display(col: Column) -> list[str]:
    """The dropdown spellings (``养老 elderly``) the template offers; the reader accepts them."""
    return [f"{lv.label} {lv.code}" for lv in col.levels]


def _enum_parser(col: Column) -> Callable[[object], tuple[Any, Err | None]]:
    tbl = enum_table(col)
    choices = sorted(tbl)
    levels = Label("、".join(f"{lv.code}（{lv.label}）" for lv in col.levels), levels_text(col))
    expected = Msg("cell.enum.expected", levels=levels)

    def parse(v: object) -> tuple[Any, Err | None]:
        code = lookup(v, tbl)
        if code is not None:
            return code, None
        close = difflib.get_close_matches(match_key(str(v)), choices, n=1, cutoff=0.6)
        hint = Msg("cell.enum.hint", code=tbl[close[0]], spelling=close[0]) if close else ""
        return None, (expected, Msg("cell.enum.fix", hint=hint))

    return parse


def _range_check(col: Column, x: Any) -> Err | None:
    if col.kind == "date":
        if x < DATE_MIN or x > DATE_MAX:
            return (Msg("cell.date.range.expected", lo=f"{DATE_MIN:%Y-%m-%d}", hi=f"{DATE_MAX:%Y-%m-%d}"),
                    Msg("cell.date.implausible.fix", d=x.date().isoformat()))
        return None
    lo, hi = col.min, col.max
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        if col.kind == "share":
            return None if 0 <= x <= 1 else (Msg("cell.share.range.expected"), Msg("cell.share.correct"))
        if lo is not None and hi is not None:
            exp = Msg("cell.range.expected", lo=lo, hi=hi)
            if col.name.endswith("_score"):
                return exp, Msg("cell.range.score.fix")
            return exp, Msg("cell.range.fix")
        if lo == 0 and x < 0:
            noun = "money" if col.name == "value_rmb" else ("distance" if "distance" in col.name else "count")
            return Msg("cell.range.min0.expected"), Msg("cell.range.negative.fix", noun=Msg(f"noun.{noun}"))
        return (Msg("cell.range.min.expected", lo=lo) if lo is not None
                else Msg("cell.range.max.expected", hi=hi)), Msg("cell.range.fix")
    return None


def cell_parser(col: Column) -> Callable[[object], tuple[Any, Err | None]]:
    """The parser of one column: ``value -> (parsed, None)`` or ``(None, (expected, fix))``."""
    base = {
        "id": parse_id, "code6": parse_code6, "text": parse_text, "int": parse_int,
        "float": parse_float, "share": parse_share, "date": parse_date, "period": parse_period,
        "bool": parse_bool,
    }.get(col.kind) or _enum_parser(col)

    def parse(v: object) -> tuple[Any, Err | None]:
        x, err = base(v)
        if err is None and col.kind in ("int", "float", "share", "date"):
            err = _range_check(col, x)
            if err is not None:
                x = None
        return x, err

    return parse
