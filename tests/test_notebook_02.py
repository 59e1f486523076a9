"""The pairing-effectiveness notebook: thin, parameterised, runs under papermill (city and county)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02_pairing_effectiveness.ipynb"


def _cells() -> list[dict]:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def test_notebook_is_thin_and_stripped() -> None:
    cells = _cells()
    code = [c for c in cells if c["cell_type"] == "code"]
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1
    tree = ast.parse("".join(params[0]["source"]))
    values = {}
    for node in tree.body:  # literals only
        assert isinstance(node, ast.Assign)
        values[node.targets[0].id] = ast.literal_eval(node.value)
    assert {"dataset", "county_code", "outcome"} <= set(values)
    assert values["county_code"] == "all"
    for c in code:
        src = "".join(c["source"])
        tree = ast.parse(src)
        assert not any(isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Lambda) for n in ast.walk(tree))
        assert not c.get("outputs") and c.get("execution_count") is None  # stripped
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                mod = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                assert mod.split(".")[0] == "analysis", mod
    text = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "descriptive: no control group" in text


def _run(tmp_path: Path, demo_root: Path, monkeypatch: pytest.MonkeyPatch, **params) -> dict:
    import papermill as pm

    monkeypatch.setenv("PAIRING_EVAL_ROOT", str(demo_root))
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), parameters=params, cwd=str(NOTEBOOK.parent),
                        progress_bar=False, kernel_name="python3")
    return json.loads(out.read_text(encoding="utf-8"))


def _outputs_text(nb: dict) -> str:
    parts = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            parts.append("".join(o.get("text", "")))
            for key in ("text/plain", "text/html"):
                parts.append("".join(o.get("data", {}).get(key, "")))
    return "\n".join(parts)


def test_notebook_runs_for_the_city(tmp_path: Path, demo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = _run(tmp_path, demo_root, monkeypatch, dataset="demo", county_code="all",
              outcome="composite", n_boot=199)
    text = _outputs_text(nb)
    assert "SYNTHETIC DATA" in text  # the banner
    assert "descriptive: no control group" in text
    assert "wild_bootstrap" in text
    assert "Glyph" not in text and "Traceback" not in text


def test_notebook_runs_for_one_county(tmp_path: Path, demo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = _run(tmp_path, demo_root, monkeypatch, dataset="demo", county_code="511102",
              outcome="safety_hazards", n_boot=199)
    text = _outputs_text(nb)
    assert "SYNTHETIC DATA" in text
    assert "county 511102" in text  # the county's ITS and scorecard
    assert "Glyph" not in text and "Traceback" not in text
