"""analysis.describe: every number by a second route (plain pandas on the raw CSVs of the demo
world), invariance to the order of rows, agreement with analysis.indicators, and the build's files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DEMO_RAW

from analysis import describe, indicators
from analysis.domain import DISCLOSURE_THRESHOLD, OUTCOMES
from analysis.errors import SpecificationError

RESULTS_FILES = ("describe_coverage", "describe_network", "describe_activity_mix",
                 "describe_outcomes", "describe_league", "describe_trends", "describe_quality",
                 "describe_levels")


# ----------------------------------------------------------------------------------------------
# the raw CSVs, read with plain pandas (the second route)
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    if not (DEMO_RAW / "institutions.csv").exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    t = {name: pd.read_csv(DEMO_RAW / f"{name}.csv", dtype=str, keep_default_na=False,
                           na_values=[""])
         for name in ("counties", "institutions", "units", "pairings", "activities", "problems",
                      "assessments")}
    t["institutions"]["beds"] = t["institutions"]["beds"].astype(float)
    for c in ("residents", *OUTCOMES):
        t["assessments"][c] = t["assessments"][c].astype(float)
    for c in ("value_rmb", "beneficiaries"):
        t["activities"][c] = t["activities"][c].astype(float)
    for name, cols in (("pairings", ("start_date", "end_date")), ("activities", ("date",)),
                       ("problems", ("found_date", "resolved_date")),
                       ("counties", ("county_management_date",))):
        for c in cols:
            t[name][c] = pd.to_datetime(t[name][c])
    return t


def _county_of(raw: dict[str, pd.DataFrame], df: pd.DataFrame) -> pd.Series:
    return df["institution_id"].map(raw["institutions"].set_index("institution_id")["county_code"])


def _quarter(dates: pd.Series) -> pd.Series:
    return dates.dt.to_period("Q").astype(str)


def _assessed(raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    a = raw["assessments"].copy()
    a["county_code"] = _county_of(raw, a)
    return a


# ----------------------------------------------------------------------------------------------
# coverage
# ----------------------------------------------------------------------------------------------
def test_coverage_rows_by_two_routes(demo, raw) -> None:
    res = describe.coverage(demo)
    rows = res.tidy()
    county = rows[rows["level"] == "county"].set_index("county_code")
    inst = raw["institutions"]
    assert county["institutions"].to_dict() == inst.groupby("county_code").size().to_dict()
    for name in ("pairings", "activities", "problems", "assessments"):
        expected = _county_of(raw, raw[name]).value_counts().to_dict()
        assert county[name].to_dict() == expected, name
    city = rows[rows["level"] == "city"].iloc[0]
    for name in ("institutions", "pairings", "activities", "problems", "assessments", "units"):
        assert city[name] == len(raw[name]), name
    assert county["units"].isna().all()
    # the panel window: every institution in every quarter from the first to the last assessment
    periods = pd.period_range(raw["assessments"]["period"].min(),
                              raw["assessments"]["period"].max(), freq="Q")
    n_q = len(periods)
    a = _assessed(raw)
    for code, g in a.groupby("county_code"):
        n_inst = (inst["county_code"] == code).sum()
        assert county.at[code, "institution_quarters"] == n_inst * n_q
        assert county.at[code, "missing_assessments"] == n_inst * n_q - len(g)
    assert city["missing_assessments"] == len(inst) * n_q - len(a)
    assert city["missing_share"] == pytest.approx((len(inst) * n_q - len(a)) / (len(inst) * n_q))


def test_coverage_periods_missingness_and_kinds(demo, raw) -> None:
    tabs = describe.coverage(demo).tables()
    per = tabs["periods"].set_index("table")
    assert per.at["activities", "first_period"] == _quarter(raw["activities"]["date"]).min()
    assert per.at["activities", "last_period"] == _quarter(raw["activities"]["date"]).max()
    assert per.at["pairings", "last_period"] == _quarter(raw["pairings"]["start_date"]).max()
    assert per.at["assessments", "first_period"] == raw["assessments"]["period"].min()
    assert per.at["institutions", "first_period"] == ""
    # county × quarter missing counts
    a = _assessed(raw)
    wide = tabs["missingness"].set_index("county_code")
    inst_per_county = raw["institutions"].groupby("county_code").size()
    got = wide.stack()
    assessed = a.groupby(["county_code", "period"]).size()
    for (code, period), missing in got.items():
        assert missing == inst_per_county[code] - assessed.get((code, period), 0)
    # institutions by kind × operator × area
    kinds = tabs["institutions"]
    expected = raw["institutions"].groupby(["county_code", "kind", "operator", "area"]).size()
    got_k = kinds.set_index(["county_code", "kind", "operator", "area"])["institutions"]
    assert got_k.sort_index().to_dict() == expected.sort_index().to_dict()
    eligible = kinds.loc[kinds["eligible"], "institutions"].sum()
    i = raw["institutions"]
    assert eligible == ((i["kind"] == "elderly") & (i["operator"] == "public")
                        & (i["area"] == "rural")).sum()


# ----------------------------------------------------------------------------------------------
# pairing network
# ----------------------------------------------------------------------------------------------
def test_network_by_quarter_by_two_routes(demo, raw) -> None:
    q = describe.pairing_network(demo).tidy().set_index("period")
    p = raw["pairings"]
    for period, row in q.iterrows():
        per = pd.Period(period, freq="Q")
        start, end = per.start_time, per.end_time
        active = p[(p["start_date"] <= end) & (p["end_date"].isna() | (p["end_date"] >= start))]
        assert row["pairings_active"] == len(active), period
        assert row["units_active"] == active["unit_id"].nunique(), period
        assert row["institutions_paired"] == active["institution_id"].nunique(), period
        started = p[_quarter(p["start_date"]) == period]
        for reason in ("initial", "adjusted", "added"):
            assert row[f"started_{reason}"] == (started["reason"] == reason).sum(), (period, reason)
        assert row["ended"] == (_quarter(p["end_date"].dropna()) == period).sum(), period
    assert q["started_adjusted"].sum() == (p["reason"] == "adjusted").sum()
    assert q.index[0] == _quarter(p["start_date"]).min()
    assert q.index[-1] == raw["assessments"]["period"].max()


def test_network_degrees_and_sectors(demo, raw) -> None:
    tabs = describe.pairing_network(demo).tables()
    p = raw["pairings"]
    units = tabs["units"].set_index("unit_id")
    deg = p.groupby("unit_id")["institution_id"].nunique()
    assert units.loc[deg.index, "institutions"].to_dict() == deg.to_dict()
    assert (units.drop(deg.index)["pairings"] == 0).all()  # units never paired
    inst = tabs["institutions"].set_index("institution_id")
    ideg = p.groupby("institution_id")["unit_id"].nunique()
    assert inst.loc[ideg.index, "units"].to_dict() == ideg.to_dict()
    assert inst["ended"].sum() == p["end_date"].notna().sum()
    d = tabs["degrees"]
    unit_dist = d[d["side"] == "unit"].set_index("degree")["count"].to_dict()
    assert unit_dist == deg.value_counts().to_dict()
    merged = p.merge(raw["units"][["unit_id", "level", "sector"]], on="unit_id")
    sectors = tabs["sectors"].set_index(["level", "sector"])
    expected = merged.groupby(["level", "sector"]).size()
    assert sectors.loc[expected.index, "pairings"].to_dict() == expected.to_dict()
    assert sectors["pairings_share"].sum() == pytest.approx(1.0)
    added = merged[merged["reason"] == "added"]
    assert sectors["added"].sum() == len(added)


# ----------------------------------------------------------------------------------------------
# activity mix
# ----------------------------------------------------------------------------------------------
def test_activity_mix_by_two_routes(demo, raw) -> None:
    res = describe.activity_mix(demo)
    got = res.tidy().set_index(["period", "category"])
    a = raw["activities"].assign(period=_quarter(raw["activities"]["date"]))
    g = a.groupby(["period", "category"])
    assert (got.loc[g.size().index, "activities"] == g.size()).all()
    np.testing.assert_allclose(got.loc[g.size().index, "value_rmb"], g["value_rmb"].sum(),
                               rtol=1e-12)
    assert (got.loc[g.size().index, "beneficiaries"]
            == g["beneficiaries"].sum().astype("int64")).all()
    # cells without activities are present, with zeros
    assert len(got) == a["period"].nunique() * a["category"].nunique()
    assert got["activities"].sum() == len(a)
    tot = res.tables()["by_category"].set_index("category")
    assert tot["activities"].to_dict() == a.groupby("category").size().to_dict()
    assert tot["activities"].is_monotonic_decreasing


# ----------------------------------------------------------------------------------------------
# outcome distributions
# ----------------------------------------------------------------------------------------------
def _raw_composite(raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The composite by hand: z-scores on the year before the first pairing, hazards negated,
    the mean of the four (missing when any is)."""
    a = _assessed(raw)
    a["year"] = a["period"].str[:4].astype(int)
    base_year = raw["pairings"]["start_date"].dt.year.min() - 1
    base = a[a["year"] == base_year]
    z = pd.DataFrame({o: (a[o] - base[o].mean()) / base[o].std(ddof=1) for o in OUTCOMES})
    z["safety_hazards"] = -z["safety_hazards"]
    a["composite"] = z.mean(axis=1).where(z.notna().all(axis=1))
    return a


