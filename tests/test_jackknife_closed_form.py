"""The delete-one-cluster jackknife's closed form (``analysis.did.jackknife``) above its threshold:
the same leave-one-out aggregates as re-running the estimator without each cluster, without
re-running it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.did import att_gt
from analysis.did import jackknife as jk


def _panel(n_counties: int, seed: int = 3, missing: float = 0.05) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    cohorts = [4.0, 6.0, 8.0, np.inf]
    unit = 0
    for c in range(n_counties):
        g = cohorts[c % len(cohorts)] if c != 1 else 5.0  # cohort 5 lives in one county only
        a = rng.normal()
        for _ in range(int(rng.integers(1, 5))):
            u = rng.normal()
            for t in range(1, 11):
                if rng.random() < missing:
                    continue
                y = a + u + 0.1 * t + (0.5 if t >= g else 0.0) + rng.normal()
                rows.append((unit, c, t, g, y, 0.5 + rng.random()))
            unit += 1
    return pd.DataFrame(rows, columns=["unit", "county", "t", "g", "y", "w"])


@pytest.mark.parametrize(("kind", "control", "weights"), [
    ("simple", "notyettreated", None), ("dynamic", "nevertreated", "w"),
    ("group", "notyettreated", "w"), ("calendar", "notyettreated", None)])
def test_closed_form_equals_reruns(monkeypatch, kind, control, weights):
    d = _panel(24)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county",
                 control_group=control, weights=weights)
    spec = res.spec(kind)
    rng = np.random.default_rng(1)
    arrays = np.concatenate([res.panel.Y[None], rng.normal(size=(5, *res.panel.Y.shape))])
    monkeypatch.setattr(jk, "CLOSED_FORM_MIN_CLUSTERS", 10**9)
    reruns = jk.leave_one_out(res, spec, arrays)
    monkeypatch.setattr(jk, "CLOSED_FORM_MIN_CLUSTERS", 2)
    closed = jk.leave_one_out(res, spec, arrays)
    if kind == "group":  # cohort 5 has no estimate without county 1
        assert np.isnan(reruns).any()
    np.testing.assert_array_equal(np.isnan(closed), np.isnan(reruns))
    np.testing.assert_allclose(closed, reruns, rtol=1e-10, atol=1e-12, equal_nan=True)


def test_many_clusters_do_not_rerun_the_estimator(monkeypatch):
    d = _panel(jk.CLOSED_FORM_MIN_CLUSTERS + 10, missing=0.0)
    res = att_gt(d, outcome="y", unit="unit", time="t", group="g", cluster="county")

    def refuse(*a, **k):
        raise AssertionError("the estimator was re-run once per cluster")

    monkeypatch.setattr(jk, "attgt_core", refuse)
    loo = jk.leave_one_out(res, res.spec("simple"), res.panel.Y[None])
    assert loo.shape[:2] == (res.panel.n_clusters, 1)
    assert np.isfinite(loo).all()
