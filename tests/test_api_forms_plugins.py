"""Public lead capture (``POST /api/v1/forms/{key}``) and plugin routes under ``/api/v1/<plugin>/``."""

from __future__ import annotations

from typing import Any

import pytest
from test_api_helpers import Api, api, build_api  # noqa: F401  (fixture)

from crmkit import ConfigError, FrozenClock
from crmkit.web import create_app

ANON = {"Authorization": ""}


def test_json_form_creates_a_lead_with_source_utm_and_message(api: Api) -> None:
    response = api.client.post("/api/v1/forms/site", headers=ANON, json={
        "name": "Eve", "phone": "202 555 0144", "email": "eve@example.com", "message": "Need 3 windows",
        "utm_medium": "cpc", "utm_campaign": "spring", "submit": "Send"})
    created = api.ok(response, 201)
    lead = api.crm.leads.get(created["lead_id"])
    assert lead.source == "web_form" and lead.phone == "+12025550144" and lead.name == "Eve"
    assert lead.utm == {"source": "website", "medium": "cpc", "campaign": "spring"}
    notes = api.crm.notes.list(entity_type="lead", entity_id=lead.id).items
    assert [n.body for n in notes] == ["Need 3 windows"]


def test_form_encoded_body_and_form_title(api: Api) -> None:
    created = api.ok(api.client.post("/api/v1/forms/landing", headers=ANON,
                                     data={"name": "Finn", "email": "finn@example.com", "utm_source": "fb"}), 201)
    lead = api.crm.leads.get(created["lead_id"])
    assert lead.title == "Spring landing" and lead.utm == {"campaign": "spring", "source": "fb"}


def test_honeypot_unknown_form_and_bad_input(api: Api) -> None:
    before = len(api.crm.leads.list(limit=100).items)
    assert api.ok(api.client.post("/api/v1/forms/landing", headers=ANON,
                                  json={"name": "Bot", "website": "http://spam.example"}), 201) == {"received": True}
    assert len(api.crm.leads.list(limit=100).items) == before
    api.error(api.client.post("/api/v1/forms/nope", headers=ANON, json={"name": "X"}), 404)
    api.error(api.client.post("/api/v1/forms/landing", headers=ANON, json={"message": "hi"}), 422, "name")
    api.error(api.client.post("/api/v1/forms/landing", headers=ANON, json={"name": "X", "phone": "12"}), 422, "phone")
    api.error(api.client.post("/api/v1/forms/landing", content=b"{",
                              headers={"Content-Type": "application/json", **ANON}), 400)
    api.error(api.client.post("/api/v1/forms/landing", headers=ANON, files={"f": ("a.txt", b"x")}), 415)
    assert len(api.crm.leads.list(limit=100).items) == before


def test_rate_limit_per_client_on_the_injected_clock(make_crm: Any, clock: FrozenClock) -> None:
    crm = make_crm(settings={"forms": {"site": {"rate_limit": 2}}})
    api = build_api(crm, clock=clock)
    post = lambda: api.client.post("/api/v1/forms/site", headers=ANON, json={"name": "N"})  # noqa: E731
    api.ok(post(), 201)
    api.ok(post(), 201)
    limited = post()
    api.error(limited, 429)
    assert int(limited.headers["retry-after"]) >= 1
    clock.advance(seconds=31)
    api.ok(post(), 201)
    api.error(post(), 429)


def test_bad_form_declarations_fail_at_start(make_crm: Any) -> None:
    crm = make_crm(settings={"forms": {"site": {"rate": 2}}})
    with pytest.raises(ConfigError, match="unknown option"):
        create_app(crm)


def test_plugin_routes_are_mounted_behind_tokens_only_when_enabled(make_crm: Any) -> None:
    api = build_api(make_crm(plugins=["example"]))
    hello = api.ok(api.get("/api/v1/example/hello"))
    assert hello == {"plugin": "example", "user_id": api.admin_id, "deployment": "crmkit"}
    api.error(api.client.get("/api/v1/example/hello", headers=ANON), 401)
    api.error(api.get("/api/v1/example/nope"), 404)
    # a route marked public (a webhook) needs no token; the others still do
    public = api.client.post("/api/v1/example/webhook", headers=ANON)
    assert (public.status_code, public.json()) == (200, {"plugin": "example", "public": True})
    api.error(api.client.get("/api/v1/example/nope", headers=ANON), 401)
    doc = api.ok(api.get("/api/v1/openapi.json"))
    assert "get" in doc["paths"]["/api/v1/example/hello"]
    plain = build_api(make_crm())
    plain.error(plain.get("/api/v1/example/hello"), 404)
    assert "/api/v1/example/hello" not in plain.ok(plain.get("/api/v1/openapi.json"))["paths"]
