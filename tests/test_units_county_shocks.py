"""The helper-unit mixed model and county × quarter shocks.

A small world (``test_effectiveness._small_units_world``) gains one township team per county,
paired with every institution of its county from the programme start, and a shock to one county
after the start. The township team of that county is then a county × post-start effect: flagged
as not separable from county shocks; with county × quarter fixed effects its exposure has almost
no variation left (``identified_share``). The two engines agree with county × quarter effects
too (a second route: statsmodels MixedLM with the dummies written out).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_effectiveness import _small_units_world

from analysis.effectiveness import unit_contributions
from analysis.effectiveness.units import MIN_IDENTIFIED_SHARE


def world_with_township_teams(seed: int = 0, shock: float = 3.0):
    w = _small_units_world(seed)
    inst = w.panel[["institution_id", "county_code"]].drop_duplicates()
    extra = pd.DataFrame({
        "pairing_id": [f"T{i}" for i in range(len(inst))],
        "unit_id": ["TW_" + c for c in inst["county_code"]],
        "institution_id": inst["institution_id"].to_numpy(),
        "start_date": pd.Timestamp("2021-01-01"), "end_date": pd.NaT})
    w.tables["pairings"] = pd.concat([w.tables["pairings"], extra], ignore_index=True)
    units = w.tables["units"].assign(level="city")
    tw = pd.DataFrame({"unit_id": sorted(set(extra["unit_id"])), "sector": "other",
                       "level": "township"})
    w.tables["units"] = pd.concat([units, tw], ignore_index=True)
    hit = (w.panel["county_code"] == "C0") & (w.panel["period"] >= "2021Q1")
    w.panel.loc[hit, "environment_score"] += shock
    return w


def test_township_teams_are_flagged_not_separable() -> None:
    w = world_with_township_teams()
    q = unit_contributions(w, outcome="environment_score", controls=()).tidy().set_index("unit_id")
    assert not q.loc["TW_C0", "separable"] and q.loc[q["level"] == "city", "separable"].all()
    # with quarter effects the county's shock lands on its township team
    assert q.loc["TW_C0", "naive"] == q["naive"].max()
    cq = unit_contributions(w, outcome="environment_score", controls=(),
                            time_effects="county_quarter").tidy().set_index("unit_id")
    tw = cq[cq["level"] == "township"]
    assert (tw["identified_share"] < MIN_IDENTIFIED_SHARE).all()
    assert (cq.loc[cq["level"] == "city", "identified_share"] > tw["identified_share"].max()).all()
    assert set(cq["time_effects"]) == {"county_quarter"} and set(q["time_effects"]) == {"quarter"}


def test_engines_agree_with_county_quarter_effects() -> None:
    w = _small_units_world(5)
    a = unit_contributions(w, outcome="environment_score", controls=(),
                           time_effects="county_quarter")
    b = unit_contributions(w, outcome="environment_score", controls=(),
                           time_effects="county_quarter", engine="statsmodels")
    assert a.sigma_unit == pytest.approx(b.sigma_unit, rel=1e-3)
    np.testing.assert_allclose(a.tidy()["shrunken"], b.tidy()["shrunken"], atol=2e-3)
