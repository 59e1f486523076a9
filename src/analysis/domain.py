"""The programme's vocabulary: one home for every domain concept the package uses.

Every other module imports these names; none restates them.

- **Outcomes** (三升一降, "three up, one down"): the four target columns, their direction and
  bilingual labels, and the composite index built from them.
- **Eligibility** for the county-management reform (kind=elderly, operator=public, area=rural).
- **Periods**: the quarter index ``t = year*4 + quarter - 1`` and its ``"2021Q1"`` spelling.
- **Published figures**: the Leshan programme's published totals that the demo world reproduces
  (source: the seed article, 2021–2023), with the rule each is checked by.
- **Inference vocabulary**: the names of the inference methods every result table uses.
- **Disclosure threshold**: the smallest count of people a report shows (the rule that applies it
  is :mod:`analysis.disclosure`; descriptive results count the institutions below it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

# ----------------------------------------------------------------------------------------------
# outcomes
# ----------------------------------------------------------------------------------------------
Outcome = Literal["environment_score", "service_score", "happiness_score", "safety_hazards"]
OutcomeOrComposite = Literal["environment_score", "service_score", "happiness_score",
                             "safety_hazards", "composite"]

#: the four target outcome columns, in report order
OUTCOMES: tuple[str, ...] = get_args(Outcome)
#: the composite index (the pre-specified primary outcome)
COMPOSITE = "composite"
#: the pre-specified primary outcome: the composite index (one test, no multiplicity adjustment)
PRIMARY_OUTCOME: str = COMPOSITE
#: the family of secondary outcomes whose p-values are adjusted together for multiplicity
#: (Romano–Wolf step-down, :mod:`analysis.inference.stepdown`): the four targets
SECONDARY_OUTCOMES: tuple[str, ...] = OUTCOMES
#: the four targets and the composite
ALL_OUTCOMES: tuple[str, ...] = get_args(OutcomeOrComposite)
#: +1: the target is "up" (三升); −1: "down" (一降)
DIRECTION: dict[str, int] = {"environment_score": 1, "service_score": 1, "happiness_score": 1,
                             "safety_hazards": -1, COMPOSITE: 1}
LOWER_IS_BETTER: frozenset[str] = frozenset(k for k, v in DIRECTION.items() if v < 0)
#: the three scores on a 0–100 scale (the need index and composite use them)
SCORES: tuple[str, ...] = ("environment_score", "service_score", "happiness_score")

#: short indicator name (as in ``indicators.parquet``) → outcome column
INDICATORS: dict[str, str] = {"environment": "environment_score", "service": "service_score",
                              "happiness": "happiness_score", "safety_hazards": "safety_hazards"}
#: indicator names including the composite
ALL_INDICATORS: tuple[str, ...] = (*INDICATORS, COMPOSITE)


@dataclass(frozen=True)
class Label:
    """A bilingual label."""

    zh: str
    en: str

    def __call__(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


#: outcome column or indicator name → bilingual label
OUTCOME_LABELS: dict[str, Label] = {
    "environment_score": Label("院容院貌", "Environment"),
    "service_score": Label("服务质量", "Service quality"),
    "happiness_score": Label("幸福指数", "Happiness"),
    "safety_hazards": Label("安全隐患", "Safety hazards"),
    COMPOSITE: Label("综合指数", "Composite index"),
}
for _short, _col in INDICATORS.items():
    OUTCOME_LABELS.setdefault(_short, OUTCOME_LABELS[_col])


def is_primary(outcome: object) -> bool:
    """Whether ``outcome`` (a column or indicator name) is the pre-specified primary outcome."""
    return indicator_column(str(outcome)) == PRIMARY_OUTCOME


def outcome_label(name: object, language: str = "en") -> str:
    """The label of an outcome column or indicator name (the name itself when unknown)."""
    lab = OUTCOME_LABELS.get(str(name))
    return lab(language) if lab is not None else str(name)


def indicator_column(name: str) -> str:
    """Indicator name or outcome column → outcome column (the composite stays ``composite``)."""
    return INDICATORS.get(name, name)


def direction(name: str) -> int:
    """+1 when the target of an outcome column or indicator name is up, −1 when it is down."""
    return DIRECTION[indicator_column(name)]


# ----------------------------------------------------------------------------------------------
# inference vocabulary
# ----------------------------------------------------------------------------------------------
#: the inference methods a result row can carry (``inference`` column of every results table)
InferenceName = Literal["analytic", "wild_bootstrap", "randomization", "hac"]
INFERENCE_NAMES: tuple[str, ...] = get_args(InferenceName)
INFERENCE_LABELS: dict[str, Label] = {
    "analytic": Label("解析标准误（聚类稳健）", "analytic (cluster-robust)"),
    "wild_bootstrap": Label("野自助法", "wild bootstrap"),
    "randomization": Label("随机化推断", "randomisation"),
    "hac": Label("HAC稳健", "HAC"),
}

#: wild-bootstrap weight distributions: Webb's (2023) six-point weights, or Rademacher ±1
BootWeights = Literal["webb", "rademacher"]

# ----------------------------------------------------------------------------------------------
# reform eligibility
# ----------------------------------------------------------------------------------------------
#: the rule in words, as written to TRUTH.json
ELIGIBILITY_RULE = "kind == 'elderly' and operator == 'public' and area == 'rural'"


def is_eligible(institutions: pd.DataFrame) -> pd.Series:
    """Reform eligibility of each row (kind=elderly, operator=public, area=rural), as booleans."""
    return ((institutions["kind"] == "elderly") & (institutions["operator"] == "public")
            & (institutions["area"] == "rural")).astype(bool)


# ----------------------------------------------------------------------------------------------
# disclosure
# ----------------------------------------------------------------------------------------------
#: counts of people below this are hidden in every report (ONS / NHS Scotland convention; the
#: rule and its sources: :mod:`analysis.disclosure`)
DISCLOSURE_THRESHOLD = 10


# ----------------------------------------------------------------------------------------------
# periods
# ----------------------------------------------------------------------------------------------
def period_to_t(period: str) -> int:
    """``"2021Q1"`` → ``2021*4 + 0``: consecutive integers for consecutive quarters."""
    year, q = str(period).upper().split("Q")
    return int(year) * 4 + int(q) - 1


def t_to_period(t: Any) -> str:
    """Inverse of :func:`period_to_t`; ``""`` for a missing value (``None``, NaN, ±inf)."""
    if t is None:
        return ""
    try:
        f = float(t)
    except (TypeError, ValueError):
        return ""
    if not np.isfinite(f):
        return ""
    i = int(f)
    return f"{i // 4}Q{i % 4 + 1}"


def date_to_t(dates: pd.Series) -> pd.Series:
    """Quarter index of each date (float, NaN where the date is missing)."""
    d = pd.to_datetime(dates)
    return (d.dt.year * 4 + d.dt.quarter - 1).astype("float64")


def quarter_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last instant of a quarter ``"2021Q1"``."""
    p = pd.Period(period, freq="Q")
    return p.start_time, p.end_time