def test_outcome_distributions_by_two_routes(demo, raw) -> None:
    t = describe.outcome_distributions(demo).tidy()
    a = _raw_composite(raw)
    for outcome in (*OUTCOMES, "composite"):
        for code, g in a.groupby("county_code"):
            row = t[(t["county_code"] == code) & (t["outcome"] == outcome)].iloc[0]
            x = g[outcome].dropna().to_numpy()
            assert row["n_assessed"] == len(x)
            assert row["n_institutions"] == g.loc[g[outcome].notna(), "institution_id"].nunique()
            assert row["mean"] == pytest.approx(x.mean(), rel=1e-10)
            assert row["sd"] == pytest.approx(x.std(ddof=1), rel=1e-10)
            for name, q in (("q10", 10), ("q25", 25), ("median", 50), ("q75", 75), ("q90", 90)):
                assert row[name] == pytest.approx(np.percentile(x, q), rel=1e-10, abs=1e-12)
            assert (row["min"], row["max"]) == (x.min(), x.max())
        city = t[(t["level"] == "city") & (t["outcome"] == outcome)].iloc[0]
        assert city["n_assessed"] == a[outcome].notna().sum()
        assert city["median"] == pytest.approx(a[outcome].median(), rel=1e-10)


# ----------------------------------------------------------------------------------------------
# quarterly means: plain pandas, and the same numbers as indicators.trends
# ----------------------------------------------------------------------------------------------
def test_quarterly_means_residents_weighted_from_raw(demo, raw) -> None:
    t = describe.quarterly_means(demo).tidy()
    assert set(t["weighting"]) == {"residents"}
    a = _raw_composite(raw)
    for outcome in (*OUTCOMES, "composite"):
        d = a.dropna(subset=[outcome])
        d = d[d["residents"] > 0].assign(wx=lambda f, o=outcome: f["residents"] * f[o])
        city = d.groupby("period")[["wx", "residents"]].sum()
        got = t[(t["level"] == "city") & (t["outcome"] == outcome)].set_index("period")["mean"]
        np.testing.assert_allclose(got.loc[city.index], city["wx"] / city["residents"],
                                   rtol=1e-10)
        county = d.groupby(["county_code", "period"])[["wx", "residents"]].sum()
        got_c = t[(t["level"] == "county") & (t["outcome"] == outcome)].set_index(
            ["county_code", "period"])["mean"]
        np.testing.assert_allclose(got_c.loc[county.index], county["wx"] / county["residents"],
                                   rtol=1e-10)
        assert len(got_c) == len(county)


