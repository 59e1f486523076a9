"""What each reform number rests on: the county counts of an aggregate's overall estimate, on a
world shaped like the demo (nine adopting counties in five cohorts, two never-treated)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.did import MIN_COMPARISON_CLUSTERS, att_gt, counties_behind

VALIDATION = Path(__file__).resolve().parents[1] / "validation"


@pytest.fixture(scope="module")
def res():
    spec = importlib.util.spec_from_file_location("validation_worlds", VALIDATION / "worlds.py")
    worlds = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = worlds  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(worlds)
    d = worlds.world(np.random.default_rng(3), worlds.SCENARIOS["unequal"])
    return att_gt(d, outcome="y", unit="institution_id", time="t", group="adoption_t",
                  cluster="county_code")


def test_headline_window_keeps_three_comparison_counties_and_full_dynamic_does_not(res):
    window = res.headline_window()
    assert window is not None and window >= 1
    simple = res.aggregate("simple")
    dynamic = res.aggregate("dynamic", min_e=0)
    headline = res.aggregate("dynamic", balance_e=window, min_e=0, max_e=window)
    tab = counties_behind(simple=simple, dynamic=dynamic, headline=headline)
    assert list(tab.index) == ["simple", "dynamic", "headline"]
    assert int(tab.loc["simple", "n_treated_clusters"]) == 9
    # late event times compare with the two never-treated counties alone
    assert int(tab.loc["dynamic", "min_comparison_clusters"]) == 2
    assert bool(tab.loc["dynamic", "comparison_warning"])
    # the headline window's rule: every event time 0..E rests on at least three comparison
    # counties (the union over its cells); single cells may rest on fewer, and say so
    rows = headline.table[~headline.table["is_overall"] & (headline.table["inference"] == "analytic")]
    assert [float(k) for k in rows["key"]] == [float(e) for e in range(window + 1)]
    assert (rows["n_comparison_clusters"] >= MIN_COMPARISON_CLUSTERS).all()
    assert float(tab.loc["headline", "few_comparison_weight"]) < float(
        tab.loc["dynamic", "few_comparison_weight"])
    # the window is the longest that keeps the rule
    longer = res.aggregate("dynamic", balance_e=window + 1, min_e=0, max_e=window + 1).table
    longer = longer[~longer["is_overall"] & (longer["inference"] == "analytic")]
    assert (longer["n_comparison_clusters"] < MIN_COMPARISON_CLUSTERS).any()


def test_headline_aggregate_is_the_window_s_dynamic_summary_or_none(res):
    """``headline_aggregate``: the dynamic summary over ``0..headline_window()``, and ``None``
    (no row in ``counties_behind``) when no window keeps enough comparison counties."""
    from analysis.inference import aggregate, headline_aggregate

    window = res.headline_window()
    got = headline_aggregate(res, inference=("analytic",))
    want = aggregate(res, "dynamic", balance_e=window, min_e=0, max_e=window,
                     inference=("analytic",))
    assert got.table.equals(want.table)
    assert res.headline_window(min_comparison=99) is None
    strict = type(res).headline_window

    class Strict(type(res)):
        def headline_window(self, *, min_comparison: int = 99) -> int | None:
            return strict(self, min_comparison=min_comparison)

    none = headline_aggregate(Strict(**{f: getattr(res, f) for f in res.__dataclass_fields__}),
                              inference=("analytic",))
    assert none is None
    tab = counties_behind(simple=res.aggregate("simple"), headline=none)
    assert list(tab.index) == ["simple"]
