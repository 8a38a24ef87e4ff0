"""Who gets a new lead nobody is responsible for: the deployment's ``[lead_assignment]`` rule.

``queue`` (the default) leaves it unassigned: every manager sees it and one takes it
(``crmkit leads update ID --responsible me``). ``round_robin`` gives it to the active users of
one team in turn, by id: the one after the team member responsible for the newest lead any
team member has (whoever gave it to them), the first after the last. Concurrent captures on
PostgreSQL take turns too: the team's user rows are locked for the rest of the command, so the
second capture sees the first one's lead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from .. import schema

if TYPE_CHECKING:  # pragma: no cover
    from ..settings import LeadAssignment


def assign_lead(conn: Connection, rule: "LeadAssignment") -> int | None:
    """The user a new unassigned lead goes to under ``rule`` (None: it stays in the queue)."""
    if rule.mode != "round_robin" or rule.team is None:
        return None
    u, ld = schema.users.c, schema.leads.c
    team = list(conn.scalars(select(u.id).where(u.team == rule.team, u.active.is_(True))
                             .order_by(u.id).with_for_update()))
    if not team:
        return None  # nobody to take turns: the lead waits in the queue
    last = conn.scalar(select(ld.responsible_id).where(ld.responsible_id.in_(team))
                       .order_by(ld.id.desc()).limit(1))
    return int(next((uid for uid in team if last is None or uid > last), team[0]))
