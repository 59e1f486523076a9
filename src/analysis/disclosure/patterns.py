"""Primary and secondary suppression of a :class:`~analysis.disclosure.attacker.Publication`.

* **Primary**: every count ``1 ≤ x < t`` is shown as ``<t``. Zeros are shown (they reveal no
  person); the threshold ``t`` defaults to :data:`analysis.domain.DISCLOSURE_THRESHOLD`.
* **Secondary** (complementary), marked ``[c]``: greedy, one small count at a time, in cell order.
  While the audit (:mod:`analysis.disclosure.attacker`) can narrow the count beyond its required
  protection interval, hide one more *companion*: a shown, non-zero count in a relation of the
  group the small count belongs to (the hidden cells it is tied to through relations, including
  totals — a county total, and through it the other counties). The companion chosen is the smallest
  whose hiding alone gives the count its full protection; when none does, the one that widens the
  count's interval most (the smaller on ties), and the search goes on. A companion is known to be at
  least ``t`` (see the audit), so what it contributes is its excess over ``t`` and its room below
  its a priori bound: "hide the next smallest cell" is not enough, and the audit decides.

Hiding a cell only removes information, so a count that is protected stays protected as more cells
are hidden; the loop ends, at the latest when every non-zero cell of the group is hidden, which
is by definition the required interval. Zeros are never hidden. This is the approach of sdcTable's
``SIMPLEHEURISTIC`` (suppress, then solve the attacker's problems, until each primary cell is
safe; Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, ch. 4) with the protection
rule of :mod:`analysis.disclosure.attacker`; it is not optimal (tau-Argus' ``OPT`` minimises the
hidden total over all patterns with a mixed-integer programme), but a county has a few dozen homes
and the greedy pattern hides one or two companions per small home.

Rounding or coarsening totals instead was not chosen: the key figures and the league publish exact
totals that other results (per-bed and per-institution ratios) are read against.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..errors import SpecificationError
from .attacker import (
    TOLERANCE,
    Cell,
    End,
    Publication,
    Relation,
    Status,
    derive,
    is_small,
    narrower,
)


def check_threshold(threshold: object) -> int:
    """The threshold as an ``int``; ``SpecificationError`` unless a whole number ≥ 1."""
    if (isinstance(threshold, bool) or not isinstance(threshold, int | np.integer)
            or threshold < 1):
        raise SpecificationError(
            f"threshold={threshold!r} must be a whole number of people, at least 1 "
            "(1 shows every count)."
        )
    return int(threshold)


def primary_status(cells: Iterable[Cell], threshold: int) -> dict[str, Status]:
    """``primary`` for every small count (``1 ≤ x < threshold``), ``shown`` for the rest."""
    return {c.id: "primary" if is_small(c.value, threshold) else "shown" for c in cells}


def protect(cells: Sequence[Cell], relations: Sequence[Relation], threshold: int, *,
            secondary: bool = True) -> Publication:
    """Suppress small counts and enough companions that the audit finds no disclosure.

    Parameters
    ----------
    cells : sequence of Cell
        Every count published, once each (the same count on several pages is one cell).
    relations : sequence of Relation
        The additive relations between them.
    threshold : int
        Counts ``1 ≤ x < threshold`` are small.
    secondary : bool, default True
        ``False`` gives primary suppression only (the naive pattern, for comparison).

    Returns
    -------
    Publication
        With each cell's status.
    """
    threshold = check_threshold(threshold)
    pub = Publication(tuple(cells), tuple(relations), primary_status(cells, threshold), threshold)
    if not secondary:
        return pub
    return pub.with_status(secondary_suppression(pub))


def secondary_suppression(publication: Publication) -> Mapping[str, Status]:
    """The companions to hide (cell id → ``"secondary"``) so that every small count is protected."""
    pub = publication
    chosen: dict[str, Status] = {}
    for k in pub.primary:
        required = _interval(pub, k, baseline=True)
        current = _interval(pub, k)
        while narrower(current, required):
            candidates = _candidates(pub, k)
            if not candidates:  # cannot happen: hiding everything gives the required interval
                raise SpecificationError(
                    f"no companion left to protect {pub.cell(k).name}; please report this.")
            # only the narrowed ends need solving: an end that is protected stays protected
            ends: list[End] = [e for e, bad in (("lower", current[0] > required[0] + TOLERANCE),
                                                ("upper", current[1] < required[1] - TOLERANCE))
                               if bad]
            best: tuple[float, float, str] | None = None
            pick = None
            for c in candidates:
                trial = _interval(pub.with_status({c: "secondary"}), k, ends=ends, keep=current)
                if not narrower(trial, required):
                    pick = c
                    break
                key = (-(_width(trial) - _width(current)), pub.cell(c).value, c)
                if best is None or key < best:
                    best = key
            if pick is None:
                assert best is not None
                pick = best[2]
            chosen[pick] = "secondary"
            pub = pub.with_status({pick: "secondary"})
            current = _interval(pub, k, ends=ends, keep=current)
    return chosen


def _width(iv: tuple[float, float]) -> float:
    lo, hi = iv
    return math.inf if math.isinf(hi) else hi - lo


def _interval(pub: Publication, cell_id: str, *, baseline: bool = False,
              ends: Sequence[End] = ("lower", "upper"),
              keep: tuple[float, float] = (math.nan, math.nan)) -> tuple[float, float]:
    """The derived (or required) interval; ends not in ``ends`` are taken from ``keep``."""
    lo, hi = derive(pub, cell_id, baseline=baseline, ends=ends)
    return (keep[0] if lo is None else lo.value, keep[1] if hi is None else hi.value)


def _candidates(pub: Publication, cell_id: str) -> list[str]:
    """Shown non-zero cells in the relations of the hidden group that holds ``cell_id``, smallest
    first (ties in cell order)."""
    touching: dict[str, list[Relation]] = {}
    for r in pub.relations:
        for i in (r.total, *r.parts):
            touching.setdefault(i, []).append(r)
    group = {cell_id}
    queue = [cell_id]
    found: set[str] = set()
    while queue:
        i = queue.pop()
        for r in touching.get(i, ()):
            for j in (r.total, *r.parts):
                if pub.status[j] == "shown":
                    if pub.cell(j).value > 0:
                        found.add(j)
                elif j not in group:
                    group.add(j)
                    queue.append(j)
    order = {c.id: n for n, c in enumerate(pub.cells)}
    return sorted(found, key=lambda j: (pub.cell(j).value, order[j]))
