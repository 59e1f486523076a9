"""The demo build's results, pinned: a restructuring must not change a number.

``tests/data/snapshot_demo/`` holds every results file of the demo build (default options) as it
was before the architecture-v2 restructuring. Every results file the build writes today is compared
with it: same files, same columns, same rows in the same order, equal values (floats to a relative
1e-9, so that a newer BLAS cannot fail the test on the last bit).

Intended changes are listed in ``INTENDED`` with the reason; nothing else may differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SNAPSHOT = Path(__file__).resolve().parent / "data" / "snapshot_demo"


@dataclass(frozen=True)
class Renamed:
    """Values of a text column renamed on purpose: the snapshot's values are mapped by ``mapping``
    and must then equal today's, so only the rows holding an old value may differ, and only by
    the rename."""

    mapping: dict[str, str]
    reason: str


#: (file, column) → why it changed on purpose: a reason (the column is not compared) or a
#: :class:`Renamed` (compared after the rename)
INTENDED: dict[tuple[str, str], str | Renamed] = {
    ("effectiveness", "inference"): Renamed(
        {"cluster": "analytic"},
        "one vocabulary: the analytic clustered rows carry the domain name 'analytic' "
        "(analysis.domain.INFERENCE_NAMES)"),
}
#: rows that measure the machine, not the data (file → (column, value) of the rows to drop)
VOLATILE: dict[str, tuple[str, str]] = {"allocation_summary": ("metric", "solve_seconds")}


def _files() -> list[str]:
    return sorted(p.stem for p in SNAPSHOT.glob("*.parquet"))


def test_snapshot_has_every_results_file(demo_root: Path) -> None:
    built = sorted(p.stem for p in (demo_root / "data/processed/demo/results").glob("*.parquet"))
    assert set(_files()) <= set(built), f"results files gone: {set(_files()) - set(built)}"


@pytest.mark.parametrize("stem", _files())
def test_results_equal_snapshot(demo_root: Path, stem: str) -> None:
    before = pd.read_parquet(SNAPSHOT / f"{stem}.parquet")
    after = pd.read_parquet(demo_root / "data/processed/demo/results" / f"{stem}.parquet")
    if stem in VOLATILE:
        col, value = VOLATILE[stem]
        before, after = before[before[col] != value], after[after[col] != value]
    assert len(after) == len(before), f"{stem}: {len(before)} rows before, {len(after)} now"
    missing = [c for c in before.columns if c not in after.columns]
    assert not missing, f"{stem}: columns gone {missing}"
    for col in before.columns:
        intended = INTENDED.get((stem, col))
        if isinstance(intended, str):
            continue
        a, b = after[col].reset_index(drop=True), before[col].reset_index(drop=True)
        if isinstance(intended, Renamed):
            b = b.replace(intended.mapping)
        if pd.api.types.is_float_dtype(b) or pd.api.types.is_float_dtype(a):
            av = pd.to_numeric(a, errors="coerce").to_numpy(dtype=float)
            bv = pd.to_numeric(b, errors="coerce").to_numpy(dtype=float)
            assert np.array_equal(np.isnan(av), np.isnan(bv)), f"{stem}.{col}: missing values differ"
            ok = np.isclose(av, bv, rtol=1e-9, atol=1e-12) | np.isnan(bv)
            assert ok.all(), (f"{stem}.{col}: {int((~ok).sum())} value(s) differ, first at row "
                              f"{int(np.flatnonzero(~ok)[0])}: {av[~ok][0]!r} vs {bv[~ok][0]!r}")
        else:
            sa = a.astype("object").where(a.notna(), None).tolist()
            sb = b.astype("object").where(b.notna(), None).tolist()
            diff = [i for i, (x, y) in enumerate(zip(sa, sb, strict=True)) if x != y]
            assert not diff, f"{stem}.{col}: {len(diff)} value(s) differ, first at row {diff[0]}: {sa[diff[0]]!r} vs {sb[diff[0]]!r}"
