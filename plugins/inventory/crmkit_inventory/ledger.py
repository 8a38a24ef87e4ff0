"""Posting movements to the stock ledger, inside the caller's transaction.

Each posting locks the product's row (``FOR UPDATE``; SQLite has one writer anyway), reads the
on-hand quantity and value of the product at the location from the ledger (a SQL sum), values
the movement by the moving-average rule of :mod:`.quantity`, applies the negative-stock policy
and inserts one row. Nothing here updates or deletes a movement.
"""

from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import Connection, func, insert, select

from crmkit import Tx, ValidationError

from .config import config
from .quantity import incoming_value, issue_value, qty, round_half_up
from .tables import locations, movements, products

ISSUES = ("sale", "transfer_out", "write_off")
"""Kinds that take stock out (valued at the moving average)."""


@attrs.frozen
class Posted:
    """What :func:`post` wrote: the movement's id, its signed quantity and value, and the stock after it."""

    id: int
    qty_milli: int
    value_minor: int
    on_hand_milli: int
    negative: bool


def on_hand(conn: Connection, product_id: int, location_id: int) -> tuple[int, int]:
    """(quantity in thousandths, value in minor units) of a product at a location, from the ledger."""
    m = movements.c
    row = conn.execute(select(func.coalesce(func.sum(m.qty_milli), 0), func.coalesce(func.sum(m.value_minor), 0))
                       .where(m.product_id == product_id, m.location_id == location_id)).one()
    return int(row[0]), int(row[1])


def lock_product(conn: Connection, product_id: int) -> Any:
    """The product's row, locked for the rest of the transaction (serializes postings per product)."""
    return conn.execute(select(products).where(products.c.id == product_id).with_for_update()).one()


def last_receipt_cost(conn: Connection, product_id: int) -> int:
    """The unit cost of the product's latest receipt anywhere (0 if never received)."""
    m = movements.c
    found = conn.scalar(select(m.unit_cost_minor).where(m.product_id == product_id, m.kind == "receipt",
                                                        m.reverses_id.is_(None)).order_by(m.id.desc()).limit(1))
    return int(found or 0)


def _location_key(conn: Connection, location_id: int) -> str:
    return str(conn.scalar(select(locations.c.key).where(locations.c.id == location_id)))


def post(tx: Tx, kind: str, product: Any, location_id: int, qty_milli: int, *, unit_cost_minor: int | None = None,
         value_minor: int | None = None, field: str = "qty", **extra: Any) -> Posted:
    """Write one movement of ``qty_milli`` (signed) of ``product`` (its locked row) at ``location_id``.

    The value is ``value_minor`` when given (a reversal, a transfer's incoming half, a return),
    else: out of stock at the moving average; a receipt at ``unit_cost_minor``; other incoming
    quantities at the current average, or the last receipt's unit cost when nothing is on hand.
    A movement taking stock below zero is refused (a ``ValidationError`` with the numbers) unless
    the deployment allows negative stock, then it is written and flagged ``negative``.
    """
    held, held_value = on_hand(tx.conn, product.id, location_id)
    if value_minor is None:
        if qty_milli < 0:
            value_minor = -issue_value(held, held_value, -qty_milli)
        elif unit_cost_minor is not None:
            value_minor = incoming_value(held, held_value, qty_milli, unit_cost_minor)
        elif held > 0:
            value_minor = round_half_up(held_value * qty_milli, held)
        else:
            value_minor = incoming_value(held, held_value, qty_milli, last_receipt_cost(tx.conn, product.id))
    after = held + qty_milli
    negative = qty_milli < 0 and after < 0
    if negative and config(tx.crm).negative_stock != "allow":
        where = _location_key(tx.conn, location_id)
        raise ValidationError(
            f"{field}: only {qty(held)} {product.unit} of {product.sku} at {where}; "
            f"taking {qty(-qty_milli)} would leave {qty(after)}", field=field)
    new_id = tx.conn.execute(insert(movements).values(
        kind=kind, product_id=product.id, location_id=location_id, qty_milli=qty_milli, value_minor=value_minor,
        currency=product.currency, unit_cost_minor=unit_cost_minor, reason=extra.pop("reason", ""),
        negative=negative, created_by=tx.actor_id, created_at=tx.now, **extra,
    )).inserted_primary_key
    assert new_id is not None
    return Posted(int(new_id[0]), qty_milli, value_minor, after, negative)



def issue_many(tx: Tx, kind: str, location_id: int, items: list[tuple[Any, int, str]], **extra: Any) -> list[Posted]:
    """Take several quantities out of stock at one location in one go (a sale's lines): ``items`` are
    (the product's locked row, the positive quantity, the field to name on refusal). The same rules
    as :func:`post`, line after line (a product on two lines is valued the second time from what
    the first left); one aggregate reads the stock, one multi-row INSERT writes the movements."""
    m = movements.c
    ids = sorted({p.id for p, _, _ in items})
    stock = {row[0]: (int(row[1]), int(row[2])) for row in tx.conn.execute(
        select(m.product_id, func.sum(m.qty_milli), func.sum(m.value_minor))
        .where(m.product_id.in_(ids), m.location_id == location_id).group_by(m.product_id))}
    allow = config(tx.crm).negative_stock == "allow"
    rows, posted = [], []
    for product, out, field in items:
        held, held_value = stock.get(product.id, (0, 0))
        taken = issue_value(held, held_value, out)
        after = held - out
        if after < 0 and not allow:
            raise ValidationError(
                f"{field}: only {qty(held)} {product.unit} of {product.sku} at {_location_key(tx.conn, location_id)}; "
                f"taking {qty(out)} would leave {qty(after)}", field=field)
        stock[product.id] = (after, held_value - taken)
        rows.append({"kind": kind, "product_id": product.id, "location_id": location_id, "qty_milli": -out,
                     "value_minor": -taken, "currency": product.currency, "unit_cost_minor": None, "reason": "",
                     "negative": after < 0, "created_by": tx.actor_id, "created_at": tx.now, **extra})
        posted.append((-out, -taken, after, after < 0))
    new_ids = tx.conn.execute(insert(movements).returning(m.id, sort_by_parameter_order=True), rows).scalars().all()
    return [Posted(int(i), q, v, a, n) for i, (q, v, a, n) in zip(new_ids, posted)]
