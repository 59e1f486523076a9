"""The report driver end to end: papermill runs of the county and city notebooks, HTML checks,
failure handling, the up-to-date skip and parameter refusal.

Most tests use the small processed world of ``test_reports_world`` (three counties, a tiny
children's home, an institution named ``<script>alert(1)</script>``); the demo-world tests use the
shared ``demo_root`` build and skip until it exists.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from test_reports_world import EVIL, make_world

from analysis.data import load_processed
from analysis.errors import SpecificationError
from analysis.reports import run_reports, sections
from analysis.reports.driver import check_parameters, inputs_hash, report_key

REPO = Path(__file__).resolve().parents[1]
COUNTY_NB = REPO / "notebooks" / "county_report.ipynb"
SECTIONS = ("header", "findings", "key-figures", "institutions", "scorecard", "effectiveness", "reform",
            "allocation", "quality", "methods")


def _text(html_text: str) -> str:
    """Visible text of a page (tags, styles and embedded images removed)."""
    s = re.sub(r"<style>.*?</style>", "", html_text, flags=re.S)
    s = re.sub(r"<img[^>]*>", "", s)
    return re.sub(r"<[^>]+>", " ", s)


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    """The small world with two county reports, the city summary and the index already run.

    Built once per test session even under xdist: workers share the folder through a file lock
    (as ``demo_root`` does), because ``--dist loadgroup`` does not keep grouped tests on one worker
    with pytest 9.2 (pytest-dev/pytest-xdist#1386)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "reports_world"
    done = root / "outcome.json"
    with open(shared / "reports_world.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            if not done.exists():
                if root.exists():
                    shutil.rmtree(root)
                make_world(root)
                out = run_reports("world", counties=["511102", "511123"], jobs=2, root=root,
                                  progress=False)
                done.write_text(json.dumps({"ok": out.ok, "render": out.render(),
                                            "statuses": {r.name: r.status for r in out.results}}))
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return root


@pytest.fixture(scope="session")
def two_counties(world) -> dict:
    """What the first run reported: ``ok``, ``render`` and ``statuses`` (name → status)."""
    return json.loads((world / "outcome.json").read_text())


def test_two_counties_end_to_end(two_counties, world):
    out = two_counties
    assert out["ok"], out["render"]
    d = world / "reports" / "world"
    assert out["statuses"] == {"city": "written", "511102": "written", "511123": "written"}
    for name in ("511102.html", "511123.html", "city.html", "index.html"):
        assert (d / name).exists(), name
    page = (d / "511102.html").read_text(encoding="utf-8")
    # every section is there, in the notebook's order
    positions = [page.find(f'id="{s}"') for s in SECTIONS]
    assert all(p > 0 for p in positions) and positions == sorted(positions), positions
    # no code: no input areas, no source text, no script tags at all
    assert "jp-InputArea" not in page and "jp-CodeMirrorEditor" not in page
    assert "open_report" not in page and "import analysis" not in page
    assert "<script" not in page.lower()
    # no warnings leaked into the output (a missing glyph would show here as stderr)
    assert "Glyph" not in page and "Warning" not in page and "stderr" not in page
    # figures embedded
    assert page.count("data:image/png;base64,") >= 3
    # provenance and banner
    from analysis import __version__

    assert "abc123def4567890" in page and f"pairing-eval {__version__}" in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    assert "pe-synthetic" in page and "合成数据" in page
    # Chinese labels by default, page language declared
    assert '<html lang="zh-CN">' in page and "三升一降" in page
    # an institution named <script>alert(1)</script> is rendered inert
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert EVIL not in page
    # the children's home (5 children) is suppressed, with the note
    row = re.search(r"示例02号机构3</td>(.*?)</tr>", page, flags=re.S)
    assert row and "&lt;10" in row.group(1) and ">5<" not in row.group(1)
    assert "少于10人" in page
    # the county's cohort is marked
    assert "2021Q2 ◀ 本县" in page


def test_bundled_font_subset_covers_every_character_of_the_pages(two_counties, world):
    """Chinese page text renders on a machine with no CJK system font: the font subset written
    beside the pages has a glyph for every non-ASCII character they show."""
    from fontTools.ttLib import TTFont

    from analysis.reports.html import FONT_FAMILY, FONT_FILE, visible_text

    d = world / "reports" / "world"
    cmap = TTFont(str(d / FONT_FILE)).getBestCmap()
    for name in ("511102.html", "city.html", "index.html"):
        page = (d / name).read_text(encoding="utf-8")
        assert FONT_FAMILY in page and FONT_FILE in page
        wanted = {c for c in visible_text(page) if ord(c) > 0x2000 and not c.isspace()}
        assert wanted and not {c for c in wanted if ord(c) not in cmap}, name


def test_index_lists_every_county_with_rank_cohort_and_links(two_counties, world):
    d = world / "reports" / "world"
    index = (d / "index.html").read_text(encoding="utf-8")
    assert "href='511102.html'" in index and "href='511123.html'" in index
    assert "href='city.html'" in index
    # the third county was not requested: listed, not linked
    assert "511132" in index and "href='511132.html'" not in index
    assert "未收归" in index and "2022Q1" in index
    # rank by the composite change, checked against a brute-force sort of the results file
    ind = load_processed("world", root=world).result("indicators")
    comp = ind[(ind["level"] == "county") & (ind["indicator"] == "composite")
               & (ind["weighting"] == "residents")]
    best = comp.sort_values("change", ascending=False)["id"].iloc[0]
    assert re.search(rf"<td>1/3</td><td>{best}</td>", index)
    city = (d / "city.html").read_text(encoding="utf-8")
    assert 'id="comparison"' in city and "<script" not in city.lower()


def test_up_to_date_reports_are_skipped_until_forced_or_inputs_change(two_counties, world):
    d = world / "reports" / "world"
    before = (d / "511102.html").stat().st_mtime_ns
    again = run_reports("world", counties=["511102", "511123"], jobs=2, root=world, progress=False)
    assert again.ok and {r.status for r in again.results} == {"skipped"}
    assert (d / "511102.html").stat().st_mtime_ns == before
    assert "--force" in again.render()
    # a different language is a different report: not skipped
    params = {"dataset": "world", "language": "zh", "threshold": 10, "county_code": "511102"}
    k1 = report_key(inputs_hash("world", world), COUNTY_NB, params)
    assert k1 != report_key(inputs_hash("world", world), COUNTY_NB, {**params, "language": "en"})
    # forced: executed again
    forced = run_reports("world", counties=["511102"], jobs=1, root=world, force=True, city=False,
                         progress=False)
    assert [r.status for r in forced.results] == ["written"]
    assert (d / "511102.html").stat().st_mtime_ns != before


def test_changed_inputs_change_the_key(tmp_path):
    root = make_world(tmp_path)
    params = {"dataset": "world", "county_code": "511102"}
    k1 = report_key(inputs_hash("world", root), COUNTY_NB, params)
    f = root / "data" / "processed" / "world" / "results" / "allocation_plan.parquet"
    import pandas as pd

    plan = pd.read_parquet(f)
    plan.loc[0, "predicted_gain"] += 1
    plan.to_parquet(f, index=False)
    assert report_key(inputs_hash("world", root), COUNTY_NB, params) != k1


def test_failing_county_keeps_going_and_exits_non_zero(tmp_path):
    """One county fails in the notebook; the other is written; the CLI lists the failure with the
    failing cell's error and exits 1; the partial notebook is kept."""
    from typer.testing import CliRunner

    from analysis.cli import app

    root = make_world(tmp_path)
    nb = nbformat.read(COUNTY_NB, as_version=4)
    params_at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(params_at + 2, nbformat.v4.new_code_cell(
        'assert county_code != "511123", "deliberate failure for 511123"'))
    (root / "notebooks").mkdir()
    nbformat.write(nb, str(root / "notebooks" / "county_report.ipynb"))
    shutil.copy(REPO / "notebooks" / "city_summary.ipynb", root / "notebooks")

    res = CliRunner().invoke(
        app, ["report", "--dataset", "world", "--county", "511102", "--county", "511123", "--jobs", "2"],
        env={"PAIRING_EVAL_ROOT": str(root)},
    )
    assert res.exit_code == 1, res.output
    assert "FAILED 511123" in res.output and "deliberate failure for 511123" in res.output
    assert "AssertionError" in res.output and "in cell" in res.output
    d = root / "reports" / "world"
    assert (d / "511102.html").exists() and (d / "city.html").exists()
    assert not (d / "511123.html").exists()
    partial = nbformat.read(d / "failed" / "511123.ipynb", as_version=4)
    errors = [o for c in partial.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "AssertionError"
    index = (d / "index.html").read_text(encoding="utf-8")
    assert "href='511102.html'" in index and "生成失败" in index


def test_parameters_and_counties_are_refused_before_anything_runs(tmp_path):
    root = make_world(tmp_path)
    with pytest.raises(SpecificationError, match=r"'bogus'.*accepts: county_code, dataset, language, threshold"):
        run_reports("world", root=root, parameters={"bogus": 1}, progress=False)
    with pytest.raises(SpecificationError, match=r"'999999'.*valid codes: 511102, 511123, 511132"):
        run_reports("world", counties=["999999"], root=root, progress=False)
    with pytest.raises(SpecificationError, match="language"):
        run_reports("world", language="fr", root=root, progress=False)
    assert not (root / "reports").exists()
    # the check works on a notebook whose kernelspec metadata was stripped
    nb = nbformat.read(COUNTY_NB, as_version=4)
    nb.metadata.pop("kernelspec", None)
    stripped = tmp_path / "stripped.ipynb"
    nbformat.write(nb, str(stripped))
    check_parameters(stripped, {"dataset": "x", "county_code": "1"})
    with pytest.raises(SpecificationError, match="county_cod"):
        check_parameters(stripped, {"county_cod": "1"})


def test_cli_refuses_unknown_county_with_exit_code_2(tmp_path):
    from typer.testing import CliRunner

    from analysis.cli import app

    root = make_world(tmp_path)
    res = CliRunner().invoke(app, ["report", "--dataset", "world", "--county", "123"],
                             env={"PAIRING_EVAL_ROOT": str(root)})
    assert res.exit_code == 2 and "valid codes" in res.output


def test_kernel_is_this_interpreter_over_ipc(tmp_path):
    """With no kernelspec in the notebook, the kernel is the running interpreter (the venv) and
    talks over IPC sockets, not TCP ports."""
    import papermill

    from analysis.reports.kernel import ProjectKernelManager

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import sys, json\nfrom ipykernel.connect import get_connection_info\n"
            "info = get_connection_info(unpack=True)\n"
            "print(json.dumps({'prefix': sys.prefix, 'transport': info['transport']}))"),
    ]
    src = tmp_path / "k.ipynb"
    nbformat.write(nb, str(src))
    out = papermill.execute_notebook(str(src), str(tmp_path / "o.ipynb"), parameters={"x": 1},
                                     kernel_name="python3", language="python",
                                     kernel_manager_class=ProjectKernelManager, progress_bar=False)
    seen = json.loads(out.cells[-1].outputs[0]["text"])
    assert seen == {"prefix": sys.prefix, "transport": "ipc"}


# ---- in-process checks of the sections (no papermill) ------------------------------------------


def test_sections_say_plainly_when_an_analysis_has_not_been_run(tmp_path):
    root = make_world(tmp_path, results=("indicators",))
    ctx = sections.open_report("world", "511102", root=root)
    for fn, name in ((sections.effectiveness, "effectiveness"), (sections.reform, "reform_aggregate"),
                     (sections.recommendations, "allocation_plan")):
        text = fn(ctx)._repr_html_()
        assert f"{name}.parquet" in text and "尚未运行此项分析" in text
        assert "<table" not in text  # nothing made up in its place
    ctx_en = sections.open_report("world", "511102", root=root, language="en")
    assert "has not been run for this dataset" in sections.reform(ctx_en)._repr_html_()


def test_english_report_has_english_labels(tmp_path):
    root = make_world(tmp_path)
    ctx = sections.open_report("world", "511123", root=root, language="en")
    parts = [f(ctx)._repr_html_() for f in (sections.header, sections.key_figures, sections.scorecard,
                                            sections.reform, sections.methods)]
    text = _text("".join(parts))
    assert "Qianwei" in text and "Key figures" in text and "SYNTHETIC DATA" in text
    assert "犍为县" not in text and "关键指标" not in text
    assert "2022Q1 ◀ this county" in text


def test_no_glyph_warnings_and_the_check_can_fail(tmp_path):
    from matplotlib import pyplot as plt

    from analysis import plots

    root = make_world(tmp_path)
    ctx = sections.open_report("world", "511132", root=root)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        html_text = "".join(f(ctx)._repr_html_() for f in (sections.scorecard, sections.effectiveness,
                                                             sections.reform))
    assert not [w for w in caught if "Glyph" in str(w.message)]
    assert html_text.count("data:image/png") >= 3
    # negative control: a character no bundled font has (CJK Extension B; emoji are drawn from
    # DejaVu Sans) is refused, not silently drawn as a box
    plots.setup()
    fig, ax = plt.subplots()
    ax.set_title("\U00020000")
    with pytest.raises(UserWarning, match="Glyph"):
        plots.figure_to_html(fig)


def test_small_counts_suppressed_in_every_people_table(tmp_path):
    root = make_world(tmp_path)
    ctx = sections.open_report("world", "511132", root=root, threshold=50)
    inst = sections.institutions(ctx)._repr_html_()
    # with a threshold of 50, residents 48 and 5 are hidden; the county total is published and the
    # beds bound what one companion can hide, so both other homes (96, 64) are hidden as [c]
    assert inst.count(">&lt;50<") == 2 and inst.count(">[c]<") == 2 and ">64<" not in inst
    kf = sections.key_figures(ctx)._repr_html_()
    assert "少于50人" not in kf or "&lt;50" in kf
    # the county total is published in the key figures: one hidden cell would be recoverable by
    # subtraction, so a second one is hidden too (marked [c], not "<10": it is not small)
    c02 = sections.institutions(sections.open_report("world", "511102", root=root))._repr_html_()
    assert c02.count(">&lt;10<") == 1 and c02.count(">[c]<") == 1
    lt = sections.league_table(ctx.processed, "zh", 1000)
    assert lt.n_primary == 3  # every county's residents total (< 1000) is hidden


def test_unknown_county_in_the_notebook_api_is_refused(tmp_path):
    root = make_world(tmp_path)
    with pytest.raises(SpecificationError, match="valid codes"):
        sections.open_report("world", "000000", root=root)


# ---- the demo world ------------------------------------------------------------------------------


def test_demo_two_counties_end_to_end(demo_root):
    codes = sections.county_codes(load_processed("demo", root=demo_root))[:2]
    out = run_reports("demo", counties=codes, jobs=2, root=demo_root, progress=False)
    assert out.ok, out.render()
    d = demo_root / "reports" / "demo"
    for code in codes:
        page = (d / f"{code}.html").read_text(encoding="utf-8")
        assert "pe-synthetic" in page and "<script" not in page.lower() and "Glyph" not in page
        assert all(f'id="{s}"' in page for s in SECTIONS)
    assert (d / "index.html").exists() and (d / "city.html").exists()


@pytest.mark.slow
def test_demo_all_counties_english(demo_root, tmp_path):
    out = run_reports("demo", jobs=2, root=demo_root, language="en", progress=False)
    assert out.ok, out.render()
    assert sum(r.status != "failed" for r in out.results) == 12


def test_allocation_gain_is_summed_over_distinct_institutions(tmp_path):
    """``predicted_gain`` is per institution, repeated on its rows: the county's total counts each
    institution once (checked against a direct sum of the results file)."""
    root = make_world(tmp_path)
    plan = load_processed("world", root=root).result("allocation_plan")
    inst = load_processed("world", root=root).tables["institutions"]
    mine = plan[plan["institution_id"].isin(inst.loc[inst["county_code"] == "511102", "institution_id"])]
    expected = sum(mine.groupby("institution_id")["predicted_gain"].first())
    assert mine["institution_id"].duplicated().any()  # the naive row sum would double count
    html_text = sections.recommendations(sections.open_report("world", "511102", root=root))._repr_html_()
    assert f"{expected:+.3f}" in html_text
    # the added and ended pairings are listed, names escaped
    assert "新增结对" in html_text and "结束结对" in html_text
    assert "&lt;b&gt;bold unit&lt;/b&gt;" in html_text and "<b>bold" not in html_text


def test_a_dying_kernel_is_a_failed_report_with_its_log(tmp_path):
    """A kernel that dies (not a cell error) is reported with the tail of the kernel's own log and
    its partial notebook is kept."""
    from analysis.reports.driver import Task, run_task

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 0", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import os\nos.write(2, b'dying now\\n')\nos._exit(3)")]
    src = tmp_path / "dead.ipynb"
    nbformat.write(nb, str(src))
    res = run_task(Task("dead", str(src), {"x": 1}, str(tmp_path / "out" / "dead.html"),
                        str(tmp_path / "out" / "failed"), str(tmp_path), "zh", "key"))
    assert res.status == "failed" and "DeadKernelError" in res.error and "dying now" in res.error
    assert not (tmp_path / "out" / "dead.html").exists()
    assert Path(res.failed_notebook).exists()


