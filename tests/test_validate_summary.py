"""Readable validation at scale, and names rather than paths.

* ``pairing-eval validate`` prints a screenful however many problems there are: counts by table,
  column and rule with the first rows and the first problem of each group (every problem when
  there are few), and ``--output problems.csv`` writes every problem (refused inside the raw
  folder);
* ``pairing-eval report --dataset`` takes a plain folder name, never a path; ``--jobs`` is at least
  1 and capped at the CPU count.
"""

from __future__ import annotations

import csv
import io
import os
import pickle
from pathlib import Path

import pytest
from test_contract import tiny_rows, write_tiny
from test_inert_cells import write_rows
from typer.testing import CliRunner

from analysis.build.engine import PROBLEM_COLUMNS, validate_raw
from analysis.cli import app
from analysis.data import load_processed
from analysis.errors import SHOW_ALL, SHOW_GROUPS, DataContractError, Problem, rule_from_expected
from analysis.paths import (
    DatasetNameError,
    check_dataset,
    processed_dir,
    raw_dir,
    reports_dir,
    results_dir,
)

runner = CliRunner()
N_BAD = 3000


def many_problems(folder: Path) -> Path:
    """The tiny world with N_BAD activities, each with an impossible date, a negative count and an
    unknown institution (3 problems per row), plus one duplicated unit."""
    write_tiny(folder)
    act = tiny_rows("activities")
    act += [dict(act[0], activity_id=f"B{i:05d}", date="2021-13-45", participants="-3",
                 institution_id="NOPE") for i in range(N_BAD)]
    write_rows(folder / "activities.csv", act)
    units = tiny_rows("units")
    write_rows(folder / "units.csv", units + [dict(units[0])])
    return folder


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    return many_problems(tmp_path_factory.mktemp("messy") / "raw")


@pytest.fixture(scope="module")
def problems(messy: Path) -> tuple[Problem, ...]:
    with pytest.raises(DataContractError) as err:
        validate_raw(messy)
    return err.value.problems


