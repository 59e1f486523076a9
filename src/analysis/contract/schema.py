"""The contract restated as a pandera schema of the *parsed* tables.

A second, independent statement of the specification's types, ranges, enumerations and keys, for
tables as :func:`analysis.io.read_raw` returns them and ``data/processed/<dataset>/`` stores them.
``build`` applies it to every table it writes, tests apply it to the parsed demo and tiny worlds,
and any module may use it to assert its input. It cannot replace the reader's cell checks and the
rules of :mod:`analysis.contract.rules`: pandera reports DataFrame positions, not the rows, sheets
and header spellings of the user's file.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .spec import DATE_MAX, DATE_MIN, TABLES

#: the dtype pandas gives text: ``object`` on pandas 2, the ``str`` dtype on pandas 3
TEXT_DTYPE = pd.Series(["text"]).dtype


def parsed_schema(table: str) -> Any:
    """A pandera ``DataFrameSchema`` of a *parsed* table (as in ``data/processed/<dataset>/``).

    A second, independent statement of the contract's types, ranges, enumerations and keys, used
    by tests and available to any module that wants to assert its input.
    """
    import pandera.pandas as pa

    spec = TABLES[table]
    cols = {}
    for c in spec.columns:
        checks = []
        nullable = c.nullable or not c.required
        if c.kind in ("id", "code6", "text", "period", "enum"):
            dtype = TEXT_DTYPE
            if c.kind == "enum":
                checks.append(pa.Check.isin(list(c.codes)))
            if c.kind == "code6":
                checks.append(pa.Check.str_matches(r"^\d{6}$"))
            if c.kind == "period":
                checks.append(pa.Check.str_matches(r"^\d{4}Q[1-4]$"))
        elif c.kind == "int":
            dtype = "Int64"
        elif c.kind in ("float", "share"):
            dtype = "float64"
        elif c.kind == "date":
            dtype = "datetime64[ns]"
            checks.append(pa.Check.in_range(DATE_MIN, DATE_MAX))
        else:  # bool
            dtype = bool
            nullable = False
        if c.kind in ("int", "float", "share"):
            if c.min is not None:
                checks.append(pa.Check.ge(c.min))
            if c.max is not None:
                checks.append(pa.Check.le(c.max))
        cols[c.name] = pa.Column(dtype, checks=checks, nullable=nullable)
    return pa.DataFrameSchema(cols, unique=list(spec.key), strict=False)
