"""Processed data is verified: the manifest records the size and SHA-256 of every processed file;
``load_processed``, ``pairing-eval report`` and ``build``'s up-to-date check compare them, and a
damaged folder is a clear error naming the file and saying how to rebuild (exit 2), never a
parquet or JSON traceback, and never "up to date".

The folders are built from the tiny world of ``test_contract`` with two small results steps (as in
``test_build``), so each case costs a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from test_contract import write_tiny
from typer.testing import CliRunner

from analysis import pipeline
from analysis.build import Step
from analysis.cli import app
from analysis.data import (
    MANIFEST_HASH_KEY,
    DamagedDataError,
    NotBuiltError,
    check_files,
    load_processed,
    manifest_digest,
)

runner = CliRunner()
REBUILD = "pairing-eval build data/raw/tiny --force"


@pytest.fixture
def built(tmp_path, monkeypatch) -> Path:
    """A project root whose ``data/processed/tiny`` was just built (two small results files).

    The package's source hash is pinned so that "up to date" depends only on the folder."""
    import analysis.build.engine

    def counts(processed, options):
        n = processed.panel.groupby("institution_id").size()
        return {"counts": n.rename("quarters").reset_index()}

    def summary(processed, options):
        return {"summary": pd.DataFrame({"n": [len(processed.result("counts"))]})}

    monkeypatch.setattr(analysis.build.engine, "code_hash", lambda: "pinned")
    monkeypatch.setattr(pipeline, "STEPS", (Step("_counts", run=counts),
                                            Step("_summary", run=summary, requires=("_counts",))))
    raw = write_tiny(tmp_path / "data" / "raw" / "tiny")
    pipeline.build(raw, out_root=tmp_path / "data" / "processed", echo=lambda s: None)
    return tmp_path


def _folder(root: Path) -> Path:
    return root / "data" / "processed" / "tiny"


def _manifest(root: Path) -> dict:
    return json.loads((_folder(root) / "manifest.json").read_text(encoding="utf-8"))


def test_manifest_records_every_processed_file(built):
    folder = _folder(built)
    m = _manifest(built)
    on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                     if p.is_file() and p.name != "manifest.json")
    assert sorted(m["files"]) == on_disk
    assert {"panel.parquet", "counties.parquet", "results/counts.parquet",
            "results/summary.parquet"} <= set(m["files"])
    for rel, rec in m["files"].items():
        data = (folder / rel).read_bytes()
        assert rec == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert m[MANIFEST_HASH_KEY] == manifest_digest(m)
    # the intact folder loads and its results read
    p = load_processed("tiny", root=built)
    assert p.verify() and len(p.result("summary")) == 1


