"""The plugin's service: the club as a user acts on it, under that user's record rules.

    from crmkit_fitness.club import Club
    club = Club(crm, alice.id)
    club.add_product(key="gold12", name="Gold, 12 months", price="690.00", currency="EUR", duration_days=365)
    deal = club.sell(contact.id, "gold12")        # a deal in "Membership sales"; winning it issues the membership
    club.freeze(membership_id, starts_on="2026-03-01", days=14, reason="travel")

Each method is one command (one transaction, or it joins the open one).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Sequence

from sqlalchemy import Connection, select, update

from crmkit import Crm, Deal, NotFoundError, ValidationError, check_text

from . import catalogue, classes, devices, memberships
from .catalogue import Product
from .checkins import Decision, Request, decide, visible_checkins
from .checks import as_date, as_id
from .config import MANAGE, TRAINER
from .memberships import Membership, ensure_member, load_memberships
from .tables import members


class Club:
    """The fitness club acting as user ``actor_id`` (``None``: the system)."""

    def __init__(self, crm: Crm, actor_id: int | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self.services = crm.as_user(actor_id)

    def _tx(self, permission: str = MANAGE, what: str = "manage the club") -> Any:
        self.services.access.require(permission, what)
        return self.crm.transaction(self.actor_id)

    # -- catalogue ---------------------------------------------------------------

    def add_activity(self, key: str, name: str) -> int:
        with self._tx() as tx:
            return catalogue.add_activity(tx, key, name)

    def add_product(self, *, activities: Sequence[str] = (), **fields: Any) -> Product:
        """Add a membership product or session pack (see :func:`crmkit_fitness.catalogue.add_product`)."""
        with self._tx() as tx:
            return catalogue.add_product(tx, activities_=activities, **fields)

    def products(self) -> list[Product]:
        with self.crm.engine.connect() as conn:
            return catalogue.list_products(conn)

    # -- members -----------------------------------------------------------------

    def sell(self, contact_id: Any, product: str, *, responsible_id: int | None = None) -> Deal:
        """Open a "Membership sales" deal for ``product``; winning it issues the membership or pack."""
        with self._tx() as tx:
            return memberships.sell(tx, contact_id, product, responsible_id=responsible_id)  # type: ignore[no-any-return]

    def enroll(self, contact_id: Any, product: str, *, responsible_id: int | None = None) -> Membership:
        """Sell and win at once (a sale at the front desk); returns the membership issued."""
        with self._tx() as tx:
            deal = memberships.sell(tx, contact_id, product, responsible_id=responsible_id)
            tx.crm.as_user(tx.actor_id).deals.win(deal.id)
        # the membership is issued by the won deal's in-transaction hook, as the command finishes
        with self.crm.engine.connect() as conn:
            return next(m for m in load_memberships(conn, deal.contact_id) if m.deal_id == deal.id)

    def memberships(self, contact_id: Any) -> list[Membership]:
        """What the member holds, oldest first."""
        contact = as_id(contact_id, "contact_id")
        self.services.contacts.get(contact)
        with self.crm.engine.connect() as conn:
            return load_memberships(conn, contact)

    def member(self, contact_id: Any) -> dict[str, Any]:
        """The member's state: phase, visits, trainer, manager, risk, memberships, recent check-ins."""
        contact = as_id(contact_id, "contact_id")
        self.services.contacts.get(contact)
        with self.crm.engine.connect() as conn:
            row = _member_row(conn, contact)
            return {
                "contact_id": contact, "card": row.card, "phase": row.phase, "phase_since": row.phase_since.isoformat(),
                "cycle": row.cycle, "manager_id": row.manager_id, "trainer_id": row.trainer_id, "visits": row.visits,
                "first_visit_on": row.first_visit_on and row.first_visit_on.isoformat(),
                "last_visit_on": row.last_visit_on and row.last_visit_on.isoformat(), "risk": row.risk,
                "memberships": [m.to_json() for m in load_memberships(conn, contact)],
                "checkins": [{"at": c.at.isoformat(), "allowed": c.allowed, "reason": c.reason}
                             for c in visible_checkins(conn, contact, 20)],
            }

    def assign(self, contact_id: Any, *, trainer_id: Any = None, card: str | None = None) -> None:
        """Give the member a trainer (a user with the trainer role) and/or an access card number."""
        contact = as_id(contact_id, "contact_id")
        with self._tx() as tx:
            self.services.contacts.get(contact)
            ensure_member(tx, contact)
            values: dict[str, Any] = {}
            if trainer_id is not None:
                trainer = as_id(trainer_id, "trainer_id")
                if not catalogue.is_trainer(tx.conn, trainer):
                    raise ValidationError(f"trainer_id: user {trainer} is not a {TRAINER}", field="trainer_id")
                values["trainer_id"] = trainer
            if card is not None:
                number = check_text(card, "card", max_length=40, required=True)
                owner = tx.conn.scalar(select(members.c.contact_id).where(members.c.card == number))
                if owner not in (None, contact):
                    raise ValidationError(f"card: {number} belongs to another member", field="card")
                values["card"] = number
            if values:
                tx.conn.execute(update(members).where(members.c.contact_id == contact).values(**values))
                if "trainer_id" in values:  # the running membership's trainer too (trainers' reports)
                    from .tables import memberships as m
                    tx.conn.execute(update(m).where(m.c.contact_id == contact, m.c.outcome.is_(None))
                                    .values(trainer_id=values["trainer_id"]))
                tx.emit("fitness.member_assigned", "contact", contact, data=values)

    def freeze(self, membership_id: Any, *, starts_on: date | str, days: Any, reason: str) -> Membership:
        """Freeze a membership (its end moves later), within the product's allowance."""
        with self._tx() as tx:
            return memberships.freeze(tx, membership_id, starts_on=as_date(starts_on, "starts_on"), days=days,
                                      reason=reason)

    # -- classes -----------------------------------------------------------------

    def add_class(self, **fields: Any) -> int:
        with self._tx() as tx:
            return classes.add_class(tx, **fields)

    def book(self, class_id: Any, contact_id: Any) -> int:
        with self._tx() as tx:
            return classes.book(tx, class_id, contact_id)

    # -- devices and check-ins ---------------------------------------------------------

    def add_device(self, name: str) -> tuple[int, str]:
        """Register an access-control device; returns ``(id, key)`` (the key is shown once)."""
        with self._tx() as tx:
            return devices.add_device(tx, name)

    def check_in(self, requests: Sequence[Request], *, device_id: int | None = None) -> list[Decision]:
        """Decide check-ins in one transaction (a device's batch, in time order); idempotent by event id."""
        ordered = sorted(requests, key=lambda r: r.at)
        with self.crm.transaction(self.actor_id) as tx:
            return [decide(tx, r, device_id) for r in ordered]


def _member_row(conn: Connection, contact_id: int) -> Any:
    row = conn.execute(select(members).where(members.c.contact_id == contact_id)).first()
    if row is None:
        raise NotFoundError(f"contact {contact_id} is not a member", field="contact_id")
    return row
