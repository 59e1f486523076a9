"""Resource allocation (in development)."""
from .checker import check_assignment, check_budget  # noqa: F401
from .optimise import AllocationResult, allocate_budget, candidate_pairs, optimise_pairs  # noqa: F401
from .response import Response  # noqa: F401
