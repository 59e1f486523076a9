"""The reports: :mod:`analysis.reports.sections` (one module per report section, read by the
report notebooks through :func:`~analysis.reports.sections.open_report`) and the driver
``run_reports``, which executes the notebooks with papermill per county (in parallel), exports HTML
without code and writes the index. See :mod:`analysis.reports.driver`.
"""

from .driver import ReportOutcome, TaskResult, check_parameters, run_reports

__all__ = ["ReportOutcome", "TaskResult", "check_parameters", "run_reports"]
