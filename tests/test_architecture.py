"""The package's architecture: no import cycles, and the layer contracts of ``pyproject.toml``.

The import graph is read by grimp (the library import-linter is built on). grimp records every
``import`` statement of a module, including those inside functions and under
``if TYPE_CHECKING:``, so a lazy import cannot hide a cycle or an upward dependency. Each check is
first run on a tiny package written to a temporary folder, with the defect planted, to show that
it fails when it should.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "analysis"


def modules_in_cycles(graph: grimp.ImportGraph) -> dict[str, tuple[str, ...]]:
    """Every module that can reach itself through its imports, with one shortest such cycle.

    A module *m* is in a cycle when some module it imports directly has a chain of imports back
    to *m* (or *m* imports itself). The cycle is returned as ``(m, imported, ..., m)``.
    """
    found: dict[str, tuple[str, ...]] = {}
    for module in sorted(graph.modules):
        best: tuple[str, ...] | None = None
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported == module:
                chain: tuple[str, ...] | None = (module,)
            else:
                chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain is not None and (best is None or len(chain) + 1 < len(best)):
                best = (module, *chain)
        if best is not None:
            found[module] = best
    return found


def _write_package(root: Path, name: str, modules: dict[str, str]) -> None:
    pkg = root / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    for mod, source in modules.items():
        (pkg / f"{mod}.py").write_text(textwrap.dedent(source), encoding="utf-8")


def _lint_imports(cwd: Path, *args: str, pythonpath: Path | None = None):
    exe = Path(sys.executable).parent / "lint-imports"
    assert exe.exists(), "lint-imports is not installed (import-linter is a dev dependency)"
    env = {**os.environ}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath),
                                                          env.get("PYTHONPATH")]))
    return subprocess.run([str(exe), "--no-cache", "--no-logo", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


# -- the checks themselves fail on planted defects --------------------------------------------
def test_cycle_check_finds_a_planted_lazy_cycle(tmp_path, monkeypatch):
    # a -> b at import time, b -> a inside a function; c imports a but is in no cycle
    _write_package(tmp_path, "planted_cycle", {
        "a": "from planted_cycle import b\n",
        "b": """
            def late():
                from planted_cycle import a
                return a
            """,
        "c": "from planted_cycle import a\n",
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("planted_cycle", cache_dir=None)
    got = modules_in_cycles(graph)
    assert got == {
        "planted_cycle.a": ("planted_cycle.a", "planted_cycle.b", "planted_cycle.a"),
        "planted_cycle.b": ("planted_cycle.b", "planted_cycle.a", "planted_cycle.b"),
    }


def test_cycle_check_passes_an_acyclic_package(tmp_path, monkeypatch):
    _write_package(tmp_path, "planted_acyclic", {
        "a": "from planted_acyclic import b\n",
        "b": "def late():\n    from planted_acyclic import c\n    return c\n",
        "c": "import os\n",
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    assert modules_in_cycles(grimp.build_graph("planted_acyclic", cache_dir=None)) == {}


@pytest.mark.parametrize("lazy_upward_import", [True, False])
def test_layers_contract_sees_a_lazy_upward_import(tmp_path, lazy_upward_import):
    """import-linter reads imports inside functions: a lower layer importing a higher one in a
    function body breaks a layers contract (and the contract is kept without it)."""
    body = "def f():\n    from planted_layers import high\n    return high\n"
    _write_package(tmp_path, "planted_layers", {
        "high": "from planted_layers import low\n",
        "low": body if lazy_upward_import else "def f():\n    return 1\n",
    })
    (tmp_path / ".importlinter").write_text(textwrap.dedent("""\
        [importlinter]
        root_package = planted_layers

        [importlinter:contract:layers]
        name = planted layers
        type = layers
        containers = planted_layers
        layers =
            high
            low
        """), encoding="utf-8")
    p = _lint_imports(tmp_path, pythonpath=tmp_path)
    if lazy_upward_import:
        assert p.returncode == 1, p.stdout + p.stderr
        assert "planted_layers.low is not allowed to import planted_layers.high" in p.stdout
    else:
        assert p.returncode == 0, p.stdout + p.stderr


# -- the package ------------------------------------------------------------------------------
def test_no_module_of_the_package_is_in_an_import_cycle():
    cycles = modules_in_cycles(grimp.build_graph(PACKAGE, cache_dir=None))
    assert not cycles, "modules in import cycles:\n" + "\n".join(
        f"  {m}: {' -> '.join(c)}" for m, c in cycles.items())


def test_layer_contracts_are_kept():
    """The contracts of ``pyproject.toml`` (``make lint`` runs the same command)."""
    p = _lint_imports(REPO)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 broken" in p.stdout
