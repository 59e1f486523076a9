"""Where the project's folders are, wherever the code runs from (a notebook in ``notebooks/``,
the CLI at the project root, a papermill kernel in a temporary directory).

The root is ``$PAIRING_EVAL_ROOT`` when set, else the nearest parent of the current directory that
holds ``data/raw``; else the current directory.

A dataset is named, never addressed by a path: its name is one plain folder name
(:func:`check_dataset`), the same under ``data/raw``, ``data/processed`` and ``reports``, so that
``--dataset ../../x`` or an absolute path can neither read nor write outside the project's folders.
Every function here that turns a dataset name into a folder checks it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ENV_ROOT = "PAIRING_EVAL_ROOT"
#: a dataset name: letters (of any script: 乐山 is a name), digits, ``-`` and ``_``; it starts with
#: a letter, digit or ``_`` (not ``-``, which reads as an option; not ``.``) and is at most 64 long
DATASET_NAME = re.compile(r"\w[\w-]{0,63}")


class DatasetNameError(ValueError):
    """A dataset name that is not a plain folder name. (A ``ValueError``: this bottom layer does
    not import :mod:`analysis.errors`; the CLI reports it with exit code 2.)"""

    exit_code = 2


def check_dataset(name: object) -> str:
    """Return ``name`` when it is a plain dataset name (:data:`DATASET_NAME`), else raise
    :class:`DatasetNameError` saying what a name may hold."""
    if isinstance(name, str) and DATASET_NAME.fullmatch(name):
        return name
    raise DatasetNameError(
        f"dataset {name!r} is not a plain folder name. A dataset is named, not given as a path: "
        "use letters (Chinese too), digits, '-' and '_', starting with a letter or digit, at most "
        "64 characters (e.g. demo, leshan_2024, 乐山). It is the folder's name under data/raw, "
        "data/processed and reports; paths such as ../x, /abs/path or a/b are not accepted.")


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
    """``data/raw/<dataset>``; the name is checked (:func:`check_dataset`)."""
    return (root or project_root()) / "data" / "raw" / check_dataset(dataset)


def processed_dir(dataset: str, root: Path | None = None) -> Path:
    """``data/processed/<dataset>``; the name is checked (:func:`check_dataset`)."""
    return (root or project_root()) / "data" / "processed" / check_dataset(dataset)


def results_dir(dataset: str, root: Path | None = None) -> Path:
    """``data/processed/<dataset>/results``; the name is checked (:func:`check_dataset`)."""
    return processed_dir(dataset, root) / "results"


def reports_dir(dataset: str, root: Path | None = None) -> Path:
    """``reports/<dataset>``; the name is checked (:func:`check_dataset`)."""
    return (root or project_root()) / "reports" / check_dataset(dataset)
