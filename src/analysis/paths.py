"""Where the project's folders are, wherever the code runs from (a notebook in ``notebooks/``,
the CLI at the project root, a papermill kernel in a temporary directory).

The root is ``$PAIRING_EVAL_ROOT`` when set, else the nearest parent of the current directory that
holds ``data/raw``; else the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_ROOT = "PAIRING_EVAL_ROOT"


def project_root(start: Path | None = None) -> Path:
    env = os.environ.get(ENV_ROOT)
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "data" / "raw").is_dir():
            return candidate
    return here


def raw_dir(dataset: str, root: Path | None = None) -> Path:
    return (root or project_root()) / "data" / "raw" / dataset


def processed_dir(dataset: str, root: Path | None = None) -> Path:
    return (root or project_root()) / "data" / "processed" / dataset


def results_dir(dataset: str, root: Path | None = None) -> Path:
    return processed_dir(dataset, root) / "results"


def reports_dir(dataset: str, root: Path | None = None) -> Path:
    return (root or project_root()) / "reports" / dataset
