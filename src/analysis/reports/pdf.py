"""A4 PDFs of the report pages, printed by headless Chromium.

Each page is printed through the DevTools protocol's ``Page.printToPDF`` with a running header
(county, dataset, data fingerprint: read from the page's ``pairing-eval-running-header`` meta
tag) and a footer with the page number and the page count (``pageNumber`` / ``totalPages``).
Chromium's command line (``--print-to-pdf``) cannot set a header or footer, and it does not
support CSS ``@page`` margin boxes, so the protocol is the only way to number the pages. The page's
print stylesheet (:data:`analysis.reports.html.PAGE_CSS`) keeps tables and figures whole
(``break-inside: avoid``), hides the navigation and sets the bundled CJK font first, so the PDF
embeds that font (a subset of Noto Sans CJK SC, the same file the HTML pages load) and reads the
same on any machine. The header and footer are drawn without web fonts, so Chromium is started
with a fontconfig file that adds the bundled font's folder to the system's fonts: the Chinese
county name in the header has its glyphs on a machine with no CJK system font too.

Why a small client over ``websocket-client`` and not ``playwright``: four protocol commands are
all this needs; ``websocket-client`` is a small pure-Python package already in the lock (Jupyter
depends on it), while ``playwright`` is a wheel of about 40 MB with its own Node.js runtime and
expects to download browser builds of its own; here the system's Chromium (Debian's ``chromium``
package) is the browser. Nothing is fetched from the network: the pages are local files and
Chromium starts with background networking off.

The same :class:`Browser` takes the browser check's screenshots and measures the page width at a
phone's viewport (``tests/test_browser.py``).

References: Chrome DevTools Protocol, domains ``Page`` (``printToPDF``, ``captureScreenshot``),
``Target`` (flat sessions), ``Emulation`` (``setDeviceMetricsOverride``),
https://chromedevtools.github.io/devtools-protocol/.
"""

from __future__ import annotations

import base64
import contextlib
import html
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ReportError
from .html import running_header, write_atomic

#: environment variable naming the Chromium executable (else the first of :data:`CHROMIUM_NAMES`)
ENV_CHROMIUM = "PAIRING_EVAL_CHROMIUM"
#: executables tried in turn on ``PATH``
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: how to get one, for the message when none is found
INSTALL_HINT = (
    "PDF printing needs headless Chromium: on Debian/Ubuntu `sudo apt-get install chromium`, on "
    "other systems install Chromium or Google Chrome, or set PAIRING_EVAL_CHROMIUM to its path; "
    "then run again (make reports, or pairing-eval report --pdf)."
)
#: A4 in inches (210 × 297 mm) and the margins (top and bottom leave room for header and footer)
A4 = (8.27, 11.69)
MARGINS = {"marginTop": 0.75, "marginBottom": 0.7, "marginLeft": 0.55, "marginRight": 0.55}
#: seconds allowed for Chromium to start, and for one page to load and print
START_TIMEOUT = 30.0
PAGE_TIMEOUT = 120.0

_FOOTER = {"zh": "第 <span class='pageNumber'></span> 页 / 共 <span class='totalPages'></span> 页",
           "en": "Page <span class='pageNumber'></span> of <span class='totalPages'></span>"}


def find_chromium() -> str | None:
    """The Chromium executable: ``$PAIRING_EVAL_CHROMIUM`` when set, else the first of
    :data:`CHROMIUM_NAMES` on ``PATH``; ``None`` when there is none."""
    env = os.environ.get(ENV_CHROMIUM)
    if env:
        return env if Path(env).exists() or shutil.which(env) else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """:func:`find_chromium`, or :class:`ReportError` saying how to install it."""
    found = find_chromium()
    if found is None:
        raise ReportError(f"cannot print PDFs: no Chromium found. {INSTALL_HINT}")
    return found


