"""The county-management notebook runs under papermill on the demo world (cwd notebooks/)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NB = REPO / "notebooks" / "03_county_management.ipynb"


def test_notebook_is_thin_and_stripped():
    nb = nbformat.read(NB, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for c in code:
        assert not c.get("outputs") and c.get("execution_count") is None
        assert "def " not in c.source and "class " not in c.source
    params = tagged[0].source
    for name in ("dataset", "outcome", "control_group", "county_code"):
        assert f"{name} =" in params


def _run(demo_root: Path, tmp_path: Path, **parameters) -> dict:
    papermill = pytest.importorskip("papermill")
    from analysis.reports.kernel import ProjectKernelManager

    out = tmp_path / "out.ipynb"
    old = os.environ.get("PAIRING_EVAL_ROOT")
    os.environ["PAIRING_EVAL_ROOT"] = str(demo_root)
    try:
        papermill.execute_notebook(str(NB), str(out), parameters=parameters,
                                   kernel_name="python3", language="python",
                                   kernel_manager_class=ProjectKernelManager,
                                   progress_bar=False, cwd=str(NB.parent))
    finally:
        if old is None:
            os.environ.pop("PAIRING_EVAL_ROOT", None)
        else:
            os.environ["PAIRING_EVAL_ROOT"] = old
    return json.loads(out.read_text(encoding="utf-8"))


def test_notebook_runs_on_demo(demo_root, tmp_path):
    nb = _run(demo_root, tmp_path, n_boot=199, n_perm=199)
    text = json.dumps(nb)
    assert "SYNTHETIC DATA" in text
    assert "wild_bootstrap" in text and "randomization" in text
    assert "image/png" in text  # the plots rendered


@pytest.mark.slow
def test_notebook_runs_composite_never_treated(demo_root, tmp_path):
    nb = _run(demo_root, tmp_path, outcome="composite", control_group="nevertreated",
              county_code="511102", n_boot=199, n_perm=199)
    assert "image/png" in json.dumps(nb)
