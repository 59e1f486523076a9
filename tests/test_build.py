"""``pairing-eval build``: processed tables, panel, results hook, manifest, atomic replacement,
up-to-date detection, recovery from an interrupted swap."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_contract import tiny_workbook, write_tiny
from typer.testing import CliRunner

import analysis
import analysis.build.engine as b
from analysis import pipeline
from analysis.build import BuildOptions, Step, order_steps
from analysis.cli import app
from analysis.contract import TABLE_NAMES
from analysis.data import load_processed
from analysis.errors import DataContractError

runner = CliRunner()
CALLS: list[str] = []


@pytest.fixture
def fake_results(monkeypatch):
    """Replace the package's results steps by small fakes (the real ones are tested by their
    owners): one that writes a table, one that requires it and checks the options it is given."""
    def ok(processed, options):
        CALLS.append("ok")
        assert processed.path.name.startswith(".tiny.building-")  # sees the temporary folder
        assert set(processed.tables) == set(TABLE_NAMES)
        n = processed.panel.groupby("institution_id").size()
        return {"fake_counts": n.rename("quarters").reset_index()}

    def after(processed, options):
        CALLS.append("after")
        assert isinstance(options, BuildOptions)
        assert processed.result("fake_counts").shape[0] > 0  # reads what it requires
        return {"fake_after": pd.DataFrame({"n_boot": [options.n_boot]})}

    steps = (Step("_t_after", run=after, requires=("_t_ok",)), Step("_t_ok", run=ok))
    monkeypatch.setattr(pipeline, "STEPS", steps)
    yield steps


def _project(tmp_path: Path, **kw) -> tuple[Path, Path]:
    raw = write_tiny(tmp_path / "data" / "raw" / "tiny", **kw)
    return raw, tmp_path / "data" / "processed"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_build_writes_tables_panel_results_and_manifest(tmp_path, fake_results):
    raw, out = _project(tmp_path, truth=True)
    lines: list[str] = []
    outcome = pipeline.build(raw, out_root=out, echo=lines.append)
    target = out / "tiny"
    assert outcome.path == target and not outcome.up_to_date
    assert "Built" in outcome.render()
    # steps run in the order their requirements ask, not the order they are listed
    assert [x.split(":")[0].strip() for x in lines if x.startswith("  _t_")] == ["_t_ok", "_t_after"]
    assert any("Deriving the institution-quarter panel" in x for x in lines)

    processed = load_processed("tiny", root=tmp_path)
    assert processed.tables["institutions"]["institution_id"].tolist() == ["I001", "I002", "I003", "007"]
    assert str(processed.tables["activities"]["date"].dtype) == "datetime64[ns]"
    assert processed.result("fake_counts")["quarters"].tolist() == [3, 3, 3, 3]
    # the panel: 4 institutions × (2020Q4..2021Q2)
    assert len(processed.panel) == 12

    m = processed.manifest
    # input hashes, computed here independently
    files = sorted(p for p in raw.iterdir())
    assert m["inputs"] == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    expect = hashlib.sha256("".join(f"{p.name}:{m['inputs'][p.name]}\n" for p in files).encode()).hexdigest()
    assert m["data_hash"] == expect
    # row counts, counted here with the csv module
    for t in TABLE_NAMES:
        with open(raw / f"{t}.csv", encoding="utf-8") as fh:
            assert m["row_counts"][t] == sum(1 for _ in csv.DictReader(fh)), t
    assert m["row_counts"]["panel"] == 12
    assert m["package_version"] == analysis.__version__
    assert m["dataset"] == "tiny" and m["synthetic"] is True and m["seed"] == 7
    assert m["results"] == ["fake_counts.parquet", "fake_after.parquet"]
    assert m["steps"] == ["_t_ok", "_t_after"]
    assert m["build_options"] == BuildOptions().as_dict()
    assert processed.result("fake_after")["n_boot"].tolist() == [999]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_not_synthetic_without_truth(tmp_path, fake_results):
    raw, out = _project(tmp_path)
    pipeline.build(raw, out_root=out, echo=lambda s: None)
    m = json.loads((out / "tiny" / "manifest.json").read_text())
    assert m["synthetic"] is False and m["seed"] is None


def test_unchanged_inputs_do_nothing_and_force_rebuilds(tmp_path, fake_results):
    raw, out = _project(tmp_path)
    pipeline.build(raw, out_root=out, echo=lambda s: None)
    before = _tree(out)
    CALLS.clear()
    res = runner.invoke(app, ["build", str(raw), "--out-root", str(out)])
    assert res.exit_code == 0 and "is up to date" in res.output
    assert CALLS == [] and _tree(out) == before
    outcome = pipeline.build(raw, out_root=out, force=True, echo=lambda s: None)
    assert not outcome.up_to_date and CALLS == ["ok", "after"]
    # other options → not up to date, and the steps see them
    CALLS.clear()
    outcome = pipeline.build(raw, out_root=out, options=BuildOptions.fast(), echo=lambda s: None)
    assert not outcome.up_to_date and CALLS == ["ok", "after"]
    assert load_processed("tiny", root=tmp_path).result("fake_after")["n_boot"].tolist() == [99]
    # changed input → rebuilt, new hash
    old_hash = json.loads((out / "tiny" / "manifest.json").read_text())["data_hash"]
    write_tiny(raw, edit={("activities", 0, "participants"): "4"})
    assert not pipeline.build(raw, out_root=out, echo=lambda s: None).up_to_date
    assert json.loads((out / "tiny" / "manifest.json").read_text())["data_hash"] != old_hash


def test_default_out_root_is_beside_raw(tmp_path, fake_results):
    raw, out = _project(tmp_path)
    assert b.default_out_root(raw) == out.resolve()
    res = runner.invoke(app, ["build", str(raw)])
    assert res.exit_code == 0, res.output
    assert (out / "tiny" / "manifest.json").exists()


@pytest.mark.parametrize("failure", ["raises", "interrupt", "bad_return", "panel"])
def test_failed_build_leaves_previous_output_untouched(tmp_path, fake_results, monkeypatch, failure):
    raw, out = _project(tmp_path)
    pipeline.build(raw, out_root=out, echo=lambda s: None)
    before = _tree(out)
    write_tiny(raw, edit={("activities", 0, "participants"): "9"})  # inputs changed: a real rebuild

    def boom(processed):
        if failure == "interrupt":
            raise KeyboardInterrupt
        if failure == "bad_return":
            return {"no good": 1}
        raise ZeroDivisionError("division by zero")

    if failure == "panel":
        monkeypatch.setattr(b, "derive_panel", lambda tables: 1 / 0)
    else:
        monkeypatch.setattr(pipeline, "STEPS", (*pipeline.STEPS, Step("_t_boom", run=lambda p, o: boom(p))))
    if failure == "interrupt":
        with pytest.raises(KeyboardInterrupt):
            pipeline.build(raw, out_root=out, echo=lambda s: None)
    else:
        res = runner.invoke(app, ["build", str(raw), "--out-root", str(out)])
        assert res.exit_code == 1, res.output
        assert "Traceback" not in res.output and "Nothing was replaced" in res.output
    assert _tree(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["tiny"]  # no temporary folder left


def test_invalid_data_raises_and_writes_nothing(tmp_path, fake_results):
    raw, out = _project(tmp_path, edit={("pairings", 0, "end_date"): "2020-01-01"})
    with pytest.raises(DataContractError):
        pipeline.build(raw, out_root=out, echo=lambda s: None)
    assert not out.exists() or list(out.iterdir()) == []


def test_interrupted_swap_is_recovered(tmp_path, fake_results):
    raw, out = _project(tmp_path)
    pipeline.build(raw, out_root=out, echo=lambda s: None)
    before = _tree(out / "tiny")
    # a build killed between its two renames: current moved aside, new one not in place
    os.rename(out / "tiny", out / ".tiny.previous-999999-deadbeef")
    (out / ".tiny.building-999999-cafebabe").mkdir()  # a dead build's temporary folder
    lines: list[str] = []
    outcome = pipeline.build(raw, out_root=out, echo=lines.append)
    assert outcome.up_to_date  # the restored output matches the inputs
    assert any("Restored" in x for x in lines)
    assert _tree(out / "tiny") == before
    assert sorted(p.name for p in out.iterdir()) == ["tiny"]


def test_validate_report_lists_tables_and_notes(tmp_path):
    raw, _ = _project(tmp_path, edit={("activities", 0, "unit_id"): "U02"})
    res = runner.invoke(app, ["validate", str(raw)])
    assert res.exit_code == 0, res.output
    assert "is valid (CSV files, 7 tables)" in res.output
    for t in TABLE_NAMES:
        assert t in res.output
    assert "activities.csv: 1 activity by a unit never paired with that institution (rows 2)" in res.output


def test_validate_report_for_a_workbook(tmp_path):
    wb, _ = tiny_workbook()
    (tmp_path / "wb").mkdir()
    wb.save(tmp_path / "wb" / "台账.xlsx")
    report = b.validate_raw(tmp_path / "wb")
    assert report.format == "xlsx" and "one Excel workbook" in report.render()
    assert report.locations["units"] == "台账.xlsx, sheet units"


def test_demo_build_manifest(demo, truth, repo_root):
    m = demo.manifest
    assert m["synthetic"] is True and m["seed"] == truth["seed"]
    raw = repo_root / "data" / "raw" / "demo"
    assert set(m["inputs"]) == {p.name for p in raw.iterdir() if p.is_file() and not p.name.startswith(".")}
    for t in TABLE_NAMES:
        assert m["row_counts"][t] == len(pd.read_csv(raw / f"{t}.csv", dtype=str)), t
        assert len(demo.tables[t]) == m["row_counts"][t]
    assert m["row_counts"]["panel"] == len(demo.panel)
    for f in m["results"]:
        assert (demo.path / "results" / f).exists()


def test_cli_validate_demo_exits_0(repo_root):
    demo = repo_root / "data" / "raw" / "demo"
    if not (demo / "institutions.csv").exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    res = runner.invoke(app, ["validate", str(demo)])
    assert res.exit_code == 0, res.output
    assert "is valid (CSV files, 7 tables)" in res.output


def test_killed_build_leaves_previous_output_and_is_cleaned_up(tmp_path, fake_results):
    """A build killed with SIGKILL in the middle (no Python cleanup at all)."""
    import signal
    import subprocess
    import time

    raw, out = _project(tmp_path)
    pipeline.build(raw, out_root=out, echo=lambda s: None)
    before = _tree(out / "tiny")
    write_tiny(raw, edit={("activities", 0, "participants"): "8"})
    script = (
        "import time\n"
        "from analysis.build import Step, build\n"
        "slow = Step('_t_slow', run=lambda p, o: time.sleep(120))\n"
        f"build({str(raw)!r}, steps=(slow,), out_root={str(out)!r}, echo=lambda s: None)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 60
        while not list(out.glob(".tiny.building-*/panel.parquet")):
            assert proc.poll() is None and time.time() < deadline, "the build did not start"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _tree(out / "tiny") == before  # previous output intact
    assert list(out.glob(".tiny.building-*"))  # the dead build's leftovers …
    outcome = pipeline.build(raw, out_root=out, echo=lambda s: None)
    assert not outcome.up_to_date
    assert sorted(p.name for p in out.iterdir()) == ["tiny"]  # … are removed by the next build


def test_synthetic_marker_without_truth(tmp_path, fake_results):
    raw, out = _project(tmp_path)
    (raw / "SYNTHETIC").write_text("generated by a simulation\n")
    pipeline.build(raw, out_root=out, echo=lambda s: None)
    m = json.loads((out / "tiny" / "manifest.json").read_text())
    assert m["synthetic"] is True and m["seed"] is None
    assert "SYNTHETIC" in m["inputs"]


def test_reader_bug_is_caught_by_the_schema_route(tmp_path, fake_results, monkeypatch):
    """If the reader ever let an out-of-range value through, the pandera route stops the build."""
    raw, out = _project(tmp_path)
    real = b.read_raw

    def leaky(folder):
        r = real(folder)
        r.tables["assessments"].loc[0, "service_score"] = 250.0
        return r

    monkeypatch.setattr(b, "read_raw", leaky)
    res = runner.invoke(app, ["build", str(raw), "--out-root", str(out)])
    assert res.exit_code == 1 and "internal check failed" in res.output
    assert not (out / "tiny").exists()


def test_every_parquet_of_the_demo_build_says_it_is_synthetic(demo_root):
    """Tables, panel and results carry the provenance in their parquet metadata, so a results file
    taken out of its folder still says the data is synthetic."""
    import json as _json

    import pyarrow.parquet as pq

    from analysis.build import PARQUET_META_KEY

    processed = demo_root / "data" / "processed" / "demo"
    files = sorted(processed.glob("*.parquet")) + sorted((processed / "results").glob("*.parquet"))
    assert len(files) >= 8 + 5  # 7 tables + panel, and the five results files DESIGN.md names
    manifest = _json.loads((processed / "manifest.json").read_text(encoding="utf-8"))
    for f in files:
        meta = pq.read_schema(f).metadata or {}
        assert PARQUET_META_KEY in meta, f.name
        prov = _json.loads(meta[PARQUET_META_KEY])
        assert prov["synthetic"] is True and "SYNTHETIC" in prov["note"], f.name
        assert prov["data_hash"] == manifest["data_hash"], f.name


# -- typed steps ---------------------------------------------------------------------------------
def _noop(p, o):
    return {}


def test_order_steps_follows_requirements_and_selects_what_is_needed():
    a, b_, c = Step("a", _noop), Step("b", _noop, requires=("c",)), Step("c", _noop, requires=("a",))
    assert [s.name for s in order_steps([b_, a, c])] == ["a", "c", "b"]
    assert [s.name for s in order_steps([b_, a, c], only=["c"])] == ["a", "c"]


@pytest.mark.parametrize("steps, only, message", [
    ([Step("a", _noop, requires=("zz",))], None, "requires 'zz'"),
    ([Step("a", _noop, requires=("b",)), Step("b", _noop, requires=("a",))], None, "cycle"),
    ([Step("a", _noop), Step("a", _noop)], None, "two build steps"),
    ([Step("a", _noop)], ["b"], "unknown build step"),
])
def test_order_steps_refuses_bad_graphs(steps, only, message):
    from analysis.errors import SpecificationError

    with pytest.raises(SpecificationError, match=message):
        order_steps(steps, only)


def test_package_steps_declare_their_requirements():
    names = [s.name for s in order_steps(pipeline.STEPS)]
    assert names.index("effectiveness") < names.index("allocation")
    assert set(names) == {s.name for s in pipeline.STEPS}


@pytest.mark.parametrize("bad", [{"n_boot": 0}, {"n_perm": 3.5}, {"seed": "x"}])
def test_build_options_are_validated(bad):
    from analysis.errors import SpecificationError

    with pytest.raises(SpecificationError):
        BuildOptions(**bad)


def test_cli_build_passes_its_options(tmp_path, fake_results):
    raw, out = _project(tmp_path)
    res = runner.invoke(app, ["build", str(raw), "--out-root", str(out), "--n-boot", "49"])
    assert res.exit_code == 0, res.output
    assert load_processed("tiny", root=tmp_path).result("fake_after")["n_boot"].tolist() == [49]
    res = runner.invoke(app, ["build", str(raw), "--out-root", str(out), "--n-boot", "2"])
    assert res.exit_code == 2 and "n_boot=2" in res.output and "Traceback" not in res.output
