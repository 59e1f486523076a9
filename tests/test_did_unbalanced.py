"""Unbalanced panels and anticipation as R ``did`` handles them: the three ways of treating an
unbalanced panel (``pairwise``, R's default ``drop_units``, R's ``allow_unbalanced_panel=TRUE``
``repeated_cross_section``), R's base-period rule inside the anticipation window and its rules for
units treated early or late, each checked by brute force on small data. (Agreement with second
implementations is in ``tests/test_staggered_mpdta.py``.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import reference_file

from analysis.did import att_gt
from analysis.did.panel import prepare_panel, unbalanced_summary
from analysis.errors import SpecificationError

KW = {"outcome": "lemp", "unit": "countyreal", "time": "year", "group": "first.treat"}


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(reference_file("mpdta.csv"))


@pytest.fixture(scope="module")
def holes(mpdta) -> pd.DataFrame:
    """mpdta with 15% of the unit-years missing (missing rows and missing outcomes both)."""
    rng = np.random.default_rng(11)
    d = mpdta[rng.random(len(mpdta)) > 0.10].copy()
    d.loc[rng.random(len(d)) < 0.05, "lemp"] = np.nan
    return d.reset_index(drop=True)


def _wide(d: pd.DataFrame) -> pd.DataFrame:
    return d.pivot(index="countyreal", columns="year", values="lemp")


def _cohort(d: pd.DataFrame) -> pd.Series:
    return d.drop_duplicates("countyreal").set_index("countyreal")["first.treat"]


def test_drop_units_is_pairwise_on_the_fully_observed_units(holes):
    """R's default keeps only units observed in every period; on them the panel is balanced, so
    the result equals the pairwise estimator on those units alone (estimates and s.e.)."""
    w = _wide(holes)
    full = w.index[w.notna().all(axis=1)]
    a = att_gt(holes, **KW, unbalanced="drop_units").tidy()
    b = att_gt(holes[holes["countyreal"].isin(full)], **KW).tidy()
    np.testing.assert_allclose(a["att"], b["att"], atol=1e-13)
    np.testing.assert_allclose(a["std_error"], b["std_error"], atol=1e-13)
    assert not np.allclose(a["att"], att_gt(holes, **KW).tidy()["att"])  # the modes differ


def test_drop_units_note_states_the_share_dropped(holes):
    res = att_gt(holes, **KW, unbalanced="drop_units")
    w = _wide(holes)
    n_all = int(w.notna().any(axis=1).sum())
    n_drop = n_all - int(w.notna().all(axis=1).sum())
    note = next(n for n in res._notes if "drop_units" in n)
    assert f"{n_drop} of {n_all} units ({n_drop / n_all:.1%})" in note
    assert res.panel.n == n_all - n_drop


def test_repeated_cross_section_cell_by_brute_force(holes):
    """Cell (g=2006, t=2007): four means over every observation of the two periods, and the
    influence function gives the s.e. of a difference of four independent means of rows summed
    within unit."""
    res = att_gt(holes, **KW, control_group="nevertreated", unbalanced="repeated_cross_section")
    t = res.tidy()
    row = t[(t["group"] == 2006) & (t["period"] == 2007)].iloc[0]
    base = row["base_period"]
    assert base == 2005
    d = holes.dropna(subset=["lemp"])
    g = d["first.treat"]
    y1 = d[(d["year"] == 2007)]
    y0 = d[(d["year"] == base)]
    exp = (y1.loc[g == 2006, "lemp"].mean() - y0.loc[g == 2006, "lemp"].mean()
           - y1.loc[g == 0, "lemp"].mean() + y0.loc[g == 0, "lemp"].mean())
    assert abs(row["att"] - exp) < 1e-12
    # influence function by hand: rows of the four cells, scaled n / n_rows, summed by unit
    rows = pd.concat([y1.assign(post=1), y0.assign(post=0)])
    rows = rows[rows["first.treat"].isin([2006, 0])]
    n_rows = len(rows)
    n_units = res.panel.n
    treat = rows["first.treat"] == 2006
    psi = pd.Series(0.0, index=rows.index)
    for d_, p_ in ((True, 1), (True, 0), (False, 1), (False, 0)):
        s = (treat == d_) & (rows["post"] == p_)
        sign = (1 if d_ else -1) * (1 if p_ else -1)
        pi = s.mean()
        psi[s] = sign * (rows.loc[s, "lemp"] - rows.loc[s, "lemp"].mean()) / pi
    unit_psi = (psi * n_units / n_rows).groupby(rows["countyreal"]).sum()
    se = np.sqrt((unit_psi**2).sum()) / n_units
    assert abs(row["std_error"] - se) < 1e-12


def test_repeated_cross_section_on_a_balanced_panel_is_the_panel_estimator(mpdta):
    """R did uses the panel estimator when allow_unbalanced_panel=TRUE meets a balanced panel."""
    a = att_gt(mpdta, **KW, unbalanced="repeated_cross_section")
    b = att_gt(mpdta, **KW)
    np.testing.assert_allclose(a.tidy()["att"], b.tidy()["att"], atol=1e-14)
    np.testing.assert_allclose(a.tidy()["std_error"], b.tidy()["std_error"], atol=1e-14)
    assert a.panel.unbalanced == "pairwise"
    assert any("balanced" in n for n in a._notes)


def test_repeated_cross_section_uses_units_seen_once(holes):
    """A unit observed in only one of a cell's periods enters the repeated-cross-section cell but
    not the pairwise one."""
    a = att_gt(holes, **KW, unbalanced="repeated_cross_section").tidy()
    b = att_gt(holes, **KW).tidy()
    assert (a["n_treated"] + a["n_control"] >= b["n_treated"] + b["n_control"]).all()
    assert (a["n_treated"] + a["n_control"] > b["n_treated"] + b["n_control"]).any()


def test_repeated_cross_section_refuses_covariates(holes):
    with pytest.raises(SpecificationError, match="without covariates"):
        att_gt(holes, **KW, covariates=["lpop"], unbalanced="repeated_cross_section")


def test_unknown_mode_names_the_choices(holes):
    with pytest.raises(SpecificationError, match="drop_units"):
        att_gt(holes, **KW, unbalanced="balanced")


def test_anticipation_window_uses_the_previous_period_as_base(mpdta):
    """anticipation=2, cohort 2007: t = 2005, 2006 lie in the window (g − δ ≤ t < g); R compares
    them with t − 1 (varying base), not with g − 1 − δ = 2004; post cells use 2004."""
    res = att_gt(mpdta, **KW, control_group="notyettreated", anticipation=2).tidy()
    c = res[res["group"] == 2007].set_index("period")
    assert c.loc[2005, "base_period"] == 2004
    assert c.loc[2006, "base_period"] == 2005
    assert c.loc[2007, "base_period"] == 2004
    w, g = _wide(mpdta), _cohort(mpdta)
    # cell (2007, 2006): base 2005; comparison units untreated until 2006 + 2 = 2008: never only
    dy = w[2006] - w[2005]
    exp = dy[g == 2007].mean() - dy[g == 0].mean()
    assert abs(c.loc[2006, "att"] - exp) < 1e-12


def test_anticipation_early_and_late_units_follow_r(mpdta):
    """Units first treated by first period + δ are dropped; after last period + δ they are never
    treated; in between they are a cohort of their own (R did's pre_process_did)."""
    d = mpdta.copy()
    ids = d["countyreal"].unique()
    d.loc[d["countyreal"].isin(ids[:7]), "first.treat"] = 2008  # after the window, within δ = 1
    d.loc[d["countyreal"].isin(ids[7:9]), "first.treat"] = 2009  # after window + δ
    p0, _ = prepare_panel(d, **KW, anticipation=0)
    assert np.isinf(p0.G[np.isin(p0.units, ids[:9])]).all()
    p1, notes = prepare_panel(d, **KW, anticipation=1)
    assert (p1.G[np.isin(p1.units, ids[:7])] == 2008).all()
    assert np.isinf(p1.G[np.isin(p1.units, ids[7:9])]).all()
    # cohort 2004 is treated by 2003 + 1: dropped with a note
    assert not np.isin(p1.G, [2004]).any()
    assert any("first period + anticipation 1" in n for n in notes)
    res = att_gt(d, **KW, control_group="notyettreated", anticipation=1).tidy()
    assert 2008 in set(res["group"])  # a cohort with pre-period cells only


def test_periods_are_the_observed_ones(mpdta):
    """A period in which no outcome is observed is not a period (R drops missing rows first), so
    the varying base skips it."""
    d = mpdta.copy()
    d.loc[d["year"] == 2005, "lemp"] = np.nan
    res = att_gt(d, **KW, control_group="nevertreated").tidy()
    assert 2005 not in set(res["period"]) | set(res["base_period"])
    c = res[(res["group"] == 2007) & (res["period"] == 2006)]
    assert c["base_period"].iloc[0] == 2004


def test_unbalanced_summary_counts(holes):
    s = unbalanced_summary(holes, **KW).set_index("unbalanced")
    w = _wide(holes)
    observed = w.notna().any(axis=1)
    assert s.loc["drop_units", "units_dropped"] == int((observed & ~w.notna().all(axis=1)).sum())
    assert s.loc["pairwise", "units_dropped"] == 0
    assert s.loc["repeated_cross_section", "units_dropped"] == 0
    # what a cell leaves out: repeated cross section ≤ pairwise ≤ drop_units here
    u = s["share_cell_units_unused"]
    assert u["repeated_cross_section"] <= u["pairwise"] <= u["drop_units"]
    assert u["pairwise"] > 0
