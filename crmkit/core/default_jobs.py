"""The core's periodic jobs, registered like a plugin's (``crm_register_periodic_jobs``, ``trylast``).

``core.overdue_tasks`` (every minute) emits ``task.overdue`` once for each open task whose due
time has passed; ``core.customer_segments`` and ``core.scores`` (hourly) recompute the customers'
lifecycle stages and RFM segments and the cards' scores (crmkit.core.reports). The job is named ``core.<job>``: the core's defaults own the ``core.`` prefix.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from .hookspecs import hookimpl
from .jobs import PeriodicJob

if TYPE_CHECKING:  # pragma: no cover
    from .app import Crm

OWNER = "core"
"""The prefix of the core's job names (``core.overdue_tasks``)."""


@hookimpl(trylast=True)
def crm_register_periodic_jobs(crm: "Crm") -> list[PeriodicJob]:
    from .reports.scores_job import recompute_scores
    from .reports.segments_job import recompute_segments
    from .worker import mark_overdue_tasks

    return [PeriodicJob(name="overdue_tasks", every=timedelta(minutes=1), run=mark_overdue_tasks),
            PeriodicJob(name="customer_segments", every=timedelta(hours=1), run=recompute_segments),
            PeriodicJob(name="scores", every=timedelta(hours=1), run=recompute_scores)]

