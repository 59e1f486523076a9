"""Kept ("warm") kernels: a county's page from a kernel that ran another county first is the page
a new kernel makes; the kernel's state is reset between reports; a report that fails in a kernel
that had run others is run again in a new kernel."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from test_reports_world import make_world

from analysis.data import load_processed
from analysis.reports import kernel as kernel_mod
from analysis.reports.driver import default_notebook, inputs_hash, report_key, running_header
from analysis.reports.task import Task, run_task


def normalise(page: str) -> str:
    """A page without what differs between any two runs: the generation time (to the minute) and
    the random cell id papermill gives the cell it injects."""
    page = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<generated>", page)
    return re.sub(r'celltag_injected-parameters" id="cell-id=[0-9a-f]+"',
                  'celltag_injected-parameters" id="cell-id=<random>"', page)


@pytest.fixture
def pool(monkeypatch):
    """A pool of this test's own (the process-wide one is left alone), closed at the end."""
    p = kernel_mod.KernelPool()
    monkeypatch.setattr(kernel_mod, "_POOL", p)
    yield p
    p.close()


def _county_task(root: Path, code: str, out: Path, *, warm: bool) -> Task:
    processed = load_processed("world", root=root)
    nb = default_notebook("county", root)
    params = {"dataset": "world", "language": "zh", "threshold": 10, "county_code": code}
    return Task(code, str(nb), params, str(out / f"{code}.html"), str(out / "failed"), str(root),
                "zh", report_key(inputs_hash("world", root), nb, params),
                running=running_header(processed, code, "zh"), warm=warm)


def test_a_county_from_a_warm_kernel_equals_a_cold_run(tmp_path, pool):
    root = make_world(tmp_path / "w")
    cold = run_task(_county_task(root, "511102", tmp_path / "cold", warm=False))
    assert cold.status == "written", cold
    # another county first, then the same county, both in one kept kernel
    other = run_task(_county_task(root, "511123", tmp_path / "warm", warm=True))
    warm = run_task(_county_task(root, "511102", tmp_path / "warm", warm=True))
    assert other.status == "written" and warm.status == "written", (other, warm)
    assert pool.started == 1  # the second county ran in the kernel the first one used
    a = (tmp_path / "cold" / "511102.html").read_text(encoding="utf-8")
    b = (tmp_path / "warm" / "511102.html").read_text(encoding="utf-8")
    assert "<generated>" in normalise(a)
    assert normalise(a) == normalise(b)
    # and the other county's page is another page (the comparison can fail)
    c = (tmp_path / "warm" / "511123.html").read_text(encoding="utf-8")
    assert normalise(c) != normalise(b)


def _nb(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 0", metadata={"tags": ["parameters"]}),
                *(nbformat.v4.new_code_cell(c) for c in cells)]
    nbformat.write(nb, str(path))
    return path


PROBE = """\
import os, sys, random, warnings
import numpy as np
import matplotlib
import matplotlib.pyplot as plt
from analysis import plots
print("STATE", sorted(k for k in globals() if k.startswith("leak")),
      matplotlib.rcParams["lines.linewidth"], plt.get_fignums(), len(warnings.filters),
      os.environ.get("PE_LEAK"), os.getcwd(),
      np.geterr()["divide"], plots._safe.cache_info().currsize, get_ipython().execution_count)
warnings.warn("shown in every report")
"""

POLLUTE = """\
import os, warnings, random
import numpy as np
import matplotlib
import matplotlib.pyplot as plt
from analysis import plots
leak_value = 1
matplotlib.rcParams["lines.linewidth"] = 9.5
plt.figure()
warnings.simplefilter("ignore")
os.environ["PE_LEAK"] = "1"
os.chdir("/")
np.seterr(divide="raise")
plots.safe_text("cached")
random.seed(1); np.random.seed(1)
"""


def _page(tmp_path: Path, name: str, nb: Path, *, warm: bool = True):
    out = tmp_path / "out"
    res = run_task(Task(name, str(nb), {"x": 1}, str(out / f"{name}.html"), str(out / "failed"),
                        str(tmp_path), "en", "key", warm=warm))
    text = (out / f"{name}.html").read_text(encoding="utf-8") if res.status == "written" else ""
    return res, text


def test_state_is_reset_between_reports(tmp_path, pool):
    """A report that changes the namespace, matplotlib, warnings, environment, working folder,
    numpy's error state and a package cache leaves nothing for the next report to see."""
    probe = _nb(tmp_path / "probe.ipynb", PROBE)
    dirty = _nb(tmp_path / "dirty.ipynb", POLLUTE)
    res, first = _page(tmp_path, "probe1", probe)
    assert res.status == "written", res
    res, _ = _page(tmp_path, "dirty", dirty)
    assert res.status == "written", res
    res, again = _page(tmp_path, "probe2", probe)
    assert res.status == "written", res
    assert pool.started == 1
    state = re.findall(r"STATE [^\n<]*", first)
    assert state and state == re.findall(r"STATE [^\n<]*", again)
    assert "shown in every report" in again  # the warning's "already shown" registry was reset
    # negative control: the probe does see the pollution when it runs in the polluted namespace
    both = _nb(tmp_path / "both.ipynb", POLLUTE, PROBE)
    res, polluted = _page(tmp_path, "both", both)
    assert res.status == "written"
    assert re.findall(r"STATE [^\n<]*", polluted) != state


def test_a_failure_in_a_kernel_that_ran_others_is_run_again_in_a_new_kernel(tmp_path, pool):
    """State the reset does not know about (here an attribute of ``builtins``) cannot fail a
    report: the report is run again in a new kernel, which then stays for the next reports."""
    poison = _nb(tmp_path / "poison.ipynb", "import builtins\nbuiltins.PE_POISON = 1")
    check = _nb(tmp_path / "check.ipynb",
                "import builtins\nassert not hasattr(builtins, 'PE_POISON'), 'poisoned'")
    assert _page(tmp_path, "poison", poison)[0].status == "written"
    res, _ = _page(tmp_path, "check", check)
    assert res.status == "written", res
    assert pool.started == 2
    # a failure in a new kernel is the report's failure (not retried for ever)
    res, _ = _page(tmp_path, "poison2", poison)
    assert res.status == "written"
    bad = _nb(tmp_path / "bad.ipynb", "raise ValueError('a real error')")
    res, _ = _page(tmp_path, "bad", bad)
    assert res.status == "failed" and "a real error" in res.error and res.cell is not None
    assert pool.started == 3  # run again once in a new kernel, where it failed too


def test_a_kept_kernel_that_dies_is_a_failed_report_with_its_log(tmp_path, pool):
    dead = _nb(tmp_path / "dead.ipynb", "import os\nos.write(2, b'dying now\\n')\nos._exit(3)")
    res, _ = _page(tmp_path, "dead", dead)
    assert res.status == "failed" and "DeadKernelError" in res.error and "dying now" in res.error
    assert Path(res.failed_notebook).exists()
    ok = _nb(tmp_path / "ok.ipynb", "print('fine')")
    res, text = _page(tmp_path, "ok", ok)
    assert res.status == "written" and "fine" in text and pool.started == 2
