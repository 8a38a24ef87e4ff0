"""Reports: every report is SQL aggregates, never a Python loop over rows.

:func:`run_report` runs a named report of :data:`REPORTS` (KPIs, definitions in
docs/reports.md) as one acting user, over a :class:`Scope`, alone or before/after.
"""

from __future__ import annotations

from .catalog import REPORTS, ReportSpec, run_report
from .funnel import FunnelReport, StageFunnel, funnel
from .result import Comparison, Report
from .scope import Scope

__all__ = ["Comparison", "FunnelReport", "REPORTS", "Report", "ReportSpec", "Scope", "StageFunnel", "funnel",
           "run_report"]
