"""The catalogue: activities, membership products and session packs.

A membership lasts ``duration_days`` and may limit visits, access hours and the
activities it includes, and allows freezes (``freeze_days`` in at most
``freeze_times`` freezes). A pack holds ``sessions`` valid for ``duration_days``,
optionally only for some activities or with one trainer.
"""

from __future__ import annotations

from typing import Any, Sequence

import attrs
from sqlalchemy import Connection, insert, select

from crmkit import ConflictError, Money, NotFoundError, Tx, ValidationError, check_text, schema

from .checks import as_hours, as_id, as_int, as_key, hours_text, new_id
from .config import TRAINER
from .tables import activities, products


@attrs.frozen
class Product:
    """A catalogue item (``kind``: ``membership`` or ``pack``)."""

    id: int
    key: str
    name: str
    kind: str
    price: Money
    duration_days: int
    visit_limit: int | None
    sessions: int | None
    access_hours: str
    activities: tuple[str, ...]
    trainer_id: int | None
    freeze_days: int
    freeze_times: int
    trial: bool

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        data["price"] = self.price.to_json()
        data["activities"] = list(self.activities)
        return data


def product_record(row: Any) -> Product:
    return Product(
        id=row.id, key=row.key, name=row.name, kind=row.kind, price=Money.from_minor(row.price_minor, row.currency),
        duration_days=row.duration_days, visit_limit=row.visit_limit, sessions=row.sessions,
        access_hours=hours_text(row.access_from, row.access_to), activities=tuple(row.activities or ()),
        trainer_id=row.trainer_id, freeze_days=row.freeze_days, freeze_times=row.freeze_times, trial=row.trial)


def find_product(conn: Connection, key_or_id: Any) -> Any:
    """The product row by key or id (``NotFoundError`` naming ``product``)."""
    p = products.c
    cond = p.id == key_or_id if isinstance(key_or_id, int) else p.key == key_or_id
    row = conn.execute(select(products).where(cond)).first()
    if row is None:
        raise NotFoundError(f"product: {key_or_id!r} is not in the catalogue", field="product")
    return row


def add_activity(tx: Tx, key: str, name: str) -> int:
    k = as_key(key, "key")
    if tx.conn.scalar(select(activities.c.id).where(activities.c.key == k)) is not None:
        raise ConflictError(f"key: activity {k!r} exists", field="key")
    return new_id(tx.conn.execute(insert(activities).values(key=k, name=check_text(name, "name", required=True))))


def is_trainer(conn: Connection, user_id: int) -> bool:
    u = schema.users.c
    return conn.scalar(select(u.role).where(u.id == user_id)) == TRAINER


def add_product(
    tx: Tx, *, key: str, name: str, kind: str = "membership", price: Any, currency: str,
    duration_days: Any, visit_limit: Any = None, sessions: Any = None, access_hours: str | None = None,
    activities_: Sequence[str] = (), trainer_id: Any = None, freeze_days: Any = 0, freeze_times: Any = 0,
    trial: bool = False,
) -> Product:
    """Add a product to the catalogue (one command)."""
    k = as_key(key, "key")
    if kind not in ("membership", "pack"):
        raise ValidationError(f"kind: {kind!r} is not membership or pack", field="kind")
    amount = Money.parse(price, currency, field="price")
    if amount.minor_units < 0:
        raise ValidationError("price: must not be negative", field="price")
    days = as_int(duration_days, "duration_days", low=1, high=3660)
    limit = as_int(visit_limit, "visit_limit", low=1, optional=True)
    count = as_int(sessions, "sessions", low=1, optional=True)
    if kind == "pack" and count is None:
        raise ValidationError("sessions: a pack needs its number of sessions", field="sessions")
    if kind == "membership" and count is not None:
        raise ValidationError("sessions: a membership limits visits (visit_limit), not sessions", field="sessions")
    start, end = as_hours(access_hours)
    if isinstance(activities_, (str, bytes)) or not isinstance(activities_, (list, tuple)):
        raise ValidationError("activities: expected a list of activity keys", field="activities")
    known = set(tx.conn.scalars(select(activities.c.key)))
    for a in activities_:
        if a not in known:
            raise ValidationError(f"activities: {a!r} is not an activity (known: {', '.join(sorted(known)) or 'none'})",
                                  field="activities")
    trainer = as_id(trainer_id, "trainer_id") if trainer_id is not None else None
    if trainer is not None and not is_trainer(tx.conn, trainer):
        raise ValidationError(f"trainer_id: user {trainer} is not a trainer", field="trainer_id")
    if tx.conn.scalar(select(products.c.id).where(products.c.key == k)) is not None:
        raise ConflictError(f"key: product {k!r} exists", field="key")
    product_id = new_id(tx.conn.execute(insert(products).values(
        key=k, name=check_text(name, "name", required=True), kind=kind, price_minor=amount.minor_units,
        currency=amount.currency, duration_days=days, visit_limit=limit, sessions=count, access_from=start,
        access_to=end, activities=list(activities_), trainer_id=trainer,
        freeze_days=as_int(freeze_days, "freeze_days", high=3660), freeze_times=as_int(freeze_times, "freeze_times",
                                                                                        high=100),
        trial=bool(trial), active=True, created_at=tx.now)))
    found = product_record(find_product(tx.conn, product_id))
    tx.emit("fitness.product_added", "fitness_product", product_id, data={"product": found.key, "kind": kind})
    return found


def list_products(conn: Connection) -> list[Product]:
    return [product_record(r) for r in conn.execute(select(products).order_by(products.c.id))]
