"""Catalogue, sales through the pipeline, issuing on a won deal, freezes within the allowance."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from crmkit import ConflictError, FrozenClock, PermissionDeniedError, ValidationError
from crmkit_fitness import reports
from crmkit_fitness.club import Club
from crmkit_fitness.tables import touches

from fitness_support import MakeCrm, catalogue, enabled, user


def test_selling_a_membership_issues_it_when_the_deal_is_won(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    mia = user(crm)
    club = Club(crm, mia.id)
    catalogue(club)
    [year] = [p for p in club.products() if p.key == "year"]
    assert (str(year.price.amount), year.price.currency, year.freeze_days) == ("690.00", "EUR", 30)
    ann = crm.as_user(mia.id).contacts.create(first_name="Ann", last_name="Lee")
    deal = club.sell(ann.id, "year")
    assert (deal.pipeline, deal.stage, str(deal.amount)) == ("membership_sales", "new", "690.00 EUR")
    assert club.memberships(ann.id) == []
    assert Club(crm).member(ann.id)["phase"] == "prospect"
    crm.as_user(mia.id).deals.win(deal.id)
    [m] = club.memberships(ann.id)
    assert (m.product, m.cycle, m.starts_on, m.ends_on, m.deal_id) == ("year", 1, date(2026, 1, 5),
                                                                       date(2027, 1, 4), deal.id)
    assert "fitness.membership_issued" in [e.type for e in crm.timeline.of("contact", ann.id)]


def test_catalogue_refuses_bad_products(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    club = Club(crm, user(crm).id)
    catalogue(club)
    with pytest.raises(ValidationError, match="price"):
        club.add_product(key="x", name="X", price="1.005", currency="EUR", duration_days=30)
    with pytest.raises(ValidationError, match="sessions"):
        club.add_product(key="x", name="X", kind="pack", price="1.00", currency="EUR", duration_days=30)
    with pytest.raises(ValidationError, match="access_hours"):
        club.add_product(key="x", name="X", price="1.00", currency="EUR", duration_days=30, access_hours="7-23")
    with pytest.raises(ValidationError, match="activities"):
        club.add_product(key="x", name="X", price="1.00", currency="EUR", duration_days=30, activities=["swim"])
    with pytest.raises(ConflictError):
        club.add_product(key="year", name="X", price="1.00", currency="EUR", duration_days=30)
    trainer = user(crm, "tom", role="trainer")
    with pytest.raises(PermissionDeniedError):
        Club(crm, trainer.id).add_activity("box", "Boxing")
    assert len(club.products()) == 5


def test_freezes_extend_the_end_within_the_allowance(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    club = Club(crm, user(crm).id)
    catalogue(club)
    ann = club.services.contacts.create(first_name="Ann")
    m = club.enroll(ann.id, "year")
    m = club.freeze(m.id, starts_on="2026-02-01", days=20, reason="travel")
    assert (m.ends_on, m.freeze_days_used, m.freezes_used) == (date(2027, 1, 24), 20, 1)
    with pytest.raises(ValidationError, match="12 days is over the allowance: 10 of 30 days and 1 of 2 freezes left"):
        club.freeze(m.id, starts_on="2026-04-01", days=12, reason="surgery")
    with pytest.raises(ValidationError, match="already frozen"):
        club.freeze(m.id, starts_on="2026-02-10", days=2, reason="again")
    with pytest.raises(ValidationError, match="in the past"):
        club.freeze(m.id, starts_on="2026-01-01", days=2, reason="late")
    club.freeze(m.id, starts_on="2026-04-01", days=10, reason="surgery")
    with pytest.raises(ValidationError, match="0 of 30 days and 0 of 2 freezes left"):
        club.freeze(m.id, starts_on="2026-05-01", days=1, reason="more")
    assert club.memberships(ann.id)[0].ends_on == date(2027, 2, 3)
    frozen = [e for e in crm.timeline.of("contact", ann.id) if e.type == "fitness.frozen"]
    assert sorted(e.data["days"] for e in frozen) == [10, 20]


def test_a_lost_renewal_marks_the_membership_lapsed(make_crm: MakeCrm, clock: FrozenClock) -> None:
    from fitness_support import run_days

    crm = enabled(make_crm, clock)
    mia = user(crm)
    club = Club(crm, mia.id)
    catalogue(club)
    ann, bob = club.services.contacts.create(first_name="Ann"), club.services.contacts.create(first_name="Bob")
    club.enroll(ann.id, "month")
    club.enroll(bob.id, "month")
    run_days(crm, clock, 1)
    deals = crm.deals.list({"pipeline": "renewals"}).items
    assert sorted(d.contact_id for d in deals) == [ann.id, bob.id]
    assert {d.responsible_id for d in deals} == {mia.id}
    by_contact = {d.contact_id: d for d in deals}
    crm.as_user(mia.id).deals.lose(by_contact[ann.id].id, reason_text="moved away")
    crm.as_user(mia.id).deals.win(by_contact[bob.id].id)
    [a] = club.memberships(ann.id)
    assert a.outcome == "lapsed"
    b1, b2 = club.memberships(bob.id)
    assert (b1.outcome, b2.cycle, b2.starts_on) == ("renewed", 2, b1.ends_on.fromordinal(b1.ends_on.toordinal() + 1))
    run_days(crm, clock, 1)
    assert Club(crm).member(ann.id)["phase"] == "lapsed"
    assert Club(crm).member(bob.id)["phase"] == "renewed"
    # the reports' SQL on both databases (the simulated year checks them at scale, on SQLite)
    assert reports.renewals(crm, "product") == [{"key": "month", "ended": 2, "renewed": 1, "rate": "50.0"}]
    assert reports.renewals(crm, "cohort") == [{"key": "2026-01", "ended": 2, "renewed": 1, "rate": "50.0"}]
    assert reports.renewals(crm, "trainer") == [{"key": "(no trainer)", "ended": 2, "renewed": 1, "rate": "50.0"}]
    with crm.engine.connect() as conn:
        fired = conn.execute(select(touches.c.rule, touches.c.membership_id)
                             .where(touches.c.membership_id.in_([a.id, b1.id]))).all()
    assert fired  # the welcome and the renewal reminders of the first days
    outcome = {a.id: 0, b1.id: 1}
    attribution = reports.touch_attribution(crm)
    assert (attribution["ended"], attribution["renewed"]) == (2, 1)
    assert {r["rule"]: (r["with"], r["renewed_with"], r["without"], r["renewed_without"])
            for r in attribution["rules"]} == {
        rule: (n, r, 2 - n, 1 - r) for rule in {f.rule for f in fired}
        for n, r in [(sum(f.rule == rule for f in fired), sum(outcome[f.membership_id] for f in fired if f.rule == rule))]}
