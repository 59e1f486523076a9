"""Figures: Chinese-capable fonts and the shared style of every plot in notebooks and reports.

:func:`setup` registers the Noto Sans CJK SC font that ships inside the ``mplfonts`` wheel by its
file path (``matplotlib.font_manager.fontManager.addfont``), so Chinese labels render on a machine
with no system fonts at all, and makes it the first font of matplotlib's font list, with DejaVu Sans
(shipped with matplotlib) after it for the glyphs it lacks. Call it once at the top of a notebook;
the plotting helpers below call it themselves, so it is idempotent.

Names from the data are drawn literally, whatever they hold:

* ``text.parse_math`` is off, so a ``$`` in a county or institution name is a dollar sign and never
  starts matplotlib's mathtext (a name such as ``$x^$`` would otherwise raise while drawing);
* :func:`safe_text` replaces every character that neither font has (emoji, CJK Extension B such as
  𠀀 U+20000, which real place and personal names use, control characters) with a visible ``□``
  (:data:`MISSING_GLYPH`), so a figure never fails and never shows a blank where a character
  was. Every plot helper that draws a name, an identifier or a group key passes it through
  :func:`safe_text` (or :func:`safe_labels` for tick labels). The fonts' character maps are read
  with matplotlib's own FreeType binding (``matplotlib.ft2font``) — the reader that draws the
  text — so the check and the drawing cannot disagree; they are read once and cached.

:func:`figure_to_html` turns a figure into an ``<img>`` tag with the PNG embedded (base64), which is
how report sections carry their figures into a self-contained HTML file.
"""

from __future__ import annotations

import base64
import html
import io
import unicodedata
import warnings
from collections.abc import Iterable
from functools import lru_cache
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
#: what :func:`safe_text` draws for a character no bundled font has (in both fonts' maps)
MISSING_GLYPH = "\u25a1"
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
            # the families themselves, not the generic "sans-serif": matplotlib falls back glyph
            # by glyph only along an explicit list of families
            "font.family": [CJK_FAMILY, *FALLBACK],
            "font.sans-serif": [CJK_FAMILY, *FALLBACK],
            "text.parse_math": False,  # names are literal text: "$" never starts mathtext
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


def font_paths() -> list[Path]:
    """The font files figures draw with, in fallback order (the bundled CJK font, then
    :data:`FALLBACK`, which matplotlib ships)."""
    out = [cjk_font_path()]
    for family in FALLBACK:
        out.append(Path(font_manager.findfont(font_manager.FontProperties(family=family),
                                              fallback_to_default=False)))
    return out


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    """Code points some font of :func:`font_paths` has a glyph for (read once)."""
    from matplotlib.ft2font import FT2Font

    codes: set[int] = set()
    for path in font_paths():
        codes.update(FT2Font(str(path)).get_charmap())
    return frozenset(codes)


#: characters that are never drawn as themselves: controls, bidi and other format characters,
#: surrogates, private use and unassigned code points
_NOT_DRAWN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


@lru_cache(maxsize=65536)
def _safe(s: str) -> str:
    covered = _covered()
    if all(ord(ch) in covered and ch.isprintable() for ch in s):
        return s
    out = []
    for ch in s:
        if ch == "\n":
            out.append(ch)
        elif ch in "\t\r":
            out.append(" ")
        elif ord(ch) in covered and unicodedata.category(ch) not in _NOT_DRAWN:
            out.append(ch)
        elif unicodedata.category(ch) in ("Mn", "Me", "Mc"):
            continue  # a mark or variation selector of the previous character, itself shown
        else:
            out.append(MISSING_GLYPH)
    return "".join(out)


def safe_text(s: object) -> str:
    """``s`` as text every figure can draw: characters the bundled fonts lack become
    :data:`MISSING_GLYPH` (``□``), tabs become spaces, line breaks stay.

    Examples
    --------
    >>> safe_text("\U00020000\U00020001镇")
    '□□镇'
    >>> safe_text("$x^$ 养老院")
    '$x^$ 养老院'
    """
    return _safe(str(s))


def safe_labels(values: Iterable[object]) -> list[str]:
    """:func:`safe_text` of every value (tick labels, legend entries)."""
    return [safe_text(v) for v in values]


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
