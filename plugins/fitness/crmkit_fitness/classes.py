"""Group classes (activity, trainer, time, capacity) and their bookings; no-shows after the class."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from crmkit import ConflictError, NotFoundError, Tx, ValidationError, check_text

from .catalogue import is_trainer
from .checks import as_datetime, as_id, as_int, new_id
from .config import NAME
from .memberships import ensure_member
from .tables import activities, bookings, classes


def add_class(tx: Tx, *, activity: str, trainer_id: Any, starts_at: datetime | str, minutes: Any = 60,
              capacity: Any = 20, title: str | None = None) -> int:
    """Schedule a class; returns its id."""
    act = tx.conn.execute(select(activities).where(activities.c.key == activity)).first()
    if act is None:
        raise ValidationError(f"activity: {activity!r} is not an activity", field="activity")
    trainer = as_id(trainer_id, "trainer_id")
    if not is_trainer(tx.conn, trainer):
        raise ValidationError(f"trainer_id: user {trainer} is not a trainer", field="trainer_id")
    when = as_datetime(starts_at, "starts_at")
    class_id = new_id(tx.conn.execute(insert(classes).values(
        activity_id=act.id, trainer_id=trainer, starts_at=when, minutes=as_int(minutes, "minutes", low=5, high=600),
        capacity=as_int(capacity, "capacity", low=1, high=1000),
        title=check_text(title or act.name, "title", max_length=200, required=True))))
    tx.emit(f"{NAME}.class_scheduled", "fitness_class", class_id, data={
        "activity": activity, "trainer_id": trainer, "starts_at": when.isoformat()})
    return class_id


def book(tx: Tx, class_id: Any, contact_id: Any) -> int:
    """Book a member on a class (refused when full, started, or booked already); returns the booking id."""
    ident, contact = as_id(class_id, "class_id"), as_id(contact_id, "contact_id")
    klass = tx.conn.execute(select(classes).where(classes.c.id == ident).with_for_update()).first()
    if klass is None:
        raise NotFoundError(f"class {ident} does not exist", field="class_id")
    tx.crm.as_user(tx.actor_id).contacts.get(contact)
    if klass.starts_at <= tx.now:
        raise ValidationError(f"class_id: class {ident} has started", field="class_id")
    b = bookings.c
    taken = tx.conn.scalar(select(func.count()).where(b.class_id == ident, b.status != "cancelled")) or 0
    if taken >= klass.capacity:
        raise ConflictError(f"class_id: class {ident} is full ({klass.capacity} places)", field="class_id")
    existing = tx.conn.execute(select(bookings).where(b.class_id == ident, b.contact_id == contact)).first()
    ensure_member(tx, contact)
    if existing is not None:
        if existing.status != "cancelled":
            raise ConflictError(f"contact_id: already booked on class {ident}", field="contact_id")
        tx.conn.execute(update(bookings).where(b.id == existing.id).values(status="booked"))
        booking_id = int(existing.id)
    else:
        booking_id = new_id(tx.conn.execute(insert(bookings).values(
            class_id=ident, contact_id=contact, status="booked", created_at=tx.now)))
    tx.emit(f"{NAME}.booked", "contact", contact, data={"class_id": ident, "booking_id": booking_id})
    return booking_id


def mark_no_shows(tx: Tx, now: datetime) -> int:
    """Bookings of classes that ended without a check-in become ``no_show`` (an event each)."""
    b, c = bookings.c, classes.c
    rows = [r for r in tx.conn.execute(
        select(b.id, b.contact_id, b.class_id, c.starts_at, c.minutes).join_from(bookings, classes, b.class_id == c.id)
        .where(b.status == "booked", c.starts_at <= now)) if r.starts_at + timedelta(minutes=r.minutes) <= now]
    if rows:
        tx.conn.execute(update(bookings).where(b.id.in_([r.id for r in rows])).values(status="no_show"))
        for r in rows:
            tx.emit(f"{NAME}.no_show", "contact", r.contact_id, data={"class_id": r.class_id, "booking_id": r.id})
    return len(rows)
