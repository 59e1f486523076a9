"""The report's reform section (what each number rests on, issue 11's report part) and the
allocation plan explained to the county, on the small processed world of ``test_reports_world``
with the reform results replaced by frames carrying the counties behind every estimate, the
headline balanced dynamic summary and the sensitivity to parallel trends."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from test_reports_world import make_world

from analysis.reports import sections


def _text(section) -> str:
    h = re.sub(r"<img[^>]*>", "", section._repr_html_())
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", h))


def _aggregate() -> pd.DataFrame:
    rows = []
    for o in ("environment_score", "composite"):
        for inf, p in (("analytic", 0.001), ("wild_bootstrap", 0.004), ("randomization", 0.006)):
            base = dict(outcome=o, att=0.5, std_error=0.1, ci_low=0.3, ci_high=0.7, p_value=p,
                        inference=inf, n_treated_counties=2, n_comparison_counties=3,
                        min_comparison_counties=2, few_comparison_weight=0.74,
                        headline=False, balance_e=float("nan"))
            rows.append({**base, "aggregation": "simple", "key": ""})
            rows.append({**base, "aggregation": "group", "key": "2021Q2", "n_treated_counties": 1,
                         "n_comparison_counties": 2, "few_comparison_weight": 1.0})
            rows.append({**base, "aggregation": "group", "key": "2022Q1",
                         "few_comparison_weight": 0.0, "min_comparison_counties": 3})
            for e in ("-1", "0", "1", "overall"):
                rows.append({**base, "aggregation": "dynamic", "key": e, "att": 0.1 + len(e)})
            for e in ("0", "1", "overall"):
                rows.append({**base, "aggregation": "dynamic_balanced", "key": e, "att": 0.42,
                             "balance_e": 1.0, "headline": e == "overall",
                             "few_comparison_weight": 0.25})
    return pd.DataFrame(rows)


def _sensitivity() -> pd.DataFrame:
    rows = []
    for o, b_rm, lo in (("environment_score", 0.0, -0.1), ("composite", 0.36, 0.2)):
        for r, b in (("relative_magnitude", b_rm), ("smoothness", 0.023)):
            for m in (0.0, 0.5):
                rows.append(dict(outcome=o, restriction=r, m=m, ci_low=lo - m, ci_high=0.6 + m,
                                 breakdown_m=b, estimate=0.4, original_low=lo, original_high=0.6))
    return pd.DataFrame(rows)


@pytest.fixture
def world(tmp_path):
    make_world(tmp_path)
    res = tmp_path / "data" / "processed" / "world" / "results"
    _aggregate().to_parquet(res / "reform_aggregate.parquet", index=False)
    _sensitivity().to_parquet(res / "reform_sensitivity.parquet", index=False)
    return tmp_path


def test_counties_behind_each_estimate_and_the_warning(world):
    ctx = sections.open_report("world", "511102", language="zh", root=world)
    html = sections.reform(ctx)._repr_html_()
    text = _text(sections.reform(ctx))
    assert "改革县区数" in text and "对照县区数" in text and "最少对照县区数" in text
    # the cohort of 511102 (2021Q2) rests on one reform county and two comparison counties
    cohort = html[html.index("本县所在批次"):]
    first_row = re.search(r"<tbody>.*?</tr>", cohort, re.S).group(0)
    cells = re.findall(r"<td>(.*?)</td>", first_row)
    assert cells[-3:] == ["1", "2", "2"]
    assert "有100%的权重来自对照县区不足3个的比较（最少2个）" in text
    assert "总体效应有74%的权重" in text


def test_headline_balanced_summary_and_the_full_table(world):
    text = _text(sections.reform(sections.open_report("world", "511102", language="en",
                                                     root=world)))
    assert "Headline: mean effect over the first 2 quarters after the move" in text
    assert "event times 0 to 1" in text
    assert "Dynamic effect at every event time" in text
    head = text[text.index("Headline"):text.index("Overall effect")]
    assert "0.42" in head and "25% of the weight of the headline dynamic effect" in head


def test_sensitivity_in_words_and_a_table(world):
    zh = _text(sections.reform(sections.open_report("world", "511102", language="zh", root=world)))
    assert "多大的偏离会推翻结论" in zh
    assert "综合指数：若改革后趋势偏离不超过改革前最大季度偏离的0.36倍，结论（上升）仍成立" in zh
    assert "院容院貌：即使完全平行的趋势下区间也包含0" in zh
    assert "0.023" in zh and "临界值：相对幅度（倍）" in zh


def test_missing_sensitivity_says_so(tmp_path):
    make_world(tmp_path)
    text = _text(sections.reform(sections.open_report("world", "511102", root=tmp_path)))
    assert "reform_sensitivity.parquet" in text


def test_allocation_explained_in_words(world):
    ctx = sections.open_report("world", "511102", language="zh", root=world)
    text = _text(sections.recommendations(ctx))
    plan = ctx.result("allocation_plan")
    inst = ctx.processed.tables["institutions"]
    mine = plan[plan["institution_id"].isin(inst.loc[inst["county_code"] == "511102",
                                                      "institution_id"])]
    added, ended = int((mine["change"] == "added").sum()), int((mine["change"] == "ended").sum())
    assert f"新增{added}对、结束{ended}对" in text
    g = mine.drop_duplicates("institution_id")["predicted_gain"]
    assert f"{int((g > 0).sum())}个机构预测改善" in text
    assert "本县得失" in text
    en = _text(sections.recommendations(sections.open_report("world", "511102", language="en",
                                                            root=world)))
    assert "What the county gains and gives up" in en


def test_findings_section_on_the_world(world):
    for lang, head in (("zh", "主要结论"), ("en", "Key findings")):
        sec = sections.findings(sections.open_report("world", "511102", language=lang,
                                                     root=world))
        text = _text(sec)
        assert sec.key == "findings" and head in text
        assert 3 <= sec._repr_html_().count("<li") <= 6
