"""Merging duplicates: installment plans hang on deals, and the core re-points the deals of a
merged-away contact or company; the merge event counts the plans (and so the payments) that moved."""

from __future__ import annotations

from typing import Mapping, Sequence

from sqlalchemy import func, select

from crmkit import Tx, hookimpl, schema

from .tables import plans

_COLUMNS = {"contact": schema.deals.c.contact_id, "company": schema.deals.c.company_id}


@hookimpl
def crm_merge_records(tx: Tx, entity_type: str, survivor_id: int, merged_ids: Sequence[int]) -> Mapping[str, int] | None:
    column = _COLUMNS.get(entity_type)
    if column is None:
        return None
    query = (select(func.count()).select_from(plans).join(schema.deals, schema.deals.c.id == plans.c.deal_id)
             .where(column == survivor_id))
    return {"installments_plans_of_the_survivor": int(tx.conn.scalar(query) or 0)}
