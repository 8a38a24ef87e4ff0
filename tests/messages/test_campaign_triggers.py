"""Event-triggered campaigns (``schedule = "event"``): a message per matching event's contact, queued
by the worker, never twice per contact and campaign, only after ``start_at`` (injected clock), only in
the segment, opt-outs suppressed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crmkit import Crm, FrozenClock, ValidationError, Worker
from crmkit.testing import template as toml_template
from messages_support import contact, messages_settings


def _crm(make_crm: Any, smtp: Any) -> Crm:
    fields = {**toml_template()["custom_fields"], "contact": {
        "club_level": {"type": "choice", "choices": ["silver", "gold"], "label": "Club level"}}}
    crm = make_crm(settings={"messages": messages_settings(smtp[1])}, custom_fields=fields)
    crm.messages.templates.save("thanks", "Thank you, {{ contact.first_name }}!", subject="Thank you")
    crm.messages.templates.save("welcome", "Welcome, {{ contact.first_name }}.", subject="Welcome")
    return crm


def _won(crm: Crm, who: Any, title: str) -> None:
    deal = crm.deals.create(title=title, contact_id=who.id)
    crm.deals.win(deal.id)


def _work(crm: Crm, clock: FrozenClock) -> None:
    """Two worker passes 15 s apart: the trigger job queues, the outbox job sends."""
    Worker(crm).run_once()
    clock.advance(seconds=15)
    Worker(crm).run_once()


def test_deal_won_reaches_the_deals_contact_once(make_crm: Any, smtp: Any, clock: FrozenClock) -> None:
    crm = _crm(make_crm, smtp)
    ann = contact(crm, first_name="Ann", emails=["ann@x.example"], custom={"club_level": "gold"})
    bob = contact(crm, first_name="Bob", emails=["bob@x.example"], custom={"club_level": "gold"})
    sil = contact(crm, first_name="Sil", emails=["sil@x.example"], custom={"club_level": "silver"})
    out = contact(crm, first_name="Out", emails=["out@x.example"], custom={"club_level": "gold"})
    crm.messages.opt_out(out.id, "email")
    start = clock.now() + timedelta(hours=1)
    campaign = crm.messages.campaigns.create("Thanks", template="thanks", schedule="event", trigger="deal.won",
                                             segment={"club_level": "gold"}, start_at=start)
    assert (campaign.status, campaign.trigger) == ("active", "deal.won")

    _won(crm, bob, "before the start")  # an event before start_at triggers nothing, now or later
    _work(crm, clock)
    clock.set(start)
    _work(crm, clock)
    assert smtp[0].messages == []

    _won(crm, ann, "Ann's windows")
    _won(crm, sil, "not in the segment")
    _won(crm, out, "opted out")
    crm.deals.create(title="open, not won", contact_id=bob.id)
    assert smtp[0].messages == []  # nothing inside the commands: the worker queues
    _work(crm, clock)
    assert [(m["To"], m["Subject"]) for _, m in smtp[0].messages] == [("ann@x.example", "Thank you")]
    assert "Thank you, Ann!" in smtp[0].messages[0][1].get_body(("plain",)).get_content()
    assert smtp[0].messages[0][1]["List-Unsubscribe"]  # marketing: the unsubscribe link

    _won(crm, ann, "Ann's second order")  # never twice per contact and campaign
    _work(crm, clock)
    _work(crm, clock)
    assert len(smtp[0].messages) == 1
    found = {m.contact_id: (m.status, m.idempotency_key) for m in crm.messages.list(campaign_id=campaign.id).items}
    assert found == {ann.id: ("sent", f"campaign:{campaign.id}:{ann.id}"),
                     out.id: ("suppressed", f"campaign:{campaign.id}:{out.id}")}
    assert crm.messages.campaigns.get(campaign.id).queued == 2
    r = crm.messages.campaigns.results(campaign.id)
    assert (r.queued, r.sent, r.suppressed) == (2, 1, 1)


def test_contact_created_and_two_campaigns_and_a_pause(make_crm: Any, smtp: Any, clock: FrozenClock) -> None:
    crm = _crm(make_crm, smtp)
    welcome = crm.messages.campaigns.create("Welcome", template="welcome", schedule="event",
                                            trigger="contact.created")
    thanks = crm.messages.campaigns.create("Thanks", template="thanks", schedule="event", trigger="deal.won")
    ann = contact(crm, first_name="Ann", emails=["ann@x.example"])
    _won(crm, ann, "Ann's windows")
    _work(crm, clock)
    assert sorted(m["Subject"] for _, m in smtp[0].messages) == ["Thank you", "Welcome"]
    assert [m.contact_id for m in crm.messages.list(campaign_id=welcome.id).items] == [ann.id]

    crm.messages.campaigns.pause(welcome.id)  # paused: new contacts get nothing
    contact(crm, first_name="Bob", emails=["bob@x.example"])
    _work(crm, clock)
    assert len(smtp[0].messages) == 2
    with pytest.raises(ValidationError) as err:
        crm.messages.campaigns.queue(thanks.id)  # an event campaign is not queued by hand
    assert err.value.field == "id"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"schedule": "event"}, "trigger"),
    ({"schedule": "event", "trigger": "campaign.queued"}, "trigger"),
    ({"schedule": "event", "trigger": "deal won"}, "trigger"),
    ({"schedule": "once", "trigger": "deal.won"}, "trigger"),
])
def test_a_bad_trigger_is_refused(make_crm: Any, smtp: Any, kwargs: dict[str, Any], field: str) -> None:
    crm = _crm(make_crm, smtp)
    with pytest.raises(ValidationError) as err:
        crm.messages.campaigns.create("Bad", template="thanks", **kwargs)
    assert err.value.field == field
    assert crm.messages.campaigns.list() == []


def test_an_event_campaign_through_the_api(make_crm: Any, smtp: Any, clock: FrozenClock) -> None:
    from starlette.testclient import TestClient

    from crmkit.testing import auth_headers
    from crmkit.web import create_app

    crm = _crm(make_crm, smtp)
    admin = auth_headers(crm, crm.users.create(email="ada@windows.example", name="Ada", role="admin").id)
    client = TestClient(create_app(crm))
    made = client.post("/api/v1/campaigns", headers=admin, json={
        "name": "Welcome", "template": "welcome", "schedule": "event", "trigger": "contact.created"})
    assert made.status_code == 201 and made.json()["trigger"] == "contact.created"
    bad = client.post("/api/v1/campaigns", headers=admin, json={"name": "x", "template": "welcome",
                                                                "schedule": "event"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "trigger"
    contact(crm, first_name="Ann", emails=["ann@x.example"])
    _work(crm, clock)
    assert [m["To"] for _, m in smtp[0].messages] == ["ann@x.example"]


def test_an_event_campaign_from_the_cli(db_url: str, tmp_path: Any, smtp: Any) -> None:
    import json

    from test_cli import fails, ok
    from test_messages_cli import _deployment

    cli = _deployment(db_url, tmp_path, smtp[1])
    body = tmp_path / "welcome.txt"
    body.write_text("Welcome, {{ contact.first_name }}.")
    ok(*cli, "templates", "save", "welcome", "--body", str(body), "--subject", "Welcome")
    made = json.loads(ok(*cli, "campaigns", "create", "Welcome", "--template", "welcome", "--schedule", "event",
                         "--trigger", "contact.created", "--json").stdout)
    assert (made["schedule"], made["trigger"], made["status"]) == ("event", "contact.created", "active")
    fails(*cli, "campaigns", "create", "X", "--template", "welcome", "--schedule", "event", contains="trigger")
    fails(*cli, "campaigns", "queue", str(made["id"]), contains="trigger event")
