"""Shared fixtures.

``demo_root`` builds the bundled demo world once per test session (once per xdist worker, guarded
by a file lock so that workers share one build) into a temporary project root and returns that
root; use ``analysis.data.load_processed("demo", root=demo_root)`` to read it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_RAW = REPO / "data" / "raw" / "demo"
# Messages follow the locale (analysis.messages.resolve_language): the suite reads them in English
# unless a test asks for Chinese (--lang zh or its own environment), whatever the machine's locale.
for _var in ("LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_var, None)
os.environ["LANG"] = "C.UTF-8"

#: reference data vendored with the tests (sources and licences in its README.md)
REFERENCE = REPO / "tests" / "data" / "reference"


def reference_file(name: str) -> Path:
    """A file of ``tests/data/reference/``. It is part of the repository: a missing file is an
    error (``FileNotFoundError``), never a skip."""
    f = REFERENCE / name
    if not f.is_file():
        raise FileNotFoundError(f"tests/data/reference/{name} is missing: the reference files are "
                                "vendored with the tests (see tests/data/reference/README.md)")
    return f


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project root with ``data/raw/demo`` (copied) and ``data/processed/demo`` (built)."""
    if not (DEMO_RAW / "institutions.csv").exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    from analysis.pipeline import build

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "demo_root"
    lock = shared / "demo_root.lock"
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            if not (root / "data" / "processed" / "demo" / "manifest.json").exists():
                if root.exists():
                    shutil.rmtree(root)
                (root / "data" / "raw").mkdir(parents=True)
                shutil.copytree(DEMO_RAW, root / "data" / "raw" / "demo")
                build(root / "data" / "raw" / "demo", out_root=root / "data" / "processed")
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return root


@pytest.fixture(scope="session")
def demo(demo_root: Path):
    """The processed demo dataset (``analysis.data.Processed``)."""
    from analysis.data import load_processed

    return load_processed("demo", root=demo_root)


@pytest.fixture(scope="session")
def truth() -> dict:
    import json

    f = DEMO_RAW / "TRUTH.json"
    if not f.exists():
        pytest.skip("data/raw/demo/TRUTH.json not generated yet")
    return json.loads(f.read_text(encoding="utf-8"))


# -- notebooks ----------------------------------------------------------------------------------
NOTEBOOKS = REPO / "notebooks"


def notebook_parameters(name: str, required: set[str]) -> dict:
    """Check that ``notebooks/<name>`` is thin and stripped; return its parameter literals.

    Thin: exactly one cell tagged ``parameters`` holding literal assignments only; no function,
    class or lambda in any code cell; imports only from ``analysis``; no stored outputs.
    """
    import ast
    import json

    cells = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    values = {}
    for node in ast.parse("".join(params[0]["source"])).body:
        assert isinstance(node, ast.Assign), "the parameters cell holds assignments only"
        values[node.targets[0].id] = ast.literal_eval(node.value)  # literals only
    assert required <= set(values), f"missing parameters {required - set(values)}"
    for c in code:
        tree = ast.parse("".join(c["source"]))
        assert not any(isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Lambda)
                       for n in ast.walk(tree)), "no definitions in notebooks"
        assert not c.get("outputs") and c.get("execution_count") is None, "outputs stripped"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                mod = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                assert mod.split(".")[0] == "analysis", mod
    return values


def run_notebook(name: str, demo_root: Path, tmp_path: Path, **parameters) -> dict:
    """Execute ``notebooks/<name>`` under papermill (cwd ``notebooks/``) on the built demo world,
    with the same kernel manager the report driver uses; return the executed notebook as JSON."""
    import json

    import papermill as pm

    from analysis.reports.kernel import ProjectKernelManager

    out = tmp_path / f"out-{name}"
    old = os.environ.get("PAIRING_EVAL_ROOT")
    os.environ["PAIRING_EVAL_ROOT"] = str(demo_root)
    try:
        pm.execute_notebook(str(NOTEBOOKS / name), str(out), parameters=parameters,
                            kernel_name="python3", language="python",
                            kernel_manager_class=ProjectKernelManager,
                            progress_bar=False, cwd=str(NOTEBOOKS))
    finally:
        if old is None:
            os.environ.pop("PAIRING_EVAL_ROOT", None)
        else:
            os.environ["PAIRING_EVAL_ROOT"] = old
    return json.loads(out.read_text(encoding="utf-8"))


def notebook_text(nb: dict) -> str:
    """Every text, plain and HTML output of an executed notebook, joined."""
    parts = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            parts.append("".join(o.get("text", "")))
            for key in ("text/plain", "text/html"):
                parts.append("".join(o.get("data", {}).get(key, "")))
    return "\n".join(parts)