def _truncate(rel: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        f = folder / rel
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    return damage


def _flip(rel: str) -> Callable[[Path], None]:
    """Same size, one byte changed in the middle: only the hash can see it."""
    def damage(folder: Path) -> None:
        f = folder / rel
        data = bytearray(f.read_bytes())
        data[len(data) // 2] ^= 0xFF
        f.write_bytes(bytes(data))
    return damage


def _remove(rel: str) -> Callable[[Path], None]:
    return lambda folder: (folder / rel).unlink()


def _edit_manifest(folder: Path) -> None:
    f = folder / "manifest.json"
    m = json.loads(f.read_text(encoding="utf-8"))
    m["row_counts"]["panel"] += 1
    f.write_text(json.dumps(m), encoding="utf-8")


DAMAGE = {
    "truncated panel": (_truncate("panel.parquet"), "panel.parquet"),
    "broken manifest": (_truncate("manifest.json"), "manifest.json"),
    "edited manifest": (_edit_manifest, "manifest.json"),
    "changed results file": (_flip("results/summary.parquet"), "results/summary.parquet"),
    "truncated results file": (_truncate("results/counts.parquet"), "results/counts.parquet"),
    "missing table": (_remove("institutions.parquet"), "institutions.parquet"),
    "missing results file": (_remove("results/summary.parquet"), "results/summary.parquet"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damage_is_named_by_load_processed(built, case):
    damage, name = DAMAGE[case]
    damage(_folder(built))
    with pytest.raises(DamagedDataError) as err:
        load_processed("tiny", root=built)
    assert name in str(err.value) and REBUILD in str(err.value)
    assert err.value.exit_code == 2


@pytest.mark.parametrize("case", list(DAMAGE))
def test_report_refuses_damaged_data_before_running_anything(built, case):
    damage, name = DAMAGE[case]
    damage(_folder(built))
    res = runner.invoke(app, ["report", "--dataset", "tiny", "--all"],
                        env={"PAIRING_EVAL_ROOT": str(built)})
    assert res.exit_code == 2, res.output
    assert name in res.output and REBUILD in res.output and "damaged" in res.output
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    assert not (built / "reports").exists()  # no notebook ran, nothing was written


@pytest.mark.parametrize("case", list(DAMAGE))
def test_build_never_calls_a_damaged_folder_up_to_date(built, case):
    damage, name = DAMAGE[case]
    damage(_folder(built))
    res = runner.invoke(app, ["build", str(built / "data" / "raw" / "tiny")])
    assert res.exit_code == 0, res.output
    assert "is up to date" not in res.output
    assert "damaged" in res.output and name in res.output and "rebuilding" in res.output
    load_processed("tiny", root=built).verify()  # intact again
    # and now it is up to date
    res = runner.invoke(app, ["build", str(built / "data" / "raw" / "tiny")])
    assert res.exit_code == 0 and "is up to date" in res.output


def test_a_manifest_cannot_point_outside_its_folder(built):
    folder = _folder(built)
    m = _manifest(built)
    m["files"]["../../../outside.parquet"] = {"bytes": 1, "sha256": "0" * 64}
    m[MANIFEST_HASH_KEY] = manifest_digest(m)
    (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(DamagedDataError, match="file list in manifest.json is malformed"):
        load_processed("tiny", root=built)


def test_a_results_file_the_build_did_not_write_is_refused(built):
    p = load_processed("tiny", root=built)
    assert not p.has_result("extra")
    with pytest.raises(NotBuiltError, match="did not run the step"):
        p.result("extra")
    pd.DataFrame({"x": [1]}).to_parquet(_folder(built) / "results" / "extra.parquet")
    assert not p.has_result("extra")
    with pytest.raises(DamagedDataError, match="results/extra.parquet is not one of the files"):
        p.result("extra")


def test_above_the_hash_limit_sizes_are_checked_and_each_file_is_hashed_when_read(
        built, monkeypatch):
    """The policy for large folders: with a zero hash limit a same-size change in a results file
    passes the folder check (sizes only), but reading that file, or ``verify``, hashes it."""
    import analysis.data

    folder = _folder(built)
    m = _manifest(built)
    _flip("results/summary.parquet")(folder)
    assert check_files(folder, m, "tiny", hash_limit=0)  # sizes agree
    with pytest.raises(DamagedDataError, match="results/summary.parquet was changed"):
        check_files(folder, m, "tiny")  # under the limit: hashed
    monkeypatch.setattr(analysis.data, "HASH_LIMIT", 0)
    p = load_processed("tiny", root=built)  # the tables and panel are hashed, results sized
    with pytest.raises(DamagedDataError, match="results/summary.parquet was changed"):
        p.result("summary")
    with pytest.raises(DamagedDataError, match="results/summary.parquet"):
        p.verify()
    # a truncated file is caught by its size even above the limit
    _truncate("results/counts.parquet")(folder)
    with pytest.raises(DamagedDataError, match=r"results/counts.parquet has [\d,]+ bytes.*cut short"):
        check_files(folder, m, "tiny", hash_limit=0)


def test_every_damaged_file_is_listed_at_once(built):
    folder = _folder(built)
    _truncate("panel.parquet")(folder)
    _remove("results/counts.parquet")(folder)
    with pytest.raises(DamagedDataError) as err:
        load_processed("tiny", root=built)
    assert "panel.parquet" in str(err.value) and "results/counts.parquet is missing" in str(err.value)


def test_a_folder_without_file_records_still_names_an_unreadable_file(built):
    """A manifest that records no files (written before they were recorded) cannot be checked;
    an unreadable parquet file is still named, with the rebuild advice."""
    folder = _folder(built)
    m = _manifest(built)
    del m["files"], m[MANIFEST_HASH_KEY]
    (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    assert not load_processed("tiny", root=built).verify()
    _truncate("panel.parquet")(folder)
    with pytest.raises(DamagedDataError, match=r"panel.parquet cannot be read as parquet") as err:
        load_processed("tiny", root=built)
    assert REBUILD in str(err.value)
    # build does not trust such a folder either
    out = []
    pipeline.build(built / "data" / "raw" / "tiny", out_root=built / "data" / "processed",
                   echo=out.append)
    assert any("records no file hashes" in line for line in out), out
    assert load_processed("tiny", root=built).verify()


def test_not_built_is_still_its_own_message(tmp_path):
    res = runner.invoke(app, ["report", "--dataset", "nothing"],
                        env={"PAIRING_EVAL_ROOT": str(tmp_path)})
    assert res.exit_code == 2 and "pairing-eval build data/raw/nothing" in res.output
