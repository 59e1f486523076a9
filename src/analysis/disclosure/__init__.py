"""Disclosure control of the counts of people the reports publish.

=============  ==================================================================================
module         role
=============  ==================================================================================
``audit``      the linear attacker: the tightest interval derivable for each suppressed count
               (HiGHS linear programmes), the protection rule, :func:`audit`
``protect``    primary suppression and greedy secondary suppression until the audit passes
``suppress``   one table: :func:`suppress`, :class:`SuppressedTable`, notes, number formatting
=============  ==================================================================================

The rule and its sources are stated in :mod:`analysis.disclosure.audit`.
"""

from __future__ import annotations

from .audit import (
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
from .protect import check_threshold, primary_status, protect, secondary_suppression
from .suppress import (
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
