"""The plugin's service: the catalogue (:class:`.catalog.Catalog`) and the stock ledger's commands.

    from crmkit_inventory.service import Inventory
    inv = Inventory(crm, alice.id)
    inv.receive("bar", [{"sku": "WATER-05", "qty": "24", "unit_cost": "0.40"}], supplier="Aqua Ltd")
    inv.write_off("bar", "WATER-05", "1", reason="broken")
    inv.stock(location="bar")

Every command is one transaction (or joins the open one); a refused line leaves nothing written.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Select, and_, func, select, update

from crmkit import ConflictError, Crm, NotFoundError, ValidationError, check_id, check_limit, check_text

from . import alerts, refunds
from .catalog import Catalog
from .config import MANAGE, SELL
from .ledger import lock_product, post
from .lookup import amount, lines_of, location_row, product_row, supplier_id
from .quantity import parse_qty, qty, round_half_up
from .records import Movement, StockLevel, money
from .tables import locations, movements, products, thresholds

REASON_MAX = 80


def movement_query() -> Select[Any]:
    """Movements with their product's SKU and location key."""
    m = movements.c
    return (select(movements, products.c.sku, locations.c.key.label("location"))
            .join(products, products.c.id == m.product_id).join(locations, locations.c.id == m.location_id))


class Inventory(Catalog):
    """Products and stock acting as user ``actor_id`` (``None``: the system)."""

    def __init__(self, crm: Crm, actor_id: int | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self.services = crm.as_user(actor_id)

    def _movements(self, conn: Any, ids: Sequence[int]) -> list[Movement]:
        rows = conn.execute(movement_query().where(movements.c.id.in_(ids)).order_by(movements.c.id))
        return [Movement.of(r) for r in rows]

    # -- commands ------------------------------------------------------------------

    def receive(self, location: Any, lines: Any, *, supplier: Any = None) -> list[Movement]:
        """Receive goods at ``location``: each line ``{"sku", "qty", "unit_cost"}`` (and optionally
        ``currency``, which must be the bar's) is one receipt movement at that unit cost."""
        self.services.access.require(MANAGE, "receive stock")
        checked = lines_of(lines)
        with self.crm.transaction(self.actor_id) as tx:
            where = location_row(tx.conn, location)
            source = supplier_id(tx.conn, supplier)
            ids, touched = [], []
            for n, line in enumerate(checked):
                self._only(line, {"sku", "qty", "unit_cost", "currency"}, f"lines[{n}]")
                product = product_row(tx.conn, line.get("sku"), f"lines[{n}].sku", lock=True)
                q = parse_qty(line.get("qty"), f"lines[{n}].qty", fractional=product.fractional)
                cost = amount(line.get("unit_cost"), product.currency, f"lines[{n}].unit_cost",
                              given_currency=line.get("currency"), currency_field=f"lines[{n}].currency")
                posted = post(tx, "receipt", product, where.id, q, unit_cost_minor=cost.minor_units,
                              supplier_id=source, field=f"lines[{n}].qty")
                ids.append(posted.id)
                touched.append((product.id, where.id))
            tx.emit("inventory.received", "inventory_location", where.id, data={
                "location": where.key, "supplier_id": source, "movements": ids})
            alerts.check(tx, touched)
            return self._movements(tx.conn, ids)

    def write_off(self, location: Any, sku: Any, quantity: Any, *, reason: str) -> Movement:
        """Take ``quantity`` out of stock at ``location`` (broken, expired, staff use), with a reason."""
        self.services.access.require(SELL, "write stock off")
        why = check_text(reason, "reason", max_length=REASON_MAX, required=True)
        with self.crm.transaction(self.actor_id) as tx:
            where = location_row(tx.conn, location)
            product = product_row(tx.conn, sku, lock=True)
            q = parse_qty(quantity, fractional=product.fractional)
            posted = post(tx, "write_off", product, where.id, -q, reason=why)
            tx.emit("inventory.written_off", "inventory_location", where.id, data={
                "sku": product.sku, "qty": str(qty(q)), "reason": why, "movement_id": posted.id})
            alerts.check(tx, [(product.id, where.id)])
            return self._movements(tx.conn, [posted.id])[0]

    def transfer(self, sku: Any, quantity: Any, *, source: Any, target: Any) -> list[Movement]:
        """Move ``quantity`` from location ``source`` to ``target``: an outgoing movement at the
        source's average cost and an incoming one carrying exactly that value."""
        self.services.access.require(SELL, "transfer stock")
        with self.crm.transaction(self.actor_id) as tx:
            src, dst = location_row(tx.conn, source, "source"), location_row(tx.conn, target, "target")
            if src.id == dst.id:
                raise ValidationError("target: the same location as the source", field="target")
            product = product_row(tx.conn, sku, lock=True)
            q = parse_qty(quantity, fractional=product.fractional)
            out = post(tx, "transfer_out", product, src.id, -q)
            into = post(tx, "transfer_in", product, dst.id, q, value_minor=-out.value_minor, pair_id=out.id)
            tx.emit("inventory.transferred", "inventory_location", src.id, data={
                "sku": product.sku, "qty": str(qty(q)), "from": src.key, "to": dst.key,
                "movements": [out.id, into.id]})
            alerts.check(tx, [(product.id, src.id), (product.id, dst.id)])
            return self._movements(tx.conn, [out.id, into.id])

    def return_sold(self, movement_id: Any, quantity: Any, *, reason: str = "returned") -> Movement:
        """A customer brings back ``quantity`` of what sale movement ``movement_id`` sold: back into
        stock at the cost that sale took, pro rata (all returns of a sale together give back exactly
        its cost). More than was sold (less earlier returns) is refused. The money refunded is
        recorded with it (:mod:`.refunds`; :meth:`refund` reads it) and credited to the tab of a tab sale."""
        self.services.access.require(SELL, "take returns")
        ident = check_id(movement_id, "movement_id")
        why = check_text(reason, "reason", max_length=REASON_MAX, required=True)
        m = movements.c
        with self.crm.transaction(self.actor_id) as tx:
            sale = tx.conn.execute(select(movements).where(m.id == ident)).first()
            if sale is None or sale.kind != "sale" or sale.reverses_id is not None:
                raise ValidationError(f"movement_id: {ident} is not a sale movement", field="movement_id")
            product = lock_product(tx.conn, sale.product_id)
            q = parse_qty(quantity, fractional=product.fractional)
            back = int(tx.conn.scalar(select(func.coalesce(func.sum(m.qty_milli), 0)).where(
                m.kind == "return", m.pair_id == ident)) or 0)
            sold = -sale.qty_milli - self._reversed_qty(tx.conn, ident)
            if back + q > sold:
                raise ValidationError(f"qty: {qty(sold - back)} of that sale can still be returned, not {qty(q)}",
                                      field="qty")
            cost = -sale.value_minor
            value = round_half_up(cost * (back + q), -sale.qty_milli) - round_half_up(cost * back, -sale.qty_milli)
            posted = post(tx, "return", product, sale.location_id, q, value_minor=value, pair_id=ident,
                          sale_id=sale.sale_id, reason=why)
            refund = refunds.record(tx, ident, posted.id, back, q)
            tx.emit("inventory.returned", "contact" if refund.contact_id else "inventory_location",
                    refund.contact_id or sale.location_id, data={
                        "sku": product.sku, "qty": str(qty(q)), "sale_movement_id": ident, "movement_id": posted.id,
                        "sale_id": refund.sale_id, "refund": refund.amount.to_json(), "method": refund.method})
            alerts.check(tx, [(product.id, sale.location_id)])
            return self._movements(tx.conn, [posted.id])[0]

    def refund(self, movement_id: Any) -> refunds.Refund:
        """The money refunded with return movement ``movement_id``."""
        ident = check_id(movement_id, "movement_id")
        with self.crm.engine.connect() as conn:
            found = refunds.refund_of(conn, ident)
        if found is None:
            raise NotFoundError(f"no refund was recorded with movement {ident}", field="movement_id")
        return found

    @staticmethod
    def _reversed_qty(conn: Any, movement_id: int) -> int:
        rev = conn.scalar(select(movements.c.qty_milli).where(movements.c.reverses_id == movement_id))
        return int(rev or 0)

    def reverse(self, movement_id: Any, *, reason: str) -> Movement:
        """Undo a movement by a counter-movement (same kind, opposite quantity and value; the original
        stays). A movement is reversed at most once; a reversal is not itself reversed; a sale is
        reversed through its receipt (``Bar.void``), a transfer through both halves at once."""
        self.services.access.require(MANAGE, "reverse stock movements")
        ident = check_id(movement_id, "movement_id")
        why = check_text(reason, "reason", max_length=REASON_MAX, required=True)
        with self.crm.transaction(self.actor_id) as tx:
            ids = reverse_movement(tx, ident, why)
            return self._movements(tx.conn, ids)[0]

    def set_threshold(self, sku: Any, location: Any, minimum: Any) -> None:
        """Alert (one task) when stock of ``sku`` at ``location`` falls below ``minimum``; ``"0"`` removes it."""
        self.services.access.require(MANAGE, "set low-stock thresholds")
        with self.crm.transaction(self.actor_id) as tx:
            product = product_row(tx.conn, sku)
            where = location_row(tx.conn, location)
            low = parse_qty(minimum, "minimum", fractional=product.fractional, positive=False)
            t = thresholds.c
            cond = and_(t.product_id == product.id, t.location_id == where.id)
            if tx.conn.scalar(select(t.id).where(cond)) is None:
                tx.conn.execute(thresholds.insert().values(product_id=product.id, location_id=where.id,
                                                           min_milli=low))
            else:
                tx.conn.execute(update(thresholds).where(cond).values(min_milli=low))
            alerts.check(tx, [(product.id, where.id)])

    # -- reading -------------------------------------------------------------------

    def stock(self, *, location: Any = None, sku: Any = None) -> list[StockLevel]:
        """On hand and value per product and location, summed from the ledger (one SQL aggregate)."""
        m, p, lo, t = movements.c, products.c, locations.c, thresholds.c
        sums = (select(m.product_id, m.location_id, func.sum(m.qty_milli).label("held"),
                       func.sum(m.value_minor).label("value")).group_by(m.product_id, m.location_id))
        with self.crm.engine.connect() as conn:
            if location is not None:
                sums = sums.where(m.location_id == location_row(conn, location).id)
            if sku is not None:
                sums = sums.where(m.product_id == product_row(conn, sku).id)
            agg = sums.subquery()
            query = (select(p.sku, p.name, p.currency, lo.key, agg.c.held, agg.c.value, t.min_milli.label("minimum"))
                     .select_from(agg.join(products, p.id == agg.c.product_id)
                                  .join(locations, lo.id == agg.c.location_id)
                                  .outerjoin(thresholds, and_(t.product_id == agg.c.product_id,
                                                              t.location_id == agg.c.location_id)))
                     .order_by(p.sku, lo.key))
            return [_level(r) for r in conn.execute(query)]

    def stock_page(self, *, location: Any = None, sku: Any = None, limit: int = 50,
                   cursor: str | None = None) -> tuple[list[StockLevel], str | None]:
        """A page of :meth:`stock` (same order) and the cursor of the next (``None``: done); see
        :mod:`.stock_pages`."""
        from .stock_pages import stock_page

        return stock_page(self.crm, location=location, sku=sku, limit=limit, cursor=cursor)

    def movements(self, *, sku: Any = None, location: Any = None, kind: str | None = None, limit: int = 100,
                  after_id: int = 0) -> list[Movement]:
        """The ledger in order, ``limit`` rows after ``after_id``."""
        check_limit(limit)
        m = movements.c
        query = movement_query().where(m.id > after_id).order_by(m.id).limit(limit)
        with self.crm.engine.connect() as conn:
            if sku is not None:
                query = query.where(m.product_id == product_row(conn, sku).id)
            if location is not None:
                query = query.where(m.location_id == location_row(conn, location).id)
            if kind is not None:
                query = query.where(m.kind == kind)
            return [Movement.of(r) for r in conn.execute(query)]

    @staticmethod
    def _only(line: dict[str, Any], allowed: set[str], field: str) -> None:
        extra = sorted(set(line) - allowed)
        if extra:
            raise ValidationError(f"{field}.{extra[0]}: unknown field", field=f"{field}.{extra[0]}")


def _level(r: Any) -> StockLevel:
    value = money(r.value, r.currency)
    average = None if r.held <= 0 else money(round_half_up(int(r.value) * 1000, int(r.held)), r.currency)
    below = r.minimum is not None and r.held < r.minimum
    return StockLevel(r.sku, r.name, r.key, qty(int(r.held)), value, average, below)


def reverse_movement(tx: Any, ident: int, why: str, *, sale_ok: bool = False) -> list[int]:
    """Write the counter-movement(s) of movement ``ident`` in ``tx``; returns their ids (a transfer: both)."""
    m = movements.c
    row = tx.conn.execute(select(movements).where(m.id == ident)).first()
    if row is None:
        raise NotFoundError(f"movement {ident} does not exist", field="movement_id")
    if row.reverses_id is not None:
        raise ValidationError(f"movement_id: {ident} is a reversal; record the movement again instead",
                              field="movement_id")
    if row.kind == "sale" and not sale_ok:
        raise ValidationError(f"movement_id: {ident} belongs to sale {row.sale_id}; void the sale",
                              field="movement_id")
    group = [row]
    if row.kind == "transfer_in":  # the incoming half points at the outgoing one (pair_id)
        group.append(tx.conn.execute(select(movements).where(m.id == row.pair_id)).one())
    elif row.kind == "transfer_out":
        group.append(tx.conn.execute(select(movements).where(m.kind == "transfer_in", m.pair_id == row.id,
                                                             m.reverses_id.is_(None))).one())
    if row.kind == "sale" and tx.conn.scalar(select(func.count()).where(m.kind == "return", m.pair_id == ident)):
        raise ValidationError(f"movement_id: part of sale movement {ident} was returned; it cannot be voided",
                              field="movement_id")
    ids = []
    lock_product(tx.conn, row.product_id)
    for one in sorted(group, key=lambda g: -g.qty_milli):  # take the incoming half out first
        if tx.conn.scalar(select(m.id).where(m.reverses_id == one.id)) is not None:
            raise ConflictError(f"movement {one.id} is already reversed", field="movement_id")
        product = tx.conn.execute(select(products).where(products.c.id == one.product_id)).one()
        posted = post(tx, one.kind, product, one.location_id, -one.qty_milli, value_minor=-one.value_minor,
                      reverses_id=one.id, reason=why, sale_id=one.sale_id, pair_id=one.pair_id,
                      supplier_id=one.supplier_id, count_id=one.count_id)
        ids.append(posted.id)
    tx.emit("inventory.reversed", "inventory_location", row.location_id, data={
        "movement_id": ident, "reversal_ids": ids, "reason": why})
    alerts.check(tx, [(g.product_id, g.location_id) for g in group])
    return ids
