"""The shapes the plugin returns: frozen attrs records; amounts as :class:`crmkit.Money`,
quantities as ``Decimal`` with 3 places."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

from crmkit import Money

from .quantity import qty


def to_json(record: Any) -> dict[str, Any]:
    """A record as JSON-ready data: Money as ``{"amount", "currency"}``, Decimals and times as text."""
    out: dict[str, Any] = {}
    for key, value in attrs.asdict(record, recurse=False).items():
        out[key] = _value(value)
    return out


def _value(value: Any) -> Any:
    if isinstance(value, Money):
        return value.to_json()
    if attrs.has(type(value)):
        return to_json(value)
    if isinstance(value, (tuple, list)):
        return [_value(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


_EXPONENT: dict[str, int] = {}


def money(minor: int | None, currency: str) -> Money:
    """``minor`` units of ``currency`` (as ``Money.from_minor``, with the currency's exponent cached:
    reports build thousands of these)."""
    exp = _EXPONENT.get(currency)
    if exp is None:
        exp = _EXPONENT[currency] = int(Money.from_minor(1, currency).amount.as_tuple().exponent)
    return Money(Decimal(int(minor or 0)).scaleb(exp), currency)


def rate(bp: int) -> Decimal:
    """Basis points as a percentage with 2 places (2000 -> 20.00)."""
    return (Decimal(bp) / 100).quantize(Decimal("0.01"))


@attrs.frozen
class Product:
    id: int
    sku: str
    barcode: str | None
    name: str
    unit: str
    category: str
    price: Money
    vat_rate: Decimal
    fractional: bool
    active: bool
    version: int

    @classmethod
    def of(cls, r: Any) -> "Product":
        return cls(r.id, r.sku, r.barcode, r.name, r.unit, r.category, money(r.price_minor, r.currency),
                   rate(r.vat_rate_bp), bool(r.fractional), bool(r.active), r.version)


@attrs.frozen
class Supplier:
    id: int
    name: str
    contact_info: str


@attrs.frozen
class Location:
    id: int
    key: str
    name: str


@attrs.frozen
class Movement:
    """One ledger row: ``qty`` is signed (+ into stock), ``value`` the signed change of stock value."""

    id: int
    kind: str
    sku: str
    location: str
    qty: Decimal
    value: Money
    unit_cost: Money | None
    supplier_id: int | None
    reason: str
    sale_id: int | None
    count_id: int | None
    pair_id: int | None
    reverses_id: int | None
    negative: bool
    created_by: int | None
    created_at: datetime

    @classmethod
    def of(cls, r: Any) -> "Movement":
        return cls(r.id, r.kind, r.sku, r.location, qty(r.qty_milli), money(r.value_minor, r.currency),
                   None if r.unit_cost_minor is None else money(r.unit_cost_minor, r.currency), r.supplier_id,
                   r.reason, r.sale_id, r.count_id, r.pair_id, r.reverses_id, bool(r.negative), r.created_by,
                   r.created_at)


@attrs.frozen
class StockLevel:
    """On hand and stock value of a product at a location, from the ledger; ``average_cost`` is
    value / quantity (``None`` when nothing is on hand)."""

    sku: str
    name: str
    location: str
    on_hand: Decimal
    value: Money
    average_cost: Money | None
    below_threshold: bool
