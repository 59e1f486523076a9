"""The resource-allocation notebook: thin, parameterised, runs under papermill."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import notebook_parameters, notebook_text, run_notebook

NAME = "04_resource_allocation.ipynb"


def test_notebook_is_thin_and_stripped() -> None:
    notebook_parameters(NAME, {"dataset", "county_code", "max_changes", "budget"})


def test_notebook_runs_for_the_city(tmp_path: Path, demo_root: Path) -> None:
    text = notebook_text(run_notebook(NAME, demo_root, tmp_path, dataset="demo",
                                      county_code="all", max_changes=36, budget=None))
    assert "SYNTHETIC DATA" in text
    assert "estimated response" in text or "default response" in text  # which response
    assert "gain_vs_status_quo" in text and "concentration_index" in text
    assert "Traceback" not in text and "Glyph" not in text


@pytest.mark.slow
def test_notebook_runs_for_one_county(tmp_path: Path, demo_root: Path) -> None:
    text = notebook_text(run_notebook(NAME, demo_root, tmp_path, dataset="demo",
                                      county_code="511113", max_changes=5, budget=500000.0))
    assert "SYNTHETIC DATA" in text and "gain_vs_status_quo" in text
    assert "Traceback" not in text
