"""The bilingual label catalogue: every fixed text a report shows, in Chinese and English.

One catalogue, ``key -> (zh, en)``, held as :class:`analysis.domain.Label` values so that a label
is the same object whichever module shows it; :func:`label` picks the language and fills the
``{placeholders}``. The mechanism (:func:`catalogue`, :func:`text`, :data:`Language`) has its one
home in :mod:`analysis.messages`, the catalogue of the command line's and the data contract's
messages, which sits low enough for :mod:`analysis.errors` to use it; it is re-exported here.

What is *not* here, because it is a domain concept with one home in :mod:`analysis.domain`:
outcome and indicator names (``OUTCOME_LABELS`` / ``outcome_label``) and inference-method names
(``INFERENCE_LABELS``; :func:`inference_label` only looks them up).

The words for the whole of a dataset (全市 / the city, 全省 / the province, 全国 / the nation) have
one home, :data:`WHOLE`: a text that speaks of the dataset's whole says ``{whole}`` (or another of
:data:`WHOLE_FORMS`) and its caller passes :func:`whole_words` of the dataset's level (in a report,
:attr:`analysis.reports.sections.base.ReportContext.whole`).

Plain dictionaries rather than gettext catalogues: two fixed languages, texts kept beside their
keys where reviewers read both, and no build step for ``.mo`` files.
"""

from __future__ import annotations

import functools
import string

from .domain import INFERENCE_LABELS, Label
from .errors import check_option
from .messages import LANGUAGES, Language, catalogue, text


def check_language(language: object) -> None:
    """Raise ``SpecificationError`` unless ``language`` is one of :data:`LANGUAGES`."""
    check_option("language", language, Language)


#: what the whole of a dataset is called, by the level it covers
#: (:func:`analysis.hierarchy.level_of`): one county or one prefecture is the city (全市), one
#: province the province (全省), several provinces the nation (全国). Chinese has one word; English
#: a noun with its article, the bare noun, an adjective and a "-wide" form. Catalogue texts name
#: them by placeholder (:data:`WHOLE_FORMS`, :func:`whole_words`); nothing else spells them.
WHOLE: dict[str, tuple[str, str, str, str, str]] = {
    # level:       Chinese  English: the noun   noun        adjective   -wide
    "county":     ("全市", "the city",       "city",     "city",     "city-wide"),
    "prefecture": ("全市", "the city",       "city",     "city",     "city-wide"),
    "province":   ("全省", "the province",   "province", "province", "province-wide"),
    "nation":     ("全国", "the nation",     "nation",   "national", "nationwide"),
}
#: the placeholders of :data:`WHOLE`'s English forms, in its order (a Chinese text has its one
#: word in each); the same name with a capital first letter (``{Whole_adj}``) gives the form with
#: a capital first letter, for the start of a sentence or a heading
WHOLE_FORMS: tuple[str, ...] = ("whole", "whole_noun", "whole_adj", "whole_wide")
#: the level whose words a text gets when its caller names none (:func:`label`): one prefecture,
#: the words the reports had before datasets above one prefecture
DEFAULT_WHOLE = "prefecture"


def whole_words(level: str, language: str) -> dict[str, str]:
    """The placeholders of the whole of a dataset that covers ``level`` (``county``,
    ``prefecture``, ``province`` or ``nation``) in ``language``: :data:`WHOLE_FORMS` and their
    capitalised names (``Whole``, ``Whole_noun``, …), to pass to :func:`label`."""
    if level not in WHOLE:
        raise ValueError(f"level={level!r}: use one of {', '.join(WHOLE)}")
    zh, *en = WHOLE[level]
    forms = dict(zip(WHOLE_FORMS, [zh] * len(WHOLE_FORMS) if language == "zh" else en,
                     strict=True))
    return {**forms, **{k[:1].upper() + k[1:]: v[:1].upper() + v[1:] for k, v in forms.items()}}


