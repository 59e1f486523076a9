"""Key findings: the evidence ladder as a pure function (every rung, every check, on hand-made
numbers and small results frames), the sentences it words, and a planted-effect world against a
null world giving different sentences for the same county (estimates from the package's own
estimators on a small generated panel)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import reform
from analysis.domain import t_to_period
from analysis.effectiveness import dose_response
from analysis.reports.evidence import (
    LEVELS,
    ROBUST_M,
    dose_evidence,
    grade,
    reform_evidence,
)
from analysis.reports.sections.findings import (
    FindingsInput,
    gain_interval,
    key_findings,
    num,
    with_ci,
)

# ----------------------------------------------------------------------------------------------
# the ladder on numbers
# ----------------------------------------------------------------------------------------------

ROBUST = dict(breakdown_m=2.0, n_treated=4, n_comparison=6, p_randomization=0.004)


def test_strong_needs_a_small_p_an_interval_off_zero_and_every_check():
    ev = grade(0.5, 0.3, 0.7, 0.004, **ROBUST)
    assert ev.level == "strong" and ev.reasons == ()
    assert ev.direction("composite") == "improve"
    assert ev.direction("safety_hazards") == "worsen"  # more hazards is worse


def test_some_between_one_and_five_percent():
    ev = grade(0.5, 0.1, 0.9, 0.03, **ROBUST)
    assert ev.level == "some" and ev.reasons == ()


@pytest.mark.parametrize("ci,p", [((-0.1, 0.9), 0.03), ((0.1, 0.9), 0.2), ((-0.5, 0.5), 0.9)])
def test_insufficient_when_the_interval_covers_zero_or_p_is_large(ci, p):
    ev = grade(0.4, *ci, p, **ROBUST)
    assert ev.level == "insufficient"
    assert ev.direction("composite") == ("none" if ci[0] < 0 else "improve")


def test_undetermined_without_an_estimate():
    for args in [(None, None, None, None), (0.5, math.nan, 0.7, 0.01), (0.5, 0.3, 0.7, None)]:
        ev = grade(*args, **ROBUST)
        assert ev.level == "undetermined" and ev.reasons == ("no_estimate",)


@pytest.mark.parametrize("check,reason", [
    (dict(few_comparison=True), "few_comparison"),
    (dict(n_treated=1), "few_treated"),
    (dict(p_randomization=0.08), "randomization_disagrees"),
    (dict(breakdown_m=ROBUST_M / 2), "fragile_trends"),
    (dict(breakdown_m=None), "no_sensitivity"),
    (dict(method="analytic"), "analytic_only"),
])
def test_each_check_caps_a_strong_result_at_some(check, reason):
    ev = grade(0.5, 0.3, 0.7, 0.001, **{**ROBUST, **check})
    assert ev.level == "some"
    assert reason in ev.reasons


def test_a_failing_pretrend_test_caps_at_insufficient():
    ev = grade(0.5, 0.3, 0.7, 0.001, pretrend_p=0.01, **ROBUST)
    assert ev.level == "insufficient" and "pretrend" in ev.reasons
    assert grade(0.5, 0.3, 0.7, 0.001, pretrend_p=0.4, **ROBUST).level == "strong"


def test_the_adjusted_p_value_is_the_one_read():
    ev = grade(0.5, 0.3, 0.7, 0.004, p_adjusted=0.03, **ROBUST)
    assert ev.level == "some" and ev.adjusted and ev.p_used == 0.03
    assert grade(0.5, 0.3, 0.7, 0.004, p_adjusted=float("nan"), **ROBUST).level == "strong"


def test_an_association_whose_lead_placebo_fails_is_not_credible():
    ok = grade(0.3, 0.2, 0.4, 0.001, design="association", placebo_p=0.6)
    assert ok.level == "strong"
    bad = grade(0.3, 0.2, 0.4, 0.001, design="association", placebo_p=0.01)
    assert bad.level == "undetermined" and bad.reasons == ("placebo_failed",)
    none = grade(0.3, 0.2, 0.4, 0.001, design="association")
    assert none.level == "some" and none.reasons == ("no_placebo",)


def test_levels_are_ordered_strongest_first():
    assert LEVELS == ("strong", "some", "insufficient", "undetermined")


# ----------------------------------------------------------------------------------------------
# the ladder on small results frames
# ----------------------------------------------------------------------------------------------


def _agg(att=0.5, lo=0.3, hi=0.7, p=0.002, p_ri=0.003, few=0.0, n_t=4, n_c=6, key="2021Q1",
         aggregation="group", **extra) -> pd.DataFrame:
    rows = []
    for inf, pv in (("analytic", p / 2), ("wild_bootstrap", p), ("randomization", p_ri)):
        rows.append(dict(outcome="composite", aggregation=aggregation, key=key, att=att,
                         ci_low=lo, ci_high=hi, p_value=pv, inference=inf, n_treated_counties=n_t,
                         n_comparison_counties=n_c, min_comparison_counties=3 if few == 0 else 2,
                         few_comparison_weight=few, **extra))
    return pd.DataFrame(rows)


def _sens(b=1.5) -> pd.DataFrame:
    return pd.DataFrame({"outcome": ["composite"] * 2,
                         "restriction": ["relative_magnitude", "smoothness"],
                         "m": [0.0, 0.0], "ci_low": [0.3, 0.3], "ci_high": [0.7, 0.7],
                         "breakdown_m": [b, 0.05]})


def test_reform_rows_are_read_by_the_default_method_with_their_checks():
    ev = reform_evidence(_agg(), "composite", aggregation="group", key="2021Q1", sensitivity=_sens())
    assert ev.level == "strong" and ev.method == "wild_bootstrap" and ev.p_value == 0.002
    assert (ev.n_treated, ev.n_comparison) == (4, 6)
    few = reform_evidence(_agg(few=0.4), "composite", aggregation="group", key="2021Q1",
                          sensitivity=_sens())
    assert few.level == "some" and few.reasons == ("few_comparison",)
    fragile = reform_evidence(_agg(), "composite", aggregation="group", key="2021Q1",
                              sensitivity=_sens(0.2))
    assert fragile.level == "some" and fragile.reasons == ("fragile_trends",)
    adj = reform_evidence(_agg(p_adjusted=0.2), "composite", aggregation="group", key="2021Q1",
                          sensitivity=_sens())
    assert adj.level == "insufficient" and adj.adjusted
    missing = reform_evidence(_agg(), "composite", aggregation="group", key="2099Q1")
    assert missing.level == "undetermined"


def test_headline_rows_are_found_by_their_flag():
    agg = pd.concat([_agg(key="overall", aggregation="dynamic_balanced", headline=True,
                          balance_e=7.0),
                     _agg(att=9.0, key="3", aggregation="dynamic_balanced", headline=False,
                          balance_e=7.0)])
    ev = reform_evidence(agg, "composite", aggregation="dynamic_balanced", key="overall",
                         sensitivity=_sens())
    assert ev.estimate == 0.5


def _eff(est=0.3, lo=0.2, hi=0.4, p=0.001, lead_p=0.7, primary=None) -> pd.DataFrame:
    rows = []
    for inf in ("analytic", "wild_bootstrap"):
        rows.append(dict(outcome="composite", model="dose_response", term="log1p(activities_lag1)",
                         estimate=est, ci_low=lo, ci_high=hi, p_value=p, inference=inf))
        rows.append(dict(outcome="composite", model="placebo_lead", term="log1p(activities_lag1)",
                         estimate=est, ci_low=lo, ci_high=hi, p_value=p, inference=inf))
        rows.append(dict(outcome="composite", model="placebo_lead",
                         term="log1p(activities_lead1)", estimate=0.01, ci_low=-0.1,
                         ci_high=0.1, p_value=lead_p, inference=inf))
    df = pd.DataFrame(rows)
    if primary is not None:
        df["primary"] = primary
    return df


def test_dose_response_reads_its_placebo():
    assert dose_evidence(_eff(), "composite").level == "strong"
    bad = dose_evidence(_eff(lead_p=0.002), "composite")
    assert bad.level == "undetermined" and "placebo_failed" in bad.reasons
    assert dose_evidence(_eff(lo=-0.1, p=0.2), "composite").level == "insufficient"
    assert dose_evidence(None, "composite").level == "undetermined"
    assert dose_evidence(_eff(primary=True), "composite").level == "strong"


# ----------------------------------------------------------------------------------------------
# the sentences
# ----------------------------------------------------------------------------------------------


def test_numbers_carry_their_interval():
    assert num(-1.2345) == "−1.23" and num(0.4912) == "+0.491"
    assert with_ci(0.5, 0.3, 0.7, "zh", "wild_bootstrap") == "+0.5（95%置信区间 +0.3 至 +0.7，野自助法）"
    assert with_ci(0.5, 0.3, 0.7, "en") == "+0.5 (95% CI +0.3 to +0.7)"
    assert gain_interval(-0.34, 0.295, grade(0.295, 0.266, 0.321, 0.001)) == pytest.approx(
        (-0.34 * 0.321 / 0.295, -0.34 * 0.266 / 0.295))


def _input(agg, eff, *, cohort="2021Q1", county="511102") -> FindingsInput:
    return FindingsInput(results={"reform_aggregate": agg, "effectiveness": eff,
                                  "reform_sensitivity": _sens()},
                         county_code=county, cohort=cohort, names={county: "市中区"},
                         n_counties=11, cohort_size=2)


@pytest.mark.parametrize("lang,words", [
    ("zh", ("有较强证据", "有一定证据", "证据不足", "无法判断")),
    ("en", ("strong evidence", "some evidence", "insufficient", "cannot be judged")),
])
def test_each_rung_has_its_words(lang, words):
    strong, some, insufficient, undetermined = words
    texts = {}
    for name, agg in {"strong": _agg(), "some": _agg(few=0.3),
                      "insufficient": _agg(lo=-0.1, p=0.2)}.items():
        f = key_findings(_input(agg, _eff()), lang)
        texts[name] = next(x.text for x in f if x.topic == "reform")
    assert strong in texts["strong"] and "+0.5" in texts["strong"] and "+0.3" in texts["strong"]
    assert some in texts["some"]
    assert insufficient in texts["insufficient"]
    eff = next(x.text for x in key_findings(_input(_agg(), _eff(lead_p=0.001)), lang)
               if x.topic == "effectiveness")
    assert undetermined in eff


def test_the_dose_response_is_never_worded_as_a_cause():
    for lang, cause, assoc in (("zh", "使", "相关联"), ("en", "raised", "goes with")):
        found = {f.topic: f.text for f in key_findings(_input(_agg(), _eff()), lang)}
        assert cause in found["reform"]  # the reform's design supports a causal reading
        assert cause not in found["effectiveness"] and assoc in found["effectiveness"]
    zh = {f.topic: f.text for f in key_findings(_input(_agg(), _eff()), "zh")}
    assert "不能直接解读为因果效应" in zh["effectiveness"]


def test_a_comparison_county_reads_the_headline():
    agg = pd.concat([_agg(key="overall", aggregation="dynamic_balanced", headline=True,
                          balance_e=7.0), _agg(att=2.0, key="2021Q1")])
    f = key_findings(_input(agg, _eff(), cohort=None), "zh")
    text = next(x.text for x in f if x.topic == "reform")
    assert "对照县区" in text and "8个季度" in text and "+0.5" in text and "+2" not in text


# ----------------------------------------------------------------------------------------------
# planted effects against a null world: the same county, different sentences
# ----------------------------------------------------------------------------------------------

T0 = 2019 * 4
COHORTS = [8, 10, 10, 12, 12, 14, 14, 16, 16, None, None]


def _world(effect: float, dose: float, seed: int = 3) -> pd.DataFrame:
    """Eleven counties of five eligible homes over 20 quarters, staggered adoption (one county,
    then pairs, two never), county-by-quarter shocks; ``effect`` is the reform's planted effect,
    ``dose`` the planted effect of log1p(last quarter's activities)."""
    rng = np.random.default_rng(seed)
    rows = []
    for c, g in enumerate(COHORTS):
        shock = rng.normal(0, 0.3, 20)
        for j in range(5):
            alpha = rng.normal(70, 3)
            acts = rng.poisson(rng.uniform(1, 8), 21)
            for s in range(20):
                treated = g is not None and s >= g
                y = (alpha + 0.1 * s + shock[s] + effect * treated + dose * np.log1p(acts[s])
                     + rng.normal(0, 0.8))
                rows.append(dict(institution_id=f"I{c:02d}{j}", county_code=f"5111{c:02d}",
                                 t=T0 + s, period=t_to_period(T0 + s), eligible=True,
                                 adoption_t=float(T0 + g) if g is not None else np.nan,
                                 composite=y, activities_lag1=float(acts[s]),
                                 activities_lead1=float(acts[s + 1]), reform_treated=float(treated),
                                 repaired=0.0))
    return pd.DataFrame(rows)


def _results(panel: pd.DataFrame) -> dict[str, pd.DataFrame]:
    res = reform.reform_attgt(panel.rename(columns={"composite": "environment_score"}),
                              outcome="environment_score")
    agg = reform._aggregate_rows(res, "environment_score", n_boot=199, n_perm=199, seed=1)
    agg["outcome"] = "composite"
    agg["key"] = agg["key"].astype(str)
    eff = pd.concat([dose_response(panel, outcome="composite", n_boot=199, seed=1).tidy(),
                     dose_response(panel, outcome="composite", placebo=True, n_boot=199,
                                   seed=1).tidy()])
    return {"reform_aggregate": agg, "effectiveness": eff}


@pytest.fixture(scope="module")
def worlds() -> dict[str, dict[str, pd.DataFrame]]:
    return {"planted": _results(_world(3.0, 2.0)), "null": _results(_world(0.0, 0.0))}


def test_planted_and_null_worlds_give_different_sentences(worlds):
    county, cohort = "511103", t_to_period(T0 + 10)  # a county of the second cohort
    out = {}
    for name, res in worlds.items():
        inp = FindingsInput(results=res, county_code=county, cohort=cohort,
                            names={county: "示例县"}, n_counties=11, cohort_size=2)
        out[name] = {f.topic: f for f in key_findings(inp, "zh")}
    planted, null = out["planted"], out["null"]
    # the reform: an increase with some evidence (no sensitivity analysis in these results)
    assert planted["reform"].evidence.level in ("strong", "some")
    assert "有一定证据表明收归县管使综合指数上升" in planted["reform"].text
    assert null["reform"].evidence.level == "insufficient"
    assert "证据不足以判断收归县管是否改变了综合指数" in null["reform"].text
    # the dose-response: an association in the planted world, none in the null world
    assert planted["effectiveness"].evidence.level == "strong"
    assert "有较强证据表明帮扶强度与综合指数改善相关联" in planted["effectiveness"].text
    assert null["effectiveness"].evidence.level in ("insufficient", "undetermined")
    assert "有较强证据" not in null["effectiveness"].text
    assert planted["reform"].text != null["reform"].text
    assert planted["effectiveness"].text != null["effectiveness"].text
