"""Per-county (and city) slices of the city-wide results, as report sections.

The report notebooks call these functions and nothing else: each returns a :class:`Section` whose
``_repr_html_`` is the section's HTML (heading, tables, embedded figures, notes), so a bare call at
the end of a notebook cell renders it in JupyterLab and in the exported HTML report.

Nothing here re-estimates a model. Estimates come from ``data/processed/<dataset>/results/``
(written once by ``pairing-eval build``); this module filters them to a county or cohort, ranks
counties on descriptive figures computed from the processed tables, and formats. A section whose
results file does not exist says so ("this analysis has not been run for this dataset").

Safety of what reaches HTML:

* every string that comes from data (names, codes, categories, numbers) goes through
  ``DataFrame.to_html(escape=True)`` or :func:`html.escape`;
* every table with counts of people passes :func:`analysis.disclosure.suppress`;
* no resident-level rows: the smallest unit shown is an institution, and its resident count is
  suppressed below the threshold.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import __version__
from .data import Processed, load_processed
from .disclosure import DEFAULT_THRESHOLD, SuppressedTable, suppress
from .errors import SpecificationError, check_choice

Language = Literal["zh", "en"]
LANGUAGES: tuple[str, ...] = ("zh", "en")
OUTCOMES = ("environment_score", "service_score", "happiness_score", "safety_hazards")
LOWER_IS_BETTER = {"safety_hazards"}

# ----------------------------------------------------------------------------------------------
# labels
# ----------------------------------------------------------------------------------------------

LABELS: dict[str, tuple[str, str]] = {
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
}

OUTCOME_LABELS = {
    "environment_score": ("院容院貌", "Environment"),
    "service_score": ("服务质量", "Service quality"),
    "happiness_score": ("幸福指数", "Happiness"),
    "safety_hazards": ("安全隐患", "Safety hazards"),
    "composite": ("综合指数", "Composite index"),
    "environment": ("院容院貌", "Environment"),
    "service": ("服务质量", "Service quality"),
    "happiness": ("幸福指数", "Happiness"),
}

INFERENCE_LABELS = {
    "analytic": ("解析标准误", "analytic"),
    "cluster": ("聚类稳健", "clustered"),
    "wild_bootstrap": ("野自助法", "wild bootstrap"),
    "randomization": ("随机化推断", "randomisation"),
    "hac": ("HAC稳健", "HAC"),
}


def label(key: str, language: str, **fmt: Any) -> str:
    """The label ``key`` in ``language`` (``zh`` or ``en``), formatted with ``fmt``."""
    zh, en = LABELS[key]
    text = zh if language == "zh" else en
    return text.format(**fmt) if fmt else text


def outcome_label(name: str, language: str) -> str:
    pair = OUTCOME_LABELS.get(str(name))
    if pair is None:
        return str(name)
    return pair[0] if language == "zh" else pair[1]


def _inference_label(name: object, language: str) -> str:
    pair = INFERENCE_LABELS.get(str(name))
    if pair is None:
        return str(name)
    return pair[0] if language == "zh" else pair[1]


# ----------------------------------------------------------------------------------------------
# display object
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One report section. ``blocks`` are HTML fragments already escaped by this module."""

    key: str
    title: str
    blocks: tuple[str, ...] = ()
    level: int = 2

    def _repr_html_(self) -> str:
        head = f"<h{self.level}>{html.escape(self.title)}</h{self.level}>" if self.title else ""
        body = "".join(self.blocks)
        return f"<section class='pe-section' id='{html.escape(self.key, quote=True)}'>{head}{body}</section>"

    def __repr__(self) -> str:  # plain-text fallback outside HTML front-ends
        return f"Section({self.key!r}, {self.title!r}, {len(self.blocks)} blocks)"


def _p(text: str, cls: str = "") -> str:
    c = f" class='{cls}'" if cls else ""
    return f"<p{c}>{html.escape(text)}</p>"


def _table(df: pd.DataFrame | SuppressedTable, *, index: bool = False) -> str:
    if isinstance(df, SuppressedTable):
        return df.to_html(index=index)
    return suppress(df, [], threshold=1).to_html(index=index)


def _not_run(name: str, language: str) -> str:
    return _p(label("not_run", language, file=f"{name}.parquet"), cls="pe-missing")


# ----------------------------------------------------------------------------------------------
# context
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportContext:
    """What every section needs: the processed data, the county (``None`` for the city summary),
    the language and the disclosure threshold."""

    processed: Processed = field(repr=False)
    county_code: str | None
    language: str = "zh"
    threshold: int = DEFAULT_THRESHOLD

    @property
    def counties(self) -> pd.DataFrame:
        return self.processed.tables["counties"]

    def county_name(self, code: str | None = None) -> str:
        code = code if code is not None else self.county_code
        if code is None:
            return ""
        row = self.counties.loc[self.counties["county_code"] == code]
        if row.empty:
            return str(code)
        if self.language == "en" and "county_name_en" in row and pd.notna(row["county_name_en"].iloc[0]):
            return str(row["county_name_en"].iloc[0])
        return str(row["county_name"].iloc[0])

    def result(self, name: str) -> pd.DataFrame | None:
        """A results table, or ``None`` when that analysis has not been run."""
        if not self.processed.has_result(name):
            return None
        return self.processed.result(name)


def county_codes(processed: Processed) -> list[str]:
    """County codes of the dataset, in code order."""
    return sorted(processed.tables["counties"]["county_code"].astype(str).tolist())


def check_county(processed: Processed, county_code: str) -> None:
    """Raise ``SpecificationError`` naming the valid codes when ``county_code`` is unknown."""
    codes = county_codes(processed)
    if str(county_code) not in codes:
        raise SpecificationError(
            f"county code {county_code!r} is not in the counties table of dataset "
            f"{processed.dataset!r}; valid codes: {', '.join(codes)}."
        )


def open_report(
    dataset: str = "demo",
    county_code: str | None = None,
    *,
    language: Language = "zh",
    threshold: int = DEFAULT_THRESHOLD,
    root: Path | None = None,
) -> ReportContext:
    """Load the processed dataset and check the options once (county code, language, threshold).

    ``county_code=None`` opens the city summary.
    """
    check_choice("language", language, LANGUAGES)
    if not isinstance(threshold, int | np.integer) or isinstance(threshold, bool) or threshold < 1:
        raise SpecificationError(f"threshold={threshold!r} must be a whole number of people, at least 1.")
    processed = load_processed(dataset, root=root)
    if county_code is not None:
        county_code = str(county_code)
        check_county(processed, county_code)
    return ReportContext(processed, county_code, language, int(threshold))


