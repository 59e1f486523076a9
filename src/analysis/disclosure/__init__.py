"""Disclosure control of the counts of people the reports publish.

=============  ==================================================================================
module         role
=============  ==================================================================================
``attacker``   what is published (:class:`Publication`: cells, additive relations, statuses);
               the linear attacker's tightest interval for each suppressed count (HiGHS linear
               programmes); the protection rule; :func:`audit`
``patterns``   primary suppression and greedy secondary suppression until the audit passes
               (:func:`protect`)
``tables``     one table: :func:`suppress`, :class:`SuppressedTable`, its notes, number
               formatting, the low-threshold notice and acknowledgement
=============  ==================================================================================

The modules are not named after the functions they define (``audit``, ``protect``,
``suppress``), which are imported here.

The rule and its sources are stated in :mod:`analysis.disclosure.attacker`.
"""

from __future__ import annotations

from .attacker import (
    SECONDARY_MARKER,
    Audit,
    Cell,
    Disclosure,
    Publication,
    Relation,
    Status,
    audit,
    derive,
    marker,
)
from .patterns import check_threshold, primary_status, protect, secondary_suppression
from .tables import (
    DEFAULT_THRESHOLD,
    SuppressedTable,
    check_acknowledged,
    format_numbers,
    from_publication,
    suppress,
    threshold_notice,
)

__all__ = [
    "DEFAULT_THRESHOLD", "SECONDARY_MARKER", "Audit", "Cell", "Disclosure", "Publication",
    "Relation", "Status", "SuppressedTable", "audit", "check_acknowledged", "check_threshold", "derive", "format_numbers",
    "from_publication", "marker", "primary_status", "protect", "secondary_suppression", "suppress",
    "threshold_notice",
]
