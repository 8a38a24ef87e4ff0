"""Members and their memberships: selling through the "Membership sales" pipeline, issuing on a
won deal, renewals through the "Renewals" pipeline, freezes within the product's allowance.

Everything here runs inside a transaction and acts through the core's services as that
transaction's actor.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import attrs
from sqlalchemy import Connection, insert, select, update

from crmkit import Money, NotFoundError, Tx, ValidationError, check_text, schema

from .catalogue import find_product
from .checks import as_id, as_int, new_id
from .config import NAME, RENEWALS, SALES, local_date
from .tables import freezes, members, memberships, products, sales


@attrs.frozen
class Membership:
    """A membership or pack a member holds."""

    id: int
    contact_id: int
    product: str
    kind: str
    cycle: int
    starts_on: date
    ends_on: date
    visits_used: int
    visit_limit: int | None
    sessions_used: int
    sessions: int | None
    freeze_days_used: int
    freezes_used: int
    outcome: str | None
    deal_id: int | None
    renewal_deal_id: int | None
    name: str = ""  # the product's name

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        data["starts_on"], data["ends_on"] = self.starts_on.isoformat(), self.ends_on.isoformat()
        return data


def membership_record(row: Any) -> Membership:
    return Membership(
        id=row.id, contact_id=row.contact_id, product=row.key, kind=row.kind, cycle=row.cycle,
        starts_on=row.starts_on, ends_on=row.ends_on, visits_used=row.visits_used, visit_limit=row.visit_limit,
        sessions_used=row.sessions_used, sessions=row.sessions, freeze_days_used=row.freeze_days_used,
        freezes_used=row.freezes_used, outcome=row.outcome, deal_id=row.deal_id, renewal_deal_id=row.renewal_deal_id,
        name=getattr(row, "name", ""))


def load_memberships(conn: Connection, contact_id: int) -> list[Membership]:
    m, p = memberships.c, products.c
    rows = conn.execute(select(m.id, m.contact_id, p.key, m.kind, m.cycle, m.starts_on, m.ends_on, m.visits_used,
                               p.visit_limit, m.sessions_used, p.sessions, m.freeze_days_used, m.freezes_used,
                               m.outcome, m.deal_id, m.renewal_deal_id, p.name)
                        .join_from(memberships, products, m.product_id == p.id)
                        .where(m.contact_id == contact_id).order_by(m.starts_on, m.id))
    return [membership_record(r) for r in rows]


def ensure_member(tx: Tx, contact_id: int, manager_id: int | None = None) -> Any:
    """The member row of a contact, made (phase ``prospect``) if need be."""
    row = tx.conn.execute(select(members).where(members.c.contact_id == contact_id)).first()
    if row is None:
        tx.conn.execute(insert(members).values(
            contact_id=contact_id, manager_id=manager_id, phase="prospect", phase_since=local_date(tx.crm, tx.now),
            cycle=0, visits=0, recent=0.0, norm=0.0, risk=0, joined_at=tx.now))
        tx.emit("fitness.phase_changed", "contact", contact_id, changes={"phase": {"old": None, "new": "prospect"}},
                data={"phase": "prospect", "reason": "a membership was offered"})
        row = tx.conn.execute(select(members).where(members.c.contact_id == contact_id)).one()
    elif manager_id is not None and row.manager_id is None:
        tx.conn.execute(update(members).where(members.c.contact_id == contact_id).values(manager_id=manager_id))
    return row


def sell(tx: Tx, contact_id: Any, product: Any, *, responsible_id: int | None = None) -> Any:
    """Open a deal in "Membership sales" for ``product`` to the contact (won: the membership is issued)."""
    contact = as_id(contact_id, "contact_id")
    services = tx.crm.as_user(tx.actor_id)
    person = services.contacts.get(contact)  # the acting user must see the contact
    prod = find_product(tx.conn, product)
    if not prod.active:
        raise ValidationError(f"product: {prod.key!r} is no longer sold", field="product")
    name = f"{person.first_name} {person.last_name}".strip() or f"contact {contact}"
    deal = services.deals.create(
        title=f"{prod.name}: {name}", pipeline=SALES, amount=str(Money.from_minor(prod.price_minor, prod.currency)
                                                                 .amount),
        currency=prod.currency, contact_id=contact, responsible_id=responsible_id)
    tx.conn.execute(insert(sales).values(deal_id=deal.id, contact_id=contact, product_id=prod.id))
    ensure_member(tx, contact, deal.responsible_id)
    return deal


def _current(conn: Connection, contact_id: int, today: date) -> Any:
    """The member's membership (not pack) that runs on or after ``today``, latest first."""
    m = memberships.c
    return conn.execute(select(memberships).where(
        m.contact_id == contact_id, m.kind == "membership", m.ends_on >= today).order_by(m.ends_on.desc())).first()


