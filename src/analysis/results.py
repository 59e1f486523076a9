"""Shared behaviour of result objects, in the manner of linearmodels' results.

Every estimator returns a frozen dataclass that mixes in :class:`ResultMixin` and implements
``tables()`` (named DataFrames, the main one first), ``title`` and ``plot(*, ax=None)``. The mixin
derives ``tidy()`` (the first table), ``summary()`` (text, returned not printed) and
``_repr_html_()`` (so a bare result renders in JupyterLab and in the HTML reports), rendering every
table through one renderer.

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
    """The one result protocol. Subclasses are frozen dataclasses that define

    - ``title`` (a property: every result names what it estimated),
    - ``tables() -> dict[str, DataFrame]`` (every table the result holds, the main one first),
    - ``plot(*, ax=None)`` (drawn through :mod:`analysis.plots`, returns the Axes).

    The mixin derives ``tidy()`` (a copy of the first table), ``summary()`` (text, returned not
    printed) and ``_repr_html_()`` (so a bare result renders in JupyterLab and in the HTML reports):
    both render **all** tables through one renderer (:func:`render_text`, :func:`render_html`).
    ``display_columns`` picks, per table name, the columns shown by ``summary`` and the HTML
    rendering (the full tables stay in ``tables()``).
    """

    #: table name → the columns shown by ``summary()`` / ``_repr_html_()`` (all when absent)
    display_columns: ClassVar[dict[str, tuple[str, ...]]] = {}

    # -- to implement -----------------------------------------------------------------------
    @property
    def title(self) -> str:
        return type(self).__name__

    def tables(self) -> dict[str, pd.DataFrame]:  # pragma: no cover - abstract
        raise NotImplementedError

    def plot(self, *, ax: Any = None) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- derived ----------------------------------------------------------------------------
    def tidy(self) -> pd.DataFrame:
        """The main table (the first of :meth:`tables`), as a copy."""
        return next(iter(self.tables().values())).copy()

    @property
    def notes(self) -> tuple[str, ...]:
        """Caveats shown under the tables (few clusters, descriptive only, synthetic data, …)."""
        return tuple(getattr(self, "_notes", ()) or ())

    def display_tables(self) -> dict[str, pd.DataFrame]:
        """The tables as shown: each restricted to its ``display_columns`` when given."""
        out = {}
        for name, df in self.tables().items():
            cols = self.display_columns.get(name)
            out[name] = df[[c for c in cols if c in df.columns]] if cols else df
        return out

    def summary(self) -> str:
        return render_text(self.title, self.display_tables(), self.notes)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return render_html(self.title, self.display_tables(), self.notes)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def render_text(title: str, tables: dict[str, pd.DataFrame], notes: tuple[str, ...] = ()) -> str:
    """Title, every table (the second and later under their names) and the notes, as text."""
    lines = [title, "=" * len(title)]
    with pd.option_context("display.width", 120, "display.max_columns", 30):
        for i, (name, df) in enumerate(tables.items()):
            if i:
                lines += ["", name, "-" * len(name)]
            lines.append(df.to_string(index=False, float_format=_fmt) if len(df.columns)
                         else "(empty)")
    if notes:
        lines.append("")
        lines += [f"Note: {n}" for n in notes]
    return "\n".join(lines)


def render_html(title: str, tables: dict[str, pd.DataFrame], notes: tuple[str, ...] = ()) -> str:
    """The same as :func:`render_text` as escaped HTML (every string from data is escaped)."""
    parts = [f"<div class='pe-result'><h4>{html.escape(title)}</h4>"]
    for i, (name, df) in enumerate(tables.items()):
        if i:
            parts.append(f"<h5>{html.escape(str(name))}</h5>")
        parts.append(df.to_html(index=False, escape=True, float_format=_fmt, border=0,
                                classes="pe-result"))
    parts += [f"<p class='pe-note'>{html.escape(n)}</p>" for n in notes]
    parts.append("</div>")
    return "".join(parts)


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
