"""One home for every fingerprint the package computes.

- :func:`sha256_file`: one file, streamed.
- :func:`files_hash`: a set of files (name and content), order-independent.
- :func:`code_hash`: the package's Python sources: during development the version number does not
  move when the code does, so builds and reports key on this as well.
- :func:`data_hash`: one hash over a dataset's input files' hashes (``{name: sha256}``).
- :func:`fingerprint`: the short form shown to readers (first 16 hex digits of a manifest's
  ``data_hash``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def files_hash(files: Iterable[Path]) -> str:
    """SHA-256 over the files' names and contents, sorted by path."""
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.name.encode())
        h.update(bytes.fromhex(sha256_file(f)))
    return h.hexdigest()


def code_hash() -> str:
    """SHA-256 over the package's Python sources (relative path and content)."""
    h = hashlib.sha256()
    for f in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" in f.parts:
            continue
        h.update(f.relative_to(PACKAGE).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def data_hash(inputs: Mapping[str, str]) -> str:
    """One hash over the input files' hashes (name and SHA-256, sorted by name)."""
    h = hashlib.sha256()
    for name in sorted(inputs):
        h.update(f"{name}:{inputs[name]}\n".encode())
    return h.hexdigest()


def fingerprint(manifest: Mapping[str, Any]) -> str:
    """The short data fingerprint a report shows: the manifest's ``data_hash`` (16 hex digits),
    else the hash of the inputs it lists, else of the whole manifest."""
    value = manifest.get("data_hash")
    if isinstance(value, str) and value:
        return value[:16]
    inputs = manifest.get("inputs")
    if isinstance(inputs, Mapping) and inputs:
        return data_hash({str(k): str(v) for k, v in inputs.items()})[:16]
    payload = json.dumps(dict(manifest), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
