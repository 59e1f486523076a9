"""Synthetic worlds at scale: ``city`` is the demo byte for byte; a reduced ``sichuan`` world has
the province's shape, meets the contract, derives its hierarchy from the codes and is a function
of the seed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import DEMO_RAW
from typer.testing import CliRunner

from analysis.cli import app
from analysis.contract import validate
from analysis.hierarchy import hierarchy, level_of
from analysis.io import read_raw
from analysis.synth import read_demo_tables
from analysis.synth.scale import COHORTS, SCALES, generate_scaled, write_scaled

#: a reduced Sichuan world: 30 counties in three prefectures (the full one: 183 in 21)
REDUCED = 30


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def reduced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sichuan") / "w"
    write_scaled(out, scale="sichuan", seed=11, counties=REDUCED)
    return out


def test_city_scale_is_the_demo_byte_for_byte(tmp_path: Path):
    res = CliRunner().invoke(app, ["synth", "--scale", "city", "--out", str(tmp_path / "c"),
                                   "--seed", "20210101"])
    assert res.exit_code == 0, res.output
    assert _digest(tmp_path / "c") == _digest(DEMO_RAW)


def test_designs_meet_the_issue():
    s, n = SCALES["sichuan"], SCALES["national"]
    assert s.counties >= 180 and s.prefectures >= 21 and s.provinces == ("51",)
    assert 2800 <= n.counties <= 2900 and len(n.provinces) == 31
    # expected institutions of the national design: about 40,000 (lognormal mean, floor of 5)
    rng = np.random.default_rng(0)
    per = np.maximum(n.min_institutions, np.round(rng.lognormal(np.log(n.inst_median),
                                                                 n.inst_sigma, 200_000)))
    assert 35_000 <= per.mean() * n.counties <= 45_000


def test_reduced_sichuan_shape_and_contract(reduced: Path):
    raw = read_raw(reduced)
    assert validate(raw) == []
    t = raw.tables
    c = t["counties"]
    assert len(c) == REDUCED and level_of(c) == "province"
    h = hierarchy(c)
    assert (h["prefecture_code"].to_numpy() == c["prefecture_code"].to_numpy()).all()
    assert set(c["province_code"]) == {"510000"} and c["prefecture_code"].nunique() >= 3
    assert c["county_name"].str.startswith("合成县").all()
    per = t["institutions"].groupby("county_code").size()
    assert per.min() >= 5 and per.max() > 2 * per.min()  # size skew
    # every county has reform-eligible and ineligible institutions
    inst = t["institutions"]
    elig = (inst["kind"] == "elderly") & (inst["operator"] == "public") & (inst["area"] == "rural")
    assert elig.groupby(inst["county_code"]).agg(["any", "all"]).pipe(
        lambda g: g["any"].all() and not g["all"].any())
    # every institution is paired at the start; staggered cohorts by prefecture
    assert set(inst["institution_id"]) <= set(t["pairings"]["institution_id"])
    truth = json.loads((reduced / "TRUTH.json").read_text(encoding="utf-8"))
    assert truth["synthetic"] is True and truth["scale"]["name"] == "sichuan"
    cohorts = [g for g in truth["reform"]["cohorts"] if g != "never"]
    assert set(cohorts) <= set(COHORTS)
    moved = c.dropna(subset=["county_management_date"])
    quarter = moved["county_management_date"].dt.to_period("Q").astype(str)
    assert quarter.groupby(moved["prefecture_code"]).nunique().max() == 1
    assert "synthetic" in (reduced / "README.md").read_text(encoding="utf-8")
    assert set(t["assessments"]["period"]) >= {"2019Q1", "2024Q4"}


def test_reduced_sichuan_recovers_the_planted_reform_effect(reduced: Path):
    """A crude check of the planted effect: eligible minus ineligible institutions, after minus
    before adoption, in adopting counties (the happiness ATT ramps from 1.0 to 2.5)."""
    t = read_demo_tables(reduced)
    a = t["assessments"].merge(t["institutions"], on="institution_id")
    a = a.merge(t["counties"][["county_code", "county_management_date"]], on="county_code")
    a = a.dropna(subset=["county_management_date"])
    q = a["period"].str[:4].astype(int) * 4 + a["period"].str[-1].astype(int) - 1
    adopt = a["county_management_date"].dt.year * 4 + a["county_management_date"].dt.quarter - 1
    post = q >= adopt + 4  # a year after adoption: ATT(e >= 4) is 2.5
    elig = (a["kind"] == "elderly") & (a["operator"] == "public") & (a["area"] == "rural")
    y = a["happiness_score"]
    did = ((y[elig & post].mean() - y[elig & ~post].mean())
           - (y[~elig & post].mean() - y[~elig & ~post].mean()))
    assert 1.0 < did < 4.0


def test_same_seed_same_bytes(tmp_path: Path):
    write_scaled(tmp_path / "a", scale="national", seed=3, counties=12)
    write_scaled(tmp_path / "b", scale="national", seed=3, counties=12)
    write_scaled(tmp_path / "c", scale="national", seed=4, counties=12)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a")["assessments.csv"] != _digest(tmp_path / "c")["assessments.csv"]
    tables, truth = generate_scaled("national", 3, counties=12)
    assert tables["counties"]["province_code"].nunique() >= 2
    assert level_of(tables["counties"]) == "nation"


def test_scaled_world_refuses_city_options(tmp_path: Path):
    res = CliRunner().invoke(app, ["synth", "--scale", "sichuan", "--targeting", "0.5",
                                   "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and "city scale only" in res.output
