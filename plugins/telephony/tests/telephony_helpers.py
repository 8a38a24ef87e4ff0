"""Shared helpers of the telephony tests (deployment settings, events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from crmkit import Crm, FrozenClock
from crmkit_telephony import CallEvent
from crmkit_telephony.ingest import Ingested, ingest

SECRET = "generic-webhook-secret-0123456789"
TWILIO_TOKEN = "12345"
TWILIO_URL = "http://testserver/api/v1/telephony/webhooks/twilio"  # the public URL configured at Twilio
MakeCrm = Callable[..., Crm]

CUSTOMER = "+12025550144"
OFFICE = "+12025550100"


def settings(**extra: Any) -> dict[str, Any]:
    return {"telephony": {
        "callback_minutes": 15,
        "extensions": {"101": "anna@windows.example", "102": "bob@windows.example"},
        "generic": {"secret": SECRET, "max_age_seconds": 300},
        "twilio": {"auth_token": TWILIO_TOKEN, "webhook_url": TWILIO_URL},
        **extra,
    }}


def telephony_crm(make_crm: MakeCrm, **extra: Any) -> Crm:
    """The window company with telephony enabled and two telephony users (Anna 101, Bob 102)."""
    crm = make_crm(plugins=["telephony"], settings=settings(**extra))
    for email, name in (("anna@windows.example", "Anna"), ("bob@windows.example", "Bob")):
        if crm.users.by_email(email) is None:
            crm.users.create(email=email, name=name)
    return crm


def user(crm: Crm, email: str) -> int:
    found = crm.users.by_email(email)
    assert found is not None
    return found.id


def event(clock: FrozenClock, call_id: str, status: str, *, at: datetime | None = None, **kw: Any) -> CallEvent:
    kw.setdefault("provider", "generic")
    return CallEvent(call_id=call_id, status=status, occurred_at=at or clock.now(), **kw)


def feed(crm: Crm, clock: FrozenClock, call_id: str, status: str, **kw: Any) -> Ingested:
    return ingest(crm, event(clock, call_id, status, **kw))


def inbound(crm: Crm, clock: FrozenClock, call_id: str, number: str = CUSTOMER, *, answer: bool,
            talk: int = 60) -> Ingested:
    """A whole inbound call: ringing, (answered by 101), ended."""
    feed(crm, clock, call_id, "ringing", direction="inbound", from_number=number, to_number=OFFICE)
    clock.advance(seconds=10)
    if answer:
        feed(crm, clock, call_id, "answered", extension="101")
        clock.advance(seconds=talk)
    return feed(crm, clock, call_id, "ended")


def timeline_types(crm: Crm, entity: str, ident: int) -> list[str]:
    return [e.type for e in crm.timeline.of(entity, ident, limit=500) if e.type.startswith("telephony.")]


def api_client(crm: Crm) -> tuple[Any, dict[str, str]]:
    """A TestClient of the deployment's app and an admin's bearer header (webhooks need none)."""
    from starlette.testclient import TestClient

    from crmkit.core import auth
    from crmkit.web import create_app

    admin = crm.users.by_email("admin@windows.example") or crm.users.create(
        email="admin@windows.example", name="Ada Admin", role="admin")
    _, secret = auth.create_token(crm, admin.id, "tests")
    return TestClient(create_app(crm)), {"Authorization": f"Bearer {secret}"}


def token_for(crm: Crm, user_id: int) -> dict[str, str]:
    from crmkit.core import auth

    _, secret = auth.create_token(crm, user_id, "tests")
    return {"Authorization": f"Bearer {secret}"}
