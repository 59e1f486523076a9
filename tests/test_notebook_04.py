"""The resource-allocation notebook: thin, parameterised, runs under papermill."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_resource_allocation.ipynb"


def _cells() -> list[dict]:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def test_notebook_is_thin_and_stripped() -> None:
    code = [c for c in _cells() if c["cell_type"] == "code"]
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1
    values = {}
    for node in ast.parse("".join(params[0]["source"])).body:
        assert isinstance(node, ast.Assign)
        values[node.targets[0].id] = ast.literal_eval(node.value)  # literals only
    assert {"dataset", "county_code", "max_changes", "budget"} <= set(values)
    for c in code:
        tree = ast.parse("".join(c["source"]))
        assert not any(isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Lambda)
                       for n in ast.walk(tree))
        assert not c.get("outputs") and c.get("execution_count") is None
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                mod = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                assert mod.split(".")[0] == "analysis", mod


def _run(tmp_path: Path, demo_root: Path, monkeypatch: pytest.MonkeyPatch, **params) -> str:
    import papermill as pm

    monkeypatch.setenv("PAIRING_EVAL_ROOT", str(demo_root))
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), parameters=params, cwd=str(NOTEBOOK.parent),
                        progress_bar=False, kernel_name="python3")
    nb = json.loads(out.read_text(encoding="utf-8"))
    parts = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            parts.append("".join(o.get("text", "")))
            for key in ("text/plain", "text/html"):
                parts.append("".join(o.get("data", {}).get(key, "")))
    return "\n".join(parts)


def test_notebook_runs_for_the_city(tmp_path: Path, demo_root: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    text = _run(tmp_path, demo_root, monkeypatch, dataset="demo", county_code="all",
                max_changes=36, budget=None)
    assert "SYNTHETIC DATA" in text
    assert "estimated response" in text or "default response" in text  # which response
    assert "gain_vs_status_quo" in text and "concentration_index" in text
    assert "Traceback" not in text and "Glyph" not in text


@pytest.mark.slow
def test_notebook_runs_for_one_county(tmp_path: Path, demo_root: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    text = _run(tmp_path, demo_root, monkeypatch, dataset="demo", county_code="511113",
                max_changes=5, budget=500000.0)
    assert "SYNTHETIC DATA" in text and "gain_vs_status_quo" in text
    assert "Traceback" not in text
