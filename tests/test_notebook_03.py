"""The county-management notebook runs under papermill on the demo world (cwd notebooks/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import notebook_parameters, run_notebook

NAME = "03_county_management.ipynb"


def test_notebook_is_thin_and_stripped():
    notebook_parameters(NAME, {"dataset", "outcome", "control_group", "county_code"})


def test_notebook_runs_on_demo(demo_root: Path, tmp_path: Path):
    nb = run_notebook(NAME, demo_root, tmp_path, n_boot=199, n_perm=199)
    text = json.dumps(nb)
    assert "SYNTHETIC DATA" in text
    assert "wild_bootstrap" in text and "randomization" in text
    assert "image/png" in text  # the plots rendered


@pytest.mark.slow
def test_notebook_runs_composite_never_treated(demo_root: Path, tmp_path: Path):
    nb = run_notebook(NAME, demo_root, tmp_path, outcome="composite",
                      control_group="nevertreated", county_code="511102", n_boot=199, n_perm=199)
    assert "image/png" in json.dumps(nb)
