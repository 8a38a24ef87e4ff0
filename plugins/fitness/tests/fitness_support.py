"""Helpers shared by the fitness tests (imported by each test_fitness_* module)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from crmkit import Crm, FrozenClock, User, Worker
from crmkit_fitness.checkins import Decision, Request
from crmkit_fitness.club import Club

MakeCrm = Callable[..., Crm]
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # a Monday, 09:00 UTC (the template's timezone: UTC)


def enabled(make_crm: MakeCrm, clock: FrozenClock, plugins: tuple[str, ...] = ("fitness",), **settings: Any) -> Crm:
    """A deployment with the plugin enabled, the clock at :data:`START`."""
    clock.set(START)
    return make_crm(plugins=list(plugins), settings={"fitness": settings} if settings else {})


def user(crm: Crm, name: str = "mia", role: str = "manager") -> User:
    return crm.users.create(email=f"{name}@club.example", name=name.title(), role=role)


def catalogue(club: Club) -> None:
    """Two activities, a yearly and a monthly membership, a morning membership, a pack, a trial."""
    club.add_activity("gym", "Gym")
    club.add_activity("yoga", "Yoga")
    club.add_product(key="year", name="Gold, 12 months", price="690.00", currency="EUR", duration_days=365,
                     freeze_days=30, freeze_times=2)
    club.add_product(key="month", name="Monthly", price="69.00", currency="EUR", duration_days=30, visit_limit=3,
                     activities=["gym"])
    club.add_product(key="morning", name="Mornings", price="39.00", currency="EUR", duration_days=30,
                     access_hours="06:00-12:00")
    club.add_product(key="pt5", name="5 sessions", kind="pack", price="200.00", currency="EUR", duration_days=60,
                     sessions=2, activities=["yoga"])
    club.add_product(key="trial", name="Trial week", price="0.00", currency="EUR", duration_days=7, trial=True)


def member(crm: Crm, club: Club, product: str | None = "year", name: str = "Ann") -> int:
    contact = club.services.contacts.create(first_name=name, last_name="Lee")
    if product is not None:
        club.enroll(contact.id, product)
    return contact.id


def visit(club: Club, contact_id: int, at: datetime, event_id: str | None = None,
          class_id: int | None = None) -> Decision:
    [d] = club.check_in([Request(event_id or f"e-{contact_id}-{at.isoformat()}", at, member_id=contact_id,
                                 class_id=class_id)])
    return d


def fitness_worker(crm: Crm) -> Worker:
    """The deployment's worker running only this plugin's jobs (the core's other jobs cost ~0.2 s a pass)."""
    worker = Worker(crm)
    worker.jobs = {name: job for name, job in worker.jobs.items() if name.startswith("fitness.")}
    return worker


def run_days(crm: Crm, clock: FrozenClock, days: int, each_day: Callable[[datetime], None] | None = None,
             step: int = 1) -> None:
    """Advance the clock ``step`` days at a time for ``days`` days, running the worker once each step."""
    worker = fitness_worker(crm)
    for _ in range(0, days, step):
        clock.advance(timedelta(days=step))
        if each_day is not None:
            each_day(clock.now())
        worker.run_once()


def phase(crm: Crm, contact_id: int) -> str:
    return str(Club(crm).member(contact_id)["phase"])
