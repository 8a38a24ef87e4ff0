"""A member's fitness data in their personal-data export; what identifies them erased with them.

Exported: the member row, memberships and packs, freezes, bookings, check-ins and touch points.
Erased: the access-card number (it identifies the person at the door) and every mention of the
person in freeze reasons. Memberships, visits and touch points are business facts and stay,
linked to the erased contact.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from crmkit import Tx, hookimpl

from .config import NAME
from .memberships import load_memberships
from .tables import bookings, checkins, freezes, members, memberships, touches


def _json(row: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row._mapping.items()}


@hookimpl
def crm_personal_data_export(tx: Tx, subject: Any) -> dict[str, Any]:
    cid = subject.contact_id
    member = tx.conn.execute(select(members).where(members.c.contact_id == cid)).first()
    if member is None:
        return {NAME: None}
    ids = select(memberships.c.id).where(memberships.c.contact_id == cid).scalar_subquery()

    def rows(table: Any, cond: Any) -> list[dict[str, Any]]:
        return [_json(r) for r in tx.conn.execute(select(table).where(cond).order_by(table.c.id))]

    return {NAME: {
        "member": _json(member), "memberships": [m.to_json() for m in load_memberships(tx.conn, cid)],
        "freezes": rows(freezes, freezes.c.membership_id.in_(ids)),
        "bookings": rows(bookings, bookings.c.contact_id == cid),
        "checkins": rows(checkins, checkins.c.contact_id == cid),
        "touch_points": rows(touches, touches.c.contact_id == cid)}}


@hookimpl
def crm_personal_data_erase(tx: Tx, subject: Any) -> dict[str, int]:
    cid = subject.contact_id
    cards = tx.conn.execute(update(members).where(members.c.contact_id == cid, members.c.card.is_not(None))
                            .values(card=None)).rowcount
    ids = select(memberships.c.id).where(memberships.c.contact_id == cid).scalar_subquery()
    changed = 0
    for row in tx.conn.execute(select(freezes.c.id, freezes.c.reason).where(freezes.c.membership_id.in_(ids))):
        new = subject.scrub(row.reason)
        if new != row.reason:
            tx.conn.execute(update(freezes).where(freezes.c.id == row.id).values(reason=new[:300]))
            changed += 1
    return {members.name: int(cards or 0), freezes.name: changed}
