"""Outbound webhooks to a real HTTP receiver on loopback, verified with the reference
``standardwebhooks`` package: signatures, one delivery per event, retries, disabling, the log."""

from __future__ import annotations

import json
from typing import Callable

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crmkit import Crm, FrozenClock, ValidationError, Worker
from crmkit.messages import webhooks as webhooks_module
from messages_support import Receiver


def test_events_are_posted_signed_and_verified_by_the_reference_package(mcrm: Callable[..., Crm],
                                                                         receiver: Receiver) -> None:
    crm = mcrm()
    crm.deals.create(title="Before the subscription")  # not sent: subscriptions get events from now on
    sub = crm.messages.webhooks.create(receiver.url + "/hook", ["deal.*"], description="ERP")
    assert sub.secret is not None and sub.secret.startswith("whsec_")
    assert crm.messages.webhooks.get(sub.id).secret is None  # shown once
    deal = crm.deals.create(title="Windows for the Smiths")
    crm.deals.move(deal.id, "proposal_sent")
    crm.contacts.create(first_name="Not", last_name="Wanted")

    report = Worker(crm).run_once()
    assert "core.webhooks" in report.ran
    assert [json.loads(r["body"])["type"] for r in receiver.requests] == ["deal.created", "deal.stage_changed"]
    verifier = Webhook(sub.secret)
    for req in receiver.requests:
        verified = verifier.verify(req["body"], req["headers"])
        assert verified["data"]["entity_type"] == "deal" and verified["data"]["entity_id"] == deal.id
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=").verify(
            receiver.requests[0]["body"], receiver.requests[0]["headers"])
    tampered = receiver.requests[0]["body"].replace(b"Smiths", b"Jones")
    assert tampered != receiver.requests[0]["body"]
    with pytest.raises(WebhookVerificationError):
        verifier.verify(tampered, receiver.requests[0]["headers"])

    assert crm.messages.webhooks.run() == 0  # never twice
    log = crm.messages.webhooks.deliveries(sub.id)
    assert [(d.event_type, d.status, d.attempts, d.last_status_code) for d in log] == [
        ("deal.stage_changed", "delivered", 1, 200), ("deal.created", "delivered", 1, 200)]


def test_failures_are_retried_with_the_same_id_and_disable_the_subscription(
        mcrm: Callable[..., Crm], receiver: Receiver, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhooks_module, "DISABLE_AFTER", 3)
    crm = mcrm()
    sub = crm.messages.webhooks.create(receiver.url + "/hook", ["contact.created"])
    receiver.answers = [(500, {"error": "down"}), (200, {})]
    crm.contacts.create(first_name="Ann")
    assert crm.messages.webhooks.run() == 0
    clock.advance(minutes=1)
    assert crm.messages.webhooks.run() == 1
    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1]  # the same webhook-id: the receiver can de-duplicate

    receiver.answers = [(500, {"error": "down"})]
    receiver.requests.clear()
    crm.contacts.create(first_name="Bob")
    for _ in range(3):
        crm.messages.webhooks.run()
        clock.advance(hours=1)
    disabled = crm.messages.webhooks.get(sub.id)
    assert not disabled.active and "3 failed deliveries in a row" in (disabled.disabled_reason or "")
    assert len(receiver.requests) == 3
    crm.contacts.create(first_name="Cy")
    crm.messages.webhooks.run()
    assert len(receiver.requests) == 3  # disabled: nothing more
    assert [e.type for e in crm.timeline.all(type="webhook.disabled").items] == ["webhook.disabled"]

    receiver.answers = [(204, {})]
    assert crm.messages.webhooks.update(sub.id, active=True).active
    clock.advance(hours=1)
    crm.messages.webhooks.run()
    # Bob's delivery is retried; Cy's event came while the subscription was off and is not queued for it
    (bob,) = [json.loads(r["body"])["data"]["changes"]["first_name"]["after"] for r in receiver.requests[3:]]
    assert bob == "Bob"


def test_subscriptions_check_their_input(mcrm: Callable[..., Crm]) -> None:
    crm = mcrm()
    for url, types, field in [("ftp://x", ["*"], "url"), ("https://x.example", [], "event_types"),
                              ("https://x.example", ["deal.*.x"], "event_types"), ("", ["*"], "url")]:
        with pytest.raises(ValidationError) as err:
            crm.messages.webhooks.create(url, types)
        assert err.value.field == field
    assert crm.messages.webhooks.list() == []