# --------------------------------------------------------------------------------------------
# the summary
# --------------------------------------------------------------------------------------------
def test_validate_prints_a_screenful_grouped_by_table_column_and_rule(messy: Path, problems):
    assert len(problems) == 3 * N_BAD + 1
    res = runner.invoke(app, ["validate", str(messy)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    lines = res.output.strip().splitlines()
    assert len(lines) <= 2 * SHOW_GROUPS + 4
    text = res.output
    assert f"{3 * N_BAD + 1:,} problems in 4 group(s)" in text
    for column, rule in (("date", "real_calendar_date"), ("participants", "value_at_least_N"),
                         ("institution_id", "foreign_keys"), ("unit_id", "unique_keys")):
        line = next(ln for ln in lines if f"· {column} · {rule}" in ln)
        count = 1 if column == "unit_id" else N_BAD
        assert line.strip().startswith(f"{count:,} × {'units' if count == 1 else 'activities'}")
    assert "rows 6, 7, 8, 9, 10, 11, 12, 13 …" in text  # the first rows of a group
    assert "e.g. activities.csv, row 6, column date: value '2021-13-45'" in text
    assert "row 3006" not in text  # the list itself is not printed
    assert "--output problems.csv" in text


def test_the_grouped_summary_in_chinese(messy: Path):
    res = runner.invoke(app, ["validate", str(messy), "--lang", "zh"])
    assert res.exit_code == 2
    text = res.output
    assert text.startswith("错误：") and f"共{3 * N_BAD + 1:,}个问题，按表、列和规则分为4组" in text
    assert "· date · real_calendar_date — 第6, 7, 8, 9, 10, 11, 12, 13 …行" in text
    assert ("例如 文件 activities.csv，第6行，“date”列：值为 '2021-13-45'，应为真实存在的日期"
            in text)
    assert "逐行列出全部问题：`pairing-eval validate 文件夹 --output problems.csv`" in text
    assert len(text.strip().splitlines()) <= 2 * SHOW_GROUPS + 4


def test_few_problems_are_listed_one_by_one(tmp_path: Path):
    bad = write_tiny(tmp_path / "bad", edit={("pairings", 0, "end_date"): "2020-01-01"})
    res = runner.invoke(app, ["validate", str(bad)])
    assert res.exit_code == 2
    assert "  1. pairings.csv, row 2, column end_date: value '2020-01-01'" in res.output
    assert "group(s)" not in res.output and "--output" not in res.output


def test_summary_of_411110_problems_is_a_screenful():
    """The size the issue reported: 411,110 problems in 60 kinds (its speed is measured in
    ``benchmarks/``, not asserted here: this machine's timings are noise)."""
    base = [Problem(file=f"t{k % 7}.csv", row=None, column=f"c{k}", value="x",
                    expected=f"kind {k} of value", fix="fix it", table=f"t{k % 7}")
            for k in range(60)]
    probs = [Problem(file=b.file, row=i + 2, column=b.column, value=i, expected=b.expected,
                     fix=b.fix, table=b.table) for i in range(411_110 // 60 + 1) for b in base]
    probs = probs[:411_110]
    err = DataContractError(probs, header="411110 problems")
    text = str(err)
    lines = text.splitlines()
    assert len(lines) == 2 + 2 * SHOW_GROUPS + 2
    assert "411,110 problems in 60 group(s)" in lines[1]
    assert lines[-2].startswith(f"  … and {60 - SHOW_GROUPS} more group(s) with ")
    assert sum(g.count for g in err.groups()) == 411_110


def test_rule_names(problems):
    rules = {p.rule_id for p in problems}
    assert {"foreign_keys", "unique_keys"} <= rules
    assert all(p.table in ("activities", "units") for p in problems)
    assert rule_from_expected("a whole number") == "whole_number"
    assert rule_from_expected("a value between 0 and 100") == "value_between_N_and_N"
    assert rule_from_expected("a date ('2021-03-05', YYYY/M/D)") == "date"
    assert Problem("f", 1, "c", 1, "a number", "x", rule="mine").rule_id == "mine"


def test_contract_error_pickles_with_its_problems(problems):
    err = DataContractError(problems[:30], header="H")
    back = pickle.loads(pickle.dumps(err))
    assert back.problems == err.problems and back.header == "H" and str(back) == str(err)
    assert len(problems[:SHOW_ALL]) == SHOW_ALL


# --------------------------------------------------------------------------------------------
# --output problems.csv
# --------------------------------------------------------------------------------------------
def read_csv_file(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_output_writes_every_problem(messy: Path, problems, tmp_path: Path):
    out = tmp_path / "报告" / "problems.csv"
    res = runner.invoke(app, ["validate", str(messy), "--output", str(out)])
    assert res.exit_code == 2, res.output
    assert f"Every problem ({len(problems):,}) is listed in {out}." in res.output
    rows = read_csv_file(out)
    assert list(rows[0]) == list(PROBLEM_COLUMNS)
    assert len(rows) == len(problems)
    assert [(r["file"], r["row"], r["column"], r["rule"]) for r in rows] == \
        [(p.file, str(p.row), p.column, p.rule_id) for p in problems]
    assert {r["table"] for r in rows} == {"activities", "units"}
    assert not list(out.parent.glob(".*.part"))


def test_output_of_a_valid_folder_is_an_empty_list(tmp_path: Path):
    ok = write_tiny(tmp_path / "ok")
    out = tmp_path / "p.csv"
    res = runner.invoke(app, ["validate", str(ok), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert read_csv_file(out) == [] and "No problems" in res.output
    assert out.read_bytes().decode("utf-8-sig").strip() == ",".join(PROBLEM_COLUMNS)


@pytest.mark.parametrize("where", ["inside", "raw_file", "not_csv", "folder"])
def test_output_refused_before_validating(messy: Path, tmp_path: Path, where: str):
    before = {p.name: p.read_bytes() for p in messy.iterdir()}
    target = {"inside": messy / "problems.csv", "raw_file": messy / "activities.csv",
              "not_csv": tmp_path / "problems.xlsx", "folder": tmp_path}[where]
    res = runner.invoke(app, ["validate", str(messy), "--output", str(target)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "--output" in res.output and "does not meet the data contract" not in res.output
    assert {p.name: p.read_bytes() for p in messy.iterdir()} == before
    assert not (tmp_path / "problems.xlsx").exists()


# --------------------------------------------------------------------------------------------
# names, not paths
# --------------------------------------------------------------------------------------------
BAD_NAMES = ["../../x", "..", ".", "/tmp/x", "a/b", "a\\b", "x y", "", "a\u202eb", "demo\n",
             "x" * 65]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_dataset_paths_are_refused_everywhere(name: str, tmp_path: Path):
    with pytest.raises(DatasetNameError, match="not a plain folder name"):
        check_dataset(name)
    for where in (raw_dir, processed_dir, results_dir, reports_dir):
        with pytest.raises(DatasetNameError):
            where(name, tmp_path)
    with pytest.raises(DatasetNameError):
        load_processed(name, root=tmp_path)


@pytest.mark.parametrize("name", ["demo", "leshan_2024", "乐山", "a-b", "_x", "x" * 64])
def test_plain_names_are_accepted(name: str, tmp_path: Path):
    assert check_dataset(name) == name
    assert processed_dir(name, tmp_path) == tmp_path / "data" / "processed" / name


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "root" / "data" / "raw").mkdir(parents=True)
    return tmp_path / "root"


@pytest.mark.parametrize("name", ["../../x", "/tmp/pe-abs", "a/b", "..", "-x"])
def test_report_refuses_a_path_as_dataset(project: Path, name: str):
    res = runner.invoke(app, ["report", "--dataset", name],
                        env={"PAIRING_EVAL_ROOT": str(project)})
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    if name != "-x":  # typer itself refuses an option-like value
        assert "not a plain folder name" in res.output
    assert sorted(p.relative_to(project).as_posix() for p in project.rglob("*")) == \
        ["data", "data/raw"]  # nothing created
    assert not (project.parent / "x").exists()


def test_report_accepts_a_chinese_name_and_says_it_is_not_built(project: Path):
    res = runner.invoke(app, ["report", "--dataset", "乐山"],
                        env={"PAIRING_EVAL_ROOT": str(project)})
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "not a plain folder name" not in res.output and "build" in res.output


class _Outcome:
    ok = True

    def render(self, language: str = "en") -> str:
        return "完成" if language == "zh" else "done"


def test_report_jobs_at_least_one_and_capped(monkeypatch, project: Path):
    import analysis.reports

    seen: list[int] = []
    monkeypatch.setattr(analysis.reports, "run_reports",
                        lambda **kw: seen.append(kw["jobs"]) or _Outcome())
    env = {"PAIRING_EVAL_ROOT": str(project)}
    res = runner.invoke(app, ["report", "--jobs", "0"], env=env)
    assert res.exit_code == 2 and "--jobs 0" in res.output and seen == []
    cpus = len(os.sched_getaffinity(0))
    res = runner.invoke(app, ["report", "--jobs", "1000"], env=env)
    assert res.exit_code == 0, res.output
    assert f"--jobs 1000 is more than the {cpus} CPU(s)" in res.output and seen == [cpus]
    res = runner.invoke(app, ["report", "--jobs", "1"], env=env)
    assert res.exit_code == 0 and "CPU" not in res.output and seen == [cpus, 1]
