"""Small-count suppression of one table: primary, secondary against a linear attacker, escaping,
the low-threshold acknowledgement, and refusal of bad options."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analysis.disclosure import audit, check_acknowledged, suppress, threshold_notice
from analysis.errors import SpecificationError


def test_primary_suppression_marks_small_counts_only():
    df = pd.DataFrame({"name": ["a", "b", "c", "d"], "residents": [0, 3, 9, 10], "beds": [5, 5, 5, 5]})
    out = suppress(df, ["residents"])
    assert out.table["residents"].tolist() == [0, "<10", "<10", 10]
    # columns not declared as counts of people are untouched
    assert out.table["beds"].tolist() == [5, 5, 5, 5]
    assert out.n_primary == 2 and out.n_secondary == 0
    assert "<10" in out.note
    # the input is not mutated
    assert df["residents"].tolist() == [0, 3, 9, 10]


def test_threshold_is_configurable_and_missing_stays_missing():
    df = pd.DataFrame({"n": [4, 5, None]})
    out = suppress(df, ["n"], threshold=5, language="en")
    assert out.table["n"].iloc[0] == "<5"
    assert out.table["n"].iloc[1] == 5
    assert pd.isna(out.table["n"].iloc[2])
    assert "fewer than 5" in out.note
    assert suppress(df, ["n"], threshold=1).n_suppressed == 0


def test_secondary_suppression_down_a_total_row():
    # one small cell in a column with a total: it could be recovered as total - others
    df = pd.DataFrame({"children": [4, 30, 25, 59]}, index=["home A", "home B", "home C", "total"])
    out = suppress(df, ["children"], total_row="total")
    hidden = out.mask["children"]
    assert hidden["home A"] and hidden["home C"]  # the smallest other cell goes too
    assert not hidden["home B"] and not hidden["total"]
    assert out.n_secondary == 1
    assert out.table["children"].tolist() == ["<10", 30, "[c]", 59]
    assert "[c]" in out.note
    # brute force: with the total shown, no hidden cell can be pinned down by subtraction
    shown = df["children"][~hidden]
    body_hidden = [r for r in df.index if hidden[r] and r != "total"]
    assert len(body_hidden) != 1
    assert shown["total"] - shown.drop("total").sum() == df["children"][body_hidden].sum()


def test_secondary_suppression_along_a_total_column():
    df = pd.DataFrame({"elderly": [40, 50], "children": [3, 20], "all": [43, 70]})
    out = suppress(df, ["elderly", "children", "all"], total_column="all")
    assert out.mask.loc[0, "children"] and out.mask.loc[0, "elderly"]
    assert not out.mask.loc[1].any()


def test_html_escapes_data_strings():
    df = pd.DataFrame({"name": ["<script>alert(1)</script>"], "n": [3]})
    text = suppress(df, ["n"]).to_html()
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert "&lt;10" in text


def test_bad_options_are_refused_with_advice():
    df = pd.DataFrame({"n": [1]})
    with pytest.raises(SpecificationError, match="at least 1"):
        suppress(df, ["n"], threshold=0)
    with pytest.raises(SpecificationError, match="not in the table"):
        suppress(df, ["people"])


def test_two_small_cells_under_a_total_get_a_companion_with_room():
    """The old rule protected a group only when exactly one cell was hidden: two small cells with
    the total shown stayed as they were, and total − shown rows gave their sum (here 2, so 1 and
    1). A companion is now hidden, and one of exactly the threshold is not enough (a reader knows
    a [c] cell is at least 10)."""
    df = pd.DataFrame({"n": [1, 1, 10, 40, 52]}, index=["a", "b", "c", "d", "total"])
    out = suppress(df, ["n"], total_row="total", language="en")
    assert out.table["n"].tolist() == ["<10", "<10", 10, "[c]", 52]
    assert out.n_primary == 2 and out.n_secondary == 1 and "[c]" in out.note
    result = audit(out.publication)
    assert result.ok and result.intervals["0/0"] == (1, 9)
    # the pattern of the old rule gives both ones back
    naive = out.publication.with_status({"3/0": "shown"})
    assert audit(naive).intervals["0/0"] == (1, 1) and not audit(naive).ok


@st.composite
def tables_with_margins(draw):
    """A table of counts with small cells, its row totals (a column) and column totals (a row)."""
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    body = draw(arrays("int64", shape, elements=st.one_of(st.integers(0, 12), st.integers(1, 60))))
    df = pd.DataFrame(body, columns=[f"c{j}" for j in range(shape[1])],
                      index=[f"r{i}" for i in range(shape[0])])
    df["all"] = df.sum(axis=1)
    df.loc["total"] = df.sum(axis=0)
    return df


@given(tables_with_margins(), st.sampled_from([3, 5, 10]))
@settings(max_examples=40, deadline=None)
def test_a_table_with_both_margins_discloses_nothing(df, threshold):
    """Rows and columns both sum to shown totals (a two-way table): after suppression the linear
    attacker narrows no small cell beyond its marker, and only cells that are counts change."""
    out = suppress(df, list(df.columns), threshold=threshold, total_row="total", total_column="all")
    result = audit(out.publication)
    assert result.ok, result.render()
    small = (df >= 1) & (df < threshold)
    assert (out.mask | ~small).all().all()  # every small count is hidden
    for c in df.columns:
        kept = ~out.mask[c]
        assert out.table.loc[kept, c].astype(int).tolist() == df.loc[kept, c].tolist()


def test_a_total_that_does_not_add_up_is_refused():
    df = pd.DataFrame({"n": [4, 30, 25, 60]}, index=["a", "b", "c", "total"])
    with pytest.raises(SpecificationError, match="do not add up"):
        suppress(df, ["n"], total_row="total")


def test_a_threshold_below_the_default_needs_acknowledgement():
    with pytest.raises(SpecificationError, match="--i-accept-small-counts"):
        check_acknowledged(5, False)
    with pytest.raises(SpecificationError, match="counts of 1 to 9 people"):
        check_acknowledged(1, False)
    check_acknowledged(5, True)
    check_acknowledged(10, False)
    assert threshold_notice(10, "en") == "" and threshold_notice(12, "zh") == ""
    assert "below 5" in threshold_notice(5, "en") and "5 to 9" in threshold_notice(5, "en")