def test_quarterly_means_unweighted_from_raw(demo, raw) -> None:
    t = describe.quarterly_means(demo, weighting="unweighted").tidy()
    a = _assessed(raw)
    for outcome in OUTCOMES:
        exp = a.groupby(["county_code", "period"])[outcome].mean()
        got = t[(t["level"] == "county") & (t["outcome"] == outcome)].set_index(
            ["county_code", "period"])["mean"]
        np.testing.assert_allclose(got.loc[exp.index], exp, rtol=1e-10)


@pytest.mark.parametrize("weighting", ["residents", "unweighted"])
def test_quarterly_means_agree_with_indicators_trends(demo, weighting: str) -> None:
    mine = describe.quarterly_means(demo, weighting=weighting).tidy()
    theirs = indicators.trends(demo.panel, weighting=weighting).tidy()
    theirs = theirs.assign(outcome=theirs["indicator"].map(
        lambda i: indicators.INDICATORS.get(i, i)),
        county_code=theirs["id"].where(theirs["level"] == "county"))
    key = ["level", "county_code", "period", "outcome"]
    m = mine.astype({"county_code": object}).merge(
        theirs[[*key, "value", "n_institutions"]].astype({"county_code": object}), on=key,
        how="outer", suffixes=("", "_trends"), indicator=True)
    assert (m["_merge"] == "both").all(), m[m["_merge"] != "both"].head()
    np.testing.assert_allclose(m["mean"], m["value"], rtol=1e-12)
    assert (m["n_institutions"] == m["n_institutions_trends"]).all()


