"""Small-count suppression: primary, secondary, escaping, and refusal of bad options."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.disclosure import suppress
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
