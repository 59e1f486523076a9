"""A small processed dataset with the documented table, panel and results columns, for the report
tests: three real Leshan county codes, a children's home with fewer than 10 children, and an
institution whose name is an HTML injection attempt. The tables and panel are invented; the
indicators and the descriptive ``describe_*`` results are computed from them by the build's own
steps (as ``pairing-eval build`` would), the estimates (effectiveness, reform, allocation) are
invented with the columns DESIGN.md § Results files requires.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

COUNTIES = [
    ("511102", "市中区", "Shizhong", "district", "2021-04-15"),
    ("511123", "犍为县", "Qianwei", "county", "2022-02-01"),
    ("511132", "峨边彝族自治县", "Ebian", "autonomous_county", None),
]
EVIL = "<script>alert(1)</script>"
PERIODS = [f"{y}Q{q}" for y in range(2019, 2025) for q in range(1, 5)]


def _t(period: str) -> int:
    return int(period[:4]) * 4 + int(period[-1]) - 1


def make_world(root: Path, *, seed: int = 7, results: tuple[str, ...] | None = None,
               synthetic: bool = True) -> Path:
    """Write ``data/raw/world`` (empty marker) and ``data/processed/world`` under ``root``."""
    rng = np.random.default_rng(seed)
    (root / "data" / "raw" / "world").mkdir(parents=True, exist_ok=True)
    out = root / "data" / "processed" / "world"
    (out / "results").mkdir(parents=True, exist_ok=True)

    counties = pd.DataFrame(
        {
            "county_code": [c[0] for c in COUNTIES],
            "county_name": [c[1] for c in COUNTIES],
            "county_name_en": [c[2] for c in COUNTIES],
            "county_kind": [c[3] for c in COUNTIES],
            "population": pd.array([300000, 450000, 140000], dtype="Int64"),
            "elderly_share": [0.22, 0.25, 0.18],
            "rural_share": [0.2, 0.6, 0.7],
            "county_management_date": pd.to_datetime([c[4] for c in COUNTIES]),
        }
    )
    inst_rows = []
    for code, *_ in COUNTIES:
        for j, (kind, op, area, beds) in enumerate(
            [("elderly", "public", "rural", 60), ("elderly", "private", "urban", 120),
             ("elderly", "public", "urban", 80), ("children", "public", "urban", 12)]
        ):
            name = f"示例{code[-2:]}号机构{j}"
            if code == "511102" and j == 1:
                name = EVIL
            inst_rows.append((f"I{code}{j}", name, code, kind, op, area, beds))
    institutions = pd.DataFrame(inst_rows, columns=["institution_id", "institution_name", "county_code",
                                                    "kind", "operator", "area", "beds"])
    institutions["beds"] = institutions["beds"].astype("Int64")
    for c in ("township", "distance_km", "opened_year"):
        institutions[c] = pd.NA
    units = pd.DataFrame(
        {
            "unit_id": [f"U{i}" for i in range(6)],
            "unit_name": [f"示例单位{i}" for i in range(5)] + ["<b>bold unit</b>"],
            "level": ["city"] * 6,
            "sector": ["finance", "health", "education", "telecom", "enterprise", "other"],
            "staff": pd.array([20] * 6, dtype="Int64"),
            "joined_date": pd.to_datetime(["2021-01-01"] * 6),
        }
    )
    pairings = pd.DataFrame(
        {
            "pairing_id": [f"P{i}" for i in range(len(institutions))],
            "unit_id": [f"U{i % 6}" for i in range(len(institutions))],
            "institution_id": institutions["institution_id"],
            "start_date": pd.to_datetime("2021-01-01"),
            "end_date": pd.NaT,
            "reason": "initial",
        }
    )
    adopt = {c[0]: (pd.Period(c[4], "Q").strftime("%YQ%q") if c[4] else None) for c in COUNTIES}
    panel_rows, assess_rows, act_rows = [], [], []
    for _, r in institutions.iterrows():
        base = rng.normal(70, 5)
        for per in PERIODS:
            t = _t(per)
            paired = per >= "2021Q1"
            acts = int(rng.poisson(4)) if paired else 0
            residents = 5 if r["kind"] == "children" else int(r["beds"] * 0.8)
            a = adopt[r["county_code"]]
            eligible = r["kind"] == "elderly" and r["operator"] == "public" and r["area"] == "rural"
            at = _t(a) if a else np.nan
            scores = base + 0.3 * (t - _t("2019Q1")) / 4 + rng.normal(0, 1, 3)
            hazards = max(0.0, 3 - 0.1 * (t - _t("2019Q1")) / 4 + rng.normal(0, 0.5))
            panel_rows.append(
                {
                    "institution_id": r["institution_id"], "county_code": r["county_code"],
                    "kind": r["kind"], "operator": r["operator"], "area": r["area"], "beds": r["beds"],
                    "period": per, "year": int(per[:4]), "quarter": int(per[-1]), "t": t,
                    "assessed": True, "residents": float(residents),
                    "environment_score": scores[0], "service_score": scores[1],
                    "happiness_score": scores[2], "safety_hazards": float(round(hazards)),
                    "paired": paired, "n_units": int(paired), "activities": acts,
                    "visits": acts // 2, "value_rmb": acts * 1500.0,
                    "value_per_resident": acts * 1500.0 / max(residents, 1),
                    "problems_found": 0, "problems_resolved": 0, "problems_open": 0,
                    "eligible": eligible, "adoption_period": a, "adoption_t": at,
                    "reform_treated": bool(eligible and a and t >= at),
                    "repair_period": None, "repair_t": np.nan,
                }
            )
            assess_rows.append((r["institution_id"], per, residents, *scores, round(hazards)))
            if acts:
                act_rows.append((f"A{len(act_rows)}", pd.Period(per, "Q").start_time,
                                 r["institution_id"], "U1" if len(act_rows) % 5 else None, "visit",
                                 10, 20, acts * 1500.0))
    panel = pd.DataFrame(panel_rows)
    panel = panel.sort_values(["institution_id", "t"])
    for c in ("activities", "visits", "value_per_resident"):
        panel[f"{c}_lag1"] = panel.groupby("institution_id")[c].shift(1)
        panel[f"{c}_lead1"] = panel.groupby("institution_id")[c].shift(-1)
    assessments = pd.DataFrame(assess_rows, columns=["institution_id", "period", "residents",
                                                     "environment_score", "service_score",
                                                     "happiness_score", "safety_hazards"])
    activities = pd.DataFrame(act_rows, columns=["activity_id", "date", "institution_id", "unit_id",
                                                 "category", "participants", "beneficiaries", "value_rmb"])
    problems = pd.DataFrame(
        {
            "problem_id": ["Q1", "Q2", "Q3"],
            "institution_id": ["I5111020", "I5111231", "I5111320"],
            "category": ["environment", "safety", "service"],
            "found_date": pd.to_datetime(["2021-05-01", "2022-03-01", "2023-01-01"]),
            "resolved_date": pd.to_datetime(["2021-06-01", None, "2023-02-01"]),
            "unit_id": ["U0", None, "U2"],
        }
    )
    tables = dict(counties=counties, institutions=institutions, units=units, pairings=pairings,
                  activities=activities, problems=problems, assessments=assessments)
    for name, df in tables.items():
        df.to_parquet(out / f"{name}.parquet", index=False)
    panel.to_parquet(out / "panel.parquet", index=False)
    manifest = {"dataset": "world", "synthetic": synthetic, "data_hash": "abc123def4567890ffff",
                "package_version": "test", "row_counts": {k: len(v) for k, v in tables.items()}}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")

    res = _results(institutions, units, adopt, rng)
    res |= _built_results(root)
    for name, df in res.items():
        if results is None or name in results:
            df.to_parquet(out / "results" / f"{name}.parquet", index=False)
    return root


def _built_results(root: Path) -> dict[str, pd.DataFrame]:
    """The results the build computes from the world's own tables and panel: the indicators and
    the descriptive ``describe_*`` files (the league, quarterly means, data-quality flags, …)."""
    from analysis import describe, indicators
    from analysis.data import load_processed

    processed = load_processed("world", root=root)
    return {**indicators.build_results(processed), **describe.build_results(processed)}


def _results(institutions, units, adopt, rng) -> dict[str, pd.DataFrame]:
    """Invented estimates with the documented columns (effectiveness, reform, allocation)."""
    outcomes = ["environment_score", "service_score", "happiness_score", "safety_hazards"]
    eff_rows = []
    for o in outcomes:
        for inf in ("analytic", "wild_bootstrap"):
            est = 1.5 if o == "environment_score" else 0.4
            eff_rows.append((o, "dose_response", "log1p(activities_lag1)", est, 0.3, est - 0.6, est + 0.6, 0.01, inf, 1800))
    effectiveness = pd.DataFrame(eff_rows, columns=["outcome", "model", "term", "estimate", "std_error",
                                                    "ci_low", "ci_high", "p_value", "inference", "n_obs"])
    groups = sorted({g for g in adopt.values() if g})
    attgt = pd.DataFrame(
        [(o, g, p, 1.0 if p >= g else 0.0, 0.5) for o in outcomes + ["composite"] for g in groups
         for p in PERIODS[::4]],
        columns=["outcome", "group", "period", "att", "std_error"],
    )
    agg_rows = []
    for o in outcomes + ["composite"]:
        for inf in ("analytic", "wild_bootstrap", "randomization"):
            agg_rows.append((o, "simple", None, 1.2, 0.5, 0.2, 2.2, 0.04, inf))
            for g in groups:
                agg_rows.append((o, "group", g, 1.0 + 0.5 * groups.index(g), 0.6, -0.2, 2.2, 0.09, inf))
            for e in range(-2, 3):
                agg_rows.append((o, "dynamic", str(e), float(max(e, 0)), 0.4, -0.8, 0.8, 0.5, inf))
    aggregate = pd.DataFrame(agg_rows, columns=["outcome", "aggregation", "key", "att", "std_error",
                                                "ci_low", "ci_high", "p_value", "inference"])
    plan = pd.DataFrame(
        {
            "unit_id": [f"U{i % 6}" for i in range(len(institutions))] + ["U5"],
            "institution_id": list(institutions["institution_id"]) + ["I5111021"],
            "current": [True] * len(institutions) + [False],
            "recommended": [i % 4 != 2 for i in range(len(institutions))] + [True],
        }
    )
    # as documented by analysis.allocation: the institution's change, repeated on its rows
    gain = dict(zip(institutions["institution_id"], rng.uniform(-0.5, 2.0, len(institutions)), strict=True))
    plan["predicted_gain"] = plan["institution_id"].map(gain)
    plan["change"] = np.select([plan["current"] & plan["recommended"], plan["recommended"]],
                               ["kept", "added"], "ended")
    return dict(effectiveness=effectiveness, reform_attgt=attgt, reform_aggregate=aggregate,
                allocation_plan=plan)


def test_world_has_the_documented_columns(tmp_path):
    from analysis.data import load_processed

    make_world(tmp_path)
    p = load_processed("world", root=tmp_path)
    assert {"adoption_period", "activities_lag1", "reform_treated"} <= set(p.panel.columns)
    assert set(p.result("reform_aggregate")["aggregation"]) == {"simple", "group", "dynamic"}