def issue(tx: Tx, deal_id: int) -> int | None:
    """Issue what a won sale or renewal deal sold; returns the new membership's id (``None``: not ours)."""
    sale = tx.conn.execute(select(sales).where(sales.c.deal_id == deal_id)).first()
    if sale is None:
        return None
    m = memberships.c
    if tx.conn.scalar(select(m.id).where(m.deal_id == deal_id)) is not None:
        return None  # already issued (a deal reopened and won again)
    prod = tx.conn.execute(select(products).where(products.c.id == sale.product_id)).one()
    deal = tx.conn.execute(select(schema.deals.c.responsible_id).where(schema.deals.c.id == deal_id)).one()
    member = ensure_member(tx, sale.contact_id, deal.responsible_id)
    today = local_date(tx.crm, tx.now)
    renews = None
    if prod.kind == "membership" and not prod.trial:
        if sale.renews_id is not None:
            renews = tx.conn.execute(select(memberships).where(m.id == sale.renews_id)).one()
        else:
            renews = _current(tx.conn, sale.contact_id, today)
    starts = max(today, renews.ends_on + timedelta(days=1)) if renews is not None else today
    counted = prod.kind == "membership" and not prod.trial
    cycle = member.cycle + 1 if counted else max(member.cycle, 0)
    membership_id = new_id(tx.conn.execute(insert(memberships).values(
        contact_id=sale.contact_id, product_id=prod.id, kind=prod.kind, cycle=cycle, starts_on=starts,
        ends_on=starts + timedelta(days=prod.duration_days - 1), visits_used=0, sessions_used=0,
        freeze_days_used=0, freezes_used=0, deal_id=deal_id, renews_id=renews.id if renews is not None else None,
        trainer_id=member.trainer_id, created_at=tx.now)))
    if renews is not None:
        tx.conn.execute(update(memberships).where(m.id == renews.id).values(outcome="renewed"))
    if counted:
        tx.conn.execute(update(members).where(members.c.contact_id == sale.contact_id).values(cycle=cycle))
    tx.emit(f"{NAME}.membership_issued", "contact", sale.contact_id, data={
        "membership_id": membership_id, "product": prod.key, "kind": prod.kind, "cycle": cycle,
        "starts_on": starts.isoformat(), "ends_on": (starts + timedelta(days=prod.duration_days - 1)).isoformat(),
        "deal_id": deal_id, "renews_id": renews.id if renews is not None else None})
    return membership_id


def renewal_lost(tx: Tx, deal_id: int, reason: str | None) -> None:
    """A lost renewal deal: the membership it renews is marked lapsed."""
    sale = tx.conn.execute(select(sales).where(sales.c.deal_id == deal_id)).first()
    if sale is None or sale.renews_id is None:
        return
    m = memberships.c
    tx.conn.execute(update(memberships).where(m.id == sale.renews_id, m.outcome.is_(None)).values(outcome="lapsed"))
    tx.emit(f"{NAME}.renewal_lost", "contact", sale.contact_id, data={
        "membership_id": sale.renews_id, "deal_id": deal_id, "reason": reason})