# ----------------------------------------------------------------------------------------------
# county league
# ----------------------------------------------------------------------------------------------
def test_county_league_by_two_routes(demo, demo_root: Path, raw) -> None:
    res = describe.county_league(demo)
    lg = res.tidy().set_index("county_code")
    inst = raw["institutions"]
    gi = inst.groupby("county_code")
    assert lg["institutions"].to_dict() == gi.size().to_dict()
    assert lg["elderly_institutions"].to_dict() == (
        inst[inst["kind"] == "elderly"].groupby("county_code").size().to_dict())
    assert lg["beds"].to_dict() == gi["beds"].sum().to_dict()
    a = _assessed(raw)
    latest = a[a["period"] == a["period"].max()]
    assert lg["residents"].to_dict() == latest.groupby("county_code")["residents"].sum().to_dict()
    # paired in the last quarter of the data: a pairing covers a day of it
    last = pd.Period(a["period"].max(), freq="Q")
    p = raw["pairings"]
    cover = p[(p["start_date"] <= last.end_time)
              & (p["end_date"].isna() | (p["end_date"] >= last.start_time))]
    paired = inst["institution_id"].isin(cover["institution_id"])
    np.testing.assert_allclose(lg["paired_share"], paired.groupby(inst["county_code"]).mean())
    acts = raw["activities"].assign(county_code=_county_of(raw, raw["activities"]))
    assert lg["activities"].to_dict() == acts.groupby("county_code").size().to_dict()
    assert lg["visits"].to_dict() == (
        acts[acts["category"] == "visit"].groupby("county_code").size().to_dict())
    np.testing.assert_allclose(lg["value_rmb"],
                               acts.groupby("county_code")["value_rmb"].sum() / 1e4, rtol=1e-12)
    probs = raw["problems"].assign(county_code=_county_of(raw, raw["problems"]))
    found = probs.groupby("county_code").size()
    solved = probs[probs["resolved_date"].notna()].groupby("county_code").size()
    np.testing.assert_allclose(lg["resolved_share"], solved / found, rtol=1e-12)
    np.testing.assert_allclose(lg["activities_per_inst"], acts.groupby("county_code").size()
                               / gi.size(), rtol=1e-12)
    np.testing.assert_allclose(lg["value_per_bed"], acts.groupby("county_code")["value_rmb"].sum()
                               / gi["beds"].sum(), rtol=1e-12)
    # the composite change is the residents-weighted county change of indicators.parquet
    ind = pd.read_parquet(demo_root / "data/processed/demo/results/indicators.parquet")
    comp = ind[(ind["level"] == "county") & (ind["indicator"] == "composite")
               & (ind["weighting"] == "residents")].set_index("id")["change"]
    np.testing.assert_allclose(lg["composite_change"], comp.loc[lg.index], rtol=1e-12)
    # cohort: the quarter of the county-management date
    c = raw["counties"].set_index("county_code")["county_management_date"]
    expected = {k: (str(v.to_period("Q")) if pd.notna(v) else None) for k, v in c.items()}
    assert {k: (v if pd.notna(v) else None) for k, v in lg["cohort"].items()} == expected
    # ranks: 1 + the number of counties strictly better (ties share the better rank)
    for metric in describe.league.RANKED:
        v = lg[metric]
        better = [(v > x).sum() + 1 for x in v]
        assert lg[f"rank_{metric}"].tolist() == better, metric
    assert res.rank_metric == "composite_change"
    assert (lg["rank"] == lg["rank_composite_change"]).all()
    city = res.tables()["city"].iloc[0]
    assert city["institutions"] == len(inst)
    assert city["resolved_share"] == pytest.approx(solved.sum() / found.sum())
    cc = ind[(ind["level"] == "city") & (ind["indicator"] == "composite")
             & (ind["weighting"] == "residents")]["change"].iloc[0]
    assert city["composite_change"] == pytest.approx(cc, rel=1e-12)


