"""Shared helpers of the telephony tests (deployment settings, events)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, MutableMapping

import crmkit
from crmkit import Crm, FrozenClock, Settings, hookimpl
from crmkit.testing import template
from crmkit_telephony import CallEvent
from crmkit_telephony.ingest import Ingested, ingest
from crmkit_telephony.providers import Originated

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
    return int(found.id)


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

    from crmkit.testing import auth_headers
    from crmkit.web import create_app

    admin = crm.users.by_email("admin@windows.example") or crm.users.create(
        email="admin@windows.example", name="Ada Admin", role="admin")
    return TestClient(create_app(crm)), auth_headers(crm, admin.id)


def token_for(crm: Crm, user_id: int) -> dict[str, str]:
    from crmkit.testing import auth_headers

    return auth_headers(crm, user_id)


class FakeProvider:
    """A third-party adapter: remembers what it was asked to dial."""

    name = "fakecloud"

    def __init__(self) -> None:
        self.dialled: list[tuple[str, str]] = []

    def parse_webhook(self, crm: Any, cfg: Any, request: Any) -> list[Any]:
        return []

    def originate(self, crm: Any, cfg: Any, extension: str, number: str) -> Originated:
        self.dialled.append((extension, number))
        return Originated(f"fake-{len(self.dialled)}")


class FakeCloudPlugin:
    plugin_info = crmkit.PluginInfo(name="fakecloud", version="0.1.0", requires=("telephony",))

    def __init__(self) -> None:
        self.provider = FakeProvider()

    @hookimpl
    def telephony_register_providers(self, crm: Any) -> list[Any]:
        return [self.provider]


@contextmanager
def fake_cloud(db_url: str, clock: FrozenClock, tmp_path: Path, **extra: Any) -> Iterator[tuple[Crm, FakeProvider]]:
    """A deployment whose click-to-call goes through :class:`FakeProvider` (Anna 101, Bob 102 unless
    ``extensions`` says otherwise); closed on exit."""
    plugin = FakeCloudPlugin()
    data = {**template(), "database": db_url, "plugins": ["telephony"],
            "settings": settings(provider="fakecloud", **extra)}
    crm = Crm(Settings.from_dict(data, base_dir=tmp_path, environ={}), plugins=[plugin], clock=clock)
    try:
        for email, name in (("anna@windows.example", "Anna"), ("bob@windows.example", "Bob")):
            crm.users.create(email=email, name=name)
        yield crm, plugin.provider
    finally:
        crm.close()


def raw_post(crm: Crm, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, Any]:
    """POST to the deployment's ASGI app with header bytes exactly as given (HTTP clients re-encode
    non-ASCII header values; a real attacker's bytes arrive as they are): (status, JSON body)."""
    import asyncio
    import json
    import threading

    from crmkit.web import create_app

    app = create_app(crm)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-length", str(len(body)).encode()), *headers],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    # in a thread of its own: a browser test's session (playwright's sync API) may keep an event loop
    # running in this one, and asyncio.run refuses to start inside a running loop
    failed: list[BaseException] = []

    def serve() -> None:
        try:
            asyncio.run(app(scope, receive, send))
        except BaseException as exc:  # re-raised in the test's thread
            failed.append(exc)

    worker = threading.Thread(target=serve)
    worker.start()
    worker.join()
    if failed:
        raise failed[0]
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))
