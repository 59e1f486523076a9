"""The linear attacker: the tightest interval anyone can derive for each suppressed count.

A dataset's reports publish counts of people in many places (a home's residents on its county's
page; the county's total in its key figures, on the city page and on the index; the city's total on
every county page). Suppressing a small count protects it only if no combination of what is
published elsewhere gives it back. This module states what is published as a
:class:`Publication` — cells (a count each, with its true value and its status) and the additive
relations between them (a county's total = Σ its homes; the city's total = Σ counties) — and
computes, by linear programming, what an attacker can derive.

What the attacker knows
-----------------------
For every cell: its status (shown, or which marker), and

* a shown cell: its value;
* a cell shown as ``<t`` (primary suppression, :func:`~analysis.disclosure.patterns.protect`):
  ``1 ≤ x ≤ t − 1`` — zeros are published as ``0``, so a marked count is at least one;
* a cell shown as ``[c]`` (secondary suppression): ``x ≥ t`` — every count from 1 to ``t − 1`` is
  already marked ``<t`` and zeros are never hidden, so a companion is known to be at least ``t``
  (an attacker who reads the rule knows this, and it matters: two homes of 1 with a companion of
  exactly ``t`` and the total shown give both 1s back);
* every cell: ``x ≥ 0`` and its *a priori* bounds (:attr:`Cell.upper`: a home's residents do not
  exceed its published beds, a rule of the data contract);
* every relation holds exactly.

Integrality is relaxed: the bounds are those of the linear programme (the relations here form a
hierarchy of sums, whose constraint matrix is totally unimodular, so the LP bounds are integers
anyway). Each bound is one call of :func:`scipy.optimize.linprog` with HiGHS, over the connected
part of the system that holds the cell.

The rule (what counts as a disclosure)
---------------------------------------
The threshold rule itself tells an attacker something: which counts are small, which are zero, and
that the others are at least ``t``. Suppression cannot hide that, and it is what the markers say.
The *required protection interval* of a primarily suppressed cell is therefore the interval an
attacker derives from that alone — every non-zero cell hidden, each known only by its category
(``[1, t−1]`` if small, ``[t, upper]`` otherwise), plus the relations and a priori bounds; for a
home among others under a total that is not small this is the marker's own range ``[1, t−1]``.

**A disclosure is a primarily suppressed cell whose derived interval is narrower than its required
protection interval**: the attacker's lower bound is above the required lower bound, or the upper
bound below the required upper bound (by more than a numerical tolerance). In the terms of
Hundepool et al., *Statistical Disclosure Control* (Wiley, 2012), ch. 4 (the attacker's problem:
a pair of linear programmes per sensitive cell over everything published; upper and lower
protection levels), a cell ``x`` has upper protection level ``hi* − x`` and lower protection level
``x − lo*``: the published numbers may tell no more about a small count than the markers do. This
is the acceptance test of cell-suppression software — tau-Argus and sdcTable (its
``SIMPLEHEURISTIC`` "solves attacker problems" for every primary cell) — with protection levels
that follow from the threshold rather than from a sensitivity rule's parameters. Consequences: a
group of marked homes whose hidden total is below ``t`` (two marked homes, the total shown, nothing
else hidden) is a disclosure whenever the marker's range is required, and so is a group whose
companions carry too little above ``t`` (or too little room below their beds) to hide the small
ones.

Counts that are not primarily suppressed (companions, totals) have no required interval: their
derived intervals are reported (:attr:`Audit.intervals`) but never a disclosure.

Hand-written rather than calling tau-Argus or sdcTable: those are a Java program and an R package
that protect a cube built from microdata; what the reports publish is a few hundred cells tied by
a known hierarchy of sums, and the audit has to run inside the report command on what it is about
to publish. The linear programmes themselves are HiGHS through SciPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from ..errors import SpecificationError

#: what a reader sees in a cell: its value, ``<t`` (small) or ``[c]`` (hidden companion)
Status = Literal["shown", "primary", "secondary"]
STATUSES: tuple[str, ...] = get_args(Status)
#: an end of a derived interval
End = Literal["lower", "upper"]
#: marker of a cell hidden by secondary (complementary) suppression (ONS uses ``[c]``)
SECONDARY_MARKER = "[c]"
#: bounds closer than this are equal (the data are whole numbers; HiGHS works to 1e-7)
TOLERANCE = 1e-6


def marker(threshold: int) -> str:
    """The text shown instead of a small count, e.g. ``"<10"``."""
    return f"<{threshold}"


def is_small(value: float, threshold: int) -> bool:
    """Whether ``value`` is a count that primary suppression hides (``1 ≤ value < threshold``)."""
    return 1 <= value < threshold


@dataclass(frozen=True)
class Cell:
    """One published count of people.

    Attributes
    ----------
    id : str
        Stable identifier; the same count published on several pages is one cell.
    value : float
        The true count.
    label : str
        How messages name it (e.g. ``"residents of 福利院 (I012), county 511102"``).
    pages : tuple of str
        Where it is published (for messages).
    upper : float
        An upper bound everyone knows a priori (a home's beds); ``inf`` when none.
    """

    id: str
    value: float
    label: str = ""
    pages: tuple[str, ...] = ()
    upper: float = math.inf

    @property
    def name(self) -> str:
        return self.label or self.id


@dataclass(frozen=True)
class Relation:
    """``total = Σ parts`` among cells (ids), e.g. a county's residents = Σ its homes'."""

    total: str
    parts: tuple[str, ...]
    label: str = ""


@dataclass(frozen=True)
class Publication:
    """Everything published about one kind of count: cells, relations and each cell's status.

    Construction checks that every relation names known cells and holds for the true values: a
    published total that is not the sum of its parts is a data error, not something to protect.
    """

    cells: tuple[Cell, ...]
    relations: tuple[Relation, ...]
    status: Mapping[str, Status] = field(repr=False)
    threshold: int
    _by_id: dict[str, Cell] = field(init=False, repr=False, compare=False)
    _touching: dict[str, list[int]] = field(init=False, repr=False, compare=False)
    _baseline: dict[str, tuple[Bound | None, Bound | None]] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, Cell] = {}
        for c in self.cells:
            if c.id in by_id:
                raise SpecificationError(f"cell {c.id!r} is listed twice in the publication.")
            if not np.isfinite(c.value) or c.value < 0:
                raise SpecificationError(
                    f"{c.name} = {c.value!r}: a published count must be a number ≥ 0.")
            by_id[c.id] = c
        object.__setattr__(self, "_by_id", by_id)
        touching: dict[str, list[int]] = {}
        for k, r in enumerate(self.relations):
            for i in (r.total, *r.parts):
                touching.setdefault(i, []).append(k)
        object.__setattr__(self, "_touching", touching)
        object.__setattr__(self, "_baseline", {})
        unknown = sorted({s for s in self.status if s not in by_id}
                         | {c.id for c in self.cells if c.id not in self.status})
        if unknown:
            raise SpecificationError(f"cells {unknown[:5]!r} have no status (or no cell).")
        bad = sorted({s for s, v in self.status.items() if v not in STATUSES})
        if bad:
            raise SpecificationError(f"cells {bad[:5]!r}: status must be one of {STATUSES}.")
        for r in self.relations:
            missing = [i for i in (r.total, *r.parts) if i not in by_id]
            if missing:
                raise SpecificationError(
                    f"relation {r.label or r.total!r} names cells that are not published: "
                    f"{missing[:5]!r}.")
            total = by_id[r.total].value
            parts = math.fsum(by_id[p].value for p in r.parts)
            if abs(total - parts) > TOLERANCE * max(1.0, abs(total)):
                raise SpecificationError(
                    f"{by_id[r.total].name} is {total:g} but its parts ({r.label or 'the rows'}) "
                    f"sum to {parts:g}: the published figures do not add up. Rebuild the results "
                    "(pairing-eval build --force) so that totals and rows come from the same data."
                )

    # ------------------------------------------------------------------------------------------

    def cell(self, cell_id: str) -> Cell:
        return self._by_id[cell_id]

    def __contains__(self, cell_id: object) -> bool:
        return cell_id in self._by_id

    @property
    def suppressed(self) -> tuple[str, ...]:
        """Ids of the hidden cells, in cell order."""
        return tuple(c.id for c in self.cells if self.status[c.id] != "shown")

    @property
    def primary(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.cells if self.status[c.id] == "primary")

    @property
    def secondary(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.cells if self.status[c.id] == "secondary")

    def shown(self, cell_id: str) -> object:
        """What a reader sees: the whole number, ``<t`` or ``[c]``."""
        st = self.status[cell_id]
        if st == "primary":
            return marker(self.threshold)
        if st == "secondary":
            return SECONDARY_MARKER
        return int(round(self.cell(cell_id).value))

    def known_bounds(self, cell_id: str) -> tuple[float, float]:
        """What the attacker knows of this cell alone: its value, or its marker's range."""
        c = self.cell(cell_id)
        st = self.status[cell_id]
        if st == "shown":
            return c.value, c.value
        return category_bounds(c, self.threshold, small=st == "primary")

    def baseline_bounds(self, cell_id: str) -> tuple[float, float]:
        """What the threshold rule alone reveals: zero, small (``[1, t−1]``) or ``[t, upper]``."""
        c = self.cell(cell_id)
        if c.value == 0:
            return 0.0, 0.0
        return category_bounds(c, self.threshold, small=is_small(c.value, self.threshold))

    def with_status(self, changes: Mapping[str, Status]) -> Publication:
        """The same publication with some cells' status changed."""
        new = Publication(self.cells, self.relations, {**self.status, **changes}, self.threshold)
        object.__setattr__(new, "_baseline", self._baseline)  # it does not depend on statuses
        return new


def category_bounds(cell: Cell, threshold: int, *, small: bool) -> tuple[float, float]:
    """``[1, min(t−1, upper)]`` for a small count, ``[t, upper]`` for a hidden large one."""
    if small:
        return 1.0, float(min(threshold - 1, cell.upper))
    return float(threshold), float(cell.upper)


# ----------------------------------------------------------------------------------------------
# the attacker's linear programmes
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """One end of a derived interval and what it rests on (for the message)."""

    value: float
    relations: tuple[Relation, ...] = ()
    at_bounds: tuple[tuple[str, str], ...] = ()  # (cell id, "lower"/"upper") the optimum sits on


def derive(publication: Publication, cell_id: str, *, baseline: bool = False,
           ends: Sequence[End] = ("lower", "upper")) -> tuple[Bound | None, Bound | None]:
    """The tightest interval an attacker derives for ``cell_id`` (min and max of the LP).

    Parameters
    ----------
    publication : Publication
    cell_id : str
    baseline : bool
        Derive from the threshold rule alone (every non-zero cell hidden, known by its category):
        the required protection interval. Cached on the publication (it does not depend on the
        statuses, and copies made by :meth:`Publication.with_status` share the cache).
    ends : sequence of {"lower", "upper"}
        Which ends to compute; the other is ``None``.

    Returns
    -------
    (Bound or None, Bound or None)
        Lower and upper end; an unbounded upper end is ``inf``.
    """
    if baseline:
        cached = publication._baseline.get(cell_id)
        if cached is None:
            cached = _derive(publication, cell_id, publication.baseline_bounds, ("lower", "upper"))
            publication._baseline[cell_id] = cached
        lower, upper = cached
        return (lower if "lower" in ends else None), (upper if "upper" in ends else None)
    return _derive(publication, cell_id, publication.known_bounds, ends)


def _derive(publication: Publication, cell_id: str,
            bounds_of: Callable[[str], tuple[float, float]],
            ends: Sequence[End]) -> tuple[Bound | None, Bound | None]:
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    def unknown(i: str) -> bool:
        lo, hi = bounds_of(i)
        return hi > lo

    if not unknown(cell_id):
        v = bounds_of(cell_id)[0]
        return ((Bound(v) if "lower" in ends else None), (Bound(v) if "upper" in ends else None))
    # the connected part of the system that holds the cell
    touching = publication._touching
    cols: dict[str, int] = {cell_id: 0}
    rows: list[int] = []
    seen_rows: set[int] = set()
    queue = [cell_id]
    while queue:
        i = queue.pop()
        for k in touching.get(i, ()):
            if k in seen_rows:
                continue
            seen_rows.add(k)
            rows.append(k)
            r = publication.relations[k]
            for j in (r.total, *r.parts):
                if j not in cols and unknown(j):
                    cols[j] = len(cols)
                    queue.append(j)
    ids = list(cols)
    n = len(ids)
    # sparse: a relation touches a few cells, a component can hold every cell of a large dataset
    entries: tuple[list[int], list[int], list[float]] = ([], [], [])
    b = np.zeros(len(rows))
    for q, k in enumerate(rows):
        r = publication.relations[k]
        for j, coef in ((r.total, 1.0), *((p, -1.0) for p in r.parts)):
            if j in cols:
                entries[0].append(q)
                entries[1].append(cols[j])
                entries[2].append(coef)
            else:
                b[q] -= coef * bounds_of(j)[0]
    a = coo_matrix((entries[2], (entries[0], entries[1])), shape=(len(rows), n)).tocsr()
    box = [bounds_of(i) for i in ids]
    lp_bounds = [(lo, None if math.isinf(hi) else hi) for lo, hi in box]
    out: dict[str, Bound] = {}
    for end, sign in (("lower", 1.0), ("upper", -1.0)):
        if end not in ends:
            continue
        c = np.zeros(n)
        c[0] = sign
        res = linprog(c, A_eq=a if len(rows) else None, b_eq=b if len(rows) else None,
                      bounds=lp_bounds, method="highs")
        if res.status == 3:  # unbounded above
            out[end] = Bound(math.inf)
            continue
        if res.status != 0:
            raise SpecificationError(
                f"the published figures around {publication.cell(cell_id).name} admit no solution "
                f"({res.message}); a total or a bound is inconsistent with its parts.")
        used = tuple(publication.relations[k] for q, k in enumerate(rows)
                     if abs(res.eqlin.marginals[q]) > TOLERANCE)
        at = tuple((ids[j], "lower") for j in range(n) if abs(res.lower.marginals[j]) > TOLERANCE)
        at += tuple((ids[j], "upper") for j in range(n) if abs(res.upper.marginals[j]) > TOLERANCE)
        out[end] = Bound(float(sign * res.fun), used, at)
    return out.get("lower"), out.get("upper")


def narrower(interval: tuple[float, float], required: tuple[float, float]) -> bool:
    """Whether ``interval`` excludes part of ``required`` (beyond the tolerance)."""
    (lo, hi), (rlo, rhi) = interval, required
    return lo > rlo + TOLERANCE or hi < rhi - TOLERANCE


# ----------------------------------------------------------------------------------------------
# the audit
# ----------------------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    return "∞" if math.isinf(v) else f"{v:g}"


@dataclass(frozen=True)
class Disclosure:
    """A small count the published figures narrow beyond its marker."""

    cell: Cell
    shown: object
    interval: tuple[float, float]
    required: tuple[float, float]
    derivation: str

    def render(self) -> str:
        lo, hi = self.interval
        rlo, rhi = self.required
        pages = f" (published on: {', '.join(self.cell.pages)})" if self.cell.pages else ""
        return (f"{self.cell.name}{pages} is shown as {self.shown}, but the published figures "
                f"confine it to [{_fmt(lo)}, {_fmt(hi)}] where its marker allows "
                f"[{_fmt(rlo)}, {_fmt(rhi)}]. {self.derivation}")


@dataclass(frozen=True)
class Audit:
    """The attacker's interval for every suppressed cell and the disclosures among them.

    Attributes
    ----------
    publication : Publication
    intervals : mapping cell id → (lo, hi)
        Every suppressed cell's derived interval.
    required : mapping cell id → (lo, hi)
        Every primarily suppressed cell's required protection interval.
    disclosures : tuple of Disclosure
    """

    publication: Publication = field(repr=False)
    intervals: Mapping[str, tuple[float, float]] = field(repr=False)
    required: Mapping[str, tuple[float, float]] = field(repr=False)
    disclosures: tuple[Disclosure, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.disclosures

    def tightest(self) -> tuple[str, tuple[float, float]] | None:
        """The primarily suppressed cell with the narrowest derived interval (``None`` if none)."""
        primary = self.publication.primary
        if not primary:
            return None
        i = min(primary, key=lambda j: self.intervals[j][1] - self.intervals[j][0])
        return i, self.intervals[i]

    def summary(self) -> str:
        """One line: cells, what is hidden, the tightest interval, disclosures."""
        pub = self.publication
        t = self.tightest()
        tight = ("" if t is None else
                 f"; tightest derived interval of a small count: [{_fmt(t[1][0])}, {_fmt(t[1][1])}] "
                 f"({pub.cell(t[0]).name})")
        return (f"{len(pub.cells)} published count(s) at threshold {pub.threshold}: "
                f"{len(pub.primary)} shown as {marker(pub.threshold)}, {len(pub.secondary)} as "
                f"{SECONDARY_MARKER}{tight}; {len(self.disclosures)} disclosure(s).")

    def render(self, limit: int = 5) -> str:
        lines = [self.summary()]
        lines += [f"- {d.render()}" for d in self.disclosures[:limit]]
        if len(self.disclosures) > limit:
            lines.append(f"… and {len(self.disclosures) - limit} more.")
        return "\n".join(lines)


def explain(publication: Publication, cell_id: str, lower: Bound, upper: Bound,
            required: tuple[float, float]) -> str:
    """The derivation of a narrowed bound in words: the relations and bounds it rests on."""
    ends = []
    if upper.value < required[1] - TOLERANCE:
        ends.append(("upper bound", upper))
    if lower.value > required[0] + TOLERANCE:
        ends.append(("lower bound", lower))
    if len(ends) == 2 and abs(upper.value - lower.value) <= TOLERANCE:
        ends = [("value", Bound(upper.value, tuple(dict.fromkeys(upper.relations + lower.relations)),
                                tuple(dict.fromkeys(upper.at_bounds + lower.at_bounds))))]
    parts = []
    for what, b in ends:
        rels = "; ".join(relation_text(publication, rel) for rel in b.relations)
        parts.append(f"Its {what} {_fmt(b.value)} follows from {rels or 'its own bounds'}"
                     + _bounds_text(publication, cell_id, b.at_bounds))
    return " ".join(parts)


def relation_text(publication: Publication, rel: Relation) -> str:
    """``total (shown) = Σ parts``: the shown parts summed, the hidden ones named with markers."""
    total = publication.cell(rel.total)
    shown_parts = [p for p in rel.parts if publication.status[p] == "shown"]
    hidden = [p for p in rel.parts if publication.status[p] != "shown"]
    known = math.fsum(publication.cell(p).value for p in shown_parts)
    hidden_txt = " + ".join(f"{publication.cell(p).name} ({publication.shown(p)})" for p in hidden)
    what = f"{rel.label}: " if rel.label else ""
    return (f"{what}{total.name} ({publication.shown(rel.total)}) = {_fmt(known)} "
            f"(the {len(shown_parts)} shown part(s))" + (f" + {hidden_txt}" if hidden_txt else ""))


def _bounds_text(publication: Publication, cell_id: str, at: Sequence[tuple[str, str]]) -> str:
    others = [(i, side) for i, side in at if i != cell_id]
    if not others:
        return "."
    words = []
    for i, side in others[:6]:
        lo, hi = publication.known_bounds(i)
        why = {"primary": f"{publication.shown(i)} means ≥ 1 and ≤ {publication.threshold - 1}",
               "secondary": f"{SECONDARY_MARKER} means ≥ {publication.threshold}",
               "shown": "shown"}[publication.status[i]]
        bound = lo if side == "lower" else hi
        words.append(f"{publication.cell(i).name} {'≥' if side == 'lower' else '≤'} {_fmt(bound)} "
                     f"({why}{'; beds' if side == 'upper' and bound == publication.cell(i).upper else ''})")
    more = f" and {len(others) - 6} more" if len(others) > 6 else ""
    return ", with " + ", ".join(words) + more + "."


def audit(publication: Publication, cells: Iterable[str] | None = None) -> Audit:
    """Derive the attacker's interval of every suppressed cell and list the disclosures.

    Parameters
    ----------
    publication : Publication
    cells : iterable of cell ids, optional
        Audit only these suppressed cells (default: all).

    Returns
    -------
    Audit
    """
    wanted = publication.suppressed if cells is None else tuple(cells)
    intervals: dict[str, tuple[float, float]] = {}
    required: dict[str, tuple[float, float]] = {}
    found = []
    for i in wanted:
        lower, upper = derive(publication, i)
        assert lower is not None and upper is not None
        intervals[i] = (lower.value, upper.value)
        if publication.status[i] != "primary":
            continue
        blo, bhi = derive(publication, i, baseline=True)
        assert blo is not None and bhi is not None
        required[i] = (blo.value, bhi.value)
        if narrower(intervals[i], required[i]):
            found.append(Disclosure(publication.cell(i), publication.shown(i), intervals[i],
                                    required[i], explain(publication, i, lower, upper, required[i])))
    return Audit(publication, intervals, required, tuple(found))
