"""A real browser opens the reports: headless Chromium renders ``index.html`` and one county report
to PNG with no console errors and no failed loads (the bundled font subset included).

Needs the Debian package ``chromium``; skipped with the reason when it is not installed. Run with
``make browser-check``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_reports_world import make_world

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PROBLEM = re.compile(r"CONSOLE|Page load failed|net::ERR_|Failed to load resource|Uncaught", re.I)


def render(page: Path, png: Path, profile: Path) -> list[str]:
    """Screenshot ``page`` into ``png``; return the console / load-error lines Chromium logged."""
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
        "--window-size=1100,1600", f"--screenshot={png}", page.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if PROBLEM.search(line)]


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")
    from analysis.reports import run_reports

    root = make_world(tmp_path_factory.mktemp("browser"))
    out = run_reports("world", counties=["511102"], jobs=1, root=root, progress=False)
    assert out.ok, out.render()
    return root / "reports" / "world"


@pytest.mark.parametrize("name", ["index.html", "511102.html"])
def test_chromium_renders_without_console_errors(reports, tmp_path, name):
    png = tmp_path / f"{name}.png"
    problems = render(reports / name, png, tmp_path / "profile")
    assert problems == []
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert (reports / "fonts" / "pe-cjk-subset.otf").stat().st_size > 10_000


def test_the_console_check_can_fail(tmp_path):
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.error('boom')</script>"
                   "<img src='missing.png'></body></html>", encoding="utf-8")
    problems = render(bad, tmp_path / "bad.png", tmp_path / "profile")
    assert any("boom" in p for p in problems)
