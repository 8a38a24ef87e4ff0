"""Merging duplicate contacts through the core's merge API: every club row of the merged-away card
follows the survivor (memberships, packs, freezes, sales, check-ins, bookings, touch points, the
member row), cycles numbered again in time order, nothing lost and nothing twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from starlette.testclient import TestClient

from crmkit import FrozenClock
from crmkit.testing import auth_headers
from crmkit.web import create_app
from crmkit_fitness.checkins import Request
from crmkit_fitness.club import Club
from crmkit_fitness.tables import bookings, checkins, freezes, members, memberships, sales, touches

from fitness_support import MakeCrm, catalogue, enabled, run_days, user, visit

TABLES = (memberships, sales, checkins, bookings, touches, freezes)


def _count(crm: Any, table: Any, contact_ids: list[int]) -> int:
    with crm.engine.connect() as conn:
        if table is freezes:
            return int(conn.scalar(select(func.count()).select_from(freezes.join(
                memberships, memberships.c.id == freezes.c.membership_id)).where(
                memberships.c.contact_id.in_(contact_ids))))
        return int(conn.scalar(select(func.count()).select_from(table).where(table.c.contact_id.in_(contact_ids))))


def test_a_merge_moves_the_club_history_to_the_survivor(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    mia = user(crm, role="admin")
    tom = user(crm, "tom", role="trainer")
    club = Club(crm, mia.id)
    catalogue(club)
    keep = club.services.contacts.create(first_name="Ann", last_name="Lee")
    dup = club.services.contacts.create(first_name="Anne", last_name="Lee")
    # the duplicate card: a yearly membership with a freeze, a pack, a trainer, the card number
    first = club.enroll(dup.id, "year")
    club.enroll(dup.id, "pt5")
    club.assign(dup.id, trainer_id=tom.id, card="C-77")
    yoga = club.add_class(activity="yoga", trainer_id=tom.id, starts_at=clock.now() + timedelta(days=20))
    spin = club.add_class(activity="gym", trainer_id=tom.id, starts_at=clock.now() + timedelta(days=21))
    club.book(yoga, dup.id)
    club.book(yoga, keep.id)  # both cards booked the same class: one booking stays
    club.book(spin, dup.id)
    visit(club, dup.id, clock.now())
    run_days(crm, clock, 2, lambda now: visit(club, dup.id, now))
    club.freeze(first.id, starts_on=(clock.now() + timedelta(days=3)).date(), days=2, reason="cold")
    # the survivor: a monthly membership started later, its own visits
    second = club.enroll(keep.id, "month")
    run_days(crm, clock, 2, lambda now: visit(club, keep.id, now))
    both = [keep.id, dup.id]
    before = {t.name: _count(crm, t, both) for t in TABLES}
    with crm.engine.connect() as conn:
        fired = sorted(conn.execute(select(touches.c.rule, touches.c.membership_id)
                                    .where(touches.c.contact_id.in_(both))).all())
        visits = sum(conn.scalars(select(members.c.visits).where(members.c.contact_id.in_(both))))
    assert ("welcome", first.id) in fired and ("welcome", second.id) in fired  # the same rule, cycle 1 of each card

    with TestClient(create_app(crm)) as client:
        r = client.post(f"/api/v1/contacts/{keep.id}/merge", headers=auth_headers(crm, mia.id), json={"ids": [dup.id]})
        assert r.status_code == 200, r.text

    after = {t.name: _count(crm, t, [keep.id]) for t in TABLES}
    assert after == {**before, bookings.name: before[bookings.name] - 1}  # all on the survivor, one booking less
    assert all(_count(crm, t, [dup.id]) == 0 for t in TABLES if t is not freezes)
    with crm.engine.connect() as conn:
        terms = {r.id: r.cycle for r in conn.execute(select(memberships.c.id, memberships.c.cycle)
                                                      .where(memberships.c.contact_id == keep.id))}
        moved = sorted(conn.execute(select(touches.c.rule, touches.c.membership_id, touches.c.cycle)
                                    .where(touches.c.contact_id == keep.id)).all())
        [row] = conn.execute(select(members).where(members.c.contact_id.in_(both))).all()
        [booked] = conn.execute(select(bookings).where(bookings.c.class_id == yoga)).all()
    assert (terms[first.id], terms[second.id]) == (1, 2)  # numbered again in the order the terms started
    assert sorted((r, m) for r, m, _ in moved) == fired  # every touch point kept, none twice
    assert all(c == terms[m] for _, m, c in moved if m in (first.id, second.id))
    assert (row.contact_id, row.card, row.trainer_id, row.cycle, row.visits) == (keep.id, "C-77", tom.id, 2, visits)
    assert booked.contact_id == keep.id
    state = Club(crm).member(keep.id)
    assert sorted(m["product"] for m in state["memberships"]) == ["month", "pt5", "year"]
    event = next(e for e in crm.timeline.of("contact", keep.id, limit=200).items if e.type == "contact.merged")
    assert event.data["moved"]["fitness.fitness_memberships"] == 2
    # the club goes on: the next passes fire nothing twice, the card opens the door
    run_days(crm, clock, 2)
    with crm.engine.connect() as conn:
        keys = conn.execute(select(touches.c.rule, touches.c.cycle).where(touches.c.contact_id == keep.id)).all()
    assert len(keys) == len(set(keys))
    [door] = club.check_in([Request("after-merge", clock.now(), card="C-77")])
    assert (door.contact_id, door.allowed) == (keep.id, True)


def test_merging_cards_that_are_not_members_changes_nothing_of_the_club(make_crm: MakeCrm,
                                                                           clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    mia = user(crm, role="admin")
    a = crm.contacts.create(first_name="Bo")
    b = crm.contacts.create(first_name="Bo")
    with TestClient(create_app(crm)) as client:
        r = client.post(f"/api/v1/contacts/{a.id}/merge", headers=auth_headers(crm, mia.id), json={"ids": [b.id]})
        assert r.status_code == 200, r.text
    event = next(e for e in crm.timeline.of("contact", a.id, limit=50).items if e.type == "contact.merged")
    assert event.data["moved"].get("fitness.fitness_members", 0) == 0
    assert Club(crm).memberships(a.id) == []
