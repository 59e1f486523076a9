"""The words a page uses for the whole dataset, and the methods it names, follow the dataset and
its results (``docs/report_sections.md`` § Pages at each level).

* the whole is 全市 / the city for one prefecture (the demo), 全省 / the province for one province,
  全国 / the nation for several provinces, on every page of the dataset;
* the allocation note says how the plan was solved as ``allocation_plan`` says it: per province
  with new pairs within a unit's county when it has ``province_code``, once for the whole dataset
  otherwise;
* the effectiveness intro (and the methods) name the method of the rows the results flag as
  headline: the county wild bootstrap, or the analytic interval clustered by county; the reform
  note says the results hold analytic inference only when they have no resampling rows.

The worlds: the demo (built with every step), the demo recoded into two provinces of four
prefectures (:mod:`test_report_levels`) and into one province of four prefectures, both built with
the indicators and describe steps only; their estimates (effectiveness, reform, allocation) are
the demo's, read through a patched :meth:`ReportContext.result` (the recoded worlds keep the
demo's institutions and cohorts), or tables changed from them by hand. Everything is asserted on
the sections' rendered HTML.
"""

from __future__ import annotations

import html as html_lib
import re

import pandas as pd
import pytest
from test_report_levels import DATASET, RECODE, built_levels_world

from analysis.data import Processed, load_processed
from analysis.labels import label
from analysis.reports import sections
from analysis.reports.sections.base import ReportContext
from analysis.reports.sections.people import stored_publication

#: the demo's counties recoded into one province (510000) of four prefectures
ONE_PROVINCE = {old: new if new.startswith("51") else ("5113" if new[:4] == "5201" else "5114")
                + new[4:] for old, new in RECODE.items()}
PROVINCE_NAME = "测试乙省"
PROVINCE_DATASET = "province"
COUNTY = "511102"  # a county of every world (市中区, a comparison county)
ESTIMATES = ("effectiveness", "reform_aggregate", "reform_attgt", "reform_sensitivity",
             "reform_pretrends", "allocation_plan", "allocation_summary", "allocation_constraints",
             "need")


@pytest.fixture(scope="session")
def nation_root(tmp_path_factory) -> object:
    return built_levels_world(tmp_path_factory)


@pytest.fixture(scope="session")
def province_root(tmp_path_factory) -> object:
    return built_levels_world(tmp_path_factory, "province_root", PROVINCE_DATASET,
                              recode=ONE_PROVINCE, names={},
                              province_names={"510000": PROVINCE_NAME}, tiny=False)


@pytest.fixture(scope="session")
def nation(nation_root) -> Processed:
    return load_processed(DATASET, root=nation_root)


@pytest.fixture(scope="session")
def province(province_root) -> Processed:
    return load_processed(PROVINCE_DATASET, root=province_root)


def borrow(monkeypatch, donor: Processed, **tables: pd.DataFrame) -> None:
    """Every :class:`ReportContext` reads ``tables`` (name → table) and, for a results file its
    own dataset lacks, the ``donor``'s (the plan without its county codes, so that sections look
    them up in the page's own institutions table)."""
    own = ReportContext.result

    def result(self: ReportContext, name: str) -> pd.DataFrame | None:
        if name in tables:
            return tables[name]
        got = own(self, name)
        if got is None and name in ESTIMATES and donor.has_result(name):
            got = donor.result(name)
            if name == "allocation_plan":
                got = got.drop(columns=["county_code"], errors="ignore")
        return got

    monkeypatch.setattr(ReportContext, "result", result)


def visible(page: str) -> str:
    """The text a reader sees: tags, styles and embedded images removed, entities decoded."""
    s = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    s = re.sub(r"<img[^>]*>", "", s)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", s))


def words(page: str, processed: Processed) -> str:
    """:func:`visible` text without the counties' names (Emeishan City is a county's name)."""
    text = visible(page)
    for name in processed.tables["counties"]["county_name_en"].dropna():
        text = text.replace(str(name), "<county>")
    return text


COUNTY_SECTIONS = ("header", "findings", "key_figures", "institutions", "scorecard",
                   "effectiveness", "reform", "recommendations", "data_quality", "methods")
SUMMARY_SECTIONS = ("header", "findings", "area_figures", "comparison", "scorecard",
                    "effectiveness", "reform", "recommendations", "data_quality", "methods")


