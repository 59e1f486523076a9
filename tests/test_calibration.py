"""The committed demo world reproduces the published Leshan figures.

Every figure is computed here straight from the committed CSV files with plain pandas (not through
``analysis.synth``) and checked against the published number (:data:`analysis.domain.PUBLISHED`,
the one statement of the article's figures), and against ``TRUTH.json``'s ``calibration`` block
(which the generator computes its own way: two routes to one number). The published numbers
themselves are checked against the table of the article's facts (``tests/data/reference/seed_facts.md``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import reference_file

from analysis.domain import PUBLISHED, PUBLISHED_WINDOW

DEMO = Path(__file__).resolve().parents[1] / "data" / "raw" / "demo"
START, END = (pd.Timestamp(d) for d in PUBLISHED_WINDOW)


def _read(name: str) -> pd.DataFrame:
    f = DEMO / f"{name}.csv"
    if not f.exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    return pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def figures() -> dict[str, float]:
    counties, inst, units = _read("counties"), _read("institutions"), _read("units")
    pairings, acts, probs = _read("pairings"), _read("activities"), _read("problems")
    assess = _read("assessments")
    date = pd.to_datetime(acts["date"])
    window = acts[(date >= START) & (date <= END)]
    resolved = pd.to_datetime(probs["resolved_date"].replace("", None))
    solved = probs[(resolved >= START) & (resolved <= END)]
    city = set(units.loc[units["level"] == "city", "unit_id"])
    at_start = pairings[(pairings["start_date"] == "2021-01-01") & pairings["unit_id"].isin(city)]
    ft = units[units["sector"].isin(["finance", "telecom"])]
    residents = (
        assess.assign(r=assess["residents"].astype(int)).groupby("institution_id")["r"].max()
    )
    children = inst.loc[inst["kind"] == "children", "institution_id"]
    return {
        "county_codes": counties["county_code"].nunique(),
        "population": counties["population"].astype(int).sum(),
        "city_departments_paired_at_start": at_start["unit_id"].nunique(),
        "institutions_paired_at_start": at_start["institution_id"].nunique(),
        "institutions": len(inst),
        "pairs_adjusted": (pairings["reason"] == "adjusted").sum(),
        "finance_telecom_units_added": ft["unit_id"]
        .isin(pairings.loc[pairings["reason"] == "added", "unit_id"])
        .sum(),
        "research_visits": (window["category"] == "visit").sum(),
        "activities": len(window),
        "value_rmb": window["value_rmb"].astype(float).sum(),
        "beneficiaries": window["beneficiaries"].astype(int).sum(),
        "cultural_events": (window["category"] == "culture").sum(),
        "health_events": (window["category"] == "health").sum(),
        "volunteer_services": (window["category"] == "volunteer").sum(),
        "problems_solved": len(solved),
        "environment_problems_solved": (solved["category"] == "environment").sum(),
        "safety_problems_solved": (solved["category"] == "safety").sum(),
        "tiny_childrens_homes": (residents.reindex(children) < 10).sum(),
    }


@pytest.mark.parametrize("key", sorted(PUBLISHED))
def test_published_figure(figures, key):
    fig = PUBLISHED[key]
    got = figures[key]
    assert fig.holds(got), f"{key}: {got} does not meet the published {fig.wording} ({fig.rule})"


def test_every_published_figure_is_computed(figures):
    assert set(figures) == set(PUBLISHED)


def test_finance_and_telecom_units_added_later(figures):
    units, pairings = _read("units"), _read("pairings")
    ft = units[units["sector"].isin(["finance", "telecom"])]
    assert set(ft["sector"]) == {"finance", "telecom"}
    assert (ft["level"] == "city").all()
    joined = pd.to_datetime(ft["joined_date"])
    assert joined.dt.year.between(2022, 2023).all()
    added = pairings[pairings["unit_id"].isin(ft["unit_id"])]
    assert (added["reason"] == "added").all()
    assert figures["finance_telecom_units_added"] == len(ft)


def test_tiny_childrens_homes(figures):
    assert figures["tiny_childrens_homes"] >= 3


def test_truth_calibration_block_matches_tables(figures, truth):
    cal = truth["calibration"]
    assert set(cal) == set(figures)
    for key, got in figures.items():
        assert cal[key] == pytest.approx(float(got), abs=0.006), key
    assert truth["calibration_targets"] == {k: p.as_dict() for k, p in PUBLISHED.items()}


def _seed_fact(label: str) -> str:
    text = reference_file("seed_facts.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0] == label:
            return cells[1]
    raise AssertionError(f"fact {label!r} not in seed_facts.md")


def test_published_numbers_are_the_reference_ones():
    """analysis.domain.PUBLISHED holds the article's numbers as tabulated in tests/data/reference/seed_facts.md."""
    labels = {
        "city_departments_paired_at_start": "city departments paired at start",
        "institutions_paired_at_start": "institutions paired (elderly + children)",
        "pairs_adjusted": "pairs adjusted / optimised",
        "research_visits": "research visits (city + county)",
        "activities": "assistance activities",
        "beneficiaries": "beneficiaries",
        "volunteer_services": "volunteer services",
        "problems_solved": "problems solved in all",
        "environment_problems_solved": "environment problems solved",
        "cultural_events": "cultural events",
        "health_events": "health and public-welfare events",
        "safety_problems_solved": "safety problems solved",
    }
    for key, label in labels.items():
        raw = _seed_fact(label)
        number = int(re.match(r"[\d,]+", raw).group(0).replace(",", ""))
        assert number == PUBLISHED[key].figure, key
        assert (PUBLISHED[key].rule == "more_than") == ("+" in raw), key
    money = _seed_fact("materials and funds, RMB")
    assert money.startswith("30 million+") and PUBLISHED["value_rmb"].figure == 30_000_000
    assert PUBLISHED["value_rmb"].rule == "more_than"


def test_county_codes_are_leshan():
    text = reference_file("seed_facts.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (5111\d\d) \| (\S+) \| (\w+) \|$", text, flags=re.M)
    ref = {code: (name, kind) for code, name, kind in rows}
    assert len(ref) == 11
    counties = _read("counties")
    got = {
        c: (n, k)
        for c, n, k in zip(
            counties["county_code"], counties["county_name"], counties["county_kind"], strict=True
        )
    }
    assert got == ref