# ----------------------------------------------------------------------------------------------
# the published Leshan figures (seed article), reproduced by the demo world
# ----------------------------------------------------------------------------------------------
#: window of the published totals
PUBLISHED_WINDOW = ("2021-01-01", "2023-12-31")


@dataclass(frozen=True)
class Published:
    """A published figure and how a dataset is checked against it.

    ``rule``: ``exact``; ``more_than`` (the article's 余: at least the figure and below
    ``figure + step``); ``at_least``.
    """

    figure: int
    rule: Literal["exact", "more_than", "at_least"]
    wording: str
    step: int | None = None

    def holds(self, value: float) -> bool:
        if self.rule == "exact":
            return value == self.figure
        if self.rule == "at_least":
            return value >= self.figure
        return self.figure <= value < self.figure + (self.step or 0)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"published": self.figure, "rule": self.rule}
        if self.step is not None:
            out["step"] = self.step
        out["wording"] = self.wording
        return out


PUBLISHED: dict[str, Published] = {
    "county_codes": Published(11, "exact", "乐山市11个县（市、区）"),
    "population": Published(3_160_168, "exact", "2020 census population"),
    "city_departments_paired_at_start": Published(114, "exact", "114个市级部门"),
    "institutions_paired_at_start": Published(104, "exact", "104家养老、儿童机构"),
    "institutions": Published(104, "exact", "104家养老、儿童机构"),
    "pairs_adjusted": Published(36, "exact", "调整优化帮扶对子36组"),
    "finance_telecom_units_added": Published(1, "at_least", "新增金融、通讯等市级帮扶单位"),
    "research_visits": Published(769, "exact", "调研走访769次"),
    "activities": Published(8600, "more_than", "帮扶活动8600余场次", step=100),
    "value_rmb": Published(30_000_000, "more_than", "3000余万元", step=10_000_000),
    "beneficiaries": Published(40_000, "more_than", "4万余人次", step=10_000),
    "cultural_events": Published(638, "exact", "文娱活动638场次"),
    "health_events": Published(765, "exact", "义诊义检等765场次"),
    "volunteer_services": Published(3941, "exact", "志愿服务3941场"),
    "problems_solved": Published(9000, "more_than", "9000余个", step=1000),
    "environment_problems_solved": Published(700, "more_than", "700余个", step=100),
    "safety_problems_solved": Published(50, "more_than", "50余个", step=10),
    "tiny_childrens_homes": Published(
        3, "at_least", "children's homes with fewer than 10 residents (demo design)"),
}

__all__ = [
    "BootWeights", "ALL_INDICATORS", "ALL_OUTCOMES", "COMPOSITE", "DIRECTION", "DISCLOSURE_THRESHOLD",
    "ELIGIBILITY_RULE",
    "INDICATORS", "INFERENCE_LABELS", "INFERENCE_NAMES", "InferenceName", "LOWER_IS_BETTER",
    "Label", "OUTCOMES", "OUTCOME_LABELS", "Outcome", "OutcomeOrComposite", "PRIMARY_OUTCOME",
    "PUBLISHED", "PUBLISHED_WINDOW", "Published", "SCORES", "SECONDARY_OUTCOMES", "date_to_t",
    "direction", "indicator_column", "is_eligible", "is_primary", "outcome_label", "period_to_t",
    "quarter_bounds", "t_to_period",
]
