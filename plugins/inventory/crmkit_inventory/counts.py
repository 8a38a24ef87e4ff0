"""Stock counts: a count sheet per location, counted quantities entered over time (partially,
a product entered again replaces its figure), closed into adjustment movements.

Closing compares each counted product with its on-hand quantity at that moment (from the
ledger) and posts the difference as an ``adjustment`` with the line's reason (default
``"count"``): a shortage leaves at the moving average, a surplus comes in at the average (or the
last receipt's unit cost). Products not entered are left as they are.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import and_, insert, select, update

from crmkit import ConflictError, Crm, NotFoundError, ValidationError, check_id, check_text

from . import alerts
from .config import MANAGE, SELL
from .ledger import lock_product, on_hand, post
from .lookup import lines_of, location_row, product_row
from .quantity import parse_qty, qty
from .records import to_json
from .tables import count_lines, counts, locations, products


@attrs.frozen
class CountLine:
    sku: str
    counted: Decimal
    reason: str
    expected: Decimal | None  # on hand when the count was closed
    difference: Decimal | None
    movement_id: int | None


@attrs.frozen
class Count:
    id: int
    location: str
    status: str
    opened_at: datetime
    closed_at: datetime | None
    lines: tuple[CountLine, ...]

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


class Counts:
    """Count sheets acting as user ``actor_id``."""

    def __init__(self, crm: Crm, actor_id: int | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self.services = crm.as_user(actor_id)

    def open(self, location: Any) -> Count:
        """A new count sheet for ``location`` (one open sheet per location at a time)."""
        self.services.access.require(MANAGE, "start stock counts")
        with self.crm.transaction(self.actor_id) as tx:
            where = location_row(tx.conn, location)
            c = counts.c
            busy = tx.conn.scalar(select(c.id).where(c.location_id == where.id, c.status == "open"))
            if busy is not None:
                raise ConflictError(f"location: count {busy} of {where.key} is still open", field="location")
            new = tx.conn.execute(insert(counts).values(location_id=where.id, status="open", opened_by=self.actor_id,
                                                        opened_at=tx.now)).inserted_primary_key
            assert new is not None
            tx.emit("inventory.count_opened", "inventory_location", where.id, data={"count_id": int(new[0])})
            return load_count(tx.conn, int(new[0]))

    def enter(self, count_id: Any, lines: Any) -> Count:
        """Record counted quantities: ``[{"sku", "qty", "reason"?}]`` (``qty`` 0 or more)."""
        self.services.access.require(SELL, "enter counted quantities")
        ident = check_id(count_id, "count_id")
        checked = lines_of(lines, most=500)
        with self.crm.transaction(self.actor_id) as tx:
            self._open_sheet(tx.conn, ident)
            cl = count_lines.c
            for n, line in enumerate(checked):
                extra = sorted(set(line) - {"sku", "qty", "reason"})
                if extra:
                    raise ValidationError(f"lines[{n}].{extra[0]}: unknown field", field=f"lines[{n}].{extra[0]}")
                product = product_row(tx.conn, line.get("sku"), f"lines[{n}].sku")
                counted = parse_qty(line.get("qty"), f"lines[{n}].qty", fractional=product.fractional,
                                    positive=False)
                reason = check_text(line.get("reason") or "count", f"lines[{n}].reason", max_length=80)
                cond = and_(cl.count_id == ident, cl.product_id == product.id)
                values = {"counted_milli": counted, "reason": reason, "entered_by": self.actor_id,
                          "entered_at": tx.now}
                if tx.conn.scalar(select(cl.id).where(cond)) is None:
                    tx.conn.execute(insert(count_lines).values(count_id=ident, product_id=product.id, **values))
                else:
                    tx.conn.execute(update(count_lines).where(cond).values(**values))
            return load_count(tx.conn, ident)

    def close(self, count_id: Any) -> Count:
        """Close the sheet: each counted product's difference to on hand becomes an adjustment."""
        self.services.access.require(MANAGE, "close stock counts")
        ident = check_id(count_id, "count_id")
        with self.crm.transaction(self.actor_id) as tx:
            sheet = self._open_sheet(tx.conn, ident, lock=True)
            cl = count_lines.c
            touched = []
            for line in tx.conn.execute(select(count_lines).where(cl.count_id == ident).order_by(cl.id)).all():
                product = lock_product(tx.conn, line.product_id)
                held, _ = on_hand(tx.conn, product.id, sheet.location_id)
                diff = line.counted_milli - held
                movement_id = None
                if diff:
                    movement_id = post(tx, "adjustment", product, sheet.location_id, diff, reason=line.reason,
                                       count_id=ident).id
                    touched.append((product.id, sheet.location_id))
                tx.conn.execute(update(count_lines).where(cl.id == line.id).values(
                    expected_milli=held, movement_id=movement_id))
            tx.conn.execute(update(counts).where(counts.c.id == ident).values(
                status="closed", closed_by=self.actor_id, closed_at=tx.now))
            result = load_count(tx.conn, ident)
            tx.emit("inventory.count_closed", "inventory_location", sheet.location_id, data={
                "count_id": ident, "adjustments": [{"sku": ln.sku, "difference": str(ln.difference)}
                                                   for ln in result.lines if ln.difference]})
            alerts.check(tx, touched)
            return result

    def recent(self, *, limit: int = 20) -> list[Count]:
        """The open count sheets, then the latest closed ones (``limit`` in all), without their lines."""
        c = counts.c
        query = (select(counts, locations.c.key).join(locations, locations.c.id == c.location_id)
                 .order_by((c.status == "open").desc(), c.id.desc()).limit(limit))
        with self.crm.engine.connect() as conn:
            return [Count(r.id, r.key, r.status, r.opened_at, r.closed_at, ()) for r in conn.execute(query)]

    def get(self, count_id: Any) -> Count:
        with self.crm.engine.connect() as conn:
            return load_count(conn, check_id(count_id, "count_id"))

    @staticmethod
    def _open_sheet(conn: Any, ident: int, *, lock: bool = False) -> Any:
        query = select(counts).where(counts.c.id == ident)
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise NotFoundError(f"count {ident} does not exist", field="count_id")
        if row.status != "open":
            raise ConflictError(f"count {ident} is closed", field="count_id")
        return row


def load_count(conn: Any, ident: int) -> Count:
    row = conn.execute(select(counts, locations.c.key).join(locations, locations.c.id == counts.c.location_id)
                       .where(counts.c.id == ident)).first()
    if row is None:
        raise NotFoundError(f"count {ident} does not exist", field="count_id")
    cl = count_lines.c
    lines = tuple(
        CountLine(r.sku, qty(r.counted_milli), r.reason, None if r.expected_milli is None else qty(r.expected_milli),
                  None if r.expected_milli is None else qty(r.counted_milli - r.expected_milli), r.movement_id)
        for r in conn.execute(select(count_lines, products.c.sku).join(products, products.c.id == cl.product_id)
                              .where(cl.count_id == ident).order_by(products.c.sku)))
    return Count(row.id, row.key, row.status, row.opened_at, row.closed_at, lines)
