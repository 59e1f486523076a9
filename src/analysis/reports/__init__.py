"""The report driver: ``run_reports`` executes the report notebooks with papermill per county (in
parallel), exports HTML without code and writes the index. See :mod:`analysis.reports.driver`.
"""

from .driver import ReportOutcome, TaskResult, check_parameters, run_reports

__all__ = ["ReportOutcome", "TaskResult", "check_parameters", "run_reports"]
