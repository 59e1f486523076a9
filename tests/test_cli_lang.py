"""The command line in Chinese and English: ``--lang zh|en`` on every command, else the locale.

The same ledger — Chinese headers, Chinese file names, GB18030, four mistakes — is validated under
``LANG=zh_CN.UTF-8`` and with ``--lang en``: every problem comes back in the language asked for,
naming the columns as the file heads them. Help texts come from the catalogue in both languages.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import typer
from test_contract import TINY, csv_text, tiny_rows, tiny_workbook
from typer.testing import CliRunner

from analysis.build.engine import BuildOutcome
from analysis.cli import app, localise
from analysis.contract import TABLES
from analysis.messages import HELP, resolve_language

runner = CliRunner()
ZH_ENV = {"LANG": "zh_CN.UTF-8", "LC_ALL": None, "LC_MESSAGES": None}
EN_ENV = {"LANG": "en_US.UTF-8", "LC_ALL": None, "LC_MESSAGES": None}

#: (table, row index, canonical column) -> the mistaken cell text
MISTAKES = {
    ("assessments", 0, "happiness_score"): "130",
    ("pairings", 0, "end_date"): "2020-01-01",
    ("units", 0, "level"): "省级",
    ("activities", 0, "date"): "2021-02-30",
}


def chinese_ledger(folder: Path) -> Path:
    """The tiny world with Chinese headers and file names (``评估.csv`` …), GB18030, with
    :data:`MISTAKES`."""
    folder.mkdir(parents=True, exist_ok=True)
    for t in TINY:
        spec = TABLES[t]
        rows = tiny_rows(t)
        for (tt, i, col), v in MISTAKES.items():
            if tt == t:
                rows[i][col] = v
        header = [spec.column(k).zh for k in rows[0]]
        (folder / f"{spec.zh}.csv").write_bytes(csv_text(rows, header).encode("gb18030"))
    return folder


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> Path:
    return chinese_ledger(tmp_path_factory.mktemp("zh") / "台账")


def _file(table: str) -> str:
    return f"{TABLES[table].zh}.csv"


def test_validate_under_a_chinese_locale_answers_in_chinese(ledger: Path):
    res = runner.invoke(app, ["validate", str(ledger)], env=ZH_ENV)
    assert res.exit_code == 2 and "Traceback" not in res.output
    out = res.output
    assert out.startswith("错误：") and "不符合数据约定：共4个问题" in out
    assert "行号与您文件中的一致（表头为第1行）。没有生成或改动任何内容" in out
    assert (f"文件 {_file('assessments')}，第2行，“幸福指数（happiness_score）”列：值为 '130'，"
            "应为0到100之间的数值。如何改正：得分采用 0–100 分制；请更正该得分。") in out
    assert (f"文件 {_file('pairings')}，第2行，“结束日期（end_date）”列：值为 '2020-01-01'，"
            "应为不早于 start_date（2021-01-01）的日期：记录不能在开始之前结束。"
            "如何改正：请更正 end_date 或 start_date（是否填反了？）。") in out
    assert f"文件 {_file('units')}，第2行，“层级（level）”列：值为 '省级'，应为以下之一：" in out
    assert "如何改正：请更正日：2021年2月只有28天。" in out
    for english in ("expected", "Fix:", "row ", "column ", "problem(s)", "Error"):
        assert english not in out, english


def test_the_same_folder_with_lang_en_answers_in_english(ledger: Path):
    for env in (ZH_ENV, EN_ENV):  # --lang wins over the locale
        res = runner.invoke(app, ["validate", str(ledger), "--lang", "en"], env=env)
        assert res.exit_code == 2
        out = res.output
        assert out.startswith("Error: The raw data in") and "4 problem(s)" in out
        assert (f"{_file('assessments')}, row 2, column 幸福指数 (happiness_score): value '130': "
                "expected a value between 0 and 100. Fix: scores are on a 0–100 scale; correct "
                "the score") in out
        assert "Fix: correct the day; February 2021 has 28 days" in out
        assert "应为" not in out and "如何改正" not in out


def test_lang_before_the_command_and_lc_all_count(ledger: Path):
    res = runner.invoke(app, ["--lang", "zh", "validate", str(ledger)], env=EN_ENV)
    assert res.exit_code == 2 and res.output.startswith("错误：")
    res = runner.invoke(app, ["validate", str(ledger)], env={**EN_ENV, "LC_ALL": "zh_CN.UTF-8"})
    assert res.output.startswith("错误：")
    res = runner.invoke(app, ["validate", str(ledger)], env={"LANG": None, "LC_ALL": None,
                                                               "LC_MESSAGES": None})
    assert res.output.startswith("Error: ")


def test_an_unknown_language_is_refused(ledger: Path):
    res = runner.invoke(app, ["validate", str(ledger), "--lang", "fr"], env=ZH_ENV)
    assert res.exit_code == 2 and "--lang 'fr' 不受支持；请选择 zh 或 en。" in res.output
    res = runner.invoke(app, ["validate", str(ledger), "--lang", "fr"], env=EN_ENV)
    assert res.exit_code == 2 and "--lang 'fr' is not supported; choose zh or en." in res.output


def test_problems_file_in_the_language_asked_for(ledger: Path, tmp_path: Path):
    out = tmp_path / "问题清单.csv"
    res = runner.invoke(app, ["validate", str(ledger), "--output", str(out)], env=ZH_ENV)
    assert res.exit_code == 2 and f"全部问题（4个）已列在 {out} 中。" in res.output
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    score = next(r for r in rows if r["table"] == "assessments")
    assert score["column"] == "幸福指数（happiness_score）" and score["value"] == "130"
    assert score["expected"] == "0到100之间的数值" and score["rule"] == "value_between_N_and_N"
    assert score["fix"] == "得分采用 0–100 分制；请更正该得分"


def test_a_valid_ledger_is_reported_in_chinese(tmp_path: Path):
    folder = tmp_path / "valid"
    folder.mkdir()
    for t in TINY:
        rows = tiny_rows(t)
        header = [TABLES[t].column(k).zh for k in rows[0]]
        (folder / f"{t}.csv").write_bytes(csv_text(rows, header).encode("gb18030"))
    res = runner.invoke(app, ["validate", str(folder), "--lang", "zh"])
    assert res.exit_code == 0, res.output
    assert f"{folder} 中的原始数据有效（CSV 文件，7张表）：" in res.output
    assert "institutions.csv (GB18030/GBK)" in res.output and " 行   " in res.output
    res = runner.invoke(app, ["validate", str(folder), "--lang", "en"])
    assert f"Raw data in {folder} is valid (CSV files, 7 tables):" in res.output


def test_workbook_sheets_are_named_as_written(tmp_path: Path):
    wb, sheets = tiny_workbook()
    sheets["assessments"].title = "评估"
    sheets["assessments"]["F2"] = 130  # happiness_score of the first assessment
    assert sheets["assessments"]["F1"].value == "happiness_score"
    folder = tmp_path / "book"
    folder.mkdir()
    wb.save(folder / "台账.xlsx")
    zh = runner.invoke(app, ["validate", str(folder), "--lang", "zh"]).output
    en = runner.invoke(app, ["validate", str(folder), "--lang", "en"]).output
    assert "文件 台账.xlsx，工作表“评估”，第2行，“happiness_score”列：值为 130，应为0到100之间的数值。" in zh
    assert "台账.xlsx, sheet 评估, row 2, column happiness_score: value 130: expected a value" in en
    assert "（台账.xlsx 工作表“评估”：1个）" in zh and "(台账.xlsx sheet 评估: 1)" in en


def test_build_summary_in_both_languages(tmp_path: Path):
    out = BuildOutcome(dataset="d", path=tmp_path, up_to_date=False, rows={"units": 1200},
                       results=("indicators",), seconds=1.25, notes=2)
    assert out.render("zh").splitlines() == [
        f"已在 1.2 秒内生成 {tmp_path}：units 1,200 行。", "结果文件：indicators",
        "2条数据提示；`pairing-eval validate` 会列出它们。"]
    assert out.render().startswith(f"Built {tmp_path} in 1.2 s: units 1,200 rows.")
    same = BuildOutcome(dataset="d", path=tmp_path, up_to_date=True)
    assert "已是最新" in same.render("zh") and "is up to date" in same.render("en")


# --------------------------------------------------------------------------------------------
# help
# --------------------------------------------------------------------------------------------
def _group():
    return typer.main.get_command(app)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_command_and_option_has_help_from_the_catalogue(language: str):
    group = _group()
    localise(group, language)
    assert group.help == HELP["help.app"](language)
    assert set(group.commands) >= {"validate", "build", "synth", "template", "report"}
    for name, cmd in group.commands.items():
        assert cmd.help == HELP[f"help.{name}"](language), name
        for param in cmd.params:
            if param.name == "help":
                continue
            key = f"help.{name}.{param.name}"
            if param.name == "lang" and name != "report":
                key = "help.lang"
            assert key in HELP, f"{key}: add the option's help to analysis.messages.HELP"
            assert param.help == HELP[key](language)
            assert "lang" in {p.name for p in cmd.params}, f"{name} has no --lang"


def test_help_entries_differ_by_language():
    for key, entry in HELP.items():
        assert entry.zh and entry.en and entry.zh != entry.en, key
        assert any("\u4e00" <= ch <= "\u9fff" for ch in entry.zh), key


@pytest.mark.parametrize("args, env, says", [
    (["--help"], ZH_ENV, "评估“一老一小”结对帮扶项目"),
    (["--help"], EN_ENV, "Evaluate 一老一小 paired-assistance programmes"),
    (["--lang", "zh", "--help"], EN_ENV, "校验台账、构建数据、生成报告"),
    (["validate", "--help"], ZH_ENV, "按数据约定检查原始数据文件夹"),
    (["validate", "--help", "--lang", "en"], ZH_ENV, "Check a raw data folder against the data"),
    (["build", "--lang", "zh", "--help"], EN_ENV, "即使输入未变也重新构建"),
    (["report", "--help", "--lang=zh"], EN_ENV, "逐县运行县区报告笔记本"),
    (["template", "--help"], ZH_ENV, "写出发给各部门填写的 Excel 模板"),
    (["synth", "--help"], ZH_ENV, "生成合成的演示数据"),
    (["validate", "--help"], ZH_ENV, "显示本帮助并退出"),
    (["validate", "--help"], ZH_ENV, "[默认：data/raw/demo]"),
    (["validate", "--help"], EN_ENV, "Show this message and exit."),
])
def test_help_is_printed_in_the_language_asked_for(args, env, says):
    res = runner.invoke(app, args, env=env, terminal_width=200)
    assert res.exit_code == 0, res.output
    assert says in " ".join(res.output.split())


def test_resolve_language():
    assert resolve_language(["validate", "--lang", "zh"], {}) == "zh"
    assert resolve_language(["--lang=en"], {"LANG": "zh_CN.UTF-8"}) == "en"
    assert resolve_language([], {"LANG": "zh_CN.UTF-8"}) == "zh"
    assert resolve_language([], {"LANG": "zh_TW.Big5"}) == "zh"
    assert resolve_language([], {"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"
    assert resolve_language([], {"LC_MESSAGES": "zh_CN", "LANG": "C"}) == "zh"
    assert resolve_language([], {}) == "en"
    assert resolve_language(["--lang", "fr"], {"LANG": "zh_CN"}) == "zh"  # refused by the command
    assert resolve_language(["--", "--lang", "zh"], {}) == "en"


# --------------------------------------------------------------------------------------------
# make lab: JupyterLab on localhost, as root in a container too, its URL printed with the token
# --------------------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[1]


def _fake_venv(root: Path) -> Path:
    """A venv whose ``python`` prints a fixed token for ``-c`` and whose ``jupyter`` prints its
    arguments, so that the recipe ``make lab`` runs is what the test reads."""
    import os

    bin_dir = root / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(
        '#!/bin/sh\nif [ "$1" = "-c" ]; then echo T0K3N; fi\n', encoding="utf-8")
    (bin_dir / "jupyter").write_text('#!/bin/sh\necho "jupyter $*"\n', encoding="utf-8")
    for exe in bin_dir.iterdir():
        exe.chmod(0o755)
    stamp = root / "venv" / ".installed"
    stamp.touch()
    later = max((REPO / f).stat().st_mtime for f in ("pyproject.toml", "requirements.lock")) + 60
    os.utime(stamp, (later, later))  # up to date: nothing is installed
    return root / "venv"


@pytest.mark.parametrize("uid, root_flag", [("0", True), ("1000", False)])
def test_make_lab_binds_to_localhost_allows_root_and_prints_the_url(tmp_path: Path, uid: str,
                                                                     root_flag: bool):
    import subprocess

    venv = _fake_venv(tmp_path)
    res = subprocess.run(["make", "-s", "-C", str(REPO), "lab", f"VENV={venv}", f"LAB_UID={uid}",
                          "LAB_PORT=8899"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "JupyterLab: http://127.0.0.1:8899/lab?token=T0K3N"
    run = next(ln for ln in lines if ln.startswith("jupyter lab"))
    args = run.split()
    assert "--ip=127.0.0.1" in args and "--port=8899" in args and "--no-browser" in args
    assert "--IdentityProvider.token=T0K3N" in args and "--ServerApp.port_retries=0" in args
    assert ("--allow-root" in args) is root_flag


def test_make_lab_dry_run_as_this_user():
    import os
    import subprocess

    res = subprocess.run(["make", "-n", "-C", str(REPO), "lab"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    assert "--ip=127.0.0.1" in res.stdout
    assert ("--allow-root" in res.stdout) is (os.geteuid() == 0)


def test_notes_are_in_the_language_asked_for(tmp_path: Path):
    from test_contract import write_tiny

    folder = write_tiny(tmp_path / "notes")
    act = tiny_rows("activities")
    act[0]["unit_id"] = "U02"  # a unit never paired with that institution: a note, not an error
    (folder / "activities.csv").write_text(csv_text(act), encoding="utf-8")
    (folder / "extra.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    zh = runner.invoke(app, ["validate", str(folder), "--lang", "zh"])
    assert zh.exit_code == 0, zh.output
    assert "提示（2条；不影响构建）：" in zh.output
    assert "  - extra.csv 不是数据表之一（counties, institutions" in zh.output
    assert ("  - activities.csv：1条活动由从未与该机构结对的单位开展（第2行）。这些活动会保留，"
            "并计入机构的帮扶活动") in zh.output
    en = runner.invoke(app, ["validate", str(folder), "--lang", "en"])
    assert "Notes (2; they do not stop the build):" in en.output
    assert "activities.csv: 1 activity by a unit never paired with that institution (rows 2)" in en.output


def test_report_summary_in_both_languages(tmp_path: Path):
    import dataclasses

    from analysis.reports.driver import ReportOutcome, TaskResult

    fields = {f.name for f in dataclasses.fields(TaskResult)}
    base = {k: None for k in fields}
    ok = TaskResult(**{**base, "name": "511102", "status": "written"})
    bad = TaskResult(**{**base, "name": "511123", "status": "failed", "error": "ValueError: x",
                        **({"cell": 7} if "cell" in fields else {})})
    out = ReportOutcome(dataset="demo", out_dir=tmp_path, results=(ok, bad), seconds=3.0, jobs=2)
    zh, en = out.render("zh"), out.render()
    assert zh.startswith(f"数据集 'demo' 的报告在 {tmp_path} 中：写出1份，0份已是最新（跳过），1份失败")
    assert "生成失败 511123（第7个单元格）：ValueError: x" in zh
    assert "失败的报告保留上一次成功的页面" in zh
    assert en.startswith(f"Reports for dataset 'demo' in {tmp_path}: 1 written, 0 up to date")
    assert "FAILED 511123 in cell 7: ValueError: x" in en


@pytest.mark.parametrize("steps", [",", " , ", "bogus"])
def test_build_steps_that_name_no_known_step_exit_2_and_write_nothing(tmp_path: Path, steps: str):
    out = tmp_path / "processed"
    demo = Path(__file__).resolve().parents[1] / "data" / "raw" / "demo"
    res = runner.invoke(app, ["build", str(demo), "--steps", steps,
                              "--out-root", str(out), "--lang", "en"])
    assert res.exit_code == 2, res.output
    assert "step" in res.output
    assert not out.exists() or not any(out.iterdir())
