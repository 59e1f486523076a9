"""The committed demo world reproduces the published Leshan figures.

Every figure is computed here straight from the committed CSV files with plain pandas (not through
``analysis.synth``), checked against the published number, and against ``TRUTH.json``'s
``calibration`` block (which the generator computes its own way: two routes to one number).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import reference_file

DEMO = Path(__file__).resolve().parents[1] / "data" / "raw" / "demo"
START, END = pd.Timestamp("2021-01-01"), pd.Timestamp("2023-12-31")

# published figure (the issue / seed_facts.md): exact, or "N余" = at least N, below N + step
PUBLISHED = {
    "county_codes": ("exact", 11, None),
    "population": ("exact", 3_160_168, None),
    "city_departments_paired_at_start": ("exact", 114, None),
    "institutions_paired_at_start": ("exact", 104, None),
    "institutions": ("exact", 104, None),
    "pairs_adjusted": ("exact", 36, None),
    "research_visits": ("exact", 769, None),
    "activities": ("more_than", 8600, 100),
    "value_rmb": ("more_than", 30_000_000, 10_000_000),
    "beneficiaries": ("more_than", 40_000, 10_000),
    "cultural_events": ("exact", 638, None),
    "health_events": ("exact", 765, None),
    "volunteer_services": ("exact", 3941, None),
    "problems_solved": ("more_than", 9000, 1000),
    "environment_problems_solved": ("more_than", 700, 100),
    "safety_problems_solved": ("more_than", 50, 10),
}


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
    rule, value, step = PUBLISHED[key]
    got = figures[key]
    if rule == "exact":
        assert got == value, f"{key}: {got} != published {value}"
    else:
        assert value <= got < value + step, f"{key}: {got} is not '{value}余' (< {value + step})"


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
    for key, (rule, value, _step) in PUBLISHED.items():
        assert truth["calibration_targets"][key]["published"] == value
        assert truth["calibration_targets"][key]["rule"] == rule


def _seed_fact(label: str) -> str:
    text = reference_file("seed_facts.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0] == label:
            return cells[1]
    raise AssertionError(f"fact {label!r} not in seed_facts.md")


def test_published_numbers_are_the_reference_ones():
    """The targets above are the article's numbers as tabulated in the shared reference."""
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
        rule, value, _ = PUBLISHED[key]
        assert number == value, key
        assert (rule == "more_than") == ("+" in raw), key
    money = _seed_fact("materials and funds, RMB")
    assert money.startswith("30 million+") and PUBLISHED["value_rmb"][1] == 30_000_000


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