# ----------------------------------------------------------------------------------------------
# provenance header
# ----------------------------------------------------------------------------------------------


def data_hash(manifest: dict[str, Any]) -> str:
    """A short fingerprint of the inputs recorded in the manifest.

    Uses the manifest's own ``data_hash`` (or ``inputs_hash``) when present, else hashes the
    per-file input hashes it lists, else the whole manifest.
    """
    for key in ("data_hash", "inputs_hash", "input_hash", "hash"):
        if isinstance(manifest.get(key), str) and manifest[key]:
            return manifest[key][:16]
    inputs = manifest.get("inputs") or manifest.get("input_hashes")
    payload = json.dumps(inputs if inputs else manifest, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def header(ctx: ReportContext, *, generated: str | None = None) -> Section:
    """Title, provenance (dataset, data hash, package version, generation time) and, for synthetic
    data, a banner."""
    lang = ctx.language
    title = (
        label("report_title", lang, name=ctx.county_name())
        if ctx.county_code
        else label("city_title", lang)
    )
    generated = generated or _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = [
        (label("dataset", lang), ctx.processed.dataset),
        (label("data_hash", lang), data_hash(ctx.processed.manifest)),
        (label("version", lang), f"pairing-eval {__version__}"),
        (label("generated", lang), generated),
    ]
    if ctx.county_code:
        rows.insert(0, (label("county", lang), f"{ctx.county_name()} ({ctx.county_code})"))
    items = "".join(
        f"<div><dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd></div>" for k, v in rows
    )
    blocks = [f"<h1>{html.escape(title)}</h1>"]
    if ctx.processed.synthetic:
        blocks.append(
            f"<div class='pe-banner pe-synthetic' role='alert'>{html.escape(label('synthetic_banner', lang))}</div>"
        )
    blocks.append(f"<dl class='pe-provenance'>{items}</dl>")
    return Section("header", "", tuple(blocks))


# ----------------------------------------------------------------------------------------------
# county league: descriptive figures for every county, and ranks
# ----------------------------------------------------------------------------------------------

# metric -> higher is better?
_RANKED = {
    "composite_change": True,
    "activities_per_inst": True,
    "value_per_bed": True,
    "resolved_share": True,
    "paired_share": True,
}


def league(processed: Processed) -> pd.DataFrame:
    """One row per county: descriptive figures from the processed tables and ranks among counties.

    Columns: ``county_code``, ``institutions``, ``elderly_institutions``,
    ``children_institutions``, ``beds``, ``residents`` (latest quarter), ``paired_share`` (latest
    quarter), ``activities``, ``activities_per_inst``, ``visits``, ``value_rmb`` (in 10,000 RMB),
    ``value_per_bed``, ``problems_found``, ``resolved_share``, ``composite_change`` (from
    ``indicators.parquet`` when present, else NaN), ``cohort`` (adoption quarter or missing), and
    ``rank_<metric>`` for the ranked metrics (1 = best; ties share the better rank). ``rank`` is the
    rank on the composite change when available, else on activities per institution.
    """
    t = processed.tables
    codes = county_codes(processed)
    inst = t["institutions"]
    panel = processed.panel
    out = pd.DataFrame({"county_code": codes}).set_index("county_code")
    g = inst.groupby("county_code")
    out["institutions"] = g.size()
    out["elderly_institutions"] = inst[inst["kind"] == "elderly"].groupby("county_code").size()
    out["children_institutions"] = inst[inst["kind"] == "children"].groupby("county_code").size()
    out["beds"] = g["beds"].sum().astype(float)
    latest = panel.loc[panel["assessed"].astype(bool)]
    if not latest.empty:
        last = latest["t"].max()
        lp = latest[latest["t"] == last]
        out["residents"] = lp.groupby("county_code")["residents"].sum()
    else:
        out["residents"] = np.nan
    last_t = panel["t"].max()
    lq = panel[panel["t"] == last_t]
    out["paired_share"] = lq.groupby("county_code")["paired"].mean()
    out["activities"] = panel.groupby("county_code")["activities"].sum()
    out["visits"] = panel.groupby("county_code")["visits"].sum()
    out["value_rmb"] = panel.groupby("county_code")["value_rmb"].sum() / 1e4
    probs = t["problems"].merge(inst[["institution_id", "county_code"]], on="institution_id", how="left")
    out["problems_found"] = probs.groupby("county_code").size()
    out["problems_resolved"] = probs[probs["resolved_date"].notna()].groupby("county_code").size()
    out = out.fillna(
        {c: 0 for c in ("institutions", "elderly_institutions", "children_institutions",
                        "activities", "visits", "value_rmb", "problems_found", "problems_resolved")}
    )
    out["activities_per_inst"] = out["activities"] / out["institutions"].where(out["institutions"] > 0)
    out["value_per_bed"] = out["value_rmb"] * 1e4 / out["beds"].where(out["beds"] > 0)
    out["resolved_share"] = out["problems_resolved"] / out["problems_found"].where(out["problems_found"] > 0)
    out["composite_change"] = np.nan
    ind = indicators(processed)
    if ind is not None:
        comp = ind[(ind["level"] == "county") & (ind["indicator"] == "composite")]
        out["composite_change"] = comp.set_index("id")["change"].reindex(out.index)
    out["cohort"] = _cohorts(processed).reindex(out.index)
    for m, higher in _RANKED.items():
        out[f"rank_{m}"] = out[m].rank(ascending=not higher, method="min")
    primary = "composite_change" if out["composite_change"].notna().any() else "activities_per_inst"
    out["rank"] = out[f"rank_{primary}"]
    out.attrs["rank_metric"] = primary
    return out.reset_index()


PREFERRED_WEIGHTING = ("residents", "unweighted", "none")


def indicators(processed: Processed) -> pd.DataFrame | None:
    """``indicators.parquet`` with one row per (level, id, indicator): when the file holds several
    weightings of the county and city aggregates, the resident-weighted one is kept (else the first
    listed in ``PREFERRED_WEIGHTING``, else the first present). ``None`` when not run."""
    if not processed.has_result("indicators"):
        return None
    ind = processed.result("indicators").copy()
    ind["id"] = ind["id"].astype(str)
    if "weighting" in ind.columns:
        keep = []
        for _, g in ind.groupby("level", sort=False):
            present = list(dict.fromkeys(g["weighting"].astype(str)))
            pick = next((w for w in PREFERRED_WEIGHTING if w in present), present[0])
            keep.append(g[g["weighting"].astype(str) == pick])
        ind = pd.concat(keep)
    return ind.drop_duplicates(["level", "id", "indicator"])


def _cohorts(processed: Processed) -> pd.Series:
    """Adoption quarter per county (missing when not moved in the data window), from the panel."""
    p = processed.panel[["county_code", "adoption_period"]].drop_duplicates("county_code")
    return p.set_index("county_code")["adoption_period"]


def _city_figures(processed: Processed, lg: pd.DataFrame) -> dict[str, float]:
    s = lg.select_dtypes("number").sum()
    return {
        "institutions": s["institutions"],
        "elderly_institutions": s["elderly_institutions"],
        "children_institutions": s["children_institutions"],
        "beds": s["beds"],
        "residents": s["residents"],
        "paired_share": float(processed.panel.loc[processed.panel["t"] == processed.panel["t"].max(), "paired"].mean()),
        "activities": s["activities"],
        "activities_per_inst": s["activities"] / s["institutions"] if s["institutions"] else np.nan,
        "visits": s["visits"],
        "value_rmb": s["value_rmb"],
        "value_per_bed": s["value_rmb"] * 1e4 / s["beds"] if s["beds"] else np.nan,
        "problems_found": s["problems_found"],
        "resolved_share": s["problems_resolved"] / s["problems_found"] if s["problems_found"] else np.nan,
        "composite_change": _city_indicator(processed, "composite"),
    }


def _city_indicator(processed: Processed, indicator: str) -> float:
    ind = indicators(processed)
    if ind is None:
        return np.nan
    row = ind[(ind["level"] == "city") & (ind["indicator"] == indicator)]
    return float(row["change"].iloc[0]) if len(row) else np.nan


_KEY_ROWS = (
    "institutions", "elderly_institutions", "children_institutions", "beds", "residents",
    "paired_share", "activities", "activities_per_inst", "visits", "value_rmb", "value_per_bed",
    "problems_found", "resolved_share", "composite_change",
)
_SHARES = {"paired_share", "resolved_share"}
_PEOPLE = {"residents"}


def _fmt_value(metric: str, v: object) -> object:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return np.nan
    if metric in _SHARES:
        return f"{float(v):.0%}"
    if metric in _PEOPLE or metric in {"institutions", "elderly_institutions", "children_institutions",
                                       "beds", "activities", "visits", "problems_found"}:
        return int(round(float(v)))
    return round(float(v), 2)


def key_figures(ctx: ReportContext) -> Section:
    """The county's key figures beside the city's, with its rank among counties on ranked metrics."""
    lang = ctx.language
    lg = league(ctx.processed)
    n = len(lg)
    city = _city_figures(ctx.processed, lg)
    row = lg.set_index("county_code").loc[ctx.county_code]
    recs = []
    for m in _KEY_ROWS:
        if m == "composite_change" and np.isnan(row[m]):
            continue
        rank = row.get(f"rank_{m}", np.nan)
        recs.append(
            {
                label("metric", lang): label(m, lang),
                label("value", lang): _fmt_value(m, row[m]),
                label("city_value", lang): _fmt_value(m, city[m]),
                label("rank", lang): f"{int(rank)}/{n}" if pd.notna(rank) else "",
            }
        )
    recs.append(
        {
            label("metric", lang): label("cohort", lang),
            label("value", lang): row["cohort"] if pd.notna(row["cohort"]) else label("never", lang),
            label("city_value", lang): "",
            label("rank", lang): "",
        }
    )
    df = pd.DataFrame(recs)
    # only the residents row is a count of people: suppress it (county and city cells)
    people_rows = df[label("metric", lang)] == label("residents", lang)
    tab = _suppress_rows(df, people_rows, [label("value", lang), label("city_value", lang)], ctx)
    blocks = [_table(tab), _p(label("rank_note", lang, n=n), cls="pe-note")]
    if not ctx.processed.has_result("indicators"):
        blocks.append(_not_run("indicators", lang))
    return Section("key-figures", label("key_figures", lang), tuple(blocks))


def _suppress_rows(df: pd.DataFrame, rows: pd.Series, columns: Sequence[str], ctx: ReportContext) -> SuppressedTable:
    """Suppress ``columns`` only in the rows flagged by ``rows`` (a long table mixing metrics)."""
    work = df.copy()
    helper = [f"__{c}" for c in columns]
    for c, h in zip(columns, helper, strict=True):
        work[h] = pd.to_numeric(work[c].where(rows), errors="coerce")
    s = suppress(work, helper, threshold=ctx.threshold, language=ctx.language)
    out = df.copy()
    mask = s.mask[helper].to_numpy()
    for j, c in enumerate(columns):
        col = out[c].astype(object)
        col[mask[:, j]] = s.table[helper[j]][mask[:, j]]
        out[c] = col
    return SuppressedTable(out, s.mask.rename(columns=dict(zip(helper, columns, strict=True)))[list(columns)],
                           s.threshold, s.n_primary, s.n_secondary, ctx.language)


# ----------------------------------------------------------------------------------------------
# scorecard
# ----------------------------------------------------------------------------------------------


def _indicator_name(ind: str) -> str:
    return {"environment": "environment_score", "service": "service_score",
            "happiness": "happiness_score"}.get(ind, ind)


def scorecard(ctx: ReportContext) -> Section:
    """三升一降: baseline vs latest, target met, and the county's change against the city's, plus
    quarterly means of the four outcomes for the county and the city."""
    lang = ctx.language
    ind = indicators(ctx.processed)
    blocks: list[str] = [_p(label("scorecard_note", lang), cls="pe-note")]
    if ind is None:
        blocks.append(_not_run("indicators", lang))
    else:
        if "weighting" in ind.columns:
            w = ind.loc[ind["level"] == "county", "weighting"]
            if len(w):
                blocks.append(_p(label("weighting_note", lang, weighting=str(w.iloc[0])), cls="pe-note"))
        city = ind[ind["level"] == "city"].set_index("indicator")
        if ctx.county_code:
            mine = ind[(ind["level"] == "county") & (ind["id"] == ctx.county_code)]
            recs = []
            for _, r in mine.iterrows():
                c_change = city["change"].get(r["indicator"], np.nan)
                better = _compare(r["change"], c_change, _indicator_name(r["indicator"]) in LOWER_IS_BETTER)
                recs.append(
                    {
                        label("indicator", lang): outcome_label(r["indicator"], lang),
                        label("baseline", lang): r["baseline"],
                        label("latest", lang): r["latest"],
                        label("change", lang): r["change"],
                        label("target_met", lang): _yes_no(r.get("target_met"), lang),
                        **({label("significant", lang): _yes_no(r.get("target_met_significant"), lang)}
                           if "target_met_significant" in mine.columns else {}),
                        label("city_change", lang): c_change,
                        label("vs_city", lang): label(better, lang) if better else "",
                    }
                )
            blocks.append(_table(pd.DataFrame(recs)))
        else:
            cty = ind[ind["level"] == "county"]
            wide = cty.pivot_table(index="id", columns="indicator", values="change", aggfunc="first")
            wide.columns = [outcome_label(c, lang) for c in wide.columns]
            met = cty.pivot_table(index="id", columns="indicator", values="target_met", aggfunc="first")
            n_met = met.astype(float).sum(axis=1)
            wide.insert(0, label("county", lang), [ctx.county_name(c) for c in wide.index])
            wide[label("target_met", lang)] = [f"{int(v)}/{met.shape[1]}" for v in n_met.reindex(wide.index)]
            blocks.append(_table(wide.reset_index(names=label("code", lang))))
            recs = [
                {
                    label("indicator", lang): outcome_label(i, lang),
                    label("baseline", lang): r["baseline"],
                    label("latest", lang): r["latest"],
                    label("change", lang): r["change"],
                    label("target_met", lang): _yes_no(r.get("target_met"), lang),
                }
                for i, r in city.iterrows()
            ]
            blocks.append(_table(pd.DataFrame(recs)))
    blocks.append(trend_figure(ctx))
    return Section("scorecard", label("scorecard", lang), tuple(blocks))


def _compare(change: float, city_change: float, lower_better: bool) -> str:
    if pd.isna(change) or pd.isna(city_change):
        return ""
    d = float(change) - float(city_change)
    if abs(d) < 1e-9:
        return "same"
    return "better" if (d < 0) == lower_better else "worse"


def _yes_no(v: object, lang: str) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return ""
    return label("yes", lang) if bool(v) else label("no", lang)


def quarterly_means(processed: Processed, county_code: str | None) -> pd.DataFrame:
    """Mean of each outcome per quarter over assessed institution-quarters: long table with
    ``scope`` in {county, city}."""
    p = processed.panel
    p = p[p["assessed"].astype(bool)]
    frames = []
    city = p.groupby("period")[list(OUTCOMES)].mean().assign(scope="city")
    frames.append(city)
    if county_code:
        c = p[p["county_code"] == county_code].groupby("period")[list(OUTCOMES)].mean().assign(scope="county")
        frames.append(c)
    return pd.concat(frames).reset_index()


def trend_figure(ctx: ReportContext) -> str:
    """2×2 panel of quarterly means (county vs city), embedded as PNG."""
    import matplotlib.pyplot as plt

    from . import plots

    plots.setup()
    lang = ctx.language
    q = quarterly_means(ctx.processed, ctx.county_code)
    fig, axes = plt.subplots(2, 2, figsize=(8.5, 5.0), sharex=True)
    periods = sorted(q["period"].unique())
    pos = {p: i for i, p in enumerate(periods)}
    for ax, outcome in zip(axes.ravel(), OUTCOMES, strict=True):
        for scope, color, name in (
            ("city", plots.PALETTE["city"], label("city_value", lang)),
            ("county", plots.PALETTE["county"], ctx.county_name() if ctx.county_code else ""),
        ):
            d = q[q["scope"] == scope]
            if d.empty:
                continue
            ax.plot(d["period"].map(pos), d[outcome], color=color, label=name, lw=1.8)
        ax.set_title(outcome_label(outcome, lang))
        step = max(1, len(periods) // 6)
        ax.set_xticks(range(0, len(periods), step), [periods[i] for i in range(0, len(periods), step)],
                      rotation=0)
    axes[0, 0].legend(loc="best")
    fig.suptitle(label("trend_title" if ctx.county_code else "trend_title_city", lang))
    # a fixed layout: tight_layout would measure every text (a third of the figure's cost)
    fig.subplots_adjust(left=0.06, right=0.985, top=0.87, bottom=0.07, hspace=0.32, wspace=0.16)
    return plots.figure_to_html(fig, alt=label("trend_title" if ctx.county_code else "trend_title_city", lang))


# ----------------------------------------------------------------------------------------------
# pairing effectiveness
# ----------------------------------------------------------------------------------------------

_INF_ORDER = {"analytic": 0, "cluster": 0, "wild_bootstrap": 1, "randomization": 2}


def p_text(v: object) -> str:
    """A p-value as text: three decimals, ``<0.001`` below that, empty when missing."""
    if v is None or pd.isna(v):
        return ""
    v = float(v)
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def _ci_text(lo: object, hi: object) -> str:
    return f"[{lo:.3g}, {hi:.3g}]" if pd.notna(lo) and pd.notna(hi) else ""


def inference_wide(df: pd.DataFrame, keys: Sequence[str], *, value: str, lang: str,
                   key_labels: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per ``keys`` combination with the point estimate, the analytic standard error, and
    a 95% interval and p-value column pair for every inference method present (analytic or
    clustered first, then wild bootstrap, then randomisation), so methods sit side by side."""
    key_labels = key_labels or {}
    methods = sorted(df["inference"].astype(str).unique(), key=lambda m: (_INF_ORDER.get(m, 9), m))
    rows = []
    for k, g in df.groupby(list(keys), sort=False, dropna=False):
        k = k if isinstance(k, tuple) else (k,)
        g = g.assign(_o=g["inference"].astype(str).map(lambda m: _INF_ORDER.get(m, 9))).sort_values("_o")
        rec: dict[str, object] = {}
        for name, v in zip(keys, k, strict=True):
            col = key_labels.get(name, label(name, lang) if name in LABELS else name)
            rec[col] = outcome_label(v, lang) if name == "outcome" else ("" if pd.isna(v) else str(v))
        rec[label("estimate", lang)] = g[value].iloc[0]
        rec[label("std_error", lang)] = g["std_error"].iloc[0]
        by = g.drop_duplicates("inference").set_index(g.drop_duplicates("inference")["inference"].astype(str))
        for m in methods:
            name = _inference_label(m, lang)
            if m in by.index:
                rec[f"{label('ci', lang)} · {name}"] = _ci_text(by.at[m, "ci_low"], by.at[m, "ci_high"])
                rec[f"{label('p_value', lang)} · {name}"] = p_text(by.at[m, "p_value"])
            else:
                rec[f"{label('ci', lang)} · {name}"] = ""
                rec[f"{label('p_value', lang)} · {name}"] = ""
        if "n_obs" in g:
            rec[label("n_obs", lang)] = g["n_obs"].iloc[0]
        rows.append(rec)
    return pd.DataFrame(rows)


MAIN_MODELS = ("dose_response", "placebo_lead")


def effectiveness(ctx: ReportContext, *, models: Sequence[str] = MAIN_MODELS, max_rows: int = 30) -> Section:
    """City-wide pairing-effectiveness estimates of the main ``models`` (every inference method
    side by side), the county's own rows if the results hold any, the county's intensity of help to
    read them against, and the list of the other models the results file holds."""
    lang = ctx.language
    eff = ctx.result("effectiveness")
    blocks: list[str] = []
    if eff is None:
        blocks.append(_not_run("effectiveness", lang))
        return Section("effectiveness", label("effectiveness", lang), tuple(blocks))
    blocks.append(_p(label("eff_intro" if ctx.county_code else "eff_intro_city", lang)))
    if "county_code" in eff.columns:
        city_rows = eff[eff["county_code"].isna()]
        mine = eff[eff["county_code"].astype(str) == str(ctx.county_code)] if ctx.county_code else eff.iloc[0:0]
    else:
        city_rows, mine = eff, eff.iloc[0:0]
    present = list(dict.fromkeys(city_rows["model"].astype(str)))
    shown = [m for m in models if m in present] or present[:1]
    main = city_rows[city_rows["model"].astype(str).isin(shown)].copy()
    main["_m"] = main["model"].astype(str).map({m: i for i, m in enumerate(shown)})
    main = main.sort_values(["_m", "outcome", "term"], kind="stable")
    wide = inference_wide(main, ["model", "outcome", "term"], value="estimate", lang=lang)
    blocks.append(_table(wide.head(max_rows)))
    others = [m for m in present if m not in shown]
    if others:
        blocks.append(_p(label("eff_others", lang, models=", ".join(others)), cls="pe-note"))
    p = ctx.processed.panel
    if ctx.county_code:
        pc = p[p["county_code"] == ctx.county_code]
        blocks.append(
            _p(
                label(
                    "eff_context",
                    lang,
                    county=float(pc["activities"].mean()),
                    city=float(p["activities"].mean()),
                    share_c=float(pc["paired"].mean()),
                    share_city=float(p["paired"].mean()),
                )
            )
        )
        if len(mine):
            blocks.append(_p(label("eff_county_rows", lang)))
            blocks.append(_table(inference_wide(mine, ["model", "outcome", "term"], value="estimate", lang=lang)))
    # the figure: the first main model, one interval per outcome (wild bootstrap when present)
    first = main[main["model"].astype(str) == shown[0]]
    plot_rows = (
        first.assign(_o=first["inference"].astype(str).map(lambda m: -1 if m == "wild_bootstrap" else _INF_ORDER.get(m, 9)))
        .sort_values("_o", kind="stable")
        .drop_duplicates(["outcome", "term"])
        .sort_values(["outcome", "term"], kind="stable")
    )
    blocks.append(_forest(plot_rows, lang, title=label("eff_plot", lang) + f" ({shown[0]})"))
    return Section("effectiveness", label("effectiveness", lang), tuple(blocks))


def _forest(df: pd.DataFrame, lang: str, *, title: str, highlight: Iterable[bool] | None = None,
            show_outcome: bool = True) -> str:
    import matplotlib.pyplot as plt

    from . import plots

    plots.setup()
    d = df.dropna(subset=["estimate"]).reset_index(drop=True)
    if d.empty:
        return ""
    names = [
        f"{outcome_label(o, lang)} · {t}" if show_outcome else str(t)
        for o, t in zip(d["outcome"], d["term"], strict=True)
    ]
    hl = list(highlight) if highlight is not None else [False] * len(d)
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(d) + 1.2))
    y = np.arange(len(d))[::-1]
    colors = [plots.PALETTE["county"] if h else plots.PALETTE["city"] for h in hl]
    lo = d["ci_low"].fillna(d["estimate"]).to_numpy(float)
    hi = d["ci_high"].fillna(d["estimate"]).to_numpy(float)
    ax.hlines(y, lo, hi, colors=colors, lw=2)
    ax.scatter(d["estimate"], y, c=colors, zorder=3)
    ax.axvline(0, color="#888888", lw=0.8)
    ax.set_yticks(y, names)
    ax.set_title(title)
    # left margin from the longest label (CJK characters are one em wide, others about half)
    em = plt.rcParams["ytick.labelsize"] if isinstance(plt.rcParams["ytick.labelsize"], float) else 9.0
    width_in = max(sum(1.0 if ord(ch) > 0x2E80 else 0.56 for ch in n) for n in names) * em / 72
    fig.subplots_adjust(left=min(0.7, (width_in + 0.2) / fig.get_figwidth()), right=0.97,
                        top=1 - 0.45 / fig.get_figheight(), bottom=0.35 / fig.get_figheight())
    return plots.figure_to_html(fig, alt=title)


# ----------------------------------------------------------------------------------------------
# reform
# ----------------------------------------------------------------------------------------------


def _cohort_members(ctx: ReportContext, cohort: str) -> list[str]:
    c = _cohorts(ctx.processed)
    return [ctx.county_name(code) for code in sorted(c[c == cohort].index)]


def reform(ctx: ReportContext, *, outcome_for_plot: str = "composite") -> Section:
    """The reform effect for the county's cohort beside all cohorts, with the few-cluster inference
    (every inference method the results hold), and the cohort's event-time profile."""
    lang = ctx.language
    agg = ctx.result("reform_aggregate")
    blocks: list[str] = []
    cohort = None
    if ctx.county_code:
        cohort = _cohorts(ctx.processed).get(ctx.county_code)
        cohort = None if pd.isna(cohort) else str(cohort)
        inst = ctx.processed.tables["institutions"]
        mine = inst[inst["county_code"] == ctx.county_code]
        eligible = ((mine["kind"] == "elderly") & (mine["operator"] == "public") & (mine["area"] == "rural")).any()
        if cohort:
            blocks.append(_p(label("reform_cohort", lang, cohort=cohort,
                                   members="、".join(_cohort_members(ctx, cohort)) if lang == "zh"
                                   else ", ".join(_cohort_members(ctx, cohort)))))
        else:
            blocks.append(_p(label("reform_never", lang)))
        if not eligible:
            blocks.append(_p(label("reform_no_eligible", lang), cls="pe-note"))
    if agg is None:
        blocks.append(_not_run("reform_aggregate", lang))
        return Section("reform", label("reform", lang), tuple(blocks))
    n_counties = len(county_codes(ctx.processed))
    blocks.append(_p(label("reform_few", lang, n=n_counties), cls="pe-note"))
    agg = agg.copy()
    agg["key"] = agg["key"].astype("string")

    # overall (simple) effect with every inference method side by side
    simple = agg[agg["aggregation"] == "simple"]
    if len(simple):
        blocks.append(f"<h3>{html.escape(label('overall', lang))}</h3>")
        blocks.append(_table(inference_wide(simple, ["outcome"], value="att", lang=lang)))

    groups = agg[agg["aggregation"] == "group"]
    if len(groups):
        if cohort and (groups["key"] == cohort).any():
            blocks.append(f"<h3>{html.escape(label('cohort_effect', lang, cohort=cohort))}</h3>")
            blocks.append(_table(inference_wide(groups[groups["key"] == cohort], ["outcome"], value="att", lang=lang)))
        elif cohort:
            blocks.append(_p(label("cohort_missing", lang, cohort=cohort), cls="pe-missing"))
        # all cohorts beside each other: ATT (wild-bootstrap p-value when present) per outcome
        blocks.append(f"<h3>{html.escape(label('all_cohorts', lang))}</h3>")
        pref = groups.assign(_o=groups["inference"].astype(str).map(lambda m: -1 if m == "wild_bootstrap" else _INF_ORDER.get(m, 9)))
        best = pref.sort_values("_o", kind="stable").drop_duplicates(["outcome", "key"])
        best = best.assign(cell=[f"{a:.3g} (p={p_text(pv)})" if pd.notna(pv) else f"{a:.3g}"
                                 for a, pv in zip(best["att"], best["p_value"], strict=True)])
        wide = best.pivot(index="outcome", columns="key", values="cell")
        wide = wide[sorted(wide.columns, key=lambda c: (c == "overall", str(c)))]
        wide.columns = [
            f"{c} {label('this_cohort', lang)}" if c == cohort
            else (label("all_groups", lang) if c == "overall" else str(c))
            for c in wide.columns
        ]
        wide.index = [outcome_label(o, lang) for o in wide.index]
        blocks.append(_table(wide.reset_index(names=label("outcome", lang))))
        blocks.append(_p(label("all_cohorts_note", lang, method=_inference_label(best["inference"].iloc[0], lang)), cls="pe-note"))
        plot_outcome = outcome_for_plot if (best["outcome"] == outcome_for_plot).any() else best["outcome"].iloc[0]
        g1 = best[best["outcome"] == plot_outcome].sort_values("key")
        g1 = g1.assign(term=[label("all_groups", lang) if k == "overall" else str(k) for k in g1["key"]],
                       estimate=g1["att"])
        blocks.append(
            _forest(g1, lang, title=label("reform_plot", lang, outcome=outcome_label(plot_outcome, lang)),
                    highlight=[k == cohort for k in g1["key"]], show_outcome=False)
        )
    att_gt = ctx.result("reform_attgt")
    if cohort and att_gt is not None:
        prof = att_gt[att_gt["group"].astype(str) == cohort]
        if len(prof):
            wide = prof.pivot_table(index="period", columns="outcome", values="att", aggfunc="first")
            wide.columns = [outcome_label(c, lang) for c in wide.columns]
            g_t = _quarter_index(cohort)
            wide = wide.loc[sorted(wide.index, key=lambda q: _quarter_index(str(q)))]
            wide.insert(0, label("event_time", lang), [_quarter_index(str(q)) - g_t for q in wide.index])
            blocks.append(f"<h3>{html.escape(label('event_profile', lang))}</h3>")
            blocks.append(_table(wide.reset_index().rename(columns={"period": label("period", lang)})))
            blocks.append(_p(label("event_note", lang), cls="pe-note"))
    elif att_gt is None:
        blocks.append(_not_run("reform_attgt", lang))
    return Section("reform", label("reform", lang), tuple(blocks))


def _quarter_index(period: str) -> int:
    """``2021Q3`` → year*4 + quarter - 1 (the panel's ``t``)."""
    return int(period[:4]) * 4 + int(period[-1]) - 1


# ----------------------------------------------------------------------------------------------
# allocation
# ----------------------------------------------------------------------------------------------


_PLAN_METRICS = (
    ("objective", "建议方案的预测改善总量", "predicted improvement, recommended plan"),
    ("status_quo_objective", "现有结对的预测改善总量", "predicted improvement, current pairings"),
    ("gain_vs_status_quo", "相对现有结对的预测增益", "predicted gain over the current pairings"),
    ("n_changes", "调整结对数", "pairings changed"),
    ("solver_status", "求解状态", "solver status"),
)


def _plan_changes(plan: pd.DataFrame) -> pd.Series:
    if "change" in plan.columns:
        return plan["change"].astype(str)
    cur, rec = plan["current"].astype(bool), plan["recommended"].astype(bool)
    return pd.Series(np.select([cur & rec, rec], ["kept", "added"], "ended"), index=plan.index)


def _institution_gain(plan: pd.DataFrame) -> pd.Series:
    """``predicted_gain`` is the change at the row's institution (recommended vs current pairs),
    repeated on each of its rows: one value per institution."""
    return plan.drop_duplicates("institution_id").set_index("institution_id")["predicted_gain"]


def recommendations(ctx: ReportContext, *, max_rows: int = 30) -> Section:
    """What the city-wide allocation plan recommends for the county's institutions: the pairings to
    add or end, and the county's predicted gain against the current pairings (summed over distinct
    institutions, as ``allocation_plan.parquet`` documents)."""
    lang = ctx.language
    plan = ctx.result("allocation_plan")
    blocks: list[str] = []
    if plan is None:
        blocks.append(_not_run("allocation_plan", lang))
        return Section("allocation", label("allocation", lang), tuple(blocks))
    inst = ctx.processed.tables["institutions"][["institution_id", "institution_name", "county_code"]]
    units = ctx.processed.tables["units"][["unit_id", "unit_name"]]
    plan = plan.drop(columns=[c for c in ("institution_name", "county_code", "unit_name") if c in plan.columns])
    plan = plan.merge(inst, on="institution_id", how="left").merge(units, on="unit_id", how="left")
    plan["change"] = _plan_changes(plan)
    summary = ctx.result("allocation_summary")
    if ctx.county_code:
        mine = plan[plan["county_code"] == ctx.county_code]
        gain = float(_institution_gain(mine).sum()) if len(mine) else 0.0
        changes = mine[mine["change"].isin(["added", "ended"])]
        blocks.append(_p(label("alloc_summary", lang, gain=gain, n=len(changes),
                               n_inst=mine["institution_id"].nunique())))
        if changes.empty:
            blocks.append(_p(label("alloc_none", lang)))
        else:
            changes = changes.sort_values(["predicted_gain", "institution_id", "change"],
                                          ascending=[False, True, True], kind="stable")
            tab = pd.DataFrame(
                {
                    label("institution", lang): changes["institution_name"].fillna(changes["institution_id"]).astype(str).to_numpy(),
                    label("unit", lang): changes["unit_name"].fillna(changes["unit_id"]).astype(str).to_numpy(),
                    label("action", lang): [label("add", lang) if c == "added" else label("end", lang)
                                            for c in changes["change"]],
                    label("inst_gain", lang): changes["predicted_gain"].to_numpy(),
                }
            ).head(max_rows)
            blocks.append(_table(tab))
    else:
        rows = []
        for code, d in plan.groupby("county_code", sort=True):
            rows.append(
                {
                    label("county", lang): ctx.county_name(str(code)),
                    label("n_changes", lang): int(d["change"].isin(["added", "ended"]).sum()),
                    label("county_gain", lang): float(_institution_gain(d).sum()),
                }
            )
        blocks.append(_table(pd.DataFrame(rows)))
        if summary is not None and {"metric", "value"} <= set(summary.columns):
            names = {k: (zh, en) for k, zh, en in _PLAN_METRICS}
            keep = summary[summary["metric"].isin(list(names))]
            if len(keep):
                shown = pd.DataFrame({
                    label("metric", lang): [names[m][0 if lang == "zh" else 1] for m in keep["metric"]],
                    label("value_col", lang): keep["value"].astype(str).to_numpy(),
                })
                blocks.append(_table(shown))
    if summary is not None and {"metric", "value"} <= set(summary.columns):
        desc = summary.loc[summary["metric"] == "response_description", "value"]
        if len(desc):
            blocks.append(_p(label("alloc_response", lang, text=str(desc.iloc[0])), cls="pe-note"))
    blocks.append(_p(label("alloc_note", lang), cls="pe-note"))
    return Section("allocation", label("allocation", lang), tuple(blocks))


# ----------------------------------------------------------------------------------------------
# data quality
# ----------------------------------------------------------------------------------------------


def data_quality(ctx: ReportContext) -> Section:
    """Notes on coverage and flags for the county (or city): assessment coverage, residents above
    beds, activities without a unit, open problems, small institutions hidden, build warnings."""
    lang = ctx.language
    t = ctx.processed.tables
    p = ctx.processed.panel
    inst = t["institutions"]
    if ctx.county_code:
        p = p[p["county_code"] == ctx.county_code]
        inst = inst[inst["county_code"] == ctx.county_code]
    ids = set(inst["institution_id"])
    notes: list[str] = []
    assessed = p["assessed"].astype(bool)
    ever = p.loc[assessed, "institution_id"].nunique()
    notes.append(label("dq_assessed", lang, assessed=int(assessed.sum()),
                       share=float(assessed.mean()) if len(p) else 0.0, never=len(ids) - ever))
    over = int((p["residents"] > p["beds"]).sum())
    if over:
        notes.append(label("dq_over_beds", lang, n=over))
    acts = t["activities"]
    acts = acts[acts["institution_id"].isin(ids)]
    teams = int(acts["unit_id"].isna().sum())
    if teams:
        notes.append(label("dq_teams", lang, n=teams))
    probs = t["problems"]
    open_n = int(probs[probs["institution_id"].isin(ids)]["resolved_date"].isna().sum())
    if open_n:
        notes.append(label("dq_open", lang, n=open_n))
    last = p[assessed]
    if len(last):
        lr = last[last["t"] == last["t"].max()]
        small = int(((lr["residents"] >= 1) & (lr["residents"] < ctx.threshold)).sum())
        if small:
            notes.append(label("dq_small", lang, n=small, t=ctx.threshold))
    for key in ("warnings", "notes", "extra_columns"):
        val = ctx.processed.manifest.get(key)
        if val:
            text = "; ".join(map(str, val)) if isinstance(val, list | tuple) else json.dumps(val, ensure_ascii=False, default=str)
            notes.append(label("dq_manifest", lang, text=text))
    blocks = ["<ul class='pe-quality'>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"]
    return Section("quality", label("quality", lang), tuple(blocks))


# ----------------------------------------------------------------------------------------------
# institutions table (suppressed) for the county
# ----------------------------------------------------------------------------------------------


def institutions(ctx: ReportContext) -> Section:
    """The county's institutions with beds and latest residents (suppressed below the threshold).

    Institution-level rows are the finest grain any report shows; no resident-level data."""
    lang = ctx.language
    inst = ctx.processed.tables["institutions"]
    inst = inst[inst["county_code"] == ctx.county_code] if ctx.county_code else inst
    inst = inst.sort_values("institution_id")
    p = ctx.processed.panel
    p = p[p["assessed"].astype(bool)]
    last = p.sort_values("t").groupby("institution_id").tail(1).set_index("institution_id")["residents"]
    kinds = {"elderly": ("养老", "elderly care"), "children": ("儿童", "children")}
    df = pd.DataFrame(
        {
            label("institution", lang): inst["institution_name"].astype(str).to_numpy(),
            label("kind", lang): [kinds.get(k, (k, k))[0 if lang == "zh" else 1] for k in inst["kind"].astype(str)],
            label("beds", lang): pd.array(inst["beds"], dtype="Int64"),
            label("residents", lang): pd.array(last.reindex(inst["institution_id"]).round(), dtype="Int64"),
        }
    )
    tab = _suppress_against_total(df, label("residents", lang), ctx.threshold, lang)
    return Section("institutions", label("institutions_list", lang), (_table(tab),), level=3)


def _suppress_against_total(df: pd.DataFrame, column: str, threshold: int, lang: str) -> SuppressedTable:
    """Suppress ``column`` as if the table carried its total: the total is published elsewhere
    (the county's residents in the key figures, the city's in every report), so a single hidden
    cell could be recovered by subtraction. A second cell is hidden where needed; the total row
    itself is not shown here."""
    total_label = "__total__"
    total = pd.to_numeric(df[column], errors="coerce").sum()
    total_row = pd.DataFrame({column: pd.array([round(total)], dtype=df[column].dtype)
                              if str(df[column].dtype) == "Int64" else [total]}, index=[total_label])
    work = pd.concat([df, total_row])
    work.index = [*range(len(df)), total_label]
    s = suppress(work, [column], threshold=threshold, total_row=total_label, language=lang)
    keep = [i for i in work.index if i != total_label]
    mask = s.mask.loc[keep].reset_index(drop=True)
    values = pd.to_numeric(df[column], errors="coerce").reset_index(drop=True)
    n_primary = int(((values >= 1) & (values < threshold)).sum())
    n_hidden = int(mask[column].sum())
    out = df.reset_index(drop=True).copy()
    out[column] = s.table.loc[keep, column].reset_index(drop=True)  # other columns keep their types
    return SuppressedTable(out, mask, s.threshold, n_primary, n_hidden - n_primary, lang)


# ----------------------------------------------------------------------------------------------
# methods
# ----------------------------------------------------------------------------------------------

METHODS = {
    "zh": [
        "“三升一降”指标：院容院貌、服务质量、幸福指数（应上升）和安全隐患（应下降）按机构季度计算，再汇总到县区和全市；基期、最新期、综合指数和“达标”的定义见 analysis.indicators 的说明，本报告只读取其结果。",
        "帮扶成效：以帮扶强度（滞后一期）解释结果变化的剂量反应面板模型，含机构与季度固定效应，按县区聚类。县区很少，解析聚类标准误偏小，故同时报告野聚类自助法（Webb 权重）的区间和p值。间断时间序列没有对照组，只作描述。",
        "收归县管改革：Callaway 与 Sant'Anna (2021) 的交错采用双重差分（尚未处理的县区为对照），按批次、事件时间和日历时间汇总；少聚类推断采用野聚类自助法（Webb 2023; Roodman 等 2019）和对采用日期的随机化推断（MacKinnon 与 Webb 2020）。同县未纳入改革的机构提供三重差分对照。",
        "资源配置：优化方案在全覆盖、单位承载能力、有限调整和公平底线约束下最大化由估计效应预测的改善；预测依赖效应估计，估计不确定时建议亦不确定。",
        "本报告所有估计均由 `pairing-eval build` 为全市统一计算一次，本报告只做筛选和展示；假设与注意事项见 docs/caveats.md。",
        "参考文献：Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods. Journal of Econometrics 225(2); Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing. Journal of Econometrics 225(2); Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors. Canadian Journal of Economics 56(3); MacKinnon, J. G. & Webb, M. D. (2020). Randomization inference for difference-in-differences with few treated clusters. Journal of Econometrics 218(2); Roodman, D. et al. (2019). Fast and wild: bootstrap inference in Stata using boottest. Stata Journal 19(1); GB/T 37276-2018; GB 38600-2019。",
    ],
    "en": [
        "三升一降 indicators: environment, service quality, happiness (to rise) and safety hazards (to fall) per institution-quarter, aggregated to counties and the city; baseline, latest period, composite index and 'target met' are defined in analysis.indicators, whose results this report only reads.",
        "Pairing effectiveness: dose-response panel models of outcomes on the lagged intensity of help with institution and quarter fixed effects, clustered by county. With few counties analytic clustered errors are too small, so wild cluster bootstrap (Webb weights) intervals and p-values are reported beside them. The interrupted time series has no control group and is descriptive only.",
        "County-management reform: staggered difference-in-differences of Callaway & Sant'Anna (2021) with not-yet-treated counties as controls, aggregated by cohort, event time and calendar time; few-cluster inference by the wild cluster bootstrap (Webb 2023; Roodman et al. 2019) and randomisation inference over adoption dates (MacKinnon & Webb 2020). The county's institutions outside the reform give a triple-difference comparison.",
        "Resource allocation: the plan maximises the improvement predicted from the estimated response under full coverage, unit capacity, limited changes and an equity floor; the predictions are only as certain as the estimates behind them.",
        "Every estimate here is computed once for the whole city by `pairing-eval build`; this report only filters and presents. Assumptions and caveats: docs/caveats.md.",
        "References: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods. Journal of Econometrics 225(2); Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing. Journal of Econometrics 225(2); Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors. Canadian Journal of Economics 56(3); MacKinnon, J. G. & Webb, M. D. (2020). Randomization inference for difference-in-differences with few treated clusters. Journal of Econometrics 218(2); Roodman, D. et al. (2019). Fast and wild: bootstrap inference in Stata using boottest. Stata Journal 19(1); GB/T 37276-2018; GB 38600-2019.",
    ],
}


def methods(ctx: ReportContext) -> Section:
    """Short methods with references; points to the assumptions-and-caveats log."""
    items = "".join(f"<li>{html.escape(t)}</li>" for t in METHODS[ctx.language])
    return Section("methods", label("methods", ctx.language), (f"<ul class='pe-methods'>{items}</ul>",))


# ----------------------------------------------------------------------------------------------
# city-only: counties compared
# ----------------------------------------------------------------------------------------------


def comparison(ctx: ReportContext) -> Section:
    """All counties side by side: key figures, rank and cohort (the city summary's main table)."""
    lang = ctx.language
    return Section("comparison", label("comparison", lang), (_table(league_table(ctx.processed, lang, ctx.threshold)),))


def league_table(processed: Processed, language: str, threshold: int, *, links: bool = False) -> SuppressedTable:
    """The counties table of the city summary and index (suppressed; optional link column)."""
    lg = league(processed)
    ctx = ReportContext(processed, None, language, threshold)
    n = len(lg)
    df = pd.DataFrame(
        {
            label("rank", language): [f"{int(r)}/{n}" if pd.notna(r) else "" for r in lg["rank"]],
            label("code", language): lg["county_code"].to_numpy(),
            label("county", language): [ctx.county_name(c) for c in lg["county_code"]],
            label("institutions", language): lg["institutions"].astype(int).to_numpy(),
            label("residents", language): pd.array(lg["residents"].round(), dtype="Int64"),
            label("activities_per_inst", language): lg["activities_per_inst"].round(1).to_numpy(),
            label("resolved_share", language): [f"{v:.0%}" if pd.notna(v) else "" for v in lg["resolved_share"]],
            label("composite_change", language): lg["composite_change"].round(2).to_numpy(),
            label("cohort", language): [c if pd.notna(c) else label("never", language) for c in lg["cohort"]],
        }
    )
    df = df.sort_values(label("rank", language), key=lambda s: lg.loc[s.index, "rank"], kind="stable")
    return _suppress_against_total(df.reset_index(drop=True), label("residents", language), threshold, language)
