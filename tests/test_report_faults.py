"""``pairing-eval report`` under faults: a full disk or a read-only output folder, a county that
fails after a good run, and SIGKILL, SIGTERM or Ctrl-C of the command.

Disk full cannot be produced without privileges, so the file writes are made to fail in-process
with ``OSError(ENOSPC)`` after writing half their bytes (a real ``.part`` file exists when the
error comes). A read-only folder is tested for real with ``chmod 0o555`` when the tests do not run
as root; root writes into such a folder anyway, so the same refusal is also tested by making the
check's real write fail with ``EROFS`` (what a read-only mount gives everyone).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from test_contract import write_tiny
from typer.testing import CliRunner

import analysis.reports.driver as driver
from analysis import pipeline
from analysis.cli import app
from analysis.data import load_processed
from analysis.reports import run_reports
from analysis.reports.driver import Task, run_task
from analysis.reports.index import read_failures, write_index

runner = CliRunner()


# ---- helpers -------------------------------------------------------------------------------------
@pytest.fixture
def tiny_root(tmp_path, monkeypatch) -> Path:
    """A project root with the tiny world built (tables and panel; no results: the index lists the
    counties and says why there are no figures)."""
    monkeypatch.setattr(pipeline, "STEPS", ())
    raw = write_tiny(tmp_path / "data" / "raw" / "tiny")
    pipeline.build(raw, out_root=tmp_path / "data" / "processed", echo=lambda s: None)
    return tmp_path


def _notebook(path: Path, *extra_cells: str) -> Path:
    """A small report notebook: the report parameters plus ``fail_on`` (a county that raises)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            'dataset = "demo"\nlanguage = "zh"\nthreshold = 10\ncounty_code = ""\nfail_on = ""',
            metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            'from IPython.display import HTML\n'
            'HTML(f"<h1>report {county_code}</h1><p>run {fail_on or \'ok\'}</p>")'),
        nbformat.v4.new_code_cell(
            'if county_code and county_code == fail_on:\n'
            '    raise RuntimeError(f"deliberate failure of {county_code}")'),
        *(nbformat.v4.new_code_cell(c) for c in extra_cells),
    ]
    nbformat.write(nb, str(path))
    return path


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.part"))


