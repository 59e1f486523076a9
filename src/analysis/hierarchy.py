"""Administrative levels: county → prefecture → province → nation, from the GB/T 2260 code.

A county-level division's 6-digit code (GB/T 2260-2007, "Codes for the administrative divisions
of the People's Republic of China") holds its parents: the first two digits name the province
(``51`` + ``0000`` = 510000, Sichuan), the first four the prefecture (``5111`` + ``00`` = 511100,
Leshan). A dataset may hold one county, one prefecture (Leshan), a province or the nation;
:func:`level_of` says which. The counties table may also carry the parents explicitly
(``prefecture_code``, ``province_code`` and names, all optional); where given they must agree with
the code (the contract rule ``hierarchy_codes``), so the code is the one source of the mapping.

Inference always clusters at the county; results are *summarised* at the levels above it
(:func:`analysis.describe.levels.summarise_by_level`). This module only names levels and maps
codes; it imports nothing of the package.
"""

from __future__ import annotations

from typing import Literal, get_args

import pandas as pd

#: the levels a dataset or a summary can have, from the smallest up
AdminLevel = Literal["county", "prefecture", "province", "nation"]
LEVELS: tuple[str, ...] = get_args(AdminLevel)
#: the levels a county-level result can be summarised at (``county`` itself included)
SUMMARY_LEVELS: tuple[str, ...] = LEVELS
#: the code column of each level in :func:`hierarchy`'s table (the nation has one row, no code)
CODE_COLUMN: dict[str, str] = {"county": "county_code", "prefecture": "prefecture_code",
                               "province": "province_code"}
#: the code written for the nation (GB/T 2260 has none; used as the key of the one national row)
NATION_CODE = "000000"


def prefecture_code(county_code: str) -> str:
    """The prefecture of a 6-digit county code: its first four digits and ``00``."""
    return f"{str(county_code)[:4]}00"


def province_code(county_code: str) -> str:
    """The province of a 6-digit county code: its first two digits and ``0000``."""
    return f"{str(county_code)[:2]}0000"


def hierarchy(counties: pd.DataFrame) -> pd.DataFrame:
    """One row per county: ``county_code``, ``prefecture_code``, ``province_code`` (derived from
    the code) and ``prefecture_name`` / ``province_name`` where the table gives them (else
    missing). A prefecture's or province's name is the first one given among its counties.

    The explicit code columns are not read: the contract checks that they agree with the code
    (a dataset that fails the check is never built), so the derived codes are the same.
    """
    codes = counties["county_code"].astype(str)
    out = pd.DataFrame({
        "county_code": codes.to_numpy(),
        "prefecture_code": codes.str[:4].add("00").to_numpy(),
        "province_code": codes.str[:2].add("0000").to_numpy(),
    })
    for level in ("prefecture", "province"):
        name = f"{level}_name"
        given = (counties[name] if name in counties.columns
                 else pd.Series(pd.NA, index=counties.index, dtype=object))
        key = out[f"{level}_code"]
        first = (pd.DataFrame({"key": key.to_numpy(), "name": given.to_numpy()})
                 .dropna(subset=["name"]).drop_duplicates("key").set_index("key")["name"])
        out[name] = key.map(first).astype(object)
    return out


def level_of(counties: pd.DataFrame | pd.Series) -> AdminLevel:
    """The level a dataset covers: ``county`` (one county), ``prefecture`` (counties of one
    prefecture), ``province`` (several prefectures of one province) or ``nation`` (several
    provinces).

    Parameters
    ----------
    counties : DataFrame or Series
        The counties table (its ``county_code`` column is read) or the county codes themselves.
    """
    codes = counties["county_code"] if isinstance(counties, pd.DataFrame) else counties
    codes = pd.Series(codes, dtype=object).dropna().astype(str).unique()
    if len(codes) == 0:
        raise ValueError("a dataset without counties has no level")
    if len(codes) == 1:
        return "county"
    if len({c[:2] for c in codes}) > 1:
        return "nation"
    if len({c[:4] for c in codes}) > 1:
        return "province"
    return "prefecture"


def levels_above(level: str) -> tuple[str, ...]:
    """The levels a result at ``level`` can be summarised at: itself and every level above."""
    if level not in LEVELS:
        raise ValueError(f"level={level!r}: use one of {', '.join(LEVELS)}")
    return LEVELS[LEVELS.index(level):]


__all__ = ["CODE_COLUMN", "LEVELS", "NATION_CODE", "SUMMARY_LEVELS", "AdminLevel", "hierarchy",
           "level_of", "levels_above", "prefecture_code", "province_code"]
