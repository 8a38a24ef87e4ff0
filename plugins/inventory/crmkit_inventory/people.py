"""The plugin and the people it sells to: a member's bar sales as purchases for customer analytics
(``crm_register_purchases``), their sales and tab in a personal-data export and scrubbed in an
erasure, and their sales and tab moved to the survivor when contacts are merged.

Sales, tabs and the ledger are business records: an erasure keeps amounts, dates and the link
to the (erased) contact card, and scrubs the free texts that may name the person (a tab
entry's ``method``, a void's reason). ``inventory.*`` events on the contact's timeline are
scrubbed by the core with the rest of it.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Integer, Select, String, delete, func, literal, null, select, update

from crmkit import Tx, ValidationError, hookimpl

from .config import NAME
from .records import to_json
from .sale_records import load_sale
from .tables import refunds, sales, tab_entries, tabs


@hookimpl
def crm_register_purchases() -> Select[Any]:
    """A member's sales that were not voided, at their total (VAT included), kind ``bar_sale``."""
    s = sales.c
    return (select(s.contact_id, null().cast(Integer).label("company_id"), s.created_at.label("occurred_at"),
                   s.total_minor.label("amount_minor"), s.currency, literal("bar_sale", String).label("kind"))
            .where(s.contact_id.is_not(None), s.voided_at.is_(None)))


@hookimpl
def crm_personal_data_export(tx: Tx, subject: Any) -> dict[str, Any]:
    ids = tx.conn.scalars(select(sales.c.id).where(sales.c.contact_id == subject.contact_id).order_by(sales.c.id))
    tab = tx.conn.execute(select(tabs).where(tabs.c.contact_id == subject.contact_id)).first()
    entries = [] if tab is None else [
        {"kind": e.kind, "amount_minor": e.amount_minor, "currency": tab.currency, "method": e.method,
         "sale_id": e.sale_id, "at": e.created_at.isoformat()}
        for e in tx.conn.execute(select(tab_entries).where(tab_entries.c.tab_id == tab.id).order_by(tab_entries.c.id))]
    return {NAME: {"sales": [to_json(load_sale(tx.conn, i)) for i in list(ids)],
                   "tab": None if tab is None else {"currency": tab.currency, "limit_minor": tab.limit_minor,
                                                    "balance_minor": tab.balance_minor, "entries": entries}}}


def _scrub(tx: Tx, table: Any, column: str, rows: Sequence[Any], subject: Any) -> int:
    changed = 0
    length = getattr(table.c[column].type, "length", None)
    for row in rows:
        old = row._mapping[column]
        new = subject.scrub(old) if old else old
        if new != old:
            tx.conn.execute(update(table).where(table.c.id == row.id).values({column: new[:length] if length else new}))
            changed += 1
    return changed


@hookimpl
def crm_personal_data_erase(tx: Tx, subject: Any) -> dict[str, int]:
    theirs = tx.conn.execute(select(sales.c.id, sales.c.void_reason)
                             .where(sales.c.contact_id == subject.contact_id)).all()
    tab_ids = select(tabs.c.id).where(tabs.c.contact_id == subject.contact_id).scalar_subquery()
    entries = tx.conn.execute(select(tab_entries.c.id, tab_entries.c.method)
                              .where(tab_entries.c.tab_id.in_(tab_ids))).all()
    return {sales.name: _scrub(tx, sales, "void_reason", theirs, subject),
            tab_entries.name: _scrub(tx, tab_entries, "method", entries, subject)}


@hookimpl
def crm_merge_records(tx: Tx, entity_type: str, survivor_id: int, merged_ids: Sequence[int]) -> dict[str, int] | None:
    """Sales follow the survivor; the merged contacts' tab entries move to the survivor's tab (made
    if it has none, with the highest of their limits), the balances add up, the emptied tabs go."""
    if entity_type != "contact" or not merged_ids:
        return None
    moved = tx.conn.execute(update(sales).where(sales.c.contact_id.in_(merged_ids))
                            .values(contact_id=survivor_id)).rowcount
    tx.conn.execute(update(refunds).where(refunds.c.contact_id.in_(merged_ids)).values(contact_id=survivor_id))
    theirs = tx.conn.execute(select(tabs).where(tabs.c.contact_id.in_(merged_ids)).order_by(tabs.c.id)
                             .with_for_update()).all()
    if not theirs:
        return {sales.name: moved, tabs.name: 0}
    kept = tx.conn.execute(select(tabs).where(tabs.c.contact_id == survivor_id).with_for_update()).first()
    if kept is None:
        first, theirs = theirs[0], theirs[1:]
        tx.conn.execute(update(tabs).where(tabs.c.id == first.id).values(contact_id=survivor_id))
        kept = tx.conn.execute(select(tabs).where(tabs.c.id == first.id)).one()
    for tab in theirs:
        if tab.currency != kept.currency:
            raise ValidationError(f"contact_id: the bar tabs are in {kept.currency} and {tab.currency}; "
                                  "settle one before merging", field="contact_id")
        tx.conn.execute(update(tab_entries).where(tab_entries.c.tab_id == tab.id).values(tab_id=kept.id))
        tx.conn.execute(delete(tabs).where(tabs.c.id == tab.id))
    total = tx.conn.scalar(select(func.coalesce(func.sum(tab_entries.c.amount_minor), 0))
                           .where(tab_entries.c.tab_id == kept.id))
    limit = max([kept.limit_minor, *(t.limit_minor for t in theirs)])
    tx.conn.execute(update(tabs).where(tabs.c.id == kept.id).values(
        balance_minor=int(total or 0), limit_minor=limit, version=kept.version + 1))
    return {sales.name: moved, tabs.name: len(theirs) + 1}
