"""Merging duplicates: a merged-away contact's or lead's calls move to the survivor."""

from __future__ import annotations

from typing import Mapping, Sequence

from sqlalchemy import update

from crmkit import Tx, hookimpl

from .schema import calls

_COLUMNS = {"contact": calls.c.contact_id, "lead": calls.c.lead_id}


@hookimpl
def crm_merge_records(tx: Tx, entity_type: str, survivor_id: int, merged_ids: Sequence[int]) -> Mapping[str, int] | None:
    column = _COLUMNS.get(entity_type)
    if column is None:
        return None
    moved = tx.conn.execute(update(calls).where(column.in_(list(merged_ids))).values({column.name: survivor_id}))
    return {"telephony_calls": moved.rowcount}
