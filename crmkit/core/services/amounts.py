"""Deals by amount: filters and a sort order that never compare two currencies.

An amount is exact minor units plus a currency, so ``amount__gte=1000`` means 1000 of one
currency: the value's own code (``"1000 EUR"``, or a :class:`~crmkit.core.money.Money`), else
the list's ``currency`` filter, else the deployment's default currency; only deals in that
currency match. Sorting by ``amount`` groups the deals by currency (alphabetically), orders each
group by amount (``-amount``: largest first) and puts the deals without an amount last; ties by id.
The page cursor carries (currency, minor units, id), so pages never skip or repeat.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Mapping

from sqlalchemy import ColumnElement, Select, Table, and_, or_

from ..errors import ValidationError
from ..money import MAX_DIGITS, Money, check_currency

ORDERS = ("amount", "-amount")


def is_amount(key: str) -> bool:
    return key.partition("__")[0] == "amount"


def money_filters(filters: Mapping[str, Any], default_currency: str) -> dict[str, Any]:
    """``filters`` with each ``amount`` filter's value(s) as :class:`Money` of one currency."""
    if not any(is_amount(k) for k in filters):
        return dict(filters)
    given = filters.get("currency", filters.get("currency__eq"))
    currency = check_currency(given) if isinstance(given, str) and given else default_currency
    out: dict[str, Any] = {}
    for key, value in filters.items():
        if is_amount(key):
            op = key.partition("__")[2] or "eq"
            if op == "in":
                if not isinstance(value, (list, tuple, set)):
                    raise ValidationError(f"{key}: expected a list of amounts", field=key)
                value = [_money(v, currency, key) for v in value]
                if len({m.currency for m in value}) > 1:
                    raise ValidationError(f"{key}: the amounts are in different currencies", field=key)
            elif value is not None:
                value = _money(value, currency, key)
        out[key] = value
    return out


def _money(value: Any, currency: str, key: str) -> Money:
    if isinstance(value, Money):
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError(f"{key}: expected an amount such as 1200.50 or \"1200.50 EUR\"", field=key)
    parts = str(value).split()
    if len(parts) == 2 and parts[1].isalpha():
        amount, currency = parts[0], parts[1]
    elif len(parts) == 1:
        amount = parts[0]
    else:
        raise ValidationError(f"{key}: {str(value)[:60]!r} is not an amount such as 1200.50 or \"1200.50 EUR\"",
                              field=key)
    return Money.parse(amount, check_currency(currency, field=key), field=key)


def amount_condition(table: Table, op: str, value: Any) -> ColumnElement[bool]:
    """The WHERE clause of one amount filter (``value``: Money, a list of Money, or None)."""
    c = table.c
    if value is None:
        return c.amount_minor.is_(None) if op == "eq" else c.amount_minor.is_not(None)
    if op == "in":
        if not value:
            return c.id.is_(None)  # no amount at all: nothing matches
        return and_(c.currency == value[0].currency, c.amount_minor.in_([m.minor_units for m in value]))
    minor = value.minor_units
    compare = {"eq": c.amount_minor == minor, "ne": c.amount_minor != minor, "gt": c.amount_minor > minor,
               "gte": c.amount_minor >= minor, "lt": c.amount_minor < minor, "lte": c.amount_minor <= minor}
    return and_(c.currency == value.currency, compare[op])


def order_by(table: Table, desc: bool) -> tuple[Any, ...]:
    c = table.c
    return (c.amount_minor.is_(None), c.currency, c.amount_minor.desc() if desc else c.amount_minor,
            c.id.desc() if desc else c.id)


def after(table: Table, cursor: str, desc: bool) -> ColumnElement[bool]:
    """The rows after the cursor's position in :func:`order_by`'s order."""
    currency, minor, ident = decode(cursor)
    c = table.c
    later_id = c.id < ident if desc else c.id > ident
    if minor is None:  # among the deals without an amount
        return and_(c.amount_minor.is_(None), later_id)
    beyond = c.amount_minor < minor if desc else c.amount_minor > minor
    return or_(c.amount_minor.is_(None), c.currency > currency,
               and_(c.currency == currency, or_(beyond, and_(c.amount_minor == minor, later_id))))


def encode(row: Any) -> str:
    raw = json.dumps([row.currency, row.amount_minor, row.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: Any) -> tuple[str | None, int | None, int]:
    bad = ValidationError(f"cursor: {str(cursor)[:100]!r} is not a cursor from a previous page of this order",
                          field="cursor")
    if not isinstance(cursor, str) or len(cursor) > 200:
        raise bad
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, RecursionError):
        raise bad from None
    if not isinstance(decoded, list) or len(decoded) != 3:
        raise bad
    currency, minor, ident = decoded
    limit = 10 ** (MAX_DIGITS + 4)
    if not isinstance(ident, int) or isinstance(ident, bool) or not 1 <= ident <= 2**31 - 1:
        raise bad
    if minor is None and currency is None:
        return None, None, ident
    if (not isinstance(currency, str) or len(currency) != 3 or not currency.isascii() or not currency.isalpha()
            or not isinstance(minor, int) or isinstance(minor, bool) or not -limit < minor < limit):
        raise bad
    return currency, minor, ident


def apply(query: Select[Any], table: Table, order: str, cursor: str | None, limit: int) -> Select[Any]:
    """``query`` ordered by amount (``order``: amount or -amount), after ``cursor``, one row more
    than ``limit`` (to tell whether another page follows)."""
    desc = order.startswith("-")
    if cursor:
        query = query.where(after(table, cursor, desc))
    return query.order_by(*order_by(table, desc)).limit(limit + 1)
