"""A person's calls in their personal-data export, and erased with them.

A call is about the person when it is linked to their contact, one of their leads or deals, or
when its outside party's number is one of theirs. Erasing keeps the call as a fact (direction,
times, duration, result, who took it, its cards) and removes what identifies the caller: the
number (``phone`` becomes NULL, as for a hidden number; the outside party's ``from_number`` or
``to_number`` becomes ``[erased]``), mentions of the person in the other texts, and the
recording's URL (the recording itself lives at the provider: delete it there). The URL is also
handed to the core (``subject.erase_text``), which erases it from the ``telephony.*`` events on
the timelines. A provider event arriving for the call after the erasure is new data: it may
bring the number back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select, update

from crmkit import Tx, hookimpl, to_dict

from . import config
from .events import CallRecord
from .schema import calls

ERASED = "[erased]"


def about(subject: Any) -> ColumnElement[bool]:
    """The calls about ``subject`` (a ``crm_personal_data_*`` hook's data subject)."""
    c = calls.c
    return or_(c.contact_id == subject.contact_id, c.lead_id.in_(subject.lead_ids),
               c.deal_id.in_(subject.deal_ids), c.phone.in_(subject.phones))


@hookimpl
def crm_personal_data_export(tx: Tx, subject: Any) -> dict[str, Any]:
    rows = tx.conn.execute(select(calls).where(about(subject)).order_by(calls.c.id)).all()
    return {config.NAME: {"calls": [to_dict(CallRecord.from_row(r)) for r in rows]}}


@hookimpl
def crm_personal_data_erase(tx: Tx, subject: Any) -> dict[str, int]:
    rows = tx.conn.execute(select(calls).where(about(subject)).order_by(calls.c.id)).all()
    for row in rows:
        if row.recording_url:
            subject.erase_text(row.recording_url)
        outside = "to_number" if row.direction == "outbound" else "from_number"
        values: dict[str, Any] = {
            "phone": None, "recording_url": None, "hangup_cause": subject.scrub(row.hangup_cause),
            "from_number": subject.scrub(row.from_number), "to_number": subject.scrub(row.to_number),
        }
        if row._mapping[outside] is not None:
            values[outside] = ERASED
        tx.conn.execute(update(calls).where(calls.c.id == row.id).values(**values, updated_at=tx.now))
    return {calls.name: len(rows)}