class _Connection:
    """One DevTools websocket: numbered calls, events kept until waited for."""

    def __init__(self, url: str, timeout: float) -> None:
        import websocket

        self.ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout: float = PAGE_TIMEOUT) -> dict[str, Any]:
        i = next(self.ids)
        msg: dict[str, Any] = {"id": i, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        end = time.monotonic() + timeout
        while True:
            m = self._recv(end, method)
            if m.get("id") == i:
                if "error" in m:
                    raise ReportError(f"Chromium refused {method}: {m['error'].get('message', m['error'])}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait(self, method: str, session: str, timeout: float = PAGE_TIMEOUT) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while True:
            for k, m in enumerate(self.events):
                if m.get("method") == method and m.get("sessionId") == session:
                    del self.events[k]
                    return m.get("params", {})
            m = self._recv(end, method)
            if "method" in m:
                self.events.append(m)

    def _recv(self, end: float, what: str) -> dict[str, Any]:
        left = end - time.monotonic()
        if left <= 0:
            raise ReportError(f"Chromium did not answer {what} in time")
        self.ws.settimeout(left)
        try:
            return json.loads(self.ws.recv())
        except Exception as err:  # timeout, closed socket
            raise ReportError(f"Chromium did not answer {what}: {type(err).__name__}: {err}") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


class Browser:
    """Headless Chromium driven over the DevTools protocol (a context manager: the browser and
    its temporary profile go when the block ends)."""

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or require_chromium()
        self.profile = tempfile.mkdtemp(prefix="pe-chromium-")
        args = [
            self.executable, "--headless", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions",
            "--hide-scrollbars", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={self.profile}", "about:blank",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run its sandbox as root
        env = {**os.environ, "FONTCONFIG_FILE": str(self._fontconfig())}
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env)
        try:
            self.conn = _Connection(self._endpoint(), START_TIMEOUT)
        except BaseException:
            self.close()
            raise

    def _fontconfig(self) -> Path:
        """A fontconfig file that adds the bundled CJK font's folder to the system's fonts: the
        PDF's header and footer are drawn without web fonts, so their Chinese needs a font the
        browser finds by name (machines without a CJK system font would draw boxes)."""
        from ..plots import cjk_font_path

        conf = Path(self.profile) / "fonts.conf"
        system = os.environ.get("FONTCONFIG_FILE") or "/etc/fonts/fonts.conf"
        conf.write_text(
            '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
            f'  <include ignore_missing="yes">{html.escape(system)}</include>\n'
            f"  <dir>{html.escape(str(cjk_font_path().parent))}</dir>\n"
            f"  <cachedir>{html.escape(str(Path(self.profile) / 'fontconfig'))}</cachedir>\n"
            "</fontconfig>\n", encoding="utf-8")
        return conf

    def _endpoint(self) -> str:
        port_file = Path(self.profile) / "DevToolsActivePort"
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                err = (self.proc.stderr.read() if self.proc.stderr else b"").decode(errors="replace")
                raise ReportError(f"Chromium ({self.executable}) exited at start: "
                                  f"{err.strip()[-500:] or self.proc.returncode}")
            with contextlib.suppress(OSError, ValueError):
                port, path = port_file.read_text().split("\n")[:2]
                if port.strip() and path.strip():
                    return f"ws://127.0.0.1:{int(port)}{path.strip()}"
            time.sleep(0.05)
        raise ReportError(f"Chromium ({self.executable}) did not start within {START_TIMEOUT:.0f} s")

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.call("Browser.close", timeout=5)
            conn.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    @contextlib.contextmanager
    def tab(self, page: Path, *, width: int | None = None, height: int = 900,
            mobile: bool = False) -> Iterator[str]:
        """Open ``page`` in a new tab (viewport ``width`` × ``height`` CSS pixels when given),
        wait for it and its fonts to load; yields the tab's session id."""
        target = self.conn.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        try:
            session = self.conn.call("Target.attachToTarget",
                                     {"targetId": target, "flatten": True})["sessionId"]
            self.conn.call("Page.enable", session=session)
            if width is not None:
                self.conn.call("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1,
                                "mobile": mobile}, session=session)
            self.conn.call("Page.navigate", {"url": Path(page).resolve().as_uri()}, session=session)
            self.conn.wait("Page.loadEventFired", session)
            self.evaluate(session, "document.fonts.ready.then(() => document.fonts.size)")
            yield session
        finally:
            with contextlib.suppress(ReportError):
                self.conn.call("Target.closeTarget", {"targetId": target})

    def evaluate(self, session: str, expression: str) -> Any:
        """The value of a JavaScript expression in the tab (promises awaited)."""
        res = self.conn.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                  "returnByValue": True}, session=session)
        if "exceptionDetails" in res:
            raise ReportError(f"script failed in the page: {res['exceptionDetails'].get('text')}")
        return res.get("result", {}).get("value")

    def print_pdf(self, page: Path, out: Path) -> Path:
        """Print ``page`` to an A4 PDF at ``out`` with the running header and page numbers."""
        text = Path(page).read_text(encoding="utf-8")
        language = "en" if '<html lang="en"' in text[:400] else "zh"
        with self.tab(page) as session:
            res = self.conn.call("Page.printToPDF", {
                "paperWidth": A4[0], "paperHeight": A4[1], **MARGINS,
                "printBackground": True, "displayHeaderFooter": True,
                "headerTemplate": header_template(running_header(text)),
                "footerTemplate": footer_template(language),
                "preferCSSPageSize": False,
            }, session=session)
        write_atomic(out, base64.b64decode(res["data"]))
        return out

    def screenshot(self, page: Path, out: Path, *, width: int) -> Path:
        """A full-page PNG of ``page`` at a viewport ``width`` CSS pixels wide."""
        with self.tab(page, width=width, mobile=width < 600) as session:
            height = int(self.evaluate(session, "document.scrollingElement.scrollHeight"))
            res = self.conn.call("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}},
                session=session)
        Path(out).write_bytes(base64.b64decode(res["data"]))
        return out

    def scroll_width(self, page: Path, *, width: int) -> dict[str, int]:
        """At a viewport ``width`` CSS pixels wide (a phone: mobile emulation below 600): the
        page's scroll width, and the widest element outside a scrolling box that sticks out."""
        with self.tab(page, width=width, mobile=width < 600) as session:
            return self.evaluate(session, _WIDTH_PROBE % width)


