"""Low-stock alerts: a threshold per product and location; while stock is below it, exactly one
open task for the bar manager (made when stock first falls below, completed when it is back at
or above the threshold). Runs inside the transaction of the movements that changed the stock."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Iterable

from sqlalchemy import select, update

from crmkit import Tx, schema

from .config import LOW_STOCK_RULE, config
from .ledger import on_hand
from .quantity import qty
from .tables import locations, products, thresholds

log = logging.getLogger(__name__)


def _manager(tx: Tx, email: str) -> int | None:
    """The bar manager's user id; ``None`` (unassigned) when the setting names no active user, so a
    wrong e-mail in crmkit.toml never stops a sale."""
    if not email:
        return None
    u = schema.users.c
    found = tx.conn.scalar(select(u.id).where(u.email == email.strip().lower(), u.active.is_(True)))
    if found is None:
        log.warning("inventory: [settings.inventory] manager %r is not an active user; the task is unassigned", email)
    return None if found is None else int(found)


def check(tx: Tx, touched: Iterable[tuple[int, int]]) -> None:
    """Open or close the low-stock task of each touched (product id, location id) with a threshold."""
    pairs = set(touched)
    if not pairs:
        return
    t = thresholds.c
    rows = tx.conn.execute(select(thresholds).where(t.product_id.in_({p for p, _ in pairs}))).all()
    for row in rows:
        if (row.product_id, row.location_id) in pairs:
            _review(tx, row)


def _review(tx: Tx, row: Any) -> None:
    held, _ = on_hand(tx.conn, row.product_id, row.location_id)
    below = held < row.min_milli
    task_id = row.task_id
    tasks = tx.crm.as_user(None).tasks
    if below and task_id is None:
        product = tx.conn.execute(select(products).where(products.c.id == row.product_id)).one()
        where = tx.conn.execute(select(locations).where(locations.c.id == row.location_id)).one()
        settings = config(tx.crm)
        task = tasks.add(
            title=f"Restock {product.name} ({product.sku}) at {where.name}"[:300],
            description=(f"{qty(held)} {product.unit} left at {where.name}; the minimum is "
                         f"{qty(row.min_milli)} {product.unit}."),
            assignee_id=_manager(tx, settings.manager), due_at=tx.now + timedelta(hours=settings.task_due_hours),
            rule=LOW_STOCK_RULE)
        tx.conn.execute(update(thresholds).where(thresholds.c.id == row.id).values(task_id=task.id))
        tx.emit("inventory.low_stock", "task", task.id, data={
            "sku": product.sku, "location": where.key, "on_hand": str(qty(held)),
            "minimum": str(qty(row.min_milli))})
    elif not below and task_id is not None:
        status = tx.conn.scalar(select(schema.tasks.c.status).where(schema.tasks.c.id == task_id))
        if status == "open":
            tasks.complete(task_id)
        tx.conn.execute(update(thresholds).where(thresholds.c.id == row.id).values(task_id=None))
