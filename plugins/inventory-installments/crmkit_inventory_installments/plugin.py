"""The ``inventory_installments`` glue plugin (``PluginInfo(auto_enable=("inventory", "installments"))``).

It answers the inventory plugin's hook ``inventory_tab_holds``: when the member (a contact) has
installment items past due and unpaid on an active plan of one of their deals, the tab gets one
hold that blocks charges and reduces the limit by the overdue amount in the tab's currency. It
owns no tables. It reads the installments plugin's tables (its published ``tables`` module) and
returns the inventory plugin's ``TabHold``: a bridge knows both sides; the sides never import it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

import crmkit
from crmkit import Money, hookimpl, schema
from crmkit_installments.tables import items, plans
from crmkit_inventory.hooks import TabHold

from . import __version__

NAME = "inventory_installments"

plugin_info = crmkit.PluginInfo(
    name=NAME, version=__version__, api=">=1.0,<2", auto_enable=("inventory", "installments"),
    description="An overdue installment closes the member's bar tab and shrinks its limit.",
)


def overdue(conn: Any, contact_id: int, today: Any) -> dict[str, int]:
    """The contact's overdue installment amounts in minor units, per currency (one SQL aggregate)."""
    i, p, d = items.c, plans.c, schema.deals.c
    query = (select(p.currency, func.sum(i.amount_minor - i.paid_minor))
             .select_from(items.join(plans, p.id == i.plan_id).join(schema.deals, d.id == p.deal_id))
             .where(d.contact_id == contact_id, p.status == "active", i.due_date < today,
                    i.paid_minor < i.amount_minor)
             .group_by(p.currency))
    return {cur: int(total) for cur, total in conn.execute(query) if total}


@hookimpl
def inventory_tab_holds(tx: Any, contact_id: int, currency: str) -> TabHold | None:
    today = tx.now.astimezone(tx.crm.settings.tz).date()
    owed = overdue(tx.conn, contact_id, today)
    if not owed:
        return None
    shown = ", ".join(str(Money.from_minor(v, c)) for c, v in sorted(owed.items()))
    reduce_by = Money.from_minor(owed[currency], currency) if currency in owed else None
    return TabHold(reason=f"overdue installments: {shown}", blocks=True, reduce_by=reduce_by)
