"""Who a call belongs to: the caller's cards (contact, open deal, open lead) and the responsible user."""

from __future__ import annotations

from typing import Any, Mapping

import attrs
from sqlalchemy import Connection, select

from crmkit import ValidationError, normalize_phone, schema

from .config import TelephonySettings
from .schema import calls

OPEN_LEAD = ("new", "in_progress")
NOBODY = "nobody"
"""``routed_by`` of a routed call nobody is responsible for (``None``: the call is not routed yet)."""


@attrs.frozen
class Links:
    """The cards and people a new call is attached to."""

    contact_id: int | None = None
    deal_id: int | None = None
    lead_id: int | None = None
    responsible_id: int | None = None
    routed_by: str = NOBODY


def phone_or_none(raw: str | None, region: str) -> str | None:
    """``raw`` in E.164, or ``None`` for a hidden caller or anything that is not a phone number."""
    if not raw or raw.startswith("client:") or raw.startswith("sip:"):
        return None
    try:
        return normalize_phone(raw, region)
    except ValidationError:
        return None


def user_of(conn: Connection, ref: str | int | None) -> int | None:
    """An active user by id or e-mail (``None`` when there is none)."""
    if ref is None:
        return None
    u = schema.users.c
    cond = u.id == ref if isinstance(ref, int) else u.email == str(ref).strip().lower()
    return conn.scalar(select(u.id).where(cond, u.active.is_(True)))


def extension_user(conn: Connection, cfg: TelephonySettings, extension: str | None) -> int | None:
    return user_of(conn, cfg.extensions.get(extension)) if extension else None


def telephony_users(conn: Connection, extensions: Mapping[str, Any]) -> list[int]:
    """The active users of the extension table, in its order, each once."""
    found = (user_of(conn, ref) for ref in extensions.values())
    return list(dict.fromkeys(u for u in found if u is not None))


def next_in_turn(conn: Connection, cfg: TelephonySettings) -> int | None:
    """Round-robin: the telephony user after the one the last round-robin call went to."""
    users = telephony_users(conn, cfg.extensions)
    if not users:
        return None
    last = conn.scalar(select(calls.c.responsible_id).where(calls.c.routed_by == "round_robin")
                       .order_by(calls.c.id.desc()).limit(1))
    if last not in users:
        return users[0]
    return users[(users.index(last) + 1) % len(users)]


def find_links(conn: Connection, cfg: TelephonySettings, phone: str | None, user_id: int | None) -> Links:
    """The caller's contact and its open deal, else an open lead with that number; and who is responsible.

    Responsible: the deal's, else the contact's, else the lead's, else the user whose
    extension is on the call, else the next telephony user in turn (if ``round_robin``).
    """
    contact_id = deal_id = lead_id = None
    owners: list[tuple[str, int | None]] = []
    if phone is not None:
        ph = schema.contact_phones.c
        contact_id = conn.scalar(select(ph.contact_id).where(ph.phone == phone).order_by(ph.contact_id).limit(1))
    if contact_id is not None:
        d = schema.deals.c
        deal = conn.execute(select(d.id, d.responsible_id).where(d.contact_id == contact_id, d.status == "open")
                            .order_by(d.updated_at.desc(), d.id.desc()).limit(1)).first()
        if deal is not None:
            deal_id = deal.id
            owners.append(("deal", deal.responsible_id))
        c = schema.contacts.c
        owners.append(("contact", conn.scalar(select(c.responsible_id).where(c.id == contact_id))))
    elif phone is not None:
        ld = schema.leads.c
        lead = conn.execute(select(ld.id, ld.responsible_id).where(ld.phone == phone, ld.status.in_(OPEN_LEAD))
                            .order_by(ld.id.desc()).limit(1)).first()
        if lead is not None:
            lead_id = lead.id
            owners.append(("lead", lead.responsible_id))
    owners.append(("extension", user_id))
    for how, who in owners:
        if who is not None:
            return Links(contact_id, deal_id, lead_id, who, how)
    turn = next_in_turn(conn, cfg) if cfg.round_robin else None
    return Links(contact_id, deal_id, lead_id, turn, "round_robin" if turn is not None else NOBODY)
