"""A club's visits: each visit counts as a purchase for customer analytics (``crm_register_purchases``)
and members who stopped coming score a churn risk (``crm_score``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Sequence

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, MetaData, String, Table, cast, func, insert, literal, \
    null, select

import crmkit
from crmkit import UTCDateTime, hookimpl

plugin_info = crmkit.PluginInfo(name="visits", version="0.1.0", description="Visits as purchases; churn risk.")

metadata = MetaData()
visits = Table(
    "visits_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("contact_id", ForeignKey(crmkit.schema.contacts.c.id), nullable=False),
    Column("visited_at", UTCDateTime, nullable=False),
)
QUIET_DAYS = 30


def record_visit(crm: Any, contact_id: int, at: datetime) -> None:
    with crm.transaction() as tx:
        tx.conn.execute(insert(visits).values(contact_id=contact_id, visited_at=at))


@hookimpl
def crm_register_tables() -> MetaData:
    return metadata


@hookimpl
def crm_register_purchases() -> Any:
    v = visits.c
    return select(v.contact_id, cast(null(), BigInteger).label("company_id"), v.visited_at.label("occurred_at"),
                  cast(null(), BigInteger).label("amount_minor"), cast(null(), String(3)).label("currency"),
                  literal("visit", String).label("kind"))


@hookimpl
def crm_score(crm: Any, entity_type: str, ids: Sequence[int], now: datetime) -> Mapping[str, Mapping[int, float]] | None:
    if entity_type != "contact":
        return None
    v = visits.c
    with crm.engine.connect() as conn:
        last = dict(conn.execute(select(v.contact_id, func.max(v.visited_at)).where(v.contact_id.in_(list(ids)))
                                 .group_by(v.contact_id)).all())
    return {"churn_risk": {i: min(1.0, (now - at).days / QUIET_DAYS) for i, at in last.items()}}
