"""The pairing-effectiveness notebook: thin, parameterised, runs under papermill (city and county)."""

from __future__ import annotations

from pathlib import Path

from conftest import notebook_parameters, notebook_text, run_notebook

NAME = "02_pairing_effectiveness.ipynb"


def test_notebook_is_thin_and_stripped() -> None:
    values = notebook_parameters(NAME, {"dataset", "county_code", "outcome"})
    assert values["county_code"] == "all"


def test_notebook_runs_for_the_city(tmp_path: Path, demo_root: Path) -> None:
    text = notebook_text(run_notebook(NAME, demo_root, tmp_path, dataset="demo",
                                      county_code="all", outcome="composite", n_boot=199))
    assert "SYNTHETIC DATA" in text  # the banner
    # the ITS result's own note (rendered output, not the notebook's prose)
    assert "<p class='pe-note'>" in text and "descriptive: no control group" in text
    assert "wild_bootstrap" in text
    # the instrumented robustness row, with its first-stage strength
    assert "Dose-response, instrumented" in text and "first_stage_f" in text
    # the secondary tables render with their result: the event study's pre-trend test, the Cox
    # model beside the Kaplan–Meier medians
    assert "<h5>pretrend</h5>" in text and "<h5>cox</h5>" in text and "hazard_ratio" in text
    assert "Glyph" not in text and "Traceback" not in text


def test_notebook_runs_for_one_county(tmp_path: Path, demo_root: Path) -> None:
    text = notebook_text(run_notebook(NAME, demo_root, tmp_path, dataset="demo",
                                      county_code="511102", outcome="safety_hazards", n_boot=199))
    assert "SYNTHETIC DATA" in text
    assert "county 511102" in text  # the county's ITS and scorecard
    assert "Glyph" not in text and "Traceback" not in text
