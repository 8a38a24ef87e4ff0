"""Customer segments as campaign audiences: a campaign's segment filters contacts by ``lifecycle``
and ``rfm_segment`` (as the worker last computed them) like the contact list does; a bad value is
refused at ``create`` naming the filter. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from crmkit import FrozenClock, ValidationError, schema
from crmkit.core.reports.segments_job import recompute_segments

from conftest import rows

UTC = timezone.utc
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
SETTINGS = {"reports": {"lifecycle": {"lost_days": 90, "regular_purchases": 2}},
            "messages": {"public_url": "https://crm.windows.example", "retry_seconds": 60,
                         "email": {"host": "127.0.0.1", "port": 9, "security": "none",  # queued, never sent here
                                   "from": "Windows Ltd <crm@windows.example>", "timeout": 5}}}


def _buy(crm: Any, clock: FrozenClock, contact_id: int, when: datetime, amount: str) -> None:
    clock.set(when)
    deal = crm.deals.create(title=f"Sale {contact_id} {when:%Y-%m-%d}", contact_id=contact_id)
    crm.deals.update(deal.id, {"amount": amount, "currency": "USD"})
    crm.deals.win(deal.id)


def test_campaign_audiences_by_lifecycle_and_rfm_segment(make_crm: Any, clock: FrozenClock) -> None:
    crm = make_crm(settings=SETTINGS)
    clock.set(NOW - timedelta(days=400))
    people = {name: crm.contacts.create(first_name=name, last_name="Smith", emails=[f"{name.lower()}@x.example"]).id
              for name in ("Rita", "Ann", "Lou", "Pat", "Ray")}
    _buy(crm, clock, people["Rita"], NOW - timedelta(days=40), "900.50")     # two purchases, recent: regular
    _buy(crm, clock, people["Rita"], NOW - timedelta(days=5), "300.50")
    _buy(crm, clock, people["Ann"], NOW - timedelta(days=10), "120.50")      # one, recent: active
    _buy(crm, clock, people["Lou"], NOW - timedelta(days=200), "50.50")      # nothing for 90 days: lost
    _buy(crm, clock, people["Ray"], NOW - timedelta(days=60), "75.50")       # one: active
    clock.set(NOW)                                                           # Pat bought nothing: potential
    recompute_segments(crm, NOW)
    stored = {r.entity_id: r for r in rows(crm, schema.customer_segments) if r.entity_type == "contact"}
    crm.messages.templates.save("offer", "Hello {{ contact.first_name }}", subject="Offer")

    def audience(segment: dict[str, Any]) -> set[int]:
        campaign = crm.messages.campaigns.create(f"To {segment}", template="offer", segment=segment)
        queued = crm.messages.campaigns.queue(campaign.id)
        got = {m.contact_id for m in crm.messages.list(campaign_id=campaign.id, limit=500).items}
        assert queued == len(got)
        listed = {c.id for c in crm.contacts.list(segment, limit=500).items}
        assert got == listed  # the campaign's audience is the contact list's
        return got

    assert audience({"lifecycle": "regular"}) == {people["Rita"]}
    assert audience({"lifecycle__in": ["active", "lost"]}) == {people["Ann"], people["Lou"], people["Ray"]}
    assert audience({"lifecycle": "potential"}) == {people["Pat"]}
    assert audience({"lifecycle__ne": "potential", "first_name__ne": "Ann"}) == {
        people["Rita"], people["Lou"], people["Ray"]}
    for segment in {r.rfm_segment for r in stored.values()}:
        want = {i for i, r in stored.items() if r.rfm_segment == segment}
        assert audience({"rfm_segment": segment}) == want and want
    for bad in ({"lifecycle": "vip"}, {"rfm_segment__in": "loyal"}, {"lifecycle__gt": "active"}):
        with pytest.raises(ValidationError) as err:
            crm.messages.campaigns.create("Bad", template="offer", segment=bad)
        assert err.value.field == next(iter(bad))