def open_renewals(tx: Tx, today: date, renewal_days: int) -> int:
    """A renewal deal for every membership ending within ``renewal_days`` without one; returns how many."""
    m, p = memberships.c, products.c
    due = tx.conn.execute(select(m.id, m.contact_id, m.product_id, m.ends_on, p.name, p.price_minor, p.currency,
                                 members.c.manager_id)
                          .join_from(memberships, products, m.product_id == p.id)
                          .join(members, members.c.contact_id == m.contact_id)
                          .where(m.kind == "membership", p.trial.is_(False), m.outcome.is_(None),
                                 m.renewal_deal_id.is_(None), m.ends_on >= today,
                                 m.ends_on <= today + timedelta(days=renewal_days))
                          .order_by(m.id)).all()
    deals = tx.crm.as_user(tx.actor_id).deals
    renewed = set(tx.conn.scalars(select(m.renews_id).where(m.renews_id.in_([r.id for r in due])))) if due else set()
    for row in due:
        if row.id in renewed:
            tx.conn.execute(update(memberships).where(m.id == row.id).values(outcome="renewed"))
            continue  # already renewed by a direct sale
        deal = deals.create(title=f"Renewal: {row.name} (ends {row.ends_on})", pipeline=RENEWALS,
                            amount=str(Money.from_minor(row.price_minor, row.currency).amount), currency=row.currency,
                            contact_id=row.contact_id, responsible_id=row.manager_id, source=NAME)
        tx.conn.execute(insert(sales).values(deal_id=deal.id, contact_id=row.contact_id, product_id=row.product_id,
                                             renews_id=row.id))
        tx.conn.execute(update(memberships).where(m.id == row.id).values(renewal_deal_id=deal.id))
        tx.emit(f"{NAME}.renewal_opened", "contact", row.contact_id, data={
            "membership_id": row.id, "deal_id": deal.id, "ends_on": row.ends_on.isoformat()})
    return len(due)


def close_ended(tx: Tx, today: date) -> int:
    """Memberships that ended without a renewal: outcome ``lapsed``; returns how many."""
    m = memberships.c
    ids = list(tx.conn.scalars(select(m.id).where(m.kind == "membership", m.outcome.is_(None), m.ends_on < today)))
    if ids:
        tx.conn.execute(update(memberships).where(m.id.in_(ids)).values(outcome="lapsed"))
    return len(ids)


def freeze(tx: Tx, membership_id: Any, *, starts_on: date, days: Any, reason: str) -> Membership:
    """Freeze a membership for ``days`` from ``starts_on``: its end moves that much later.

    Refused (naming the numbers) beyond the product's allowance of days or freezes, over
    another freeze, outside the membership's term, or in the past."""
    ident = as_id(membership_id, "membership_id")
    n = as_int(days, "days", low=1, high=3660)
    assert n is not None
    why = check_text(reason, "reason", max_length=300, required=True)
    m = memberships.c
    row = tx.conn.execute(select(memberships).where(m.id == ident).with_for_update()).first()
    if row is None:
        raise NotFoundError(f"membership {ident} does not exist", field="membership_id")
    tx.crm.as_user(tx.actor_id).contacts.get(row.contact_id)  # the acting user must see the member
    prod = tx.conn.execute(select(products).where(products.c.id == row.product_id)).one()
    if row.kind != "membership":
        raise ValidationError("membership_id: packs are not frozen", field="membership_id")
    ends = starts_on + timedelta(days=n - 1)
    if starts_on < local_date(tx.crm, tx.now):
        raise ValidationError(f"starts_on: {starts_on} is in the past", field="starts_on")
    if starts_on < row.starts_on or starts_on > row.ends_on:
        raise ValidationError(f"starts_on: the membership runs {row.starts_on} to {row.ends_on}", field="starts_on")
    left_days, left_times = prod.freeze_days - row.freeze_days_used, prod.freeze_times - row.freezes_used
    if left_times < 1 or n > left_days:
        raise ValidationError(
            f"days: a freeze of {n} days is over the allowance: {max(left_days, 0)} of {prod.freeze_days} days and "
            f"{max(left_times, 0)} of {prod.freeze_times} freezes left", field="days")
    f = freezes.c
    if tx.conn.scalar(select(f.id).where(f.membership_id == ident, f.starts_on <= ends, f.ends_on >= starts_on)):
        raise ValidationError("starts_on: the membership is already frozen in that period", field="starts_on")
    tx.conn.execute(insert(freezes).values(membership_id=ident, starts_on=starts_on, ends_on=ends, reason=why,
                                           created_by=tx.actor_id, created_at=tx.now))
    tx.conn.execute(update(memberships).where(m.id == ident).values(
        ends_on=row.ends_on + timedelta(days=n), freeze_days_used=row.freeze_days_used + n,
        freezes_used=row.freezes_used + 1))
    tx.emit(f"{NAME}.frozen", "contact", row.contact_id, data={
        "membership_id": ident, "starts_on": starts_on.isoformat(), "ends_on": ends.isoformat(), "days": n,
        "reason": why, "new_end": (row.ends_on + timedelta(days=n)).isoformat()})
    return next(x for x in load_memberships(tx.conn, row.contact_id) if x.id == ident)
