"""What the demo made, counted back through the services (one SQL count per number)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import attrs

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm

LEAD_STATUSES = ("new", "in_progress", "converted", "rejected")


@attrs.frozen
class DemoSummary:
    """What ``seed`` made, counted back through the services."""

    users: int
    leads: Mapping[str, int]  # status -> leads
    contacts: int
    companies: int
    stages: tuple[tuple[str, str, int], ...]  # (pipeline, stage, deals)
    open_tasks: int
    overdue_tasks: int
    notes: int
    staff: tuple[tuple[str, str, str], ...]  # (e-mail, name, role/team)


def summarize(crm: "Crm", *, notes: int = 0) -> DemoSummary:
    """Count what the deployment holds (through the system's services); ``notes`` is passed through."""
    system = crm.system
    users = list(system.users.list(limit=500))
    return DemoSummary(
        users=system.users.count(),
        leads={status: system.leads.count(status=status) for status in LEAD_STATUSES},
        contacts=system.contacts.count(),
        companies=system.companies.count(),
        stages=tuple((p.key, s.key, system.deals.count(pipeline=p.key, stage=s.key))
                     for p in crm.pipelines for s in p.stages),
        open_tasks=system.tasks.count(status="open"),
        overdue_tasks=system.tasks.count(overdue=True),
        notes=notes,
        staff=tuple((u.email, u.name, u.role + (f"/{u.team}" if u.team else "")) for u in users),
    )
