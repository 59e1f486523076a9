"""One result protocol, one vocabulary for options: checked over the whole package.

Every result class (a subclass of :class:`analysis.results.ResultMixin`) defines ``title`` as a
property, ``tables()`` and ``plot``; none overrides ``tidy``, ``summary`` or ``_repr_html_``; the
text and HTML renderings show every table. Options are ``Literal`` types checked by
``check_option``; public signatures say ``n_boot``/``n_perm``/``seed``, never ``B``/``rng``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pandas as pd
import pytest

import analysis
from analysis.results import ResultMixin, render_html, render_text

PACKAGE = Path(analysis.__file__).resolve().parent


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages([str(PACKAGE)], prefix="analysis."))


def _result_classes() -> list[type]:
    for name in _modules():
        importlib.import_module(name)
    seen: dict[str, type] = {}
    stack = list(ResultMixin.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls.__module__.startswith("analysis."):
            seen[f"{cls.__module__}.{cls.__qualname__}"] = cls
        stack.extend(cls.__subclasses__())
    return [seen[k] for k in sorted(seen)]


RESULT_CLASSES = _result_classes()


def test_the_package_has_result_classes():
    assert len(RESULT_CLASSES) >= 20, [c.__name__ for c in RESULT_CLASSES]


@pytest.mark.parametrize("cls", RESULT_CLASSES, ids=lambda c: c.__name__)
def test_result_class_follows_the_protocol(cls):
    own = vars(cls)
    assert "tables" in own or any("tables" in vars(b) for b in cls.__mro__[1:-1]
                                  if b is not ResultMixin), f"{cls.__name__} defines no tables()"
    for name in ("tidy", "summary", "_repr_html_", "_display_table"):
        assert not any(name in vars(b) for b in cls.__mro__ if b is not ResultMixin
                       and b is not object), f"{cls.__name__} overrides {name}"
    title = inspect.getattr_static(cls, "title")
    assert isinstance(title, property), f"{cls.__name__}.title is not a property"
    assert "plot" in own or any("plot" in vars(b) for b in cls.__mro__[1:-1]
                                if b is not ResultMixin), f"{cls.__name__} has no plot()"
    assert getattr(cls, "__dataclass_params__", None) is not None and \
        cls.__dataclass_params__.frozen, f"{cls.__name__} is not a frozen dataclass"


def test_renderers_show_every_table_and_escape():
    tables = {"main": pd.DataFrame({"a": [1.0]}), "second <b>": pd.DataFrame({"x": ["<i>y</i>"]})}
    text = render_text("T", tables, ("note",))
    assert "main" not in text.splitlines()[2] and "second <b>" in text and "Note: note" in text
    html = render_html("T", tables)
    assert "second &lt;b&gt;" in html and "&lt;i&gt;y&lt;/i&gt;" in html and "<i>" not in html


def test_every_result_of_a_demo_analysis_renders_all_its_tables(demo):
    """Real results: tidy() is the first table and summary/HTML name every further table."""
    from analysis import describe, effectiveness, indicators
    from analysis.did import att_gt

    panel = demo.panel
    results = [
        indicators.indicators(panel, level="county"),
        indicators.composite_index(panel),
        effectiveness.problem_survival(demo, by="category", cox=True),
        describe.coverage(demo),
    ]
    d = panel[panel["eligible"]].dropna(subset=["environment_score"])
    results.append(att_gt(d, outcome="environment_score", unit="institution_id", time="t",
                          group="adoption_t", cluster="county_code"))
    for res in results:
        tabs = res.tables()
        assert tabs and all(isinstance(v, pd.DataFrame) for v in tabs.values())
        pd.testing.assert_frame_equal(res.tidy(), next(iter(tabs.values())))
        text, html = res.summary(), res._repr_html_()
        for name in list(tabs)[1:]:
            assert name in text and name in html, (type(res).__name__, name)


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", None)) == name]


def test_no_hand_written_tuple_of_allowed_options():
    """Allowed options are read from Literal types (``check_option``), not restated as tuples."""
    offenders = []
    for f in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for call in _calls(tree, "check_choice"):
            if len(call.args) >= 3 and isinstance(call.args[2], ast.Tuple | ast.List | ast.Set):
                offenders.append(f"{f.relative_to(PACKAGE)}:{call.lineno}")
    assert not offenders, offenders


def test_public_signatures_use_one_vocabulary_for_draws_and_randomness():
    bad = []
    for name in _modules():
        mod = importlib.import_module(name)
        for attr, obj in vars(mod).items():
            if attr.startswith("_") or getattr(obj, "__module__", None) != name:
                continue
            funcs = [obj] if inspect.isfunction(obj) else [
                m for k, m in vars(obj).items() if inspect.isfunction(m) and not k.startswith("_")
            ] if inspect.isclass(obj) else []
            for fn in funcs:
                params = inspect.signature(fn).parameters
                for p in ("B", "rng", "random_state", "n_reps"):
                    if p in params:
                        bad.append(f"{name}.{fn.__qualname__}({p})")
    # the weight-draw primitives and the synthetic world's generators continue a caller's
    # generator on purpose (one stream threaded through a world); the budget LP's ``B`` is the
    # budget (the paper's symbol), not a number of draws
    allowed = {"analysis.inference.weights.rademacher(rng)", "analysis.inference.weights.webb(rng)",
               "analysis.inference.weights.draw_weights(rng)",
               "analysis.allocation.budget.budget_lp(B)"}
    assert sorted(b for b in set(bad) - allowed if not b.startswith("analysis.synth.")) == []