def _enospc_after_half(monkeypatch) -> list[str]:
    """Make every ``.part`` write through ``Path.write_bytes`` stop half way with ENOSPC."""
    real = Path.write_bytes
    hit: list[str] = []

    def write_bytes(self: Path, data: bytes) -> int:
        if self.name.endswith(".part"):
            real(self, bytes(data[: len(data) // 2]))
            hit.append(self.name)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    return hit


# ---- disk full, read-only ------------------------------------------------------------------------
def test_disk_full_while_writing_a_page_keeps_the_old_page_and_no_part_file(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    old = "<!DOCTYPE html><html><body>the last good page</body></html>\n"
    (out / "511102.html").write_text(old, encoding="utf-8")
    nb = _notebook(tmp_path / "r.ipynb")
    hit = _enospc_after_half(monkeypatch)
    res = run_task(Task("511102", str(nb), {"county_code": "511102"}, str(out / "511102.html"),
                        str(out / "failed"), str(tmp_path), "en", "key"))
    assert "511102.html.part" in hit  # the page write really started and failed
    assert res.status == "failed" and "disk is full" in res.error, res
    assert (out / "511102.html").read_text(encoding="utf-8") == old
    assert _parts(tmp_path) == []


def test_disk_full_while_writing_the_index_is_a_failure_summary(tiny_root, monkeypatch):
    out = tiny_root / "reports" / "tiny"
    out.mkdir(parents=True)
    (out / "index.html").write_text("old index", encoding="utf-8")
    hit = _enospc_after_half(monkeypatch)
    outcome = run_reports("tiny", counties=[], city=False, root=tiny_root, progress=False)
    assert hit and not outcome.ok
    text = outcome.render()
    assert "FAILED index: index.html not updated: the disk is full" in text
    assert "previous index is kept" in text and "Traceback" not in text
    assert (out / "index.html").read_text(encoding="utf-8") == "old index"
    assert _parts(tiny_root) == []


@pytest.mark.parametrize("code, reason", [(errno.EROFS, "read-only file system"),
                                          (errno.EACCES, "permission denied")])
def test_an_unwritable_output_folder_is_refused_before_any_notebook_runs(
        tiny_root, monkeypatch, code, reason):
    """The check writes a real file; here that write fails as on a read-only mount (EROFS) or a
    folder the user may not write (EACCES)."""
    def refuse(folder):
        raise OSError(code, os.strerror(code), str(folder / ".write-probe"))

    ran: list[Task] = []
    monkeypatch.setattr(driver, "probe_write", refuse)
    monkeypatch.setattr(driver, "run_task", lambda t: ran.append(t))
    res = runner.invoke(app, ["report", "--dataset", "tiny", "--all"],
                        env={"PAIRING_EVAL_ROOT": str(tiny_root)})
    assert res.exit_code == 1, res.output
    assert reason in res.output and "Nothing was run" in res.output
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    assert ran == []  # refused before any notebook ran
    assert not list((tiny_root / "reports" / "tiny").glob("*.html"))


def test_too_little_free_space_is_refused_before_any_notebook_runs(tiny_root, monkeypatch):
    real = shutil.disk_usage
    monkeypatch.setattr(driver.shutil, "disk_usage",
                        lambda p: real(p)._replace(free=3 << 20))
    res = runner.invoke(app, ["report", "--dataset", "tiny", "--all"],
                        env={"PAIRING_EVAL_ROOT": str(tiny_root)})
    assert res.exit_code == 1, res.output
    assert "3.0 MB free" in res.output and "Nothing was run" in res.output
    assert not list((tiny_root / "reports" / "tiny").glob("*.html"))


def test_a_probe_that_cannot_write_raises_as_root_too(tmp_path):
    """The real probe writes and removes a file (so it leaves nothing behind) and fails where the
    folder is gone, whoever runs it."""
    driver.probe_write(tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OSError):
        driver.probe_write(tmp_path / "missing")


# ---- a county that fails keeps its last good page --------------------------------------------------
def test_a_failing_county_keeps_its_last_good_page_marked_out_of_date(tiny_root):
    nb = _notebook(tiny_root / "r.ipynb")
    d = tiny_root / "reports" / "tiny" / "en"  # English pages live in en/
    kw = dict(root=tiny_root, county_notebook=nb, city=False, language="en", progress=False, jobs=2)
    first = run_reports("tiny", **kw)
    assert first.ok, first.render()
    good = (d / "511123.html").read_text(encoding="utf-8")
    assert "run ok" in good

    second = run_reports("tiny", parameters={"fail_on": "511123"}, **kw)
    assert not second.ok
    statuses = {r.name: r.status for r in second.results}
    assert statuses == {"511102": "written", "511123": "failed"}
    assert (d / "511123.html").read_text(encoding="utf-8") == good  # the last good page stays
    assert "run 511123" in (d / "511102.html").read_text(encoding="utf-8")  # the other is new
    index = (d / "index.html").read_text(encoding="utf-8")
    assert "href='511123.html'" in index and "href='511102.html'" in index  # links stay valid
    row = index[index.index("href='511123.html'"):]
    row = row[: row.index("</tr>")]
    assert "out of date" in row and "deliberate failure of 511123" in row
    assert str(read_failures(d / "failed")["511123"].date)[:4].isdigit()
    assert "out of date" not in index[index.index("href='511102.html'"):].split("</tr>")[0]
    assert "keeps its last good page" in second.render()

    # a later run of that county alone succeeds: the mark goes, the other county is untouched
    third = run_reports("tiny", counties=["511123"], **kw)
    assert third.ok, third.render()
    index = (d / "index.html").read_text(encoding="utf-8")
    assert "out of date" not in index and "href='511123.html'" in index
    assert read_failures(d / "failed") == {}
    assert _parts(d) == []


def test_a_county_that_never_had_a_page_is_marked_failed_without_a_link(tiny_root):
    d = tiny_root / "reports" / "tiny"
    d.mkdir(parents=True)
    processed = load_processed("tiny", root=tiny_root)
    from analysis.reports.index import Failure

    write_index(processed, d, language="en", threshold=10,
                failed={"511102": Failure("2026-01-02 03:04 UTC", "RuntimeError: <b>boom</b>")})
    index = (d / "index.html").read_text(encoding="utf-8")
    assert "href='511102.html'" not in index
    assert "failed (2026-01-02 03:04 UTC: RuntimeError: &lt;b&gt;boom&lt;/b&gt;)" in index


# ---- SIGKILL, SIGTERM, Ctrl-C --------------------------------------------------------------------
MARK = "PE_FAULT_TEST_RUN"


def _marked(token: str) -> dict[int, str]:
    """Live processes (not zombies) whose environment carries ``MARK=token``: pid → command."""
    found = {}
    needle = f"{MARK}={token}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if state not in ("Z", "X"):
            found[int(entry.name)] = cmd
    return found


def _wait(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT],
                         ids=["SIGKILL", "SIGTERM", "Ctrl-C"])
def test_a_stopped_report_run_leaves_no_process_and_a_whole_index(demo_root, tmp_path, sig):
    root = tmp_path / "project"
    shutil.copytree(demo_root / "data" / "processed" / "demo", root / "data" / "processed" / "demo")
    (root / "data" / "raw").mkdir(parents=True)
    out = root / "reports" / "demo"
    out.mkdir(parents=True)
    processed = load_processed("demo", root=root)
    old_index = write_index(processed, out, language="zh", threshold=10).read_bytes()
    codes = sorted(processed.tables["counties"]["county_code"])[:2]

    token = uuid.uuid4().hex
    env = {**os.environ, "PAIRING_EVAL_ROOT": str(root), MARK: token}
    cmd = [sys.executable, "-m", "analysis.cli", "report", "--dataset", "demo", "--jobs", "2",
           "--force", *(a for c in codes for a in ("--county", c))]
    proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        kernels = lambda: [p for p, c in _marked(token).items() if "ipykernel" in c]  # noqa: E731
        assert _wait(lambda: len(kernels()) >= 2, 120), (
            "kernels never started", proc.poll(), _marked(token))
        before = _marked(token)
        assert len(before) >= 5  # driver, two workers, two kernels (and the resource tracker)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _wait(lambda: not _marked(token), 5), f"survivors: {_marked(token)}"
    index = (out / "index.html").read_bytes()
    assert index == old_index or index.rstrip().endswith(b"</html>")
    assert not _parts(out)
    for page in out.glob("*.html"):
        assert page.read_bytes().rstrip().endswith(b"</html>"), page
    if sig != signal.SIGKILL:
        err = stderr.decode()
        assert proc.returncode == 128 + sig, (proc.returncode, err)
        assert "interrupted" in err and "was stopped" in err and "Traceback" not in err, err