def page(ctx: ReportContext) -> str:
    """The page's sections as the notebooks call them, rendered and joined."""
    names = COUNTY_SECTIONS if ctx.county_code else SUMMARY_SECTIONS
    out = []
    for name in names:
        kw = {"generated": "2024-01-01 00:00 UTC"} if name == "header" else {}
        sec = getattr(sections, name)(ctx, **kw)
        if sec is not None:
            out.append(sec._repr_html_())
    return "".join(out)


def context(processed: Processed, county: str | None = None, area: str | None = None,
            language: str = "zh") -> ReportContext:
    """A page's context, as :func:`~analysis.reports.sections.open_report` gives it."""
    return ReportContext(processed, county, language, 10, area,  # type: ignore[arg-type]
                         publication=stored_publication(processed, 10))


CITY_EN = re.compile(r"\bcity\b|city-wide", flags=re.I)


# ----------------------------------------------------------------------------------------------
# the words for the whole
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["county", "dataset", "prefecture", "province"])
def test_several_provinces_say_the_nation(monkeypatch, demo, nation, scope):
    borrow(monkeypatch, demo)
    county = COUNTY if scope == "county" else None
    area = {"prefecture": "520200", "province": "510000"}.get(scope)
    zh = visible(page(context(nation, county, area, "zh")))
    en = words(page(context(nation, county, area, "en")), nation)
    assert "全国" in zh and "全市" not in zh and "全省" not in zh
    assert "the nation" in en or "National" in en or "nationwide" in en.lower()
    assert not CITY_EN.search(en), CITY_EN.search(en)
    assert "{" not in zh + en  # every placeholder filled
    if scope == "county":
        assert any(w in zh for w in ("好于全国", "不及全国", "与全国持平"))
        assert "全国数据显示" in zh and "全国预测合计改善" in zh and "关键指标与全国排名" in zh
        assert "than the nation" in en and "across the nation" in en
        assert "the nation's predicted total gain" in en
    if scope == "dataset":
        assert "“一老一小”结对帮扶评估：全国汇总" in zh  # several provinces: no name
        assert "Paired assistance for the elderly and children: national summary" in en


@pytest.mark.parametrize("scope", ["county", "dataset"])
def test_one_province_says_the_province(monkeypatch, demo, province, scope):
    borrow(monkeypatch, demo)
    county = COUNTY if scope == "county" else None
    zh = visible(page(context(province, county, language="zh")))
    en = words(page(context(province, county, language="en")), province)
    assert "全省" in zh and "全市" not in zh and "全国" not in zh
    assert "the province" in en and not CITY_EN.search(en), CITY_EN.search(en)
    assert "{" not in zh + en
    if scope == "county":
        assert "全省数据显示" in zh and "关键指标与全省排名" in zh
        assert "Province change" in en and "Compared with the province" in en
    else:  # the title takes the province's name from the counties table
        assert f"{PROVINCE_NAME}“一老一小”结对帮扶评估：全省汇总" in zh
        assert (f"Paired assistance for the elderly and children in {PROVINCE_NAME}: "
                "province summary") in en


@pytest.mark.parametrize("county", [COUNTY, None])
def test_one_prefecture_says_the_city(demo, county):
    zh = visible(page(context(demo, county, language="zh")))
    en = visible(page(context(demo, county, language="en")))
    assert "全市" in zh and "全省" not in zh and "全国" not in zh
    assert "the city" in en and "the province" not in en and "the nation" not in en
    assert "{" not in zh + en
    if county:
        assert "关键指标与全市排名" in zh and "全市数据显示" in zh
        assert "across the city" in en and "City change" in en
    else:  # the demo's counties table names no prefecture: the title has no name
        assert "“一老一小”结对帮扶评估：全市汇总" in zh
        assert "Paired assistance for the elderly and children: city summary" in en


def test_summary_link_names_the_whole(nation, province, demo):
    from analysis.labels import label
    from analysis.reports.index import summary_label

    said = {label(summary_label(context(p)), lang)
            for p in (nation, province, demo) for lang in ("zh", "en")}
    assert said == {"全国汇总报告", "National summary report", "全省汇总报告",
                    "Province summary report", "全市汇总报告", "City summary report"}


# ----------------------------------------------------------------------------------------------
# how the plan was solved
# ----------------------------------------------------------------------------------------------


