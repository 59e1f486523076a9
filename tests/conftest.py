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
SHARED_REFERENCE = REPO.parent / "shared" / "reference"


def reference_file(name: str) -> Path:
    """A file of the external reference folder, or skip the test with the reason."""
    f = SHARED_REFERENCE / name
    if not f.exists():
        pytest.skip(f"reference file {name} not found beside the project ({SHARED_REFERENCE}); "
                    "these tests need the shared reference folder")
    return f


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project root with ``data/raw/demo`` (copied) and ``data/processed/demo`` (built)."""
    if not (DEMO_RAW / "institutions.csv").exists():
        pytest.skip("the demo world has not been generated (data/raw/demo)")
    from analysis.build import build

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
