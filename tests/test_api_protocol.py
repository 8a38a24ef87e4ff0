"""The API's protocol: auth, bad input (always a 4xx JSON error), idempotency, If-Match, body limits."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from test_api_helpers import Api, api, build_api  # noqa: F401  (fixture)

from crmkit import schema
from crmkit.core import auth
from crmkit.web.middleware import BodyLimit


def count(api: Api, table: Any) -> int:
    with api.crm.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)))


# -- authentication ----------------------------------------------------------------------


def test_missing_or_bad_tokens_get_401(api: Api) -> None:
    for header in ["", "Bearer", "Bearer nope", "Basic abc", "Bearer crmk_wrong"]:
        response = api.client.get("/api/v1/deals", headers={"Authorization": header})
        err = api.error(response, 401)
        assert err["code"] == "unauthorized" and response.headers["www-authenticate"] == "Bearer"


def test_deactivated_user_and_revoked_token_are_refused(make_crm: Any) -> None:
    crm = make_crm()
    api = build_api(crm, token_cache_seconds=0)
    user = crm.users.create(email="m@windows.example", name="M")
    headers = api.token_for(user.id)
    api.ok(api.client.get("/api/v1/users/me", headers=headers))
    crm.users.update(user.id, {"active": False})
    api.error(api.client.get("/api/v1/users/me", headers=headers), 401)
    token = auth.list_tokens(crm, api.admin_id)[0]
    auth.revoke_token(crm, token.id)
    api.error(api.get("/api/v1/users/me"), 401)


def test_public_routes_need_no_token(api: Api) -> None:
    anonymous = {"Authorization": ""}
    assert api.ok(api.client.get("/api/v1/health", headers=anonymous)) == {"status": "ok"}
    assert api.ok(api.client.get("/api/v1/openapi.json", headers=anonymous))["openapi"].startswith("3.")


# -- bad input ----------------------------------------------------------------------------


BAD_BODIES = [
    (b"{bad json", 400, None),
    (b"[1, 2]", 422, "body"),
    (b'"text"', 422, "body"),
    (b"NaN", 400, None),
    (b'{"title": 5}', 422, "title"),
    (b'{"title": "x", "amount": 1.5}', 422, "amount"),
    (b'{"title": "x", "spaceship": true}', 422, "spaceship"),
    (b'{"title": "x", "custom": {"window_count": "many"}}', 422, "custom.window_count"),
    (b'{"title": "x", "custom": {"nope": 1}}', 422, "custom.nope"),
    (b'{"title": "x", "responsible_id": 99999999999}', 422, "responsible_id"),
    (b'{"title": "x", "responsible_id": 4242}', 422, "responsible_id"),
    (b'{"title": "a\\u0000b"}', 422, "title"),
    (b'{"title": "\\ud800"}', 422, "title"),
    (b'{"title": "x", "amount": "12.345"}', 422, "amount"),
    (b'{"title": "x", "amount": "1", "currency": "XXX"}', 422, "currency"),
    (b'{"title": "x", "stage": "won"}', 422, "stage"),
    (b"{}", 422, "title"),
    (b"", 422, "body"),
    (b"[" * 100_000, 400, None),
    (b'{"title": "x", "amount": 1' + b"0" * 5000 + b"}", 400, None),
]


def test_bad_bodies_are_4xx_json(api: Api) -> None:
    for raw, status, field in BAD_BODIES:
        response = api.client.post("/api/v1/deals", content=raw, headers={"Content-Type": "application/json"})
        api.error(response, status, field)
    assert count(api, schema.deals) == 0


def test_wrong_content_type_is_415(api: Api) -> None:
    api.error(api.client.post("/api/v1/deals", content=b"title=x", headers={"Content-Type": "text/plain"}), 415)
    api.error(api.client.post("/api/v1/deals", data={"title": "x"}), 415)


BAD_QUERIES = [
    ({"spaceship": "1"}, 422, "spaceship"),
    ({"responsible_id": "abc"}, 422, "responsible_id"),
    ({"responsible_id": "0"}, 422, "responsible_id"),
    ({"created_at__gt": "yesterday"}, 422, "created_at__gt"),
    ({"created_at__gt": "2026-01-01T00:00:00"}, 422, "created_at__gt"),
    ({"created_at__gt": "9999-12-31T23:59:59-23:59"}, 422, "created_at__gt"),
    ({"stage": "nowhere"}, 422, "stage"),
    ({"title__lt": "x"}, 422, "title__lt"),
    ({"source": "a\x00b"}, 422, "source"),
    ({"window_count__gt": "1.5"}, 422, "window_count__gt"),
    ({"limit": "ten"}, 422, "limit"),
]


def test_bad_query_strings_are_4xx_json(api: Api) -> None:
    for query, status, field in BAD_QUERIES:
        api.error(api.get("/api/v1/deals", params=query), status, field)


def test_repeated_query_parameter_is_400(api: Api) -> None:
    api.error(api.get("/api/v1/deals?status=open&status=won"), 400, "status")


def test_unknown_ids_routes_and_methods(api: Api) -> None:
    api.error(api.get("/api/v1/deals/4242"), 404)
    api.error(api.get(f"/api/v1/deals/{2**40}"), 404)
    api.error(api.patch("/api/v1/deals/4242", {"title": "x"}), 404)
    api.error(api.post("/api/v1/deals/4242/win"), 404)
    api.error(api.get("/api/v1/spaceships"), 404)
    api.error(api.get("/api/v1/deals/abc"), 404)
    response = api.client.put("/api/v1/deals")
    api.error(response, 405)
    assert "GET" in response.headers["allow"]


def test_oversize_bodies_are_413(make_crm: Any) -> None:
    api = build_api(make_crm(), max_body_bytes=2000)
    big = json.dumps({"title": "x" * 3000})
    api.error(api.client.post("/api/v1/deals", content=big, headers={"Content-Type": "application/json"}), 413)
    api.ok(api.post("/api/v1/deals", {"title": "fits"}), 201)


def test_body_limit_without_content_length_streams_to_413() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - must not be reached
        seen.append(scope)

    chunks = [{"type": "http.request", "body": b"x" * 600, "more_body": True} for _ in range(3)]
    sent: list[Any] = []

    async def receive() -> Any:
        return chunks.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "headers": [(b"transfer-encoding", b"chunked")], "path": "/"}
    asyncio.run(BodyLimit(app, max_bytes=1000)(scope, receive, send))
    assert not seen and sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "payload_too_large"


# -- optimistic concurrency ------------------------------------------------------------------


def test_stale_if_match_is_409_and_changes_nothing(api: Api) -> None:
    deal = api.ok(api.post("/api/v1/deals", {"title": "Original"}), 201)
    url = f"/api/v1/deals/{deal['id']}"
    api.ok(api.patch(url, {"title": "First edit"}, headers={"If-Match": '"1"'}))
    api.error(api.patch(url, {"title": "Stale edit"}, headers={"If-Match": '"1"'}), 409, "version")
    api.error(api.post(f"{url}/move", {"stage": "proposal_sent"}, headers={"If-Match": 'W/"1"'}), 409, "version")
    after = api.get(url)
    assert after.json()["title"] == "First edit" and after.json()["stage"] == "collecting_data"
    assert after.headers["etag"] == '"2"'
    assert len(api.ok(api.get(f"{url}/history"))["items"]) == 1
    api.ok(api.post(f"{url}/move", {"stage": "proposal_sent"}, headers={"If-Match": after.headers["etag"]}))
    api.ok(api.patch(url, {"title": "Anyhow"}, headers={"If-Match": "*"}))
    api.error(api.patch(url, {"title": "x"}, headers={"If-Match": "yesterday"}), 400, "If-Match")


# -- idempotency ------------------------------------------------------------------------------


def test_idempotent_retry_returns_the_first_result_and_creates_nothing(api: Api) -> None:
    key = {"Idempotency-Key": "order-77"}
    first = api.post("/api/v1/deals", {"title": "Once"}, headers=key)
    again = api.post("/api/v1/deals", {"title": "Once"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    assert count(api, schema.deals) == 1
    api.error(api.post("/api/v1/deals", {"title": "Different"}, headers=key), 422, "Idempotency-Key")
    other_user = api.crm.users.create(email="o@windows.example", name="O")
    api.ok(api.client.post("/api/v1/deals", json={"title": "Once"}, headers={**key, **api.token_for(other_user.id)}),
           201)
    assert count(api, schema.deals) == 2


def test_failed_request_releases_its_idempotency_key(api: Api) -> None:
    key = {"Idempotency-Key": "retry-me"}
    api.error(api.post("/api/v1/deals", {"title": "x", "amount": "1", "currency": "XXX"}, headers=key), 422)
    api.error(api.post("/api/v1/deals", {"title": "x", "amount": "1", "currency": "XXX"}, headers=key), 422)
    api.ok(api.post("/api/v1/deals", {"title": "x", "amount": "1", "currency": "EUR"}, headers=key), 201)
    api.error(api.post("/api/v1/deals", {"title": "x"}, headers={"Idempotency-Key": "bad key with spaces"}), 400)


def test_idempotent_actions(api: Api) -> None:
    deal = api.ok(api.post("/api/v1/deals", {"title": "D"}), 201)
    key = {"Idempotency-Key": "move-1"}
    first = api.ok(api.post(f"/api/v1/deals/{deal['id']}/move", {"stage": "proposal_sent"}, headers=key))
    api.crm.deals.move(deal["id"], "collecting_data")
    replay = api.ok(api.post(f"/api/v1/deals/{deal['id']}/move", {"stage": "proposal_sent"}, headers=key))
    assert replay == first
    assert api.crm.deals.get(deal["id"]).stage == "collecting_data"


# -- the document matches the routes -----------------------------------------------------------


def test_openapi_describes_every_route(api: Api) -> None:
    doc = api.ok(api.get("/api/v1/openapi.json"))
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    for op in api.client.app.state.operations:  # type: ignore[attr-defined]
        from crmkit.web.openapi import openapi_path

        assert (openapi_path(op.path), op.method.lower()) in documented
    deal_get = doc["paths"]["/api/v1/deals/{id}"]["get"]
    assert set(deal_get["responses"]) >= {"200", "401", "404"}
    assert "window_count" in deal_get["responses"]["200"]["content"]["application/json"]["schema"]["properties"][
        "custom"]["properties"]
    params = {p["name"] for p in doc["paths"]["/api/v1/deals"]["get"]["parameters"]}
    assert {"limit", "cursor", "status", "status__in", "created_at__gte", "window_count__lt", "stage__in"} <= params