def _per_province(plan: pd.DataFrame, processed: Processed) -> pd.DataFrame:
    """``plan`` as a build solved per province writes it: ``province_code`` of each row's
    institution (in ``processed``)."""
    inst = processed.tables["institutions"].set_index("institution_id")["county_code"]
    out = plan.drop(columns=["county_code"], errors="ignore")
    return out.assign(province_code=out["institution_id"].map(inst).str[:2] + "0000")


def _allocation(ctx: ReportContext) -> str:
    return visible(sections.recommendations(ctx)._repr_html_())


@pytest.mark.parametrize("county", [COUNTY, None])
def test_plan_per_province_within_counties(monkeypatch, demo, nation, county):
    borrow(monkeypatch, demo, allocation_plan=_per_province(demo.result("allocation_plan"), nation))
    zh = _allocation(context(nation, county, language="zh"))
    en = _allocation(context(nation, county, language="en"))
    assert "按省份分别求解（2个省份各求解一次）" in zh and "新增结对限于帮扶单位所在县区" in zh
    assert "统一求解" not in zh
    assert "one optimisation per province (2 provinces)" in en
    assert "new pairs kept within each unit's county" in en and "-wide optimisation" not in en


def test_plan_of_one_province_within_counties(monkeypatch, demo, province):
    plan = _per_province(demo.result("allocation_plan"), province)
    assert set(plan["province_code"]) == {"510000"}
    borrow(monkeypatch, demo, allocation_plan=plan)
    zh = _allocation(context(province, COUNTY, language="zh"))
    en = _allocation(context(province, COUNTY, language="en"))
    assert "全省统一求解、新增结对限于帮扶单位所在县区" in zh and "按省份分别求解" not in zh
    assert "one province-wide optimisation with new pairs kept within each unit's county" in en


def test_plan_without_provinces_is_one_optimisation(monkeypatch, demo, nation):
    zh = _allocation(context(demo, COUNTY, language="zh"))
    en = _allocation(context(demo, COUNTY, language="en"))
    assert "建议来自全市统一求解的优化方案" in zh and "县区内" not in zh
    assert "Recommendations come from one city-wide optimisation (" in en
    # an older plan of a dataset of several provinces (no province_code): the nation's one plan
    borrow(monkeypatch, demo)
    zh = _allocation(context(nation, COUNTY, language="zh"))
    assert "建议来自全国统一求解的优化方案" in zh and "按省份" not in zh


def test_summary_metrics_are_the_datasets_rows(monkeypatch, demo, nation):
    """A plan solved per province has each province's summary rows after the dataset's: the
    summary page lists each metric once, the dataset's."""
    summary = demo.result("allocation_summary")
    per = pd.concat([summary.assign(province_code=""),
                     summary.assign(province_code="510000"),
                     summary.assign(province_code="520000")], ignore_index=True)
    borrow(monkeypatch, demo, allocation_summary=per,
           allocation_plan=_per_province(demo.result("allocation_plan"), nation))
    text = _allocation(context(nation, language="zh"))
    assert text.count("相对现有结对的预测增益") == 1


# ----------------------------------------------------------------------------------------------
# the inference the results hold
# ----------------------------------------------------------------------------------------------


def _analytic_county(eff: pd.DataFrame) -> pd.DataFrame:
    """``effectiveness`` as a build with many counties writes it: no wild-bootstrap rows; the
    models that had them get analytic rows clustered by county, flagged headline, beside the
    ones clustered by institution."""
    wild = eff["inference"] == "wild_bootstrap"
    county = eff[wild].assign(inference="analytic", cluster="county_code", headline=True)
    rest = eff[~wild].copy()
    rest.loc[rest["model"].isin(set(county["model"])), "headline"] = False
    return pd.concat([county, rest], ignore_index=True)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_effectiveness_names_the_headline_the_results_flag(monkeypatch, demo, nation, language):
    wild_zh, wild_en = "按县区聚类的野自助法区间为主要结果", "the county wild-bootstrap interval is the headline"
    ana_zh, ana_en = ("按县区聚类的解析标准误区间为主要结果",
                      "the analytic interval clustered by county is the headline")
    wild, analytic = (wild_zh, ana_zh) if language == "zh" else (wild_en, ana_en)
    # the demo's results: the county wild bootstrap is flagged headline
    flagged = demo.result("effectiveness")
    head = flagged[flagged["model"].eq("dose_response") & flagged["headline"].eq(True)]
    assert set(head["inference"]) == {"wild_bootstrap"}
    text = visible(sections.effectiveness(context(demo, language=language))._repr_html_())
    assert wild in text and analytic not in text
    methods = visible(sections.methods(context(demo, language=language))._repr_html_())
    assert ("野聚类自助法（Webb 权重" if language == "zh" else "wild cluster bootstrap clustered by "
            "county") in methods
    # analytic rows clustered by county flagged headline (the build from 176 counties on)
    borrow(monkeypatch, demo, effectiveness=_analytic_county(flagged))
    for ctx in (context(nation, language=language), context(nation, area="510000",
                                                            language=language)):
        text = visible(sections.effectiveness(ctx)._repr_html_())
        assert analytic in text and wild not in text
    methods = visible(sections.methods(context(nation, COUNTY, language=language))._repr_html_())
    assert ("主要区间为按县区聚类的解析标准误" if language == "zh"
            else "The headline interval is the analytic standard error clustered by county") \
        in methods
    assert ("Webb 权重，县区很少" if language == "zh" else "few counties") not in methods