#: JavaScript: the document's scroll width, and the number and first tags of elements wider than
#: the viewport that are not inside an element that scrolls horizontally on its own
_WIDTH_PROBE = """(() => {
  const vw = %d, out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right <= vw + 0.5) continue;
    let p = el.parentElement, boxed = false;
    while (p) { const s = getComputedStyle(p);
      if (s.overflowX === 'auto' || s.overflowX === 'scroll') { boxed = true; break; }
      p = p.parentElement; }
    if (!boxed) out.push(el.tagName + (el.className ? '.' + el.className : ''));
  }
  return {scrollWidth: document.scrollingElement.scrollWidth, overflowing: out.length,
          first: out.slice(0, 5).join(' ')};
})()"""

def _band(inner: str, align: str) -> str:
    return ("<div style=\"font-family: 'Noto Sans CJK SC', sans-serif; font-size: 8px; "
            f"color: #52606d; width: 100%; margin: 0 0.55in; text-align: {align};\">{inner}</div>")


def header_template(text: str) -> str:
    """The running header: the page's running-header text (escaped), left aligned."""
    return _band(html.escape(text), "left")


def footer_template(language: str) -> str:
    """The footer: page number and page count, centred."""
    return _band(_FOOTER["zh" if language == "zh" else "en"], "center")


def pdf_path(page: Path) -> Path:
    """Where a page's PDF goes: beside it, ``<name>.pdf``."""
    return Path(page).with_suffix(".pdf")


def pdf_up_to_date(page: Path) -> bool:
    """The page's PDF exists and is not older than the page."""
    pdf = pdf_path(page)
    try:
        return pdf.stat().st_mtime_ns >= Path(page).stat().st_mtime_ns
    except OSError:
        return False


__all__ = [
    "A4", "Browser", "CHROMIUM_NAMES", "ENV_CHROMIUM", "INSTALL_HINT", "find_chromium",
    "footer_template", "header_template", "pdf_path", "pdf_up_to_date", "require_chromium",
    "running_header",
]
