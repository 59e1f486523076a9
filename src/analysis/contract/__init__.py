"""The raw data contract (v1): what a researcher's ledgers must look like, and the checks on them.

* :mod:`~analysis.contract.spec` — the **specification** as data (:data:`TABLES`): canonical
  columns, Chinese header names and aliases, column kinds, enumerations with Chinese labels,
  ranges, primary and foreign keys, date order;
* :mod:`~analysis.contract.rules` — the **rules** that need whole tables (:func:`check`: non-empty
  tables, template example rows, unique keys, foreign keys, date order, residents ≤ beds, the note
  on activities outside pairings) and :func:`validate`, which raises one
  :class:`~analysis.errors.DataContractError` listing every problem (the cell-level ones the
  reader found, see :mod:`analysis.io`, and the table-level ones);
* :mod:`~analysis.contract.schema` — :func:`parsed_schema`, the same contract as a pandera schema
  of the *parsed* tables;
* :mod:`~analysis.contract.markdown` — :func:`render_markdown`, which generates
  ``docs/data_contract.md`` (a test keeps the two equal).

Why the checks are not pandera's: the contract must locate every problem *as the user sees their
file* (row numbers after blank and title rows, Excel sheet names, the user's own header spelling,
merged cells) and attach a concrete fix ("February 2023 has 28 days"). Parsing bilingual
enumerations, Excel serial dates and Chinese quarter spellings has to happen cell by cell before any
schema can be applied, so the cell checks live in the reader, which keeps the raw value and its
position; the cross-table rules are a few vectorised pandas operations. pandera states the contract
a second, independent time in :func:`parsed_schema`.
"""

from __future__ import annotations

from .markdown import render_markdown
from .rules import (
    CONTROL_CHARACTERS,
    Findings,
    RawTables,
    activities_outside_pairings,
    character_name,
    check,
    control_character,
    strip_control_characters,
    validate,
)
from .schema import parsed_schema
from .spec import (
    ACTIVITY_CATEGORY,
    AREA,
    CONTRACT_VERSION,
    COUNTY_KIND,
    DATE_MAX,
    DATE_MIN,
    DATE_SPELLINGS,
    EXAMPLE_MARK,
    INSTITUTION_KIND,
    KIND_TEXT,
    OPERATOR,
    PAIRING_REASON,
    PERIOD_SPELLINGS,
    PROBLEM_CATEGORY,
    SECTOR,
    TABLE_NAMES,
    TABLES,
    UNIT_LEVEL,
    Column,
    DateOrder,
    Kind,
    Level,
    Table,
    header_names,
    levels_text,
)

__all__ = [
    "ACTIVITY_CATEGORY", "AREA", "CONTRACT_VERSION", "CONTROL_CHARACTERS", "COUNTY_KIND",
    "DATE_MAX", "DATE_MIN", "DATE_SPELLINGS", "EXAMPLE_MARK", "INSTITUTION_KIND", "KIND_TEXT", "OPERATOR",
    "PAIRING_REASON", "PERIOD_SPELLINGS", "PROBLEM_CATEGORY", "SECTOR", "TABLE_NAMES", "TABLES",
    "UNIT_LEVEL", "Column", "DateOrder", "Findings", "Kind", "Level", "RawTables", "Table",
    "activities_outside_pairings", "character_name", "check", "control_character",
    "header_names", "levels_text", "parsed_schema",
    "render_markdown", "strip_control_characters", "validate",
]
