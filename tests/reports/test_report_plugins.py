"""A plugin's purchases (the ``visits`` test plugin, enabled by entry point) count in the lifecycle,
RFM and cohorts, under the record rules; its ``crm_score`` answers are stored. SQLite, PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from crmkit import FrozenClock, schema
from crmkit.core.reports import run_report
from crmkit.core.reports.scores import ranked, scores_of
from crmkit.core.reports.scores_job import recompute_scores
from crmkit.core.reports.segments_job import recompute_segments
from crmkit_testplugins.visits import record_visit
from conftest import make_report_crm, rows

UTC = timezone.utc
T = datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_visits_are_purchases_and_scores(make_crm: Any, clock: FrozenClock) -> None:
    crm = make_report_crm(make_crm, plugins=["visits"])
    clock.set(T)
    mia = crm.users.create(email="mia@w.example", name="Mia", role="manager")
    sam = crm.users.create(email="sam@w.example", name="Sam", role="manager")
    buyer = crm.contacts.create(first_name="Buyer", responsible_id=mia.id)
    member = crm.contacts.create(first_name="Member", responsible_id=mia.id)
    other = crm.contacts.create(first_name="Other", responsible_id=sam.id)
    quiet = crm.contacts.create(first_name="Quiet", responsible_id=sam.id)
    deal = crm.deals.create(title="Windows", contact_id=buyer.id, responsible_id=mia.id, amount="500.00")
    crm.deals.win(deal.id)
    for days in (0, 3, 40):  # three visits, the last 40 days later: regular
        record_visit(crm, member.id, T + timedelta(days=days))
    record_visit(crm, other.id, T + timedelta(days=1))
    clock.set(T + timedelta(days=45))

    lifecycle = run_report(crm, "lifecycle")
    assert [lifecycle.row(entity_type="contact", lifecycle=s)["customers"] for s in
            ("potential", "active", "regular", "lost")] == [1, 2, 1, 0]
    mine = run_report(crm.as_user(mia.id), "lifecycle")  # Sam's contacts and their visits are not Mia's
    assert [mine.row(entity_type="contact", lifecycle=s)["customers"] for s in
            ("potential", "active", "regular", "lost")] == [0, 1, 1, 0]
    rfm = {r["segment"]: r for r in run_report(crm, "rfm").rows}
    assert sum(r["customers"] for r in rfm.values()) == 3
    assert sum(r["purchases"] for r in rfm.values()) == 5
    assert sum(r["amount"].minor_units for r in rfm.values()) == 50000  # visits carry no money
    cohorts = run_report(crm, "cohorts").rows
    assert [(r["cohort"], r["customers"], r["m1"]) for r in cohorts] == [("2026-03", 3, 1 / 3)]

    assert recompute_segments(crm, clock.now()) == 3
    stored = {r.entity_id: r for r in rows(crm, schema.customer_segments)}
    assert (stored[member.id].lifecycle, stored[member.id].purchases) == ("regular", 3)
    assert {c.id for c in crm.contacts.list({"lifecycle": "potential"}).items} == {quiet.id}

    recompute_scores(crm, clock.now())
    assert scores_of(crm.as_user(mia.id), "contact", member.id) == {"churn_risk": 5 / 30}
    assert [(c.id, s) for c, s in ranked(crm, "contact", "churn_risk").items] == [(other.id, 1.0),
                                                                                   (member.id, 5 / 30)]
    assert [c.id for c, _ in ranked(crm.as_user(mia.id), "contact", "churn_risk").items] == [member.id]
