"""The county-management notebook runs under papermill on the demo world (cwd notebooks/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import notebook_parameters, notebook_text, run_notebook

NAME = "03_county_management.ipynb"


def test_notebook_is_thin_and_stripped():
    notebook_parameters(NAME, {"dataset", "outcome", "control_group", "county_code"})


def test_notebook_runs_on_demo(demo_root: Path, tmp_path: Path):
    nb = run_notebook(NAME, demo_root, tmp_path, n_boot=199, n_perm=199)
    text = notebook_text(nb)  # outputs only: the cells' own source would match anything
    assert "SYNTHETIC DATA" in text
    # the aggregate tables carry a row per inference method
    assert "<td>wild_bootstrap</td>" in text and "<td>randomization</td>" in text
    # what each number rests on: the county counts of every overall estimate, the headline row
    assert "n_comparison_clusters" in text and ">headline</th>" in text
    # the sensitivity to parallel-trends violations is shown, with its breakdown value
    assert "breakdown" in text
    assert "image/png" in json.dumps([c.get("outputs", []) for c in nb["cells"]])


@pytest.mark.slow
def test_notebook_runs_composite_never_treated(demo_root: Path, tmp_path: Path):
    nb = run_notebook(NAME, demo_root, tmp_path, outcome="composite",
                      control_group="nevertreated", county_code="511102", n_boot=199, n_perm=199)
    assert "image/png" in json.dumps([c.get("outputs", []) for c in nb["cells"]])