def test_sections_only_read_the_descriptive_results(tmp_path):
    """Key figures, the counties table and the data-quality notes show what the ``describe_*``
    results files say (changed here by hand), not figures recomputed from the tables."""
    import pandas as pd

    root = make_world(tmp_path)
    res = root / "data" / "processed" / "world" / "results"
    lg = pd.read_parquet(res / "describe_league.parquet")
    lg.loc[lg["county_code"] == "511102", "visits"] = 4321
    lg.loc[lg["county_code"] == "511102", "activities_per_inst"] = 987.65
    lg.to_parquet(res / "describe_league.parquet", index=False)
    dq = pd.read_parquet(res / "describe_quality.parquet")
    dq.loc[dq["county_code"] == "511102", "problems_open"] = 17
    dq.to_parquet(res / "describe_quality.parquet", index=False)

    ctx = sections.open_report("world", "511102", root=root, language="en")
    assert ">4,321<" in sections.key_figures(ctx)._repr_html_()
    assert "17 problem(s) were still open" in sections.data_quality(ctx)._repr_html_()
    city = sections.open_report("world", None, root=root, language="en")
    assert "987.6" in sections.comparison(city)._repr_html_()


def test_sections_say_when_the_descriptive_results_are_missing(tmp_path):
    from analysis.reports.index import write_index

    root = make_world(tmp_path, results=("indicators",))
    ctx = sections.open_report("world", "511102", root=root, language="en")
    for fn, name in ((sections.key_figures, "describe_league"),
                     (sections.data_quality, "describe_quality"),
                     (sections.scorecard, "describe_trends")):
        text = fn(ctx)._repr_html_()
        assert f"{name}.parquet" in text and "has not been run" in text
    city = sections.open_report("world", None, root=root, language="en")
    assert "describe_league.parquet" in sections.comparison(city)._repr_html_()
    # the index still lists every county, and says why it has no figures
    (tmp_path / "out").mkdir()
    out = write_index(city.processed, tmp_path / "out", language="en", threshold=10)
    page = out.read_text(encoding="utf-8")
    assert all(code in page for code in ("511102", "511123", "511132"))
    assert "describe_league.parquet" in page and "Shizhong" in page


