"""Figures: Chinese-capable fonts and the shared style of every plot in notebooks and reports.

:func:`setup` registers the Noto Sans CJK SC font that ships inside the ``mplfonts`` wheel by its
file path (``matplotlib.font_manager.fontManager.addfont``), so Chinese labels render on a machine
with no system fonts at all, and puts it first in matplotlib's sans-serif list. Call it once at the
top of a notebook; the plotting helpers below call it themselves, so it is idempotent.

:func:`figure_to_html` turns a figure into an ``<img>`` tag with the PNG embedded (base64), which is
how report sections carry their figures into a self-contained HTML file.
"""

from __future__ import annotations

import base64
import html
import io
import warnings
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import font_manager

CJK_FAMILY = "Noto Sans CJK SC"
FALLBACK = ["DejaVu Sans"]
PALETTE = {
    "county": "#c0392b",
    "city": "#34495e",
    "other": "#b0b7bf",
    "band": "#c0392b",
    "good": "#1e8449",
    "bad": "#b03a2e",
}
_READY = False


def cjk_font_path() -> Path:
    """Path of the bundled Noto Sans CJK SC font (from the ``mplfonts`` package)."""
    import mplfonts

    f = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    if not f.exists():  # pragma: no cover - broken install
        from .errors import AnalysisError

        raise AnalysisError(
            f"The bundled CJK font is missing ({f.name}); reinstall with `pip install --force-reinstall mplfonts`."
        )
    return f


def setup(*, dpi: int = 110) -> None:
    """Register the bundled CJK font and apply the house style (idempotent).

    After this, ``"三升一降"`` in any title, label or tick renders without "Glyph missing" warnings.
    """
    global _READY
    if not _READY:
        font_manager.fontManager.addfont(str(cjk_font_path()))
        _READY = True
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    matplotlib.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [CJK_FAMILY, *FALLBACK],
            "axes.unicode_minus": False,  # the ASCII hyphen renders in every font
            "figure.dpi": dpi,
            "savefig.dpi": dpi,
            "figure.figsize": (7.0, 3.6),
            "axes.titlesize": 12,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "xtick.labelsize": 9,
            "ytick.labelsize": 9,
        }
    )


def new_axes(ax: Any = None, *, figsize: tuple[float, float] | None = None) -> Any:
    """``ax`` itself, or a fresh Axes on a new figure in the house style."""
    setup()
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


def figure_to_html(fig: Any, *, alt: str = "", close: bool = True) -> str:
    """Embed ``fig`` as a base64 PNG ``<img>`` (escaped ``alt`` text). Closes the figure by default.

    Any "Glyph … missing" warning raised while drawing is turned into an error here: a report must
    never ship a figure with boxes instead of characters.
    """
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r".*[Gg]lyph.*missing.*")
        fig.savefig(buf, format="png")
    if close:
        plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        f"<img class='pe-figure' alt='{html.escape(alt, quote=True)}' "
        f"src='data:image/png;base64,{data}'/>"
    )
