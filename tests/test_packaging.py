"""Packaging: pyproject.toml and environment.yml declare the same dependencies, requirements.lock
pins every one of them, and the ``pairing-eval`` console script is registered."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _name(spec: str) -> str:
    """PEP 503 normalised distribution name of a requirement such as ``pandas>=2.1,<3``."""
    name = re.split(r"[\s<>=!~;\[]", spec.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _environment() -> tuple[set[str], set[str]]:
    """(conda dependencies, pip dependencies) of environment.yml, read line by line."""
    conda, pip = set(), set()
    section = None
    for line in (REPO / "environment.yml").read_text(encoding="utf-8").splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped:
            continue
        if not stripped.startswith(" "):
            section = stripped.rstrip(":")
            continue
        if section != "dependencies":
            continue
        m = re.match(r"^(\s*)- (.+)$", stripped)
        if not m:
            continue
        indent, item = len(m[1]), m[2].strip()
        if item == "pip:":
            continue
        (pip if indent > 2 else conda).add(_name(item))
    return conda, pip


def test_pyproject_and_environment_declare_the_same_dependencies():
    proj = _pyproject()["project"]
    declared = {_name(d) for d in proj["dependencies"]} | {_name(d) for d in proj["optional-dependencies"]["dev"]}
    conda, pip = _environment()
    from_env = (conda - {"python", "pip"}) | pip
    assert declared == from_env, (
        f"only in pyproject.toml: {sorted(declared - from_env)}; "
        f"only in environment.yml: {sorted(from_env - declared)}")
    assert not conda & pip, f"listed twice in environment.yml: {sorted(conda & pip)}"


def test_lock_pins_every_dependency():
    pins = {}
    for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([0-9A-Za-z.+!\-]+)", line)
        assert m, f"requirements.lock line is not name==version: {line!r}"
        pins[_name(m[1])] = m[2]
    proj = _pyproject()["project"]
    for spec in [*proj["dependencies"], *proj["optional-dependencies"]["dev"]]:
        assert _name(spec) in pins, f"{_name(spec)} is not pinned in requirements.lock"


def test_console_script_is_registered():
    proj = _pyproject()["project"]
    assert proj["name"] == "pairing-eval"
    assert proj["scripts"]["pairing-eval"] == "analysis.cli:app"
    eps = {ep.name: ep for ep in entry_points(group="console_scripts")}
    assert "pairing-eval" in eps, "the package is not installed (pip install -e .)"
    import typer

    assert isinstance(eps["pairing-eval"].load(), typer.Typer)