def test_trend_figure_draws_the_describe_trends_at_the_scorecard_weighting(tmp_path, monkeypatch):
    """The plotted county and city lines are the residents-weighted rows of
    ``describe_trends.parquet`` (the weighting of the scorecard's values)."""
    import matplotlib.axes
    import numpy as np

    root = make_world(tmp_path)
    ctx = sections.open_report("world", "511123", root=root)
    drawn = []
    original = matplotlib.axes.Axes.plot

    def spy(self, x, y, *args, **kwargs):
        drawn.append((self, kwargs.get("label"), np.asarray(y, dtype=float)))
        return original(self, x, y, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", spy)
    sections.scorecard(ctx)
    tr = load_processed("world", root=root).result("describe_trends")
    want = tr[(tr["weighting"] == "residents") & (tr["outcome"] == "happiness_score")]
    city = want[want["level"] == "city"].sort_values("period")["mean"].to_numpy()
    county = want[want["county_code"] == "511123"].sort_values("period")["mean"].to_numpy()
    got = {name: y for ax, name, y in drawn if ax.get_title() == "幸福指数"}
    assert np.allclose(got["全市"], city) and np.allclose(got["犍为县"], county)
    unweighted = tr[(tr["weighting"] == "unweighted") & (tr["outcome"] == "happiness_score")
                    & (tr["county_code"] == "511123")].sort_values("period")["mean"].to_numpy()
    assert not np.allclose(got["犍为县"], unweighted)  # the two weightings differ in this world


def test_inference_columns_use_the_domain_labels(tmp_path):
    from analysis.domain import INFERENCE_LABELS

    root = make_world(tmp_path)
    ctx = sections.open_report("world", "511102", root=root, language="en")
    text = sections.effectiveness(ctx)._repr_html_() + sections.reform(ctx)._repr_html_()
    for name in ("analytic", "wild_bootstrap", "randomization"):
        assert f"p-value · {INFERENCE_LABELS[name].en}" in text, name
    assert "· clustered" not in text and "· cluster<" not in text


def test_resampling_p_values_read_as_they_are():
    """A resampling p-value is never shown as 0: at its floor 1/(B+1) it reads as the bound for
    its number of draws; an analytic p-value below 0.001 reads <0.001."""
    from analysis.inference.pvalue import at_floor, pvalue_floor, resampling_pvalue
    from analysis.reports.sections.estimates import inference_wide, p_text

    draws = resampling_pvalue(5.0, [0.1, 0.2, 0.3] * 333)  # no draw as extreme, B = 999
    assert float(draws) == pvalue_floor(999) == 0.001 and at_floor(draws, 999)
    assert p_text(draws, 999) == "≤0.001"
    assert p_text(0.01, 99) == "≤0.010" and p_text(0.02, 99) == "0.020"
    assert p_text(1 / 10_000, 9_999) == "<0.001"
    assert p_text(0.0) == "<0.001" and p_text(2e-40) == "<0.001" and p_text(0.0421) == "0.042"
    assert p_text(float("nan")) == ""
    import pandas as pd

    rows = pd.DataFrame({"outcome": ["composite"] * 2, "estimate": [0.3] * 2,
                         "std_error": [0.01] * 2, "ci_low": [0.2] * 2, "ci_high": [0.4] * 2,
                         "p_value": [1e-9, 0.001], "inference": ["analytic", "wild_bootstrap"]})
    wide = inference_wide(rows, ["outcome"], value="estimate", lang="zh",
                          draws={"wild_bootstrap": 999})
    cells = set(wide.iloc[0].astype(str))
    assert "<0.001" in cells and "≤0.001" in cells and "0.000" not in cells


def test_pdf_without_chromium_is_refused_before_anything_runs(tmp_path, monkeypatch):
    from analysis.errors import ReportError

    root = make_world(tmp_path)
    monkeypatch.setenv("PAIRING_EVAL_CHROMIUM", str(tmp_path / "no-such-browser"))
    with pytest.raises(ReportError, match="apt-get install chromium"):
        run_reports("world", counties=["511102"], root=root, progress=False, pdf=True)
    assert not (root / "reports").exists()
