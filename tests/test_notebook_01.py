"""The exploration notebook: thin and stripped; executed under papermill on the built demo, its
outputs carry the right counts (checked against the raw CSVs) and no error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import DEMO_RAW, notebook_parameters, notebook_text, run_notebook

NAME = "01_explore_data.ipynb"


def _frames(html: str) -> list[pd.DataFrame]:
    """Every ``<table>`` of an HTML output as a DataFrame of strings (header from ``<thead>``)."""
    from bs4 import BeautifulSoup

    out = []
    for table in BeautifulSoup(html, "html.parser").find_all("table"):
        head = table.find("thead")
        header_rows = head.find_all("tr") if head else []
        columns = [c.get_text(strip=True) for c in header_rows[0].find_all(["th", "td"])] \
            if header_rows else []
        body = table.find("tbody") or table
        rows = [[c.get_text(strip=True) for c in tr.find_all(["th", "td"])]
                for tr in body.find_all("tr") if tr.find("td")]
        if len(columns) and rows and len(rows[0]) == len(columns):
            out.append(pd.DataFrame(rows, columns=columns))
        else:
            out.append(pd.DataFrame(rows))
    return out


def _outputs(nb: dict) -> list[tuple[str, list[pd.DataFrame]]]:
    """``(html, tables)`` of every HTML output, in cell order."""
    found = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            html = "".join(o.get("data", {}).get("text/html", ""))
            if html:
                found.append((html, _frames(html)))
    return found


def _result(outputs: list[tuple[str, list[pd.DataFrame]]], title: str) -> list[pd.DataFrame]:
    """The tables of the result whose heading starts with ``title``."""
    hits = [tables for html, tables in outputs if f"<h4>{title}" in html]
    assert len(hits) == 1, f"{title!r} shown {len(hits)} times"
    return hits[0]


def _frame_with(outputs: list[tuple[str, list[pd.DataFrame]]], columns: set[str]) -> pd.DataFrame:
    """The one displayed DataFrame holding ``columns``."""
    hits = [t for _, tables in outputs for t in tables if columns <= set(t.columns)]
    assert len(hits) == 1, f"{len(hits)} tables with {sorted(columns)}"
    return hits[0]


@pytest.fixture(scope="module")
def executed(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_notebook(NAME, demo_root, tmp_path_factory.mktemp("nb01"), dataset="demo")


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(DEMO_RAW / f"{name}.csv", dtype=str)
            for name in ("institutions", "units", "pairings", "activities", "problems",
                         "assessments")}


def test_notebook_is_thin_and_stripped() -> None:
    values = notebook_parameters(NAME, {"dataset"})
    assert values == {"dataset": "demo"}


def test_notebook_runs_without_errors(executed: dict) -> None:
    errors = [o for c in executed["cells"] for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue") if errors else ""
    text = notebook_text(executed)
    assert "Traceback" not in text and "Glyph" not in text
    # the synthetic banner is the first output of the notebook
    first = next(o for c in executed["cells"] for o in c.get("outputs", []))
    assert "SYNTHETIC DATA" in "".join(first.get("data", {}).get("text/html", ""))
    figures = sum("image/png" in o.get("data", {}) for c in executed["cells"]
                  for o in c.get("outputs", []))
    assert figures >= 7  # coverage, network, activity, outcomes, trends, league, quality


def test_coverage_table_shows_the_rows_of_each_file(executed: dict, raw) -> None:
    rows = _result(_outputs(executed), "What is in the data")[0]
    city = rows[rows["level"] == "city"].iloc[0]
    for name in ("institutions", "units", "pairings", "activities", "problems", "assessments"):
        assert int(city[name]) == len(raw[name]), name
    county = rows[rows["level"] == "county"]
    inst = raw["institutions"].groupby("county_code").size()
    assert dict(zip(county["county_code"], county["institutions"].astype(int), strict=True)) \
        == inst.to_dict()


def test_network_tables_show_the_repairings(executed: dict, raw) -> None:
    outputs = _outputs(executed)
    by_quarter = _frame_with(outputs, {"period", "pairings_active", "started_adjusted"})
    p = raw["pairings"]
    assert by_quarter["started_adjusted"].astype(int).sum() == (p["reason"] == "adjusted").sum()
    assert by_quarter["started_added"].astype(int).sum() == (p["reason"] == "added").sum()
    assert by_quarter["ended"].astype(int).sum() == p["end_date"].notna().sum()
    degrees = _frame_with(outputs, {"side", "degree", "count"})
    units = degrees[degrees["side"] == "unit"]
    assert units["count"].astype(int).sum() == len(raw["units"]) - (
        ~raw["units"]["unit_id"].isin(p["unit_id"])).sum()


def test_activity_and_outcome_tables(executed: dict, raw) -> None:
    outputs = _outputs(executed)
    by_cat = _frame_with(outputs, {"category", "activities", "activities_share"})
    expected = raw["activities"].groupby("category").size()
    got = dict(zip(by_cat["category"], by_cat["activities"].astype(int), strict=True))
    assert got == expected.to_dict()
    dist = _result(outputs, "Outcome distributions")[0]
    env = dist[(dist["level"] == "city") & (dist["outcome"] == "environment_score")].iloc[0]
    assert int(env["n_assessed"]) == raw["assessments"]["environment_score"].notna().sum()


def test_league_and_quality_tables(executed: dict, raw) -> None:
    outputs = _outputs(executed)
    league = _result(outputs, "County league table")[0]
    assert len(league) == raw["institutions"]["county_code"].nunique()
    assert sorted(league["rank"].astype(float).astype(int))[0] == 1
    flags = _result(outputs, "Data-quality flags")[0]
    city = flags[flags["level"] == "city"].iloc[0]
    assert int(city["problems_open"]) == raw["problems"]["resolved_date"].isna().sum()
    assert int(city["activities_without_unit"]) == raw["activities"]["unit_id"].isna().sum()
