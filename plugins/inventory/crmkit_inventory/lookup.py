"""Resolving references in input (a SKU or product id, a location key, a supplier, a contact) and
the common input checks; unknown references are ``ValidationError``s naming the field."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from crmkit import Money, ValidationError, check_id, check_text, schema

from .tables import locations, products, suppliers


def product_row(conn: Connection, ref: Any, field: str = "sku", *, lock: bool = False) -> Any:
    """A product by SKU (text) or id (integer); ``lock``: ``FOR UPDATE``."""
    p = products.c
    if isinstance(ref, int) and not isinstance(ref, bool):
        cond = p.id == check_id(ref, field)
    else:
        sku = check_text(ref, field, max_length=64, required=True)
        cond = p.sku == sku
    query = select(products).where(cond)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise ValidationError(f"{field}: no product {ref!r}", field=field)
    return row


def location_row(conn: Connection, ref: Any, field: str = "location") -> Any:
    """A location by key (text) or id."""
    c = locations.c
    if isinstance(ref, int) and not isinstance(ref, bool):
        cond = c.id == check_id(ref, field)
    else:
        cond = c.key == check_text(ref, field, max_length=40, required=True)
    row = conn.execute(select(locations).where(cond)).first()
    if row is None:
        raise ValidationError(f"{field}: no location {ref!r}", field=field)
    return row


def supplier_id(conn: Connection, ref: Any, field: str = "supplier") -> int | None:
    """A supplier by name (text) or id; ``None`` stays ``None``."""
    if ref is None or ref == "":
        return None
    c = suppliers.c
    if isinstance(ref, int) and not isinstance(ref, bool):
        cond = c.id == check_id(ref, field)
    else:
        cond = c.name == check_text(ref, field, max_length=200, required=True)
    found = conn.scalar(select(c.id).where(cond))
    if found is None:
        raise ValidationError(f"{field}: no supplier {ref!r}", field=field)
    return int(found)


def contact_id(conn: Connection, ref: Any, field: str = "contact_id") -> int:
    ident = check_id(ref, field)
    if conn.scalar(select(schema.contacts.c.id).where(schema.contacts.c.id == ident)) is None:
        raise ValidationError(f"{field}: no contact {ident}", field=field)
    return ident


def amount(value: Any, currency: str, field: str, *, given_currency: Any = None, currency_field: str = "currency",
           positive: bool = False) -> Money:
    """An amount in ``currency``: a currency given with it must be that one (a mismatch names
    ``currency_field``); too many decimals, floats and absurd sizes are refused."""
    if given_currency is not None and str(given_currency).upper() != currency:
        raise ValidationError(f"{currency_field}: the bar works in {currency}, not {str(given_currency)[:10]}",
                              field=currency_field)
    found = Money.parse(value, currency, field=field)
    if found.amount < 0 or (positive and found.amount == 0):
        raise ValidationError(f"{field}: must be {'more than' if positive else 'at least'} 0", field=field)
    return found


def lines_of(value: Any, field: str = "lines", *, most: int = 200) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        raise ValidationError(f"{field}: give a list of 1 to {most} lines", field=field)
    if len(value) > most:
        raise ValidationError(f"{field}: at most {most} lines", field=field)
    for n, line in enumerate(value):
        if not isinstance(line, dict):
            raise ValidationError(f"{field}[{n}]: each line is an object", field=f"{field}[{n}]")
    return list(value)


def product_rows(conn: Connection, refs: list[Any], field: str = "lines[{}].sku") -> list[Any]:
    """The products of ``refs`` (SKUs, barcodes -- a scanner types them into the same field; a SKU
    wins -- or ids, in order, repeats allowed), read and locked
    (``FOR UPDATE``, in id order) with one query; an unknown one names ``field.format(index)``."""
    p = products.c
    skus = {check_text(r, field.format(n), max_length=64, required=True) for n, r in enumerate(refs)
            if not (isinstance(r, int) and not isinstance(r, bool))}
    ids = {check_id(r, field.format(n)) for n, r in enumerate(refs) if isinstance(r, int) and not isinstance(r, bool)}
    rows = conn.execute(select(products).where(p.sku.in_(skus) | p.barcode.in_(skus) | p.id.in_(ids))
                        .order_by(p.id).with_for_update()).all()
    by_sku, by_id = {r.sku: r for r in rows}, {r.id: r for r in rows}
    by_code = {r.barcode: r for r in rows if r.barcode}
    out = []
    for n, ref in enumerate(refs):
        text = str(ref).strip()
        row = by_id.get(ref) if isinstance(ref, int) and not isinstance(ref, bool) else (
            by_sku.get(text) or by_code.get(text))
        if row is None:
            raise ValidationError(f"{field.format(n)}: no product {ref!r}", field=field.format(n))
        out.append(row)
    return out
