"""Load what ``pairing-eval build`` wrote: validated tables, the institution-quarter panel, the
manifest and the city-wide results. Notebooks and reports read only through here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import AnalysisError
from .paths import processed_dir
from .results import DataBanner

TABLE_NAMES = (
    "counties",
    "institutions",
    "units",
    "pairings",
    "activities",
    "problems",
    "assessments",
)


class NotBuiltError(AnalysisError):
    """The processed data (or one results file) does not exist yet."""

    exit_code = 2


@dataclass(frozen=True)
class Processed:
    """The processed dataset: ``tables`` (validated raw tables), ``panel`` and ``manifest``."""

    dataset: str
    path: Path
    tables: dict[str, pd.DataFrame] = field(repr=False)
    panel: pd.DataFrame = field(repr=False)
    manifest: dict[str, Any] = field(repr=False)

    @property
    def synthetic(self) -> bool:
        return bool(self.manifest.get("synthetic", False))

    def banner(self) -> DataBanner:
        """The banner a notebook shows first (synthetic data; few counties)."""
        return DataBanner(dataset=self.dataset, synthetic=self.synthetic,
                          n_counties=int(self.tables["counties"]["county_code"].nunique()))

    def has_result(self, name: str) -> bool:
        return (self.path / "results" / f"{name}.parquet").exists()

    def result(self, name: str) -> pd.DataFrame:
        """A city-wide results table, e.g. ``result("reform_aggregate")``."""
        f = self.path / "results" / f"{name}.parquet"
        if not f.exists():
            raise NotBuiltError(
                f"{f} does not exist. Run `pairing-eval build data/raw/{self.dataset}` first."
            )
        return pd.read_parquet(f)

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]


def load_processed(dataset: str = "demo", root: Path | None = None) -> Processed:
    """Load ``data/processed/<dataset>/`` (tables, panel, manifest)."""
    path = processed_dir(dataset, root)
    manifest_file = path / "manifest.json"
    if not manifest_file.exists():
        raise NotBuiltError(
            f"No processed data for dataset {dataset!r} at {path}. "
            f"Run `pairing-eval build data/raw/{dataset}` first."
        )
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    tables = {t: pd.read_parquet(path / f"{t}.parquet") for t in TABLE_NAMES}
    panel = pd.read_parquet(path / "panel.parquet")
    return Processed(dataset=dataset, path=path, tables=tables, panel=panel, manifest=manifest)