#: the report catalogue: section titles, column headings, sentences (``{name}`` placeholders)
LABELS: dict[str, Label] = catalogue({
    # section titles
    "report_title": ("{name}“一老一小”结对帮扶评估报告", "{name}: evaluation of paired assistance for the elderly and children"),
    # the whole dataset's page: {of} is its name where the counties table gives one (title_of)
    "dataset_title": ("{of}“一老一小”结对帮扶评估：{whole}汇总", "Paired assistance for the elderly and children{of}: {whole_adj} summary"),
    "title_of": ("{name}", " in {name}"),
    "key_figures": ("关键指标与{whole}排名", "Key figures and rank among counties"),
    "scorecard": ("“三升一降”成绩单", "The 三升一降 scorecard (three up, one down)"),
    "effectiveness": ("结对帮扶成效", "Pairing effectiveness"),
    "reform": ("农村公办养老机构收归县管的效果", "Effect of moving rural public elderly homes under county management"),
    "allocation": ("帮扶资源配置建议", "Allocation recommendations"),
    "quality": ("数据质量说明", "Data-quality notes"),
    "methods": ("方法与参考文献", "Methods and references"),
    "references": ("参考文献与出处", "References and sources"),
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
    # ---- key findings, the evidence ladder, allocation explained, reform counts and sensitivity
    "findings": ("主要结论", "Key findings"),
    "fs_nothing": (
        "本数据集尚未运行结论所依据的分析，暂无主要结论。请先运行 `pairing-eval build`。",
        "None of the analyses the findings rest on has been run for this dataset. Run `pairing-eval build` first.",
    ),
    "fs_ladder_note": (
        "结论用语按固定规则与证据强度对应：有较强证据、有一定证据、证据不足、无法判断（规则见方法说明）。区间均为95%置信区间，预测改善的区间由帮扶效应的区间换算；帮扶强度与得分的关系是控制机构和季度固定效应后的关联，不等于因果效应。",
        "The wording follows a fixed ladder keyed to the evidence: strong evidence, some evidence, "
        "insufficient evidence, cannot be judged (rules in the methods notes). Intervals are 95% "
        "confidence intervals, those of predicted gains scaled from the dose-response's interval; "
        "the link between the intensity of help and the scores is an association given "
        "institution and quarter fixed effects, not a causal effect.",
    ),
    "ev_strong": ("有较强证据", "there is strong evidence"),
    "ev_some": ("有一定证据", "there is some evidence"),
    "ev_insufficient": ("证据不足", "the evidence is insufficient"),
    "ev_undetermined": ("无法判断", "it cannot be judged"),
    "ev_reason_analytic_only": ("只有解析标准误，县区少时偏乐观", "only analytic standard errors, optimistic with few counties"),
    "ev_reason_few_comparison": ("部分比较的对照县区不足3个", "some comparisons rest on fewer than 3 comparison counties"),
    "ev_reason_few_treated": ("只有1个改革县区", "only one reform county"),
    "ev_reason_randomization_disagrees": ("随机化推断的p值不低于0.05", "randomisation inference gives p ≥ 0.05"),
    "ev_reason_no_sensitivity": ("没有平行趋势敏感性分析", "no sensitivity analysis for parallel trends"),
    "ev_reason_fragile_trends": (
        "改革后趋势偏离只要达到改革前最大季度偏离的{m:.2f}倍即可推翻结论",
        "a post-reform departure from parallel trends of {m:.2f} times the largest pre-reform one would overturn it",
    ),
    "ev_reason_pretrend": ("改革前趋势检验显示改革县区原本走势不同", "the pre-trend test shows the reform counties were already on a different path"),
    "ev_reason_no_placebo": ("没有提前一期的安慰剂检验", "no lead placebo test"),
    "ev_adjusted": ("p值已按四项目标做多重比较校正", "p-value adjusted for testing four targets"),
    "fs_reasons": ("（{reasons}）", " ({reasons})"),
    "fs_ci": ("{est}（95%置信区间 {lo} 至 {hi}）", "{est} (95% CI {lo} to {hi})"),
    "fs_ci_method": ("{est}（95%置信区间 {lo} 至 {hi}，{method}）", "{est} (95% CI {lo} to {hi}, {method})"),
    "fs_end": ("。", "."),
    "fs_none": ("无", "none"),
    "fs_scorecard_head": ("“三升一降”：", "Targets (三升一降): "),
    "fs_targets": ("{n}项目标中达标{k}项（{met}）", "{k} of {n} targets met ({met})"),
    "fs_missed": ("，未达标：{missed}", "; not met: {missed}"),
    "fs_composite": ("；综合指数变化{change}", "; the composite index changed by {change}"),
    "fs_vs_better": ("，好于{whole}（{city}）", ", better than {whole} ({city})"),
    "fs_vs_worse": ("，不及{whole}（{city}）", ", less than {whole} ({city})"),
    "fs_vs_same": ("，与{whole}持平（{city}）", ", the same as {whole} ({city})"),
    "fs_rank": ("，在{n}个县区中排第{rank}位", ", ranking {rank} of {n} counties"),
    "fs_best_worst": (
        "；改善最多的是{best}（{best_v}），最少的是{worst}（{worst_v}）",
        "; the largest improvement was in {best} ({best_v}), the smallest in {worst} ({worst_v})",
    ),
    "fs_reform_head": ("收归县管：", "County management: "),
    "fs_reform_cohort": (
        "本县于{cohort}将农村公办养老机构收归县管（同批次共{n}个县区）。",
        "this county moved its rural public elderly homes under county management in {cohort} "
        "(counties in the cohort: {n}). ",
    ),
    "fs_reform_comparison": (
        "本县在数据期内未收归县管，是对照县区。",
        "this county did not move within the data window and serves as a comparison county. ",
    ),
    "fs_reform_window": (
        "{whole}改革县区在改革后{e}个季度内（平衡窗口），",
        "across the reform counties, over the first {e} quarters after the move (balanced window), ",
    ),
    "fs_reform_all": ("{whole}改革县区在改革后各季度，", "across the reform counties and every quarter after the move, "),
    "fs_reform_no_eligible": (
        "本县于{cohort}收归县管，但没有农村公办养老机构，改革效应不适用于本县机构。",
        "this county moved in {cohort} but has no rural public elderly homes, so the reform effect "
        "does not apply to its institutions.",
    ),
    "fs_reform_missing": ("结果中没有该项估计，无法判断改革效果。", "the results hold no estimate, so the reform's effect cannot be judged."),
    "fs_reform_estimate": (
        "改革对象机构的{outcome}平均变化{value}{counts}；",
        "the {outcome} of the homes concerned changed by {value} on average{counts}; ",
    ),
    "fs_counties": ("（依据：改革县区{t}个，对照县区{c}个，含尚未改革的县区）", " (reform counties: {t}; comparison counties, not-yet-reformed ones included: {c})"),
    "fs_subject_reform": ("收归县管", "county management"),
    "fs_subject_dose": ("帮扶强度", "the intensity of help"),
    "fs_ladder_causal_improve": ("{level}表明收归县管使{outcome}上升", "{level} that county management raised the {outcome}"),
    "fs_ladder_causal_worsen": ("{level}表明收归县管使{outcome}变差", "{level} that county management worsened the {outcome}"),
    "fs_ladder_assoc_improve": ("{level}表明{subject}与{outcome}改善相关联", "{level} that {subject} goes with a better {outcome}"),
    "fs_ladder_assoc_worsen": ("{level}表明{subject}与{outcome}变差相关联", "{level} that {subject} goes with a worse {outcome}"),
    "fs_ladder_insufficient": ("证据不足以判断{subject}是否改变了{outcome}", "the evidence is insufficient to say whether {subject} changed the {outcome}"),
    "fs_ladder_insufficient_assoc": ("证据不足以表明{subject}与{outcome}相关", "the evidence is insufficient to link {subject} with the {outcome}"),
    "fs_ladder_undetermined": ("无法判断{subject}对{outcome}的影响", "it cannot be judged how {subject} relates to the {outcome}"),
    "fs_ladder_not_credible": (
        "无法判断：提前一期的安慰剂检验未通过（下一季度的帮扶也与本季度得分相关），该关联不可信",
        "it cannot be judged: the lead placebo fails (next quarter's help also goes with this "
        "quarter's scores), so the association is not credible",
    ),
    "fs_eff_head": ("结对帮扶成效：", "Pairing effectiveness: "),
    "fs_eff_estimate": (
        "{whole}数据显示，上一季度帮扶活动场次（加1后）每增至约2.7倍，{outcome}平均变化{value}；",
        "across {whole}, each 2.7-fold increase in last quarter's assistance activities (plus one) "
        "goes with a change in the {outcome} of {value}; ",
    ),
    "fs_eff_missing": ("结果中没有帮扶强度的估计。", "the results hold no dose-response estimate."),
    "fs_placebo_ok": ("；提前一期的安慰剂检验通过", "; the lead placebo test passes"),
    "fs_assoc_note": ("（这是控制机构和季度差异后的关联，不能直接解读为因果效应）", " (an association given institution and quarter differences, not by itself a causal effect)"),
    "fs_alloc_head": ("资源配置：", "Allocation: "),
    "fs_alloc_county": (
        "建议为本县新增{added}对、结束{ended}对结对，本县机构的综合指数预测合计变化{gain}",
        "the plan adds {added} and ends {ended} pairing(s) here; the county's institutions' "
        "composite index changes by {gain} in total (predicted)",
    ),
    "fs_alloc_why_loss": (
        "，为负是因为部分帮扶单位调往其他机构，在那里同样的帮扶预测带来更大改善",
        ", negative because some helper units move to homes where the same help is predicted to do more",
    ),
    "fs_alloc_why_gain": (
        "，为正是因为调入本县的帮扶预测带来的改善大于调出的帮扶",
        ", positive because the help moving here is predicted to do more than the help leaving",
    ),
    "fs_alloc_none": ("建议方案保持本县现有结对不变", "the plan keeps the county's current pairings"),
    "fs_alloc_city": ("；{whole}预测合计改善{gain}", "; {whole}'s predicted total gain is {gain}"),
    "fs_alloc_city_changes": ("建议方案调整{n}对结对（帮扶总量不变，只重新分配）", "the plan changes {n} pairings (the same help, redistributed)"),
    "alx_changes": (
        "本县{n_inst}个机构中有{n_changed}个调整结对：新增{added}对、结束{ended}对。",
        "Of the county's {n_inst} institutions, {n_changed} change pairings: {added} added, {ended} ended.",
    ),
    "alx_out": (
        "结束的结对中，{m}个帮扶单位转去帮扶{k}个其他机构（其中{k_other}个在其他县区）：这些机构目前每季度从结对单位获得的帮扶活动平均{x_to:.1f}场，本县相关机构为{x_from:.1f}场；帮扶效应随帮扶增多而递减，同样的帮扶在帮扶较少的机构预测带来更大改善。",
        "Of the pairings that end, {m} helper unit(s) move to {k} other institution(s) ({k_other} in "
        "other counties): these receive {x_to:.1f} activities a quarter from their units on average, "
        "the county's institutions concerned {x_from:.1f}; the response to help flattens as help "
        "grows, so the same help is predicted to do more where there is less of it.",
    ),
    "alx_need": (
        "按需求指数（1 = 最需要帮扶，共{n}个机构），调入帮扶的机构平均排第{r_to:.0f}位，本县让出帮扶的机构平均排第{r_from:.0f}位。",
        "By the need index (1 = neediest of {n}), the institutions receiving the help rank "
        "{r_to:.0f} on average, the county's institutions giving it up {r_from:.0f}.",
    ),
    "alx_in": (
        "新增的结对中，{m}个帮扶单位从{k}个其他机构调入本县（接收机构的需求排名平均第{r_to:.0f}位，共{n}个机构）。",
        "Of the pairings added, {m} helper unit(s) come from {k} other institution(s) (the "
        "receiving institutions here rank {r_to:.0f} of {n} by need on average).",
    ),
    "alx_capacity": (
        "帮扶单位的承载能力已用满（{at}/{rows}个单位达到上限）：方案不增加帮扶总量，只在机构之间重新分配，并保证需求最高的机构获得不低于底线的帮扶。",
        "Helper units are at capacity ({at} of {rows} at their limit): the plan adds no help, it "
        "redistributes it, and keeps the neediest institutions above a floor.",
    ),
    "alx_balance": (
        "本县得失：{n_up}个机构预测改善（合计{up}），{n_down}个机构预测下降（合计{down}），合计{gain}。",
        "What the county gains and gives up: {n_up} institution(s) predicted to improve (total "
        "{up}), {n_down} predicted to decline (total {down}); {gain} in all.",
    ),
    "alx_city": (
        "{whole}：按建议方案，{whole}机构综合指数预测合计改善{gain}（相对现有结对）。{loss_note}",
        "{Whole_wide}: under the plan the institutions' composite index gains {gain} in total "
        "(against the current pairings). {loss_note}",
    ),
    "alx_loss_note": (
        "本县的预测下降是{whole}重新分配的代价：让出的帮扶在其他机构预测带来更大的改善。",
        "The county's predicted decline is its share of the {whole_wide} redistribution: the help it "
        "gives up is predicted to do more elsewhere.",
    ),
    "rf_counties_t": ("改革县区数", "Reform counties"),
    "rf_counties_c": ("对照县区数", "Comparison counties"),
    "rf_min_c": ("最少对照县区数", "Fewest comparison counties"),
    "rf_warning": (
        "注意：{what}有{share:.0%}的权重来自对照县区不足3个的比较（最少{m}个），结论依赖这几个县区。",
        "Note: {share:.0%} of the weight of {what} rests on comparisons with fewer than 3 comparison "
        "counties (as few as {m}); the conclusion depends on those few counties.",
    ),
    "rf_what_overall": ("总体效应", "the overall effect"),
    "rf_what_cohort": ("本批次的效应", "this cohort's effect"),
    "rf_what_headline": ("主要动态效应", "the headline dynamic effect"),
    "rf_headline": ("主要结果：改革后{e}个季度内的平均效应（平衡窗口）", "Headline: mean effect over the first {e} quarters after the move (balanced window)"),
    "rf_headline_note": (
        "平衡窗口只用改革后至少观察了{e}个季度的批次，事件时间0至{e_1}，每个事件时间合计至少有3个对照县区；下表为全部事件时间的完整结果，远期的估计只依赖少数批次和对照县区。",
        "The balanced window uses the cohorts observed for at least {e} quarters after the move, "
        "event times 0 to {e_1}, each with at least 3 comparison counties in all; the full table of every "
        "event time follows, its later event times resting on few cohorts and comparison counties.",
    ),
    "rf_dynamic_full": ("全部事件时间的动态效应", "Dynamic effect at every event time"),
    "rf_sensitivity": ("平行趋势假设的敏感性：多大的偏离会推翻结论", "Sensitivity to parallel trends: how large a violation would overturn the conclusion"),
    "rf_sens_intro": (
        "改革效应的估计假设改革县区与对照县区在没有改革时走势平行。下表按 Rambachan 与 Roth (2023) 的方法给出改革后前4个季度平均效应在允许偏离时的区间，“临界值”是使区间开始包含0的最小偏离。",
        "The reform estimate assumes that reform and comparison counties would have moved in "
        "parallel without the reform. The table gives, after Rambachan & Roth (2023), the interval "
        "of the mean effect over the first 4 quarters after the move when departures are allowed; "
        "the breakdown value is the smallest departure at which the interval includes zero.",
    ),
    "rf_sens_rm": (
        "{outcome}：若改革后趋势偏离不超过改革前最大季度偏离的{m:.2f}倍，结论（{dir}）仍成立；偏离更大则无法排除零效应。",
        "{outcome}: the conclusion ({dir}) holds as long as the post-reform departure from parallel "
        "trends stays below {m:.2f} times the largest quarter-to-quarter departure before the "
        "reform; larger departures cannot rule out no effect.",
    ),
    "rf_sens_none": (
        "{outcome}：即使完全平行的趋势下区间也包含0，无需偏离即无法下结论。",
        "{outcome}: the interval includes zero even under exactly parallel trends; there is no "
        "conclusion to overturn.",
    ),
    "rf_dir_up": ("上升", "an increase"),
    "rf_dir_down": ("下降", "a decrease"),
    "rf_estimate": ("估计值（前4个季度平均）", "Estimate (mean of first 4 quarters)"),
    "rf_ci_parallel": ("平行趋势下的95%置信区间", "95% CI under parallel trends"),
    "rf_breakdown_rm": ("临界值：相对幅度（倍）", "Breakdown: relative magnitude (×)"),
    "rf_breakdown_sd": ("临界值：平滑度（每季度²）", "Breakdown: smoothness (per quarter²)"),
    "rf_sens_note": (
        "相对幅度：改革后每季度的趋势偏离不超过改革前最大偏离的若干倍；平滑度：偏离的斜率每季度变化不超过若干分。倍数为1表示改革后的偏离可以和改革前一样大。协方差用逐一删除县区的刀切法估计。",
        "Relative magnitude: each post-reform quarter-to-quarter departure is at most this multiple "
        "of the largest one before the reform; smoothness: the slope of the departure changes by at "
        "most this many points a quarter. A multiple of 1 lets the departure after the reform be as "
        "large as before. Covariance by the delete-one-county jackknife.",
    ),
    # key figures
    "metric": ("指标", "Indicator"),
    "value": ("本县", "This county"),
    "city_value": ("{whole}", "{Whole_noun}"),
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
        "县区和{whole}值的加权方式：{weighting}。",
        "County and {whole_adj} values: {weighting}.",
    ),
    "city_change": ("{whole}变化", "{Whole_adj} change"),
    "vs_city": ("与{whole}相比", "Compared with {whole}"),
    "better": ("好于{whole}", "better than {whole}"),
    "worse": ("差于{whole}", "worse than {whole}"),
    "same": ("与{whole}持平", "same as {whole}"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "trend_title": ("季度平均得分：本县与{whole}", "Quarterly mean: this county and {whole}"),
    "trend_title_city": ("季度平均得分：{whole}", "Quarterly mean: {whole}"),
    "quarter": ("季度", "Quarter"),
    "scorecard_note": (
        "“三升一降”：院容院貌、服务质量、幸福指数上升，安全隐患下降。基期和最新值来自{whole}统一计算的指标结果。",
        "三升一降: environment, service quality and happiness up; safety hazards down. Baseline and "
        "latest values come from the indicators computed once for the whole {whole_noun}.",
    ),
    # effectiveness
    "outcome": ("结果变量", "Outcome"),
    "model": ("模型", "Model"),
    "term": ("变量", "Term"),
    "estimate": ("估计值", "Estimate"),
    "std_error": ("标准误", "Std. error"),
    "ci": ("95%置信区间", "95% CI"),
    "p_value": ("p值", "p-value"),
    "solver_status": ("求解状态", "solver status"),
    "p_adjusted": ("多重比较校正p值", "adjusted p-value (four outcomes)"),
    "primary_outcome": ("预先指定的主要指标", "pre-specified primary outcome"),
    "inference": ("推断方法", "Inference"),
    "n_obs": ("观测数", "Obs."),
    "eff_intro": (
        "下表为{whole}统一估计的帮扶强度与结果的关联（机构与季度双向固定效应，非因果效应）；各县区共享同一估计，下方给出本县的帮扶强度以便解读。",
        "The table shows the {whole_wide} dose-response estimates (institution and quarter fixed "
        "effects; associations conditional on them, not causal effects); every county shares them. The county's own intensity of help is given below to read them against.",
    ),
    "eff_intro_city": (
        "下表为{whole}统一估计的帮扶强度与结果的关联（机构与季度双向固定效应，非因果效应），各方法的置信区间和p值并列；{headline}",
        "The {whole_wide} dose-response estimates (institution and quarter fixed effects; "
        "associations conditional on them, not causal effects), with the interval and p-value of "
        "each inference method side by side; {headline}",
    ),
    # the method of the rows the results flag as headline (effectiveness.headline_method)
    # the clustering of a method's column when the results hold it under several (inference_wide)
    "clustered_institution_id": ("按机构聚类", "clustered by institution"),
    "clustered_county_code": ("按县区聚类", "clustered by county"),
    "eff_headline_wild_bootstrap": ("按县区聚类的野自助法区间为主要结果。", "the county wild-bootstrap interval is the headline."),
    "eff_headline_analytic_county": ("按县区聚类的解析标准误区间为主要结果。", "the analytic interval clustered by county is the headline."),
    "eff_headline_other": ("{method}区间为主要结果。", "the {method} interval is the headline."),
    # the same in the methods section ({eff_headline} of METHODS; empty when nothing was run)
    "methods_eff_wild_bootstrap": (
        "主要区间为按县区聚类的野聚类自助法（Webb 权重，县区很少），按机构聚类的解析标准误并列展示。",
        "The headline interval is the wild cluster bootstrap clustered by county (Webb weights; "
        "few counties), with the analytic standard error clustered by institution beside it. ",
    ),
    "methods_eff_analytic_county": (
        "主要区间为按县区聚类的解析标准误（县区足够多，未运行野聚类自助法），按机构聚类的解析标准误并列展示。",
        "The headline interval is the analytic standard error clustered by county (enough "
        "counties: no wild cluster bootstrap was run), with the one clustered by institution "
        "beside it. ",
    ),
    "methods_eff_other": ("主要区间为{method}。", "The headline interval is the {method} one. "),
    "eff_context": (
        "本县机构平均每季度接受帮扶活动{county:.1f}场（{whole}{city:.1f}场）；结对季度占比{share_c:.0%}（{whole}{share_city:.0%}）。",
        "Institutions in this county received {county:.1f} activities per quarter on average "
        "({whole_noun} {city:.1f}); {share_c:.0%} of institution-quarters were paired ({whole_noun} "
        "{share_city:.0%}).",
    ),
    "eff_county_rows": (
        "结果文件中有本县单独的估计，见下表。",
        "The results file holds estimates for this county itself, shown below.",
    ),
    "eff_plot": ("帮扶效应估计与95%置信区间", "Estimated effects with 95% intervals"),
    "eff_others": (
        "结果文件中的其他模型（见{whole}汇总或在笔记本中查看）：{models}。",
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
    "reform_analytic": (
        "共{n}个县区：结果中只有按县区聚类的解析推断（县区足够多时数据构建不再运行野自助法和随机化推断），下表以其为准。",
        "With {n} counties the results hold analytic inference clustered by county only (with "
        "enough counties the build runs no wild cluster bootstrap or randomisation inference); "
        "read it as the headline.",
    ),
    # the reform's inference in the methods section ({reform_inference} of METHODS)
    "methods_reform_resampling": (
        "少聚类推断采用野聚类自助法（Webb 2023; Roodman 等 2019）和对采用日期的随机化推断（MacKinnon 与 Webb 2020）。",
        "few-cluster inference by the wild cluster bootstrap (Webb 2023; Roodman et al. 2019) and "
        "randomisation inference over adoption dates (MacKinnon & Webb 2020). ",
    ),
    "methods_reform_analytic": (
        "县区足够多，推断采用按县区聚类的解析标准误（未运行野聚类自助法和随机化推断）。",
        "with enough counties, inference by the analytic standard error clustered by county (no "
        "wild cluster bootstrap or randomisation inference was run). ",
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
    # the results' description of the response is English: the Chinese page names it in words
    "alloc_response": ("所用效应：结对帮扶成效分析估计的帮扶效应（见“结对帮扶成效”一节）。",
                       "Response used: {text}"),
    "alloc_none": (
        "建议方案与现有结对相同，本县无需调整。",
        "The recommended plan keeps the county's current pairings unchanged.",
    ),
    "alloc_note": (
        "建议来自{plan}的优化方案（覆盖全部机构、单位承载能力、有限调整和公平底线约束）；预测改善基于估计的帮扶效应，属模型预测而非保证。",
        "Recommendations come from {plan} (full coverage, unit capacity, "
        "limited changes, equity floor); predicted gains rest on the estimated response and are "
        "model predictions, not guarantees.",
    ),
    # how the plan was solved ({plan} of alloc_note), as allocation_plan says (allocation.plan_scope)
    "alloc_plan_whole": ("{whole}统一求解", "one {whole_wide} optimisation"),
    "alloc_plan_whole_county": (
        "{whole}统一求解、新增结对限于帮扶单位所在县区",
        "one {whole_wide} optimisation with new pairs kept within each unit's county",
    ),
    "alloc_plan_provinces": (
        "按省份分别求解（{n}个省份各求解一次）、新增结对限于帮扶单位所在县区",
        "one optimisation per province ({n} provinces), new pairs kept within each unit's county",
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
    # the whole dataset's page as links name it; one key per level below (SUMMARY_KEYS)
    "index_summary": ("{whole}汇总报告", "{Whole_adj} summary report"),
    "index_report": ("报告", "Report"),
    "index_open": ("查看", "open"),
    "index_failed": ("生成失败", "failed"),
    "index_failed_at": ("生成失败（{date}：{reason}）", "failed ({date}: {reason})"),
    "index_stale": ("已过期：{date} 重新生成失败（{reason}），此为上次成功生成的报告",
                    "out of date: the run of {date} failed ({reason}); this is the last good report"),
    "index_missing": ("未生成", "not generated"),
    "index_rank_by": ("排名依据：{metric}（1 = 最好）。", "Ranked by {metric} (1 = best)."),
    "index_link": ("索引", "index"),
    "other_language": ("英文版", "中文版 (Chinese)"),
    "other_language_index": ("英文版报告索引", "中文版报告索引 (index of the Chinese reports)"),
    # pages above the county (a dataset of several prefectures or provinces)
    "area_title": ("“一老一小”结对帮扶评估：{name}汇总", "Paired assistance for the elderly and children: {name} summary"),
    "level_prefecture": ("地市", "Prefecture"),
    "level_province": ("省份", "Province"),
    "level_nation": ("全国", "Nation"),
    "unnamed_prefecture": ("地市{code}", "Prefecture {code}"),
    "unnamed_province": ("省份{code}", "Province {code}"),
    "comparison_prefecture": ("各地市比较", "Prefectures compared"),
    "comparison_province": ("各省份比较", "Provinces compared"),
    "area_code": ("代码", "Code"),
    "counties_n": ("县区数", "Counties"),
    "area_figures": ("关键指标与上级汇总", "Key figures and the levels above"),
    "area_figures_note": (
        "各列为本区域及其上级（最后一列为整个数据集）所辖县区的汇总：数量和金额相加，比率由相加后的分子分母重新计算，结对机构占比按机构数加权，综合指数变化为各县区变化按最新季度在院人数加权的汇总（不是单独估计）。均为描述性数字，不是效应。",
        "Each column sums the counties of the area and of each level above it (the last column is "
        "the whole dataset): counts and amounts added, rates recomputed from the added parts, the "
        "paired share weighted by institutions, and the composite change a summary of the "
        "counties' changes weighted by residents in the latest quarter (not an estimate of its "
        "own). Descriptive figures, not effects.",
    ),
    "scorecard_members": (
        "各{level}中达到各项目标的县区数（达标县区数/县区数）；各县区的数值见其报告。",
        "Counties meeting each target in each {level} (counties meeting it / counties); each "
        "county's values are on its page.",
    ),
    "scorecard_area_whole": (
        "指标只按县区和整个数据集计算：上表为本区域各县区，下表为整个数据集。",
        "The indicators are computed per county and for the whole dataset only: the table above "
        "lists this area's counties, the one below is the whole dataset.",
    ),
    "fs_area_targets": (
        "{area}的{n}个县区中，{k}个达到全部{m}项目标",
        "{k} of the {n} counties of {area} met all {m} targets",
    ),
    "fs_area_composite": (
        "；各县区综合指数变化按在院人数加权汇总为{change}",
        "; their composite-index changes, weighted by residents, sum up to {change}",
    ),
    "fs_alloc_area": (
        "建议方案在{area}调整{n}对结对，预测合计改善{gain}",
        "the plan changes {n} pairings in {area}, a predicted gain of {gain} in total",
    ),
    "eff_context_area": (
        "{area}机构平均每季度接受帮扶活动{here:.1f}场（整个数据集{city:.1f}场）；结对季度占比{share_a:.0%}（整个数据集{share_city:.0%}）。",
        "Institutions in {area} received {here:.1f} activities per quarter on average (whole "
        "dataset {city:.1f}); {share_a:.0%} of institution-quarters were paired (whole dataset "
        "{share_city:.0%}).",
    ),
    "reform_area": (
        "{area}的{n}个县区按收归县管季度分列如下；下方的效应为整个数据集统一估计（按县区聚类）。",
        "The {n} counties of {area} by the quarter they moved under county management; the "
        "effects below are estimated once for the whole dataset (clustered by county).",
    ),
    "index_area_title": ("{name}：县区报告索引", "{name}: county reports"),
    "index_province_title": ("{name}：地市报告索引", "{name}: prefecture reports"),
    "index_area_page": ("汇总报告", "summary"),
    "index_counties": ("县区列表", "counties"),
    "index_prefectures": ("地市列表", "prefectures"),
    "index_failed_n": ("（其中{n}份报告过期或生成失败）", " ({n} report(s) out of date or failed)"),
    "index_levels_note": (
        "各行为所辖县区的汇总（规则同各汇总报告的“关键指标与上级汇总”）；各行的列表链接通往下一级的报告。",
        "Each row sums its counties (the rules of the summary pages' key figures); each row's list "
        "leads to the reports one level down.",
    ),
})

#: the key that names the whole dataset's page in links, by the level the dataset covers (the
#: report driver and the index name it by key: :func:`analysis.reports.index.summary_label`);
#: each is ``index_summary`` filled with that level's :func:`whole_words`
SUMMARY_KEYS: dict[str, str] = {"county": "index_city", "prefecture": "index_city",
                                "province": "index_province", "nation": "index_nation"}
LABELS.update({
    key: Label(text(LABELS["index_summary"], "zh", **whole_words(level, "zh")),
               text(LABELS["index_summary"], "en", **whole_words(level, "en")))
    for level, key in SUMMARY_KEYS.items()
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
})
# the solver status is not among them: its value is the solver's English word (``optimal``);
# SOLVER_STATUS / solver_status_label give it in words where a section shows it

#: the methods section, one paragraph per entry
METHODS: tuple[Label, ...] = (
    Label(
        "“三升一降”指标：院容院貌、服务质量、幸福指数（应上升）和安全隐患（应下降）按机构季度计算，再汇总到县区和{whole}；基期、最新期、综合指数和“达标”的定义见方法文档（出处见下），本报告只读取{whole}统一计算的指标结果。",
        "三升一降 indicators: environment, service quality, happiness (to rise) and safety hazards (to fall) per institution-quarter, aggregated to counties and {whole}; baseline, latest period, composite index and 'target met' are defined in the methods documentation (sources below); this report only reads the indicators computed once for {whole}.",
    ),
    Label(
        "帮扶成效：以帮扶强度（滞后一期）解释结果变化的剂量反应面板模型，含机构与季度固定效应；结果是控制固定效应后的相关关系，只有在帮扶不随上季度结果调整时才能读作因果效应。{eff_headline}工具变量行（结对单位在其他机构的帮扶量作工具）报告第一阶段F值，按县区聚类。间断时间序列没有对照组，只作描述。",
        "Pairing effectiveness: dose-response panel models of outcomes on the lagged intensity of help with institution and quarter fixed effects; the estimates are associations conditional on the fixed effects, causal only if help does not follow the previous quarter's outcomes. {eff_headline}The instrumental-variable rows (the partner units' activity at their other institutions as instrument) report the first-stage F and cluster by county. The interrupted time series has no control group and is descriptive only.",
    ),
    Label(
        "收归县管改革：Callaway 与 Sant'Anna (2021) 的交错采用双重差分（尚未处理的县区为对照），按批次、事件时间和日历时间汇总；{reform_inference}同县未纳入改革的机构提供三重差分对照。",
        "County-management reform: staggered difference-in-differences of Callaway & Sant'Anna (2021) with not-yet-treated counties as controls, aggregated by cohort, event time and calendar time; {reform_inference}The county's institutions outside the reform give a triple-difference comparison.",
    ),
    Label(
        "资源配置：优化方案在全覆盖、单位承载能力、有限调整和公平底线约束下最大化由估计效应预测的改善；预测依赖效应估计，估计不确定时建议亦不确定。",
        "Resource allocation: the plan maximises the improvement predicted from the estimated response under full coverage, unit capacity, limited changes and an equity floor; the predictions are only as certain as the estimates behind them.",
    ),
    Label(
        "本报告所有估计均在数据构建时为{whole}统一计算一次，本报告只做筛选和展示；假设与注意事项见项目文档（出处见下）。",
        "Every estimate here is computed once for the whole {whole_noun} when the data are built; this report only filters and presents. Assumptions and caveats: the project documentation (sources below).",
    ),
)

#: the references-and-sources list under the methods (cited works in their own language, and
#: where the computations and their documentation live); one list item each
REFERENCES: tuple[Label, ...] = tuple(
    Label(ref, ref) for ref in (
        "Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods. Journal of Econometrics 225(2).",
        "Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing. Journal of Econometrics 225(2).",
        "Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors. Canadian Journal of Economics 56(3).",
        "MacKinnon, J. G. & Webb, M. D. (2020). Randomization inference for difference-in-differences with few treated clusters. Journal of Econometrics 218(2).",
        "Roodman, D., MacKinnon, J. G., Nielsen, M. Ø. & Webb, M. D. (2019). Fast and wild: bootstrap inference in Stata using boottest. Stata Journal 19(1).",
        "GB/T 37276-2018；GB 38600-2019.",
    )
) + (
    Label("计算与文档：数据构建命令 pairing-eval build；指标定义 analysis.indicators；假设与注意事项 docs/caveats.md；改革方法 docs/methods_reform.md。",
          "Computation and documentation: built by pairing-eval build; indicator definitions in analysis.indicators; assumptions and caveats in docs/caveats.md; reform methods in docs/methods_reform.md."),
)

#: the models of ``effectiveness.parquet`` (its ``model`` column) as a report names them
MODELS: dict[str, Label] = catalogue({
    "dose_response": ("剂量反应模型", "dose-response model"),
    "placebo_lead": ("剂量反应模型加下季度帮扶（安慰剂检验）", "dose-response model with next quarter's help (placebo test)"),
    "dose_response_county_quarter": ("剂量反应模型（县区×季度固定效应）", "dose-response model (county × quarter effects)"),
    "placebo_lead_county_quarter": ("安慰剂检验（县区×季度固定效应）", "placebo test (county × quarter effects)"),
    "dose_response_visits_log1p": ("剂量反应模型（以调研走访衡量帮扶）", "dose-response model (help measured by research visits)"),
    "dose_response_value_per_resident_log1p": ("剂量反应模型（以人均帮扶金额衡量帮扶）", "dose-response model (help measured by value per resident)"),
    "dose_response_iv": ("剂量反应模型（工具变量）", "dose-response model (instrumental variable)"),
    "repairing_event_study": ("结对调整事件研究", "event study of adjusted pairings"),
    "repairing_pretrend": ("结对调整前趋势检验", "pre-trend test of adjusted pairings"),
    "its": ("间断时间序列（描述性）", "interrupted time series (descriptive)"),
})

#: the variables behind the terms of the results tables (``log1p(<variable>)``)
VARIABLES: dict[str, Label] = catalogue({
    "activities": ("本季度帮扶活动场次", "activities this quarter"),
    "activities_lag1": ("上季度帮扶活动场次", "activities in the previous quarter"),
    "activities_lead1": ("下季度帮扶活动场次（安慰剂）", "activities in the next quarter (placebo)"),
    "visits_lag1": ("上季度调研走访次数", "research visits in the previous quarter"),
    "visits_lead1": ("下季度调研走访次数（安慰剂）", "research visits in the next quarter (placebo)"),
    "value_per_resident_lag1": ("上季度人均帮扶金额", "value of help per resident in the previous quarter"),
    "value_per_resident_lead1": ("下季度人均帮扶金额（安慰剂）", "value of help per resident in the next quarter (placebo)"),
})

#: the transformations a term applies to its variable (``<transform>(<variable>)``)
TRANSFORMS: dict[str, Label] = catalogue({
    "log1p": ("{variable}（取对数）", "log(1 + {variable})"),
})

#: other terms of the results tables (event studies, pre-trend tests, interrupted time series)
TERMS: dict[str, Label] = catalogue({
    "overall": ("总体", "overall"),
    "dynamic_overall": ("各事件时间平均", "average over event times"),
    "wald": ("联合检验", "joint test"),
    "pre_level": ("项目前水平", "level before the programme"),
    "pre_slope": ("项目前趋势", "trend before the programme"),
    "level_change": ("项目开始时的水平变化", "change in level at the start"),
    "slope_change": ("项目开始后的趋势变化", "change in trend after the start"),
    "event_time": ("事件时间{e}", "event time {e}"),
})

#: how county and city values are weighted (the ``weighting`` column of the indicators)
WEIGHTINGS: dict[str, Label] = catalogue({
    "residents": ("按在院人数加权", "weighted by the number of residents"),
    "unweighted": ("不加权（各机构同等）", "unweighted (each institution counts once)"),
})

#: the optimiser's solver status (``solver_status`` of ``allocation_summary``)
SOLVER_STATUS: dict[str, Label] = catalogue({
    "optimal": ("已求得最优解", "optimal"),
    "feasible": ("已求得可行解（未证明最优）", "feasible (not proven optimal)"),
    "time_limit": ("达到时间上限，给出当前最好方案", "time limit reached; best plan found so far"),
    "infeasible": ("约束无法同时满足", "infeasible"),
})


def _lookup(entries: dict[str, Label], name: object, language: str) -> str:
    entry = entries.get(str(name))
    return entry(language) if entry is not None else str(name)


def model_label(name: object, language: str) -> str:
    """A model of the results tables (:data:`MODELS`; the name itself when unknown)."""
    return _lookup(MODELS, name, language)


def variable_label(name: object, language: str) -> str:
    """A variable of the panel (:data:`VARIABLES`; the name itself when unknown)."""
    return _lookup(VARIABLES, name, language)


def term_label(name: object, language: str) -> str:
    """A term of the results tables: ``log1p(activities_lag1)`` reads as its variable and
    transformation, ``e=2`` as an event time, other terms from :data:`TERMS` (the term itself
    when unknown)."""
    s = str(name)
    if s.endswith(")") and "(" in s:
        fn, var = s[:-1].split("(", 1)
        if fn in TRANSFORMS:
            return text(TRANSFORMS[fn], language, variable=variable_label(var, language))
    if s.startswith("e=") and s[2:].lstrip("-").isdigit():
        return text(TERMS["event_time"], language, e=s[2:])
    if s in VARIABLES:
        return variable_label(s, language)
    return _lookup(TERMS, s, language)


def weighting_label(name: object, language: str) -> str:
    """How county and city values are weighted (:data:`WEIGHTINGS`)."""
    return _lookup(WEIGHTINGS, name, language)


def solver_status_label(name: object, language: str) -> str:
    """The optimiser's solver status (:data:`SOLVER_STATUS`)."""
    return _lookup(SOLVER_STATUS, name, language)


def label(key: str, language: str, **fmt: object) -> str:
    """The report label ``key`` in ``language`` (``zh`` or ``en``), formatted with ``fmt``.

    A text that speaks of the dataset's whole (``{whole}``, :data:`WHOLE_FORMS`) takes the words
    ``fmt`` gives (:func:`whole_words` of the dataset's level; a report passes
    :attr:`~analysis.reports.sections.base.ReportContext.whole`); a caller that gives none gets
    those of :data:`DEFAULT_WHOLE`, the words of a dataset of one prefecture."""
    entry = LABELS[key]
    if "whole" not in fmt and _speaks_of_whole(entry):
        fmt = {**whole_words(DEFAULT_WHOLE, language), **fmt}
    return text(entry, language, **fmt)


@functools.cache
def _speaks_of_whole(entry: Label) -> bool:
    """Whether either language's text of ``entry`` has a placeholder of the dataset's whole."""
    names = whole_words(DEFAULT_WHOLE, "en").keys()
    return any(f in names for t in (entry.zh, entry.en) for _, f, _, _ in string.Formatter().parse(t))


def inference_label(name: object, language: str) -> str:
    """The label of an inference method of :data:`analysis.domain.INFERENCE_NAMES` (the name itself
    when unknown)."""
    entry = INFERENCE_LABELS.get(str(name))
    return entry(language) if entry is not None else str(name)


__all__ = [
    "INSTITUTION_KINDS", "LABELS", "LANGUAGES", "METHODS", "MODELS", "PLAN_METRICS", "REFERENCES",
    "DEFAULT_WHOLE", "SOLVER_STATUS", "SUMMARY_KEYS", "TERMS", "TRANSFORMS", "VARIABLES", "WEIGHTINGS", "WHOLE",
    "WHOLE_FORMS", "Language", "catalogue", "check_language", "inference_label", "label",
    "model_label", "solver_status_label", "term_label", "text", "variable_label",
    "weighting_label", "whole_words",
]
