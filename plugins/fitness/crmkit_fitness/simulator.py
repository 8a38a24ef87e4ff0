"""A seeded simulator of a club's year: members of five kinds join, visit, freeze, get touch
points and renew or lapse, while the worker runs the plugin's daily pass each day (time injected
through the deployment's clock, which must be a ``FrozenClock``).

The kinds (share, visits a week, chance to renew):

* ``regular`` (40 %): 3 a week, 80 %;
* ``sporadic`` (20 %): 1 a week, 50 %;
* ``drop_off`` (20 %): 3 a week for 3-8 weeks, then one every two weeks, 25 %;
* ``freezer`` (10 %): like a regular, with a 14-day freeze two months in, 70 %;
* ``ghost`` (10 %): one visit a month, 10 %.

A member whose renewal was preceded by the ``end_30`` touch point renews with 10 points more.
Trainers and managers complete 70 % of the touch-point tasks the next day. The result keeps
every decision the simulator took, so tests can compute the reports' figures themselves.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import attrs
from sqlalchemy import select

from crmkit import Crm, FrozenClock, Worker, schema

from .checkins import Request
from .club import Club
from .tables import memberships, touches

KINDS = (("regular", 40, 3.0, 0.80), ("sporadic", 20, 1.0, 0.50), ("drop_off", 20, 3.0, 0.25),
         ("freezer", 10, 3.0, 0.70), ("ghost", 10, 0.25, 0.10))
PRODUCTS = (("year", "Gold, 12 months", "690.00", 365, 35), ("half", "Silver, 6 months", "390.00", 182, 35),
            ("quarter", "Quarter", "210.00", 91, 30))


@attrs.define
class Person:
    contact_id: int
    kind: str
    weekly: float
    renew: float
    joins: date
    product: str
    drop_after: int = 0
    decided: dict[int, bool] = attrs.field(factory=dict)  # membership id -> renewed?


@attrs.define
class SimResult:
    people: list[Person]
    start: date
    days: int
    checkins: int = 0
    allowed: int = 0
    refused: dict[str, int] = attrs.field(factory=dict)  # reason -> how many

    def kind_of(self, contact_id: int) -> str:
        return next(p.kind for p in self.people if p.contact_id == contact_id)


def setup(crm: Crm, rnd: random.Random, members: int) -> tuple[Club, list[int], list[int]]:
    """The catalogue, managers and trainers."""
    admin = crm.users.create(email="owner@club.example", name="Club Owner", role="admin")
    club = Club(crm, admin.id)
    for key, name in (("gym", "Gym"), ("yoga", "Yoga"), ("swim", "Pool")):
        club.add_activity(key, name)
    cur = crm.settings.default_currency
    for key, name, price, days, _ in PRODUCTS:
        club.add_product(key=key, name=name, price=price, currency=cur, duration_days=days, freeze_days=30,
                         freeze_times=2)
    managers = [crm.users.create(email=f"manager{i}@club.example", name=f"Manager {i}", role="manager").id
                for i in range(max(2, members // 200))]
    trainers = [crm.users.create(email=f"trainer{i}@club.example", name=f"Trainer {i}", role="trainer").id
                for i in range(max(2, members // 100))]
    return club, managers, trainers


def _pick(rnd: random.Random, table: Any, weight_at: int) -> Any:
    return rnd.choices(table, weights=[row[weight_at] for row in table])[0]


def simulate(crm: Crm, *, members: int = 2000, days: int = 365, seed: int = 1, join_days: int = 180) -> SimResult:
    """Run the club for ``days`` days from the clock's current day; members join over ``join_days``."""
    clock = crm.clock
    if not isinstance(clock, FrozenClock):
        raise TypeError("the simulator needs a deployment with a FrozenClock (injected time)")
    rnd = random.Random(seed)
    club, managers, trainers = setup(crm, rnd, members)
    start = clock.now().date()
    people: list[Person] = []
    for i in range(members):
        kind, _, weekly, renew = _pick(rnd, KINDS, 1)
        product = _pick(rnd, PRODUCTS, 4)[0]
        manager = managers[i % len(managers)]
        born = date(1960 + rnd.randrange(45), 1 + rnd.randrange(12), 1 + rnd.randrange(28))
        contact = crm.as_user(manager).contacts.create(first_name=f"Member{i}", last_name=kind.title(),
                                                       birthday=born.isoformat())
        people.append(Person(contact.id, kind, weekly, renew, start + timedelta(days=rnd.randrange(join_days)),
                             product, drop_after=rnd.randrange(21, 57)))
    result = SimResult(people, start, days)
    worker = Worker(crm)
    worker.jobs = {name: job for name, job in worker.jobs.items() if name.startswith("fitness.")}
    by_manager = {p.contact_id: managers[i % len(managers)] for i, p in enumerate(people)}
    for n in range(days):
        today = start + timedelta(days=n)
        clock.set(datetime.combine(today, time(6, 0), timezone.utc))
        _join(crm, club, people, today, trainers, by_manager, rnd)
        _renewals(crm, people, today, by_manager, rnd)
        _freezes(club, people, today)
        _visit(club, people, today, rnd, result)
        clock.set(datetime.combine(today, time(23, 0), timezone.utc))
        worker.run_once()
        _work_tasks(crm, today, rnd)
    return result


