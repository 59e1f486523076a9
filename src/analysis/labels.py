"""The bilingual label catalogue: every fixed text a report shows, in Chinese and English.

One catalogue, ``key -> (zh, en)``, held as :class:`analysis.domain.Label` values so that a label
is the same object whichever module shows it; :func:`label` picks the language and fills the
``{placeholders}``. The command line's messages can join the same catalogue (or a second one built
with :func:`catalogue`) without a new mechanism.

What is *not* here, because it is a domain concept with one home in :mod:`analysis.domain`:
outcome and indicator names (``OUTCOME_LABELS`` / ``outcome_label``) and inference-method names
(``INFERENCE_LABELS``; :func:`inference_label` only looks them up).

Plain dictionaries rather than gettext catalogues: two fixed languages, texts kept beside their
keys where reviewers read both, and no build step for ``.mo`` files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from .domain import INFERENCE_LABELS, Label
from .errors import check_option

Language = Literal["zh", "en"]
#: the languages every label exists in
LANGUAGES: tuple[str, ...] = get_args(Language)


def catalogue(entries: Mapping[str, tuple[str, str]]) -> dict[str, Label]:
    """A label catalogue from ``key -> (zh, en)`` pairs."""
    return {key: Label(zh, en) for key, (zh, en) in entries.items()}


def check_language(language: object) -> None:
    """Raise ``SpecificationError`` unless ``language`` is one of :data:`LANGUAGES`."""
    check_option("language", language, Language)


def text(entry: Label, language: str, **fmt: object) -> str:
    """``entry`` in ``language`` (``zh``; anything else is English), formatted with ``fmt``."""
    out = entry(language)
    return out.format(**fmt) if fmt else out


#: the report catalogue: section titles, column headings, sentences (``{name}`` placeholders)
LABELS: dict[str, Label] = catalogue({
    # section titles
    "report_title": ("{name}“一老一小”结对帮扶评估报告", "{name}: evaluation of paired assistance for the elderly and children"),
    "city_title": ("乐山市“一老一小”结对帮扶评估：全市汇总", "Paired assistance for the elderly and children: city summary"),
    "key_figures": ("关键指标与全市排名", "Key figures and rank among counties"),
    "scorecard": ("“三升一降”成绩单", "The 三升一降 scorecard (three up, one down)"),
    "effectiveness": ("结对帮扶成效", "Pairing effectiveness"),
    "reform": ("农村公办养老机构收归县管的效果", "Effect of moving rural public elderly homes under county management"),
    "allocation": ("帮扶资源配置建议", "Allocation recommendations"),
    "quality": ("数据质量说明", "Data-quality notes"),
    "methods": ("方法与参考文献", "Methods and references"),
    "comparison": ("各县区比较", "Counties compared"),
    "institutions_list": ("机构一览（在院人数为最新评估季度）", "Institutions (residents in the latest assessed quarter)"),
    "kind": ("类型", "Type"),
    "code": ("县区代码", "Code"),
    # provenance
    "dataset": ("数据集", "Dataset"),
    "data_hash": ("数据指纹", "Data hash"),
    "version": ("软件版本", "Package version"),
    "generated": ("生成时间", "Generated"),
    "county": ("县区", "County"),
    "synthetic_banner": (
        "合成数据：本报告基于程序生成的演示数据，机构和单位均为虚构，数字不代表任何真实情况，仅用于演示和测试。",
        "SYNTHETIC DATA: this report is built from generated demonstration data. Institutions and "
        "units are invented and the figures describe no real place; use it for demonstration and testing only.",
    ),
    "not_run": (
        "本数据集尚未运行此项分析（缺少结果文件 {file}）。请先运行 `pairing-eval build`。",
        "This analysis has not been run for this dataset (results file {file} is missing). Run `pairing-eval build` first.",
    ),
    # key figures
    "metric": ("指标", "Indicator"),
    "value": ("本县", "This county"),
    "city_value": ("全市", "City"),
    "rank": ("排名", "Rank"),
    "rank_note": (
        "排名为本县在{n}个县区中的名次（1 = 最好；安全隐患越少越好）。",
        "Rank among {n} counties (1 = best; fewer safety hazards is better).",
    ),
    "institutions": ("机构数", "Institutions"),
    "elderly_institutions": ("养老机构数", "Elderly-care institutions"),
    "children_institutions": ("儿童机构数", "Children's institutions"),
    "beds": ("床位数", "Beds"),
    "residents": ("在院人数（最新季度）", "Residents (latest quarter)"),
    "paired_share": ("结对机构占比（最新季度）", "Share of institutions paired (latest quarter)"),
    "activities": ("帮扶活动（场次）", "Assistance activities"),
    "activities_per_inst": ("每机构帮扶活动", "Activities per institution"),
    "visits": ("调研走访（次）", "Research visits"),
    "value_rmb": ("折合金额（万元）", "Value of help (10,000 RMB)"),
    "value_per_bed": ("每床位折合金额（元）", "Value of help per bed (RMB)"),
    "problems_found": ("发现问题（个）", "Problems found"),
    "resolved_share": ("问题解决率", "Share of problems resolved"),
    "composite_change": ("综合指数变化", "Change in the composite index"),
    "cohort": ("收归县管季度", "County-management quarter"),
    "never": ("数据期内未收归", "not moved in the data window"),
    # scorecard
    "indicator": ("指标", "Indicator"),
    "baseline": ("基期", "Baseline"),
    "latest": ("最新", "Latest"),
    "change": ("变化", "Change"),
    "target_met": ("达标", "Target met"),
    "significant": ("显著达标", "Met, significantly"),
    "weighting_note": (
        "县区和全市值的加权方式：{weighting}（residents = 按在院人数加权）。",
        "County and city values are weighted by: {weighting} (residents = by number of residents).",
    ),
    "city_change": ("全市变化", "City change"),
    "vs_city": ("与全市相比", "Compared with the city"),
    "better": ("好于全市", "better than the city"),
    "worse": ("差于全市", "worse than the city"),
    "same": ("与全市持平", "same as the city"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "trend_title": ("季度平均得分：本县与全市", "Quarterly mean: this county and the city"),
    "trend_title_city": ("季度平均得分：全市", "Quarterly mean: the city"),
    "quarter": ("季度", "Quarter"),
    "scorecard_note": (
        "“三升一降”：院容院貌、服务质量、幸福指数上升，安全隐患下降。基期和最新值来自全市统一计算的指标结果。",
        "三升一降: environment, service quality and happiness up; safety hazards down. Baseline and "
        "latest values come from the indicators computed once for the whole city.",
    ),
    # effectiveness
    "outcome": ("结果变量", "Outcome"),
    "model": ("模型", "Model"),
    "term": ("变量", "Term"),
    "estimate": ("估计值", "Estimate"),
    "std_error": ("标准误", "Std. error"),
    "ci": ("95%置信区间", "95% CI"),
    "p_value": ("p值", "p-value"),
    "inference": ("推断方法", "Inference"),
    "n_obs": ("观测数", "Obs."),
    "eff_intro": (
        "下表为全市统一估计的帮扶强度效应（机构与季度双向固定效应）；各县区共享同一估计，下方给出本县的帮扶强度以便解读。",
        "The table shows the city-wide dose-response estimates (institution and quarter fixed "
        "effects); every county shares them. The county's own intensity of help is given below to read them against.",
    ),
    "eff_intro_city": (
        "下表为全市统一估计的帮扶强度效应（机构与季度双向固定效应），各方法的置信区间和p值并列。",
        "The city-wide dose-response estimates (institution and quarter fixed effects), with the "
        "interval and p-value of each inference method side by side.",
    ),
    "eff_context": (
        "本县机构平均每季度接受帮扶活动{county:.1f}场（全市{city:.1f}场）；结对季度占比{share_c:.0%}（全市{share_city:.0%}）。",
        "Institutions in this county received {county:.1f} activities per quarter on average (city "
        "{city:.1f}); {share_c:.0%} of institution-quarters were paired (city {share_city:.0%}).",
    ),
    "eff_county_rows": (
        "结果文件中有本县单独的估计，见下表。",
        "The results file holds estimates for this county itself, shown below.",
    ),
    "eff_plot": ("帮扶效应估计与95%置信区间", "Estimated effects with 95% intervals"),
    "eff_others": (
        "结果文件中的其他模型（见全市汇总或在笔记本中查看）：{models}。",
        "Other models in the results file (see the notebooks): {models}.",
    ),
    # reform
    "reform_cohort": (
        "本县于{cohort}收归县管，属于{cohort}批次（同批次县区：{members}）。下表列出所有批次的效应，本县批次以“◀”标出。",
        "This county moved its rural public elderly homes under county management in {cohort}; "
        "its cohort is {cohort} (counties: {members}). All cohorts are listed, this county's marked ◀.",
    ),
    "reform_never": (
        "本县在数据期内未收归县管，是其他县区的对照组；下表列出各批次的效应供参考。",
        "This county did not move its homes under county management within the data window; it "
        "serves as a comparison for the others. The cohorts' effects are listed for reference.",
    ),
    "reform_no_eligible": (
        "本县没有农村公办养老机构（改革对象），改革效应不适用于本县机构。",
        "This county has no rural public elderly homes (the institutions the reform concerns), so "
        "the reform effect does not apply to its institutions.",
    ),
    "reform_few": (
        "只有{n}个县区，聚类稳健标准误会低估不确定性：请以野自助法（Webb权重）和随机化推断的p值为准。",
        "With only {n} counties, analytic clustered standard errors understate uncertainty: rely on "
        "the wild cluster bootstrap (Webb weights) and randomisation-inference p-values.",
    ),
    "group": ("批次", "Cohort"),
    "att": ("平均处理效应", "ATT"),
    "overall": ("总体效应（各方法）", "Overall effect (each inference method)"),
    "event_profile": ("本批次各季度的效应 ATT(g,t)", "This cohort's effect by quarter, ATT(g,t)"),
    "event_time": ("事件时间", "Event time"),
    "event_note": (
        "事件时间0为收归县管所在季度；负值为改革前（应接近0，是平行趋势的检验）。",
        "Event time 0 is the quarter of the move to county management; negative times are before "
        "it (they should be near 0: a check of parallel trends).",
    ),
    "cohort_effect": ("本县所在批次（{cohort}）的效应", "Effect for this county's cohort ({cohort})"),
    "cohort_missing": (
        "结果文件中没有{cohort}批次的估计（可能因该批次没有改革对象机构或没有尚未处理的对照）。",
        "The results hold no estimate for cohort {cohort} (it may have no eligible institutions or no "
        "not-yet-treated comparison).",
    ),
    "all_cohorts": ("各批次比较", "All cohorts compared"),
    "all_groups": ("各批次合计", "all cohorts"),
    "all_cohorts_note": (
        "单元格为平均处理效应及其p值（{method}）。",
        "Cells show the ATT and its p-value ({method}).",
    ),
    "period": ("季度", "Quarter"),
    "this_cohort": ("◀ 本县", "◀ this county"),
    "reform_plot": ("各批次效应（{outcome}）", "Effect by cohort ({outcome})"),
    # allocation
    "unit": ("帮扶单位", "Helper unit"),
    "institution": ("机构", "Institution"),
    "action": ("建议", "Recommendation"),
    "keep": ("保持", "keep"),
    "add": ("新增结对", "add pairing"),
    "end": ("结束结对", "end pairing"),
    "predicted_gain": ("预测改善", "Predicted gain"),
    "alloc_summary": (
        "按建议方案，本县{n_inst}个机构的预测改善合计{gain:+.3f}（相对现有结对，结果指标每季度的变化，按机构加总）；建议调整{n}对结对。",
        "Under the recommended plan the predicted change summed over the county's {n_inst} "
        "institutions is {gain:+.3f} (outcome points per quarter against the current pairings); "
        "{n} pairing(s) change.",
    ),
    "inst_gain": ("该机构预测改善", "Institution's predicted gain"),
    "n_changes": ("调整结对数", "Pairings changed"),
    "county_gain": ("预测改善合计", "Predicted gain (sum)"),
    "value_col": ("数值", "Value"),
    "alloc_response": ("所用效应：{text}", "Response used: {text}"),
    "alloc_none": (
        "建议方案与现有结对相同，本县无需调整。",
        "The recommended plan keeps the county's current pairings unchanged.",
    ),
    "alloc_note": (
        "建议来自全市统一求解的优化方案（覆盖全部机构、单位承载能力、有限调整和公平底线约束）；预测改善基于估计的帮扶效应，属模型预测而非保证。",
        "Recommendations come from one city-wide optimisation (full coverage, unit capacity, "
        "limited changes, equity floor); predicted gains rest on the estimated response and are "
        "model predictions, not guarantees.",
    ),
    # data quality
    "dq_assessed": (
        "评估覆盖：{assessed}个机构季度有评估，占{share:.0%}；{never}个机构从未评估。",
        "Assessment coverage: {assessed} institution-quarters assessed ({share:.0%}); {never} "
        "institution(s) never assessed.",
    ),
    "dq_over_beds": (
        "{n}个机构季度的在院人数超过床位数（已标记，未删除）。",
        "{n} institution-quarter(s) report more residents than beds (flagged, kept).",
    ),
    "dq_teams": (
        "{n}场活动未记录帮扶单位（县、乡镇工作队开展），计入机构的帮扶强度但不计入单位贡献。",
        "{n} activities have no helper unit (county or township teams); they count towards the "
        "institution's intensity but not towards any unit's contribution.",
    ),
    "dq_open": ("{n}个问题在数据期末仍未解决。", "{n} problem(s) were still open at the end of the data."),
    "dq_small": (
        "{n}个机构在院人数少于{t}人，其人数在本报告中隐藏。",
        "{n} institution(s) have fewer than {t} residents; their counts are hidden in this report.",
    ),
    "dq_manifest": ("构建时记录：{text}", "Recorded at build: {text}"),
    "dq_ok": ("未发现需要特别说明的数据问题。", "No data problems needing a note were found."),
    # index page
    "index_title": ("“一老一小”结对帮扶评估报告索引", "Paired-assistance evaluation reports: index"),
    "index_city": ("全市汇总报告", "City summary report"),
    "index_report": ("报告", "Report"),
    "index_open": ("查看", "open"),
    "index_failed": ("生成失败", "failed"),
    "index_failed_at": ("生成失败（{date}：{reason}）", "failed ({date}: {reason})"),
    "index_stale": ("已过期：{date} 重新生成失败（{reason}），此为上次成功生成的报告",
                    "out of date: the run of {date} failed ({reason}); this is the last good report"),
    "index_missing": ("未生成", "not generated"),
    "index_rank_by": ("排名依据：{metric}（1 = 最好）。", "Ranked by {metric} (1 = best)."),
    "index_link": ("索引", "index"),
})

#: institution kinds (the ``kind`` column's codes)
INSTITUTION_KINDS: dict[str, Label] = catalogue({
    "elderly": ("养老", "elderly care"),
    "children": ("儿童", "children"),
})

#: metrics of ``allocation_summary.parquet`` a report shows, in display order
PLAN_METRICS: dict[str, Label] = catalogue({
    "objective": ("建议方案的预测改善总量", "predicted improvement, recommended plan"),
    "status_quo_objective": ("现有结对的预测改善总量", "predicted improvement, current pairings"),
    "gain_vs_status_quo": ("相对现有结对的预测增益", "predicted gain over the current pairings"),
    "n_changes": ("调整结对数", "pairings changed"),
    "solver_status": ("求解状态", "solver status"),
})

#: the methods section, one paragraph per entry
METHODS: tuple[Label, ...] = (
    Label(
        "“三升一降”指标：院容院貌、服务质量、幸福指数（应上升）和安全隐患（应下降）按机构季度计算，再汇总到县区和全市；基期、最新期、综合指数和“达标”的定义见 analysis.indicators 的说明，本报告只读取其结果。",
        "三升一降 indicators: environment, service quality, happiness (to rise) and safety hazards (to fall) per institution-quarter, aggregated to counties and the city; baseline, latest period, composite index and 'target met' are defined in analysis.indicators, whose results this report only reads.",
    ),
    Label(
        "帮扶成效：以帮扶强度（滞后一期）解释结果变化的剂量反应面板模型，含机构与季度固定效应，按县区聚类。县区很少，解析聚类标准误偏小，故同时报告野聚类自助法（Webb 权重）的区间和p值。间断时间序列没有对照组，只作描述。",
        "Pairing effectiveness: dose-response panel models of outcomes on the lagged intensity of help with institution and quarter fixed effects, clustered by county. With few counties analytic clustered errors are too small, so wild cluster bootstrap (Webb weights) intervals and p-values are reported beside them. The interrupted time series has no control group and is descriptive only.",
    ),
    Label(
        "收归县管改革：Callaway 与 Sant'Anna (2021) 的交错采用双重差分（尚未处理的县区为对照），按批次、事件时间和日历时间汇总；少聚类推断采用野聚类自助法（Webb 2023; Roodman 等 2019）和对采用日期的随机化推断（MacKinnon 与 Webb 2020）。同县未纳入改革的机构提供三重差分对照。",
        "County-management reform: staggered difference-in-differences of Callaway & Sant'Anna (2021) with not-yet-treated counties as controls, aggregated by cohort, event time and calendar time; few-cluster inference by the wild cluster bootstrap (Webb 2023; Roodman et al. 2019) and randomisation inference over adoption dates (MacKinnon & Webb 2020). The county's institutions outside the reform give a triple-difference comparison.",
    ),
    Label(
        "资源配置：优化方案在全覆盖、单位承载能力、有限调整和公平底线约束下最大化由估计效应预测的改善；预测依赖效应估计，估计不确定时建议亦不确定。",
        "Resource allocation: the plan maximises the improvement predicted from the estimated response under full coverage, unit capacity, limited changes and an equity floor; the predictions are only as certain as the estimates behind them.",
    ),
    Label(
        "本报告所有估计均由 `pairing-eval build` 为全市统一计算一次，本报告只做筛选和展示；假设与注意事项见 docs/caveats.md。",
        "Every estimate here is computed once for the whole city by `pairing-eval build`; this report only filters and presents. Assumptions and caveats: docs/caveats.md.",
    ),
    Label(
        "参考文献：Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods. Journal of Econometrics 225(2); Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing. Journal of Econometrics 225(2); Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors. Canadian Journal of Economics 56(3); MacKinnon, J. G. & Webb, M. D. (2020). Randomization inference for difference-in-differences with few treated clusters. Journal of Econometrics 218(2); Roodman, D. et al. (2019). Fast and wild: bootstrap inference in Stata using boottest. Stata Journal 19(1); GB/T 37276-2018; GB 38600-2019。",
        "References: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods. Journal of Econometrics 225(2); Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing. Journal of Econometrics 225(2); Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors. Canadian Journal of Economics 56(3); MacKinnon, J. G. & Webb, M. D. (2020). Randomization inference for difference-in-differences with few treated clusters. Journal of Econometrics 218(2); Roodman, D. et al. (2019). Fast and wild: bootstrap inference in Stata using boottest. Stata Journal 19(1); GB/T 37276-2018; GB 38600-2019.",
    ),
)


def label(key: str, language: str, **fmt: object) -> str:
    """The report label ``key`` in ``language`` (``zh`` or ``en``), formatted with ``fmt``."""
    return text(LABELS[key], language, **fmt)


def inference_label(name: object, language: str) -> str:
    """The label of an inference method of :data:`analysis.domain.INFERENCE_NAMES` (the name itself
    when unknown)."""
    entry = INFERENCE_LABELS.get(str(name))
    return entry(language) if entry is not None else str(name)


__all__ = [
    "INSTITUTION_KINDS", "LABELS", "LANGUAGES", "METHODS", "PLAN_METRICS", "Language", "catalogue",
    "check_language", "inference_label", "label", "text",
]
