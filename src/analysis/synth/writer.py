"""Writing the demo world to CSV files with fixed bytes, and reading those files back.

The columns of every file are the contract's (:data:`analysis.contract.TABLES`): each table's
columns in the contract's order, leaving out only optional columns the world does not fill
(:func:`contract_columns`). Every value is written with a fixed format — dates ``YYYY-MM-DD``,
whole numbers as digits, real numbers with the number of decimals of :data:`FLOAT_FORMATS` — and
``TRUTH.json`` as indented JSON in insertion order, so regenerating from the same seed gives the
same bytes (``tests/test_synth.py`` compares the committed ``data/raw/demo`` byte for byte).
Text that a spreadsheet program would read as a formula gets the ``'`` guard of
:func:`analysis.io.inert.csv_cell` (the demo's names never need it; the readers remove it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..contract import TABLE_NAMES, TABLES
from ..contract.schema import TEXT_DTYPE
from ..io.inert import csv_cell, csv_uncell

#: decimals of every real-number column the demo world writes (byte-identical regeneration)
FLOAT_FORMATS = {
    ("counties", "elderly_share"): "{:.4f}",
    ("counties", "rural_share"): "{:.4f}",
    ("institutions", "distance_km"): "{:.1f}",
    ("activities", "value_rmb"): "{:.2f}",
    ("assessments", "environment_score"): "{:.1f}",
    ("assessments", "service_score"): "{:.1f}",
    ("assessments", "happiness_score"): "{:.1f}",
}

README_TEXT = """# Demo data (synthetic)

**Every row in this folder is synthetic.** The institutions, helper units, pairings, activities,
problems and assessments are invented by `pairing-eval synth --out data/raw/demo --seed {seed}`;
only the 11 county codes and names of Leshan are real. Totals are calibrated to the published
figures of Leshan's "一老一小" paired-assistance programme, and the assessments carry planted
effects documented in `TRUTH.json` and `docs/demo_world.md`. Do not cite any number from this
folder as a fact about a real institution, department or county.

Files: counties.csv, institutions.csv, units.csv, pairings.csv, activities.csv, problems.csv,
assessments.csv (canonical English headers, UTF-8), TRUTH.json.
"""


def contract_columns(table: str, columns: Iterable[str]) -> list[str]:
    """The contract's columns of ``table`` that ``columns`` holds, in the contract's order.

    Raises ``ValueError`` when ``columns`` lacks a required column or holds one the contract does
    not know: the demo world writes the contract's tables, nothing else.
    """
    spec = TABLES[table]
    have = set(columns)
    unknown = sorted(have - set(spec.names))
    missing = [c.name for c in spec.columns if c.required and c.name not in have]
    if unknown or missing:
        raise ValueError(f"the demo table {table} does not match the contract: "
                         f"unknown columns {unknown}, missing required columns {missing}")
    return [c for c in spec.names if c in have]


#: contract kinds held as text after parsing (ids, county codes, free text, periods, enumerations)
TEXT_KINDS = ("id", "code6", "text", "period", "enum")


def parsed_types(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its text and date columns in the types :func:`analysis.io.read_raw` gives them.

    Text columns take the dtype pandas gives text (:data:`analysis.contract.schema.TEXT_DTYPE`:
    ``object`` on pandas 2, ``str`` on pandas 3, whose missing value is NaN) and dates
    ``datetime64[ns]`` (pandas 3 parses and builds dates in microseconds unless told).
    """
    spec = TABLES[table]
    out = df.copy()
    for col in out.columns:
        kind = spec.column(col).kind
        if kind in TEXT_KINDS:
            out[col] = out[col].astype(TEXT_DTYPE)
        elif kind == "date":
            out[col] = out[col].astype("datetime64[ns]")
    return out


def format_table(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Every cell of one table as the text written to its CSV file."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        fmt = FLOAT_FORMATS.get((name, col))
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.dt.strftime("%Y-%m-%d").fillna("")
        elif fmt is not None:
            out[col] = [("" if pd.isna(v) else fmt.format(float(v))) for v in s]
        elif pd.api.types.is_integer_dtype(s):
            out[col] = [("" if pd.isna(v) else str(int(v))) for v in s]
        elif pd.api.types.is_float_dtype(s):
            raise TypeError(f"{name}.{col} is a float column without a fixed format")
        else:  # text: inert (a name such as =1+1 is not a formula when the CSV is opened)
            out[col] = [
                ("" if v is None or (isinstance(v, float) and np.isnan(v)) else csv_cell(str(v)))
                for v in s
            ]
    return out


def write_tables(out: Path, tables: dict[str, pd.DataFrame], truth: dict[str, Any],
                 seed: int) -> list[Path]:
    """Write ``<table>.csv`` for every table of the contract, ``TRUTH.json`` and ``README.md``
    into ``out`` (which must exist); returns the files in that order."""
    written: list[Path] = []
    for name in TABLE_NAMES:
        df = tables[name]
        f = out / f"{name}.csv"
        text = format_table(name, df[contract_columns(name, df.columns)]).to_csv(
            index=False, lineterminator="\n")
        f.write_bytes(text.encode("utf-8"))
        written.append(f)
    f = out / "TRUTH.json"
    f.write_bytes((json.dumps(truth, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    written.append(f)
    f = out / "README.md"
    f.write_bytes(README_TEXT.format(seed=seed).encode("utf-8"))
    written.append(f)
    return written


def read_demo_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """Read back exactly what :func:`~analysis.synth.write_demo` wrote, with the parsed types of
    :func:`~analysis.synth.generate` (each column typed by its kind in the contract).

    Only for the generator's own canonical files (English headers, UTF-8, ISO dates); ledgers
    from users go through :func:`analysis.io.read_raw`, which handles aliases and encodings.
    """
    folder = Path(folder)
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLE_NAMES:
        spec = TABLES[name]
        df = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8")
        for col in df.columns:
            s = df[col].replace("", None)
            kind = spec.column(col).kind
            if kind == "date":
                df[col] = pd.to_datetime(s, format="%Y-%m-%d")
            elif kind in ("float", "share"):
                df[col] = pd.to_numeric(s).astype("float64")
            elif kind == "int":
                df[col] = pd.array(pd.to_numeric(s), dtype="Int64")
            else:
                df[col] = s.map(csv_uncell, na_action="ignore")
        tables[name] = parsed_types(name, df)
    return tables