def test_effectiveness_without_headline_flags_names_the_figure_method(monkeypatch, demo):
    """Results written before the headline flag: the method a figure shows (the wild bootstrap
    when present) is the one named."""
    eff = demo.result("effectiveness").drop(columns=["headline"])
    borrow(monkeypatch, demo, effectiveness=eff)
    text = visible(sections.effectiveness(context(demo, language="en"))._repr_html_())
    assert "the county wild-bootstrap interval is the headline" in text
    only_analytic = eff[eff["inference"] != "wild_bootstrap"]
    borrow(monkeypatch, demo, effectiveness=only_analytic)
    text = visible(sections.effectiveness(context(demo, language="en"))._repr_html_())
    assert "wild-bootstrap interval" not in text
    assert "the analytic (cluster-robust) interval is the headline" in text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_reform_note_follows_the_inference_in_the_results(monkeypatch, demo, nation, language):
    few = "请以野自助法" if language == "zh" else "rely on the wild cluster bootstrap"
    only = "结果中只有按县区聚类的解析推断" if language == "zh" else "analytic inference clustered by county only"
    text = visible(sections.reform(context(demo, COUNTY, language=language))._repr_html_())
    assert few in text and only not in text
    agg = demo.result("reform_aggregate")
    borrow(monkeypatch, demo, reform_aggregate=agg[agg["inference"] == "analytic"])
    ctx = context(nation, COUNTY, language=language)
    text = visible(sections.reform(ctx)._repr_html_())
    assert only in text and few not in text
    methods = visible(sections.methods(ctx)._repr_html_())
    assert ("推断采用按县区聚类的解析标准误" if language == "zh"
            else "inference by the analytic standard error clustered by county") in methods


def test_a_method_under_two_clusterings_gets_a_column_group_each():
    """From 176 counties the effectiveness rows hold the analytic method clustered by institution
    and by county: the table names each clustering and shows each one's standard error and
    interval, instead of whichever row came first; one clustering keeps the single columns."""
    from analysis.reports.sections.estimates import inference_wide

    base = {"model": "dose_response", "outcome": "composite", "term": "log_activities_lag1",
            "estimate": 0.3, "inference": "analytic", "p_value": 0.001, "n_obs": 100}
    rows = pd.DataFrame([
        {**base, "cluster": "county_code", "std_error": 0.05, "ci_low": 0.2, "ci_high": 0.4},
        {**base, "cluster": "institution_id", "std_error": 0.01, "ci_low": 0.28, "ci_high": 0.32},
    ])
    for lang, county, inst in (("zh", "按县区聚类", "按机构聚类"),
                               ("en", "clustered by county", "clustered by institution")):
        wide = inference_wide(rows, ["model", "outcome", "term"], value="estimate", lang=lang)
        se = {c: wide[c].iloc[0] for c in wide.columns if c.startswith(label("std_error", lang))}
        assert len(se) == 2
        assert se[next(c for c in se if county in c)] == 0.05
        assert se[next(c for c in se if inst in c)] == 0.01
        cis = [c for c in wide.columns if c.startswith(label("ci", lang))]
        assert [c.endswith(inst) for c in cis] == [True, False]  # institution first
        assert label("std_error", lang) not in wide.columns
    one = inference_wide(rows.iloc[[1]], ["model", "outcome", "term"], value="estimate",
                         lang="en")
    assert one[label("std_error", "en")].iloc[0] == 0.01
    assert not any("clustered by" in c for c in one.columns)
