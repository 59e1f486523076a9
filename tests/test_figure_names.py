"""No name breaks a figure: county, institution and unit names or identifiers that hold matplotlib
mathtext (``$\\frac{1}{0}$``), an emoji or CJK Extension B characters (𠀀 U+20000, used in real
place and personal names) are drawn literally or with a visible ``□``, never raise and never leave
a blank — through the plot helpers and through full county and city reports.

Every figure goes through :func:`analysis.plots.figure_to_html`, which turns a "Glyph missing"
warning into an error, so a name that reached a figure unprotected fails these tests.
"""

from __future__ import annotations

import dataclasses
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import test_reports_world
from matplotlib import pyplot as plt
from test_reports_world import make_world

from analysis import plots
from analysis.data import load_processed

#: raises in mathtext ("Expected end of text") unless text is literal
MATH = "$\\\\frac{1}{0}$"
EMOJI = "😀养老院"
EXT_B = "𠀀𠀁镇"
NAMES = (MATH, EMOJI, EXT_B)


def _render(fig) -> str:
    """The figure as the reports embed it; any warning while drawing is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return plots.figure_to_html(fig)


# --------------------------------------------------------------------------------------------
# safe_text and the literal-text setting
# --------------------------------------------------------------------------------------------
def test_safe_text_keeps_what_the_fonts_have_and_marks_the_rest():
    assert plots.safe_text(EXT_B) == "□□镇"
    assert plots.safe_text(MATH) == MATH  # "$" is literal text, nothing to replace
    assert plots.safe_text(EMOJI) == EMOJI  # DejaVu Sans has the emoji: drawn by fallback
    assert plots.safe_text("市中区 Shizhong 2021Q1") == "市中区 Shizhong 2021Q1"
    assert plots.safe_text("a\u202eb\x00c\td") == "a□b□c d"  # controls are visible, not drawn
    assert plots.safe_text("\U0001f9d1\u200d\U0001f33e") == "□□□"  # not in any bundled font
    assert plots.safe_text("line\nbreak") == "line\nbreak"
    assert plots.safe_labels([1, None, EXT_B]) == ["1", "None", "□□镇"]


def test_the_replacement_is_visible_not_blank():
    plots.setup()

    def pixels(title: str) -> np.ndarray:
        fig, ax = plt.subplots(figsize=(2, 1))
        ax.set_axis_off()
        ax.set_title(title)
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fig.savefig(buf, format="rgba")
        plt.close(fig)
        return np.frombuffer(buf.getvalue(), dtype=np.uint8)

    blank = pixels("镇")
    assert (pixels(plots.safe_text(EXT_B)) != blank).sum() > 50
    assert (pixels(plots.safe_text("\U00020000镇")) != blank).sum() > 50


def test_unprotected_names_fail_and_protected_ones_render():
    """The negative controls: without the setting and the replacement, these names break a
    figure (so the tests below can fail)."""
    import matplotlib

    plots.setup()
    with matplotlib.rc_context({"text.parse_math": True}):
        fig, ax = plt.subplots()
        ax.set_title(MATH)
        with pytest.raises(ValueError, match="frac"):
            fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)
    fig, ax = plt.subplots()
    ax.set_title(EXT_B)
    with pytest.raises(UserWarning, match="Glyph"):
        plots.figure_to_html(fig)

    fig, ax = plt.subplots()
    ax.set_title(plots.safe_text(MATH))
    ax.set_yticks([0, 1, 2], plots.safe_labels(NAMES))
    ax.plot([0, 1], [0, 1], label=plots.safe_text(EXT_B))
    ax.legend()
    assert "data:image/png" in _render(fig)


def test_setup_makes_all_text_literal():
    import matplotlib
    from matplotlib.text import Text

    plots.setup()
    assert matplotlib.rcParams["text.parse_math"] is False
    assert Text(0, 0, MATH)._preprocess_math(MATH) == (MATH, False)
    assert matplotlib.rcParams["font.family"][:2] == [plots.CJK_FAMILY, *plots.FALLBACK]


# --------------------------------------------------------------------------------------------
# the plot helpers of the analyses, with names and identifiers from the data
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def evil_processed(tmp_path_factory):
    """The small report world with institution and unit identifiers replaced by the names
    (in memory: the analyses below read the processed object)."""
    root = make_world(tmp_path_factory.mktemp("figure_names"))
    p = load_processed("world", root=root)
    inst_ids = dict(zip(["I5111020", "I5111230", "I5111320"], NAMES, strict=True))
    unit_ids = {"U1": MATH, "U2": EMOJI, "U3": EXT_B}
    ids = {**inst_ids, **unit_ids}

    def rename(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        for c in ("institution_id", "unit_id"):
            if c in df.columns:
                df[c] = df[c].map(lambda v: ids.get(v, v))
        return df

    tables = {k: rename(v) for k, v in p.tables.items()}
    tables["counties"]["county_name"] = list(NAMES)
    tables["institutions"]["institution_name"] = [NAMES[i % 3] for i in range(len(tables["institutions"]))]
    return dataclasses.replace(p, tables=tables, panel=rename(p.panel))


def test_need_plots_draw_institution_ids(evil_processed):
    from analysis.allocation import need_index, need_sensitivity

    p = evil_processed
    need = need_index(p.panel, p.tables["institutions"])
    assert set(NAMES) <= set(need.table["institution_id"])
    assert "data:image/png" in _render(need.plot(top=30).figure)
    assert "data:image/png" in _render(need_sensitivity(need, n_draws=20).plot(top=30).figure)


def test_institution_scorecard_plot_draws_its_id(evil_processed):
    from analysis.indicators import indicators

    res = indicators(evil_processed.panel, level="institution")
    for name in NAMES:
        assert "data:image/png" in _render(res.plot(id=name).figure)


def test_unit_league_plot_draws_unit_ids(evil_processed):
    from analysis.effectiveness import unit_contributions

    res = unit_contributions(evil_processed, outcome="environment_score")
    assert set(NAMES) <= set(res.table["unit_id"])
    assert "data:image/png" in _render(res.plot().figure)


def test_allocation_plot_draws_institution_ids():
    from analysis.allocation import optimise_pairs

    units = pd.DataFrame({"unit_id": ["U1", "U2", "U3"], "rate": [3.0] * 3, "capacity": [3] * 3})
    institutions = pd.DataFrame({"institution_id": [*NAMES, "𠀀𠀂镇", "I4"],
                                 "base": [0.0, 0.5, 1.0, 1.0, 30.0]})
    current = pd.DataFrame({"unit_id": ["U1", "U2", "U3", "U3"],
                            "institution_id": ["I4", "I4", "I4", EXT_B]})
    res = optimise_pairs(units, institutions, current, compare_unconstrained=False,
                         marginal_values=False)
    ax = res.plot()
    # two identifiers that differ only in characters no font has stay two bars
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == sorted(
        ["□□镇", "□□镇", EMOJI, MATH])
    assert len(ax.patches) == 4
    assert "data:image/png" in _render(ax.figure)


def test_cohort_plots_with_name_labels(evil_processed):
    from analysis.did import att_gt

    panel = evil_processed.panel.assign(g=lambda d: d["adoption_t"].fillna(0))
    res = att_gt(panel, outcome="environment_score", unit="institution_id", time="t", group="g")
    names = dict(enumerate(NAMES))
    label = lambda k: names.get(int(float(k)) % 3, str(k))  # noqa: E731
    assert "data:image/png" in _render(res.aggregate("group").plot(labels=label).figure)
    assert "data:image/png" in _render(res.plot(labels=label).figure)


# --------------------------------------------------------------------------------------------
# full reports of a world whose counties and institutions carry the names
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def names_world(tmp_path_factory) -> Path:
    """The report world with its counties named (Chinese and English names) by all of
    :data:`NAMES` (511102), by the emoji name (511123) and by the Extension B name (511132), and
    an institution whose name holds all three."""
    names = (" ".join(NAMES), EMOJI, EXT_B)
    counties = [(c[0], n, n, *c[3:]) for c, n in zip(test_reports_world.COUNTIES, names, strict=True)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(test_reports_world, "COUNTIES", counties)
        mp.setattr(test_reports_world, "EVIL", " ".join(NAMES))
        root = make_world(tmp_path_factory.mktemp("names_world"))
    p = load_processed("world", root=root)
    assert list(p.tables["counties"]["county_name"]) == list(names)
    assert " ".join(NAMES) in set(p.tables["institutions"]["institution_name"])
    return root


@pytest.mark.parametrize("language", ["zh", "en"])
def test_report_sections_draw_county_names(names_world, language):
    from analysis.reports import sections

    for code in ("511102", "511123", "511132", None):
        ctx = sections.open_report("world", code, root=names_world, language=language)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            html = "".join(f(ctx)._repr_html_() for f in (sections.header, sections.scorecard,
                                                            sections.effectiveness, sections.reform))
        assert html.count("data:image/png") >= 3


def test_full_reports_of_a_county_and_the_city(names_world):
    """Through papermill kernels (which set matplotlib up themselves): the county named by all
    three names, the city summary (every county's name) and the index."""
    from analysis.reports import run_reports

    out = run_reports("world", counties=["511102"], jobs=2, root=names_world, progress=False)
    assert out.ok, out.render()
    pages = sorted((names_world / "reports" / "world").glob("*.html"))
    assert {p.stem for p in pages} >= {"511102", "city", "index"}, pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "Traceback" not in text
        if page.stem != "index":
            assert text.count("data:image/png") >= 3, page.name
    body = "".join(p.read_text(encoding="utf-8") for p in pages)
    for name in NAMES:
        assert name in body  # the HTML shows the names as they are
