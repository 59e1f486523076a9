"""Reports show the multiplicity-adjusted p-values of the secondary outcomes beside each method's
p-value and mark the pre-specified primary outcome; resampling p-values at their floor read as
the bound for the build's number of draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.domain import PRIMARY_OUTCOME
from analysis.reports.sections.estimates import inference_wide


@pytest.fixture
def rows() -> pd.DataFrame:
    return pd.DataFrame({
        "outcome": [PRIMARY_OUTCOME] * 2 + ["environment_score"] * 2,
        "inference": ["analytic", "wild_bootstrap"] * 2,
        "att": [1.0, 1.0, 2.0, 2.0], "std_error": [0.1, 0.1, 0.2, 0.2],
        "ci_low": [0.0, 0.0, 1.0, 1.0], "ci_high": [2.0, 2.0, 3.0, 3.0],
        "p_value": [0.01, 1 / 1000, 0.02, 0.03],
        "p_adjusted": [np.nan, np.nan, 0.05, 0.061],
    })


@pytest.mark.parametrize("lang,adj,primary,bound", [
    ("zh", "多重比较校正p值", "主要指标", "≤0.001"),
    ("en", "adjusted p-value", "primary outcome", "≤0.001"),
])
def test_adjusted_p_beside_raw_and_primary_marked(rows, lang, adj, primary, bound):
    wide = inference_wide(rows, ["outcome"], value="att", lang=lang,
                          draws={"wild_bootstrap": 999})
    adj_cols = [c for c in wide.columns if c.startswith(adj)]
    assert len(adj_cols) == 2  # one per method that carries adjusted p-values
    wild_adj = next(c for c in adj_cols if c.endswith(wide.columns[-1].split(" · ")[-1]))
    # the primary outcome has no adjusted p-value (it is not part of the family); the secondary
    # outcome's adjusted value sits beside its raw one
    assert wide.iloc[0][wild_adj] == "" and wide.iloc[1][wild_adj] == "0.061"
    assert primary in wide.iloc[0, 0] and primary not in wide.iloc[1, 0]
    # the wild bootstrap's p at its floor (1/(B+1)) reads as the bound, never as 0.001 or 0
    raw_wild = [c for c in wide.columns if " · " in c and c not in adj_cols][-1]
    assert wide.iloc[0][raw_wild] == bound


def test_no_adjusted_column_without_adjusted_values(rows):
    wide = inference_wide(rows.drop(columns="p_adjusted"), ["outcome"], value="att", lang="en")
    assert not any(c.startswith("adjusted") for c in wide.columns)