def _join(crm: Crm, club: Club, people: list[Person], today: date, trainers: list[int],
          by_manager: dict[int, int], rnd: random.Random) -> None:
    for p in people:
        if p.joins == today:
            seller = Club(crm, by_manager[p.contact_id])
            seller.enroll(p.contact_id, p.product)
            club.assign(p.contact_id, trainer_id=rnd.choice(trainers))


def _running(crm: Crm, contact_id: int, today: date) -> Any:
    m = memberships.c
    with crm.engine.connect() as conn:
        return conn.execute(select(memberships).where(m.contact_id == contact_id, m.starts_on <= today,
                                                      m.ends_on >= today).order_by(m.starts_on.desc())).first()


def _renewals(crm: Crm, people: list[Person], today: date, by_manager: dict[int, int], rnd: random.Random) -> None:
    """Members decide on their open renewal deal 10 days before the end."""
    m = memberships.c
    with crm.engine.connect() as conn:
        due = conn.execute(select(m.id, m.contact_id, m.renewal_deal_id).where(
            m.renewal_deal_id.is_not(None), m.outcome.is_(None), m.ends_on == today + timedelta(days=10))).all()
        touched = {r.membership_id for r in conn.execute(select(touches.c.membership_id).where(
            touches.c.rule == "end_30", touches.c.membership_id.in_([d.id for d in due])))}
    people_by_id = {p.contact_id: p for p in people}
    for row in due:
        p = people_by_id.get(row.contact_id)
        if p is None:
            continue
        yes = rnd.random() < min(1.0, p.renew + (0.10 if row.id in touched else 0.0))
        p.decided[row.id] = yes
        deals = crm.as_user(by_manager[p.contact_id]).deals
        if yes:
            deals.win(row.renewal_deal_id)
        else:
            deals.lose(row.renewal_deal_id, reason_text="not renewing")


def _freezes(club: Club, people: list[Person], today: date) -> None:
    for p in people:
        if p.kind == "freezer" and p.joins + timedelta(days=60) == today:
            cur = _running(club.crm, p.contact_id, today)
            if cur is not None:
                club.freeze(cur.id, starts_on=today, days=14, reason="holiday")


def _rate(p: Person, today: date) -> float:
    weekly = p.weekly
    if p.kind == "drop_off" and (today - p.joins).days > p.drop_after:
        weekly = 0.5
    return weekly / 7


def _visit(club: Club, people: list[Person], today: date, rnd: random.Random, result: SimResult) -> None:
    reqs = []
    for p in people:
        if p.joins <= today and rnd.random() < _rate(p, today):
            at = datetime.combine(today, time(7 + rnd.randrange(14), rnd.randrange(60)), timezone.utc)
            reqs.append(Request(f"sim-{p.contact_id}-{today.isoformat()}", at, member_id=p.contact_id))
    if reqs:
        decisions = club.check_in(reqs)
        result.checkins += len(decisions)
        result.allowed += sum(d.allowed for d in decisions)
        for d in decisions:
            if not d.allowed:
                result.refused[d.reason] = result.refused.get(d.reason, 0) + 1


def _work_tasks(crm: Crm, today: date, rnd: random.Random) -> None:
    """Staff complete 70 % of yesterday's touch-point tasks (a done task is done by its assignee)."""
    t = schema.tasks.c
    since = datetime.combine(today - timedelta(days=1), time(0), timezone.utc)
    with crm.engine.connect() as conn:
        rows = conn.execute(select(t.id, t.assignee_id).where(
            t.status == "open", t.rule.like("fitness.%"), t.created_at >= since,
            t.created_at < since + timedelta(days=1))).all()
    for row in rows:
        if rnd.random() < 0.7:
            crm.as_user(row.assignee_id).tasks.complete(row.id)
