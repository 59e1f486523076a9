"""Shared behaviour of result objects, in the manner of linearmodels' results.

Every estimator returns a frozen dataclass that mixes in :class:`ResultMixin` and implements
``tidy()`` (a long DataFrame, one row per reported quantity) and ``plot(*, ax=None)``. The mixin
derives ``summary()`` (text, returned not printed) and ``_repr_html_()`` (so a bare result renders
in JupyterLab and in the HTML reports) from ``tidy()``, a ``title`` and ``notes``.

Strings that come from data are escaped in the HTML rendering (``DataFrame.to_html(escape=True)``
and :func:`html.escape` for title and notes).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

#: Below this many clusters analytic clustered standard errors are too small (Cameron & Miller
#: 2015, "A practitioner's guide to cluster-robust inference", J. Human Resources 50(2)).
FEW_CLUSTERS = 20


def few_cluster_warning(n_clusters: int) -> str:
    """The warning every result and report shows when clusters are few ("" when they are not)."""
    if n_clusters < FEW_CLUSTERS:
        return (f"Only {n_clusters} counties (clusters): analytic clustered standard errors are too "
                "small with fewer than 20 clusters; rely on the wild_bootstrap and randomization "
                "rows.")
    return ""


class ResultMixin:
    """Mixin for frozen result dataclasses. Subclasses define ``tidy`` and ``plot``."""

    title: ClassVar[str] = "Result"

    # -- to implement -----------------------------------------------------------------------
    def tidy(self) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    def plot(self, *, ax: Any = None) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- derived ----------------------------------------------------------------------------
    @property
    def notes(self) -> tuple[str, ...]:
        """Caveats shown under the table (few clusters, descriptive only, synthetic data, …)."""
        return tuple(getattr(self, "_notes", ()) or ())

    def _display_table(self) -> pd.DataFrame:
        return self.tidy()

    def summary(self) -> str:
        table = self._display_table()
        with pd.option_context("display.width", 120, "display.max_columns", 30):
            body = table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        lines = [self.title, "=" * len(self.title), body]
        if self.notes:
            lines.append("")
            lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        table = self._display_table()
        body = table.to_html(index=False, escape=True, float_format=lambda v: f"{v:.4g}", border=0,
                             classes="pe-result")
        notes = "".join(f"<p class='pe-note'>{html.escape(n)}</p>" for n in self.notes)
        return f"<div class='pe-result'><h4>{html.escape(self.title)}</h4>{body}{notes}</div>"


@dataclass(frozen=True)
class DataBanner:
    """A visible note a notebook shows first: synthetic data, and few clusters."""

    dataset: str
    synthetic: bool
    n_counties: int

    def _repr_html_(self) -> str:
        parts = []
        if self.synthetic:
            parts.append("<div style='background:#fff3cd;border:2px solid #d39e00;padding:8px;"
                         "font-weight:bold' role='alert'>SYNTHETIC DATA 合成数据 — dataset "
                         f"{html.escape(self.dataset)} is generated, not real ledgers; the "
                         "numbers illustrate the method only.</div>")
        w = few_cluster_warning(self.n_counties)
        if w:
            parts.append(f"<div style='border-left:4px solid #c0392b;padding:4px 8px'>"
                         f"{html.escape(w)}</div>")
        return "".join(parts) or "<div></div>"

    def __repr__(self) -> str:
        out = []
        if self.synthetic:
            out.append(f"SYNTHETIC DATA: dataset {self.dataset} is generated, not real ledgers.")
        if few_cluster_warning(self.n_counties):
            out.append(few_cluster_warning(self.n_counties))
        return "\n".join(out)
