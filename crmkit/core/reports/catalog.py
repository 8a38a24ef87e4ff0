"""Every named report, run as one acting user, alone or before/after.

    from crmkit.core.reports import run_report
    report = run_report(crm.as_user(alice.id), "conversion", since="2026-01-01", until="2026-03-31")
    both = run_report(crm, "average_check", since="2026-04-01", until="2026-06-30", compare_to="previous")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import attrs

from ..errors import ValidationError
from . import backtest, customers, kpi_deals, kpi_leads, kpi_people
from .result import Comparison, Report
from .scope import Scope, previous_period

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm
    from ..services import Services


@attrs.frozen
class ReportSpec:
    """A named report: the function computing it and one line saying what it measures."""

    name: str
    run: Callable[["Services", Scope], Report]
    summary: str


REPORTS: dict[str, ReportSpec] = {s.name: s for s in (
    ReportSpec("conversion", kpi_leads.conversion, "leads created -> with a deal -> won, per 100"),
    ReportSpec("average_check", kpi_deals.average_check, "deals won: count, total and average per currency"),
    ReportSpec("base_growth", kpi_people.base_growth, "customers won, lost, net and base per month"),
    ReportSpec("handling_time", kpi_leads.handling_time,
               "lead created -> first action, qualified, converted: median and p90"),
    ReportSpec("funnel", kpi_deals.funnel_report, "per stage: entered, now, advanced, conversion, median time"),
    ReportSpec("time_in_stage", kpi_deals.time_in_stage, "per stage: time spent (median, p90), open and stalled deals"),
    ReportSpec("lost_reasons", kpi_deals.lost_reasons, "deals lost per stage and reason"),
    ReportSpec("channels", kpi_leads.channels, "leads, conversion and revenue per channel and UTM source"),
    ReportSpec("managers", kpi_people.managers, "per manager: leads, conversion, won amount, overdue tasks"),
    ReportSpec("tasks", kpi_people.tasks, "tasks done on time vs late, overdue now"),
    ReportSpec("lifecycle", customers.lifecycle_report, "contacts and companies per lifecycle stage, now"),
    ReportSpec("rfm", customers.rfm_report, "customers per RFM segment: scores, purchases, amount"),
    ReportSpec("score_backtest", backtest.score_backtest,
               "lead_win calibration on deals closed in the period: predicted vs actual per band, Brier"),
    ReportSpec("cohorts", customers.cohorts, "customers by month of first purchase: share buying 1-12 months later"),
)}


def run_report(who: "Crm | Services", name: str, *, compare_to: str | None = None, **options: Any) -> Report | Comparison:
    """Run report ``name`` over the scope given by ``options`` (:class:`Scope` fields, text or
    values) as the acting user of ``who`` (a ``Crm`` is the system: everything); with
    ``compare_to`` (``previous``, ``year`` or ``FROM..TO``), the same report over both periods."""
    services = who.as_user(None) if hasattr(who, "as_user") else who
    spec = REPORTS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValidationError(f"report: no report {str(name)[:40]!r} (reports: {', '.join(REPORTS)})", field="report")
    scope = Scope.parse(services.crm, **options)
    after = spec.run(services, scope)
    if compare_to is None or compare_to == "":
        return after
    if not isinstance(compare_to, str) or len(compare_to) > 50:
        raise ValidationError("compare_to: previous, year or FROM..TO (dates)", field="compare_to")
    since, until = previous_period(services.crm, scope, compare_to)
    return Comparison(before=spec.run(services, scope.shifted(since, until)), after=after)
