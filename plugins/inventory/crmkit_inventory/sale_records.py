"""Records of sales and tabs, and loading them (the plugin's returned shapes)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Sequence

import attrs
from sqlalchemy import Connection, select

from crmkit import Money, NotFoundError

from .hooks import TabHold
from .quantity import qty
from .records import money, rate, to_json
from .tables import locations, products, sale_lines, sales, tab_entries


@attrs.frozen
class SaleLine:
    sku: str
    name: str
    qty: Decimal
    price: Money
    total: Money
    vat_rate: Decimal
    vat: Money
    movement_id: int


@attrs.frozen
class Sale:
    """A bar receipt: ``total`` and ``vat`` are the sums of the lines; ``change = tendered - total``."""

    id: int
    location: str
    contact_id: int | None
    payment: str
    total: Money
    vat: Money
    tendered: Money
    change: Money
    lines: tuple[SaleLine, ...]
    created_by: int | None
    created_at: datetime
    voided_at: datetime | None
    void_reason: str | None
    replayed: bool = False  # returned again for a retried client_key; nothing was written

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


@attrs.frozen
class TabEntry:
    """A charge (+), payment (-) or refund (-) on a tab."""

    id: int
    kind: str
    amount: Money
    method: str
    sale_id: int | None
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


@attrs.frozen
class Tab:
    """A member's tab: ``balance`` owed; ``available = limit - holds' reductions - balance`` (never
    below 0); ``blocked`` holds refuse any charge."""

    contact_id: int
    limit: Money
    balance: Money
    available: Money
    holds: tuple[TabHold, ...]
    entries: tuple[TabEntry, ...]

    @property
    def blocked(self) -> bool:
        return any(h.blocks for h in self.holds)

    def to_json(self) -> dict[str, Any]:
        return {**to_json(self), "blocked": self.blocked}


def load_sale(conn: Connection, sale_id: int) -> Sale:
    row = conn.execute(select(sales, locations.c.key).join(locations, locations.c.id == sales.c.location_id)
                       .where(sales.c.id == sale_id)).first()
    if row is None:
        raise NotFoundError(f"sale {sale_id} does not exist", field="sale_id")
    cur = row.currency
    s, p = sale_lines.c, products.c
    lines = tuple(
        SaleLine(r.sku, r.name, qty(r.qty_milli), money(r.price_minor, cur), money(r.total_minor, cur),
                 rate(r.vat_rate_bp), money(r.vat_minor, cur), r.movement_id)
        for r in conn.execute(select(sale_lines, p.sku, p.name).join(products, p.id == s.product_id)
                              .where(s.sale_id == sale_id).order_by(s.id)))
    return Sale(row.id, row.key, row.contact_id, row.payment, money(row.total_minor, cur), money(row.vat_minor, cur),
                money(row.tendered_minor, cur), money(row.change_minor, cur), lines, row.created_by, row.created_at,
                row.voided_at, row.void_reason)


def load_tab(conn: Connection, contact_id: int, row: Any, cur: str, limit: int, holds: Sequence[TabHold]) -> Tab:
    balance = row.balance_minor if row is not None else 0
    cut = sum(h.reduce_by.minor_units for h in holds if h.reduce_by is not None and h.reduce_by.currency == cur)
    entries: tuple[TabEntry, ...] = ()
    if row is not None:
        e = tab_entries.c
        entries = tuple(TabEntry(r.id, r.kind, money(r.amount_minor, cur), r.method, r.sale_id, r.created_at)
                        for r in conn.execute(select(tab_entries).where(e.tab_id == row.id)
                                              .order_by(e.id.desc()).limit(50)))
    available = 0 if any(h.blocks for h in holds) else max(0, limit - cut - balance)
    return Tab(contact_id, money(limit, cur), money(balance, cur), money(available, cur), tuple(holds), entries)