# ----------------------------------------------------------------------------------------------
# data quality
# ----------------------------------------------------------------------------------------------
def test_data_quality_by_two_routes(demo, raw) -> None:
    res = describe.data_quality(demo)
    t = res.tidy()
    q = t[t["level"] == "county"].set_index("county_code")
    a = _assessed(raw)
    inst = raw["institutions"]
    assert q["assessed"].to_dict() == a.groupby("county_code").size().to_dict()
    assert q["never_assessed"].to_dict() == (
        (~inst["institution_id"].isin(a["institution_id"])).groupby(inst["county_code"]).sum()
        .to_dict())
    beds = a["institution_id"].map(inst.set_index("institution_id")["beds"])
    over = (a["residents"] > beds).groupby(a["county_code"]).sum()
    assert q["residents_over_beds"].to_dict() == over.reindex(q.index, fill_value=0).to_dict()
    acts = raw["activities"].assign(county_code=_county_of(raw, raw["activities"]))
    assert q["activities_without_unit"].to_dict() == (
        acts["unit_id"].isna().groupby(acts["county_code"]).sum().to_dict())
    probs = raw["problems"].assign(county_code=_county_of(raw, raw["problems"]))
    assert q["problems_open"].to_dict() == (
        probs["resolved_date"].isna().groupby(probs["county_code"]).sum().to_dict())
    own = a.sort_values("period").groupby("institution_id").tail(1)
    small = (own["residents"] >= 1) & (own["residents"] < DISCLOSURE_THRESHOLD)
    assert q["tiny_homes"].to_dict() == (
        small.groupby(own["county_code"]).sum().reindex(q.index, fill_value=0).to_dict())
    for code, g in a.groupby("county_code"):
        lr = g[g["period"] == g["period"].max()]
        n = ((lr["residents"] >= 1) & (lr["residents"] < DISCLOSURE_THRESHOLD)).sum()
        assert q.at[code, "small_latest_quarter"] == n
    city = t[t["level"] == "city"].iloc[0]
    assert city["tiny_homes"] == small.sum()
    assert city["problems_open"] == probs["resolved_date"].isna().sum()
    assert (t["threshold"] == DISCLOSURE_THRESHOLD).all()
    # a larger threshold counts every institution with a resident in its latest assessment
    big = describe.data_quality(demo, threshold=10_000).tidy()
    assert big.loc[big["level"] == "city", "tiny_homes"].iloc[0] == (own["residents"] >= 1).sum()


# ----------------------------------------------------------------------------------------------
# invariance to the order of rows
# ----------------------------------------------------------------------------------------------
FUNCTIONS = (describe.coverage, describe.pairing_network, describe.activity_mix,
             describe.outcome_distributions, describe.county_league, describe.quarterly_means,
             describe.data_quality)


@pytest.fixture(scope="module")
def shuffled(demo):
    rng = np.random.default_rng(7)

    def mix(df: pd.DataFrame) -> pd.DataFrame:
        return df.iloc[rng.permutation(len(df))].reset_index(drop=True)

    return dataclasses.replace(demo, tables={k: mix(v) for k, v in demo.tables.items()},
                               panel=mix(demo.panel))


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_invariant_to_row_order(demo, shuffled, fn) -> None:
    a, b = fn(demo).tables(), fn(shuffled).tables()
    assert list(a) == list(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name].reset_index(drop=True),
                                      b[name].reset_index(drop=True), rtol=1e-10,
                                      obj=f"{fn.__name__}: {name}")


# ----------------------------------------------------------------------------------------------
# the build step, the protocol, options
# ----------------------------------------------------------------------------------------------
def test_build_writes_the_describe_files(demo, demo_root: Path) -> None:
    folder = demo_root / "data/processed/demo/results"
    assert "describe" in demo.manifest["steps"]
    fresh = describe.build_results(demo)
    assert sorted(fresh) == sorted(RESULTS_FILES)
    for stem in RESULTS_FILES:
        written = pd.read_parquet(folder / f"{stem}.parquet")
        assert len(written) > 0, stem
        pd.testing.assert_frame_equal(written, fresh[stem].reset_index(drop=True),
                                      check_dtype=False, obj=stem)
    trends = pd.read_parquet(folder / "describe_trends.parquet")
    assert trends["weighting"].iloc[0] == "residents"
    assert set(trends["weighting"]) == {"residents", "unweighted"}


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_results_follow_the_protocol(demo, fn) -> None:
    import matplotlib.pyplot as plt

    res = fn(demo)
    cls = type(res)
    assert dataclasses.is_dataclass(res) and cls.__dataclass_params__.frozen
    assert isinstance(cls.__dict__.get("title"), property)
    for name in ("tidy", "summary", "_repr_html_", "_display_table"):
        assert name not in cls.__dict__, name
    tables = res.tables()
    assert tables and all(isinstance(v, pd.DataFrame) for v in tables.values())
    pd.testing.assert_frame_equal(res.tidy(), next(iter(tables.values())))
    assert res.title in res.summary() and res.title in res._repr_html_()
    ax = res.plot()
    assert ax.has_data()
    plt.close("all")


def test_options_are_checked(demo) -> None:
    with pytest.raises(SpecificationError, match="weighting"):
        describe.quarterly_means(demo, weighting="population")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="threshold"):
        describe.data_quality(demo, threshold=0)
    with pytest.raises(SpecificationError, match="outcome"):
        describe.outcome_distributions(demo).plot(outcome="wellbeing")  # type: ignore[arg-type]
