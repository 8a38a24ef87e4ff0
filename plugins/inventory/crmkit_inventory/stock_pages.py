"""The stock list a page at a time, as crmkit's lists page: ``limit`` rows and a ``next_cursor``.

Rows are ordered by SKU, then location key. The cursor is opaque (base64url of the last SKU and
location key seen). Each page aggregates the ledger only for the next ``limit + 1`` products by SKU
(not the whole ledger), so a page costs the same at the end of a long list as at its start. A product
with nothing in the ledger has no row: a page may then hold fewer rows than ``limit`` while
``next_cursor`` is still set; ``None`` means the list is done.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sqlalchemy import and_, func, or_, select

from crmkit import Crm, ValidationError, check_limit

from .lookup import location_row, product_row
from .records import StockLevel
from .tables import locations, movements, products, thresholds


def encode(sku: str, key: str | None) -> str:
    return base64.urlsafe_b64encode(json.dumps([sku, key]).encode()).decode()


def decode(cursor: Any) -> tuple[str, str | None]:
    """``(sku, location key)`` after which the page starts (key ``None``: after every row of that SKU)."""
    try:
        if not isinstance(cursor, str) or len(cursor) > 200:
            raise ValueError
        sku, key = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if not isinstance(sku, str) or not (key is None or isinstance(key, str)):
            raise ValueError
        return sku, key
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise ValidationError(f"cursor: {str(cursor)[:100]!r} is not a cursor from a previous page",
                              field="cursor") from None


def stock_page(crm: Crm, *, location: Any = None, sku: Any = None, limit: int = 50,
               cursor: str | None = None) -> tuple[list[StockLevel], str | None]:
    """One page of on hand and value per product and location (see the module's docstring)."""
    from .service import _level

    check_limit(limit)
    after = decode(cursor) if cursor is not None else None
    m, p, lo, t = movements.c, products.c, locations.c, thresholds.c
    with crm.engine.connect() as conn:
        pick = select(p.id, p.sku).order_by(p.sku).limit(limit + 1)
        if sku is not None:
            pick = pick.where(p.id == product_row(conn, sku).id)
        if after is not None:
            pick = pick.where(p.sku >= after[0] if after[1] is not None else p.sku > after[0])
        chosen = conn.execute(pick).all()
        if not chosen:
            return [], None
        sums = (select(m.product_id, m.location_id, func.sum(m.qty_milli).label("held"),
                       func.sum(m.value_minor).label("value"))
                .where(m.product_id.in_([c.id for c in chosen])).group_by(m.product_id, m.location_id))
        if location is not None:
            sums = sums.where(m.location_id == location_row(conn, location).id)
        agg = sums.subquery()
        query = (select(p.sku, p.name, p.currency, lo.key, agg.c.held, agg.c.value, t.min_milli.label("minimum"))
                 .select_from(agg.join(products, p.id == agg.c.product_id)
                              .join(locations, lo.id == agg.c.location_id)
                              .outerjoin(thresholds, and_(t.product_id == agg.c.product_id,
                                                          t.location_id == agg.c.location_id)))
                 .order_by(p.sku, lo.key))
        if after is not None and after[1] is not None:
            query = query.where(or_(p.sku > after[0], and_(p.sku == after[0], lo.key > after[1])))
        rows = conn.execute(query).all()
    page = [_level(r) for r in rows[:limit]]
    if len(rows) > limit:
        return page, encode(page[-1].sku, page[-1].location)
    if len(chosen) > limit:  # every row of the chosen products is on this page; more products follow
        return page, encode(chosen[-1].sku, None)
    return page, None
