"""Behind a reverse proxy: the client's address, scheme and host come from the forwarding headers only
when the connection is from a trusted proxy; rate limits and links use them."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from test_api_helpers import FORMS, build_api

from crmkit import ConfigError, Settings
from crmkit.web.proxy import ProxyHeaders, parse_trusted

TRUSTED = {"server": {"trusted_proxies": ["127.0.0.1", "10.0.0.0/8", "::1"]}, "forms": FORMS}


def client(api: Any, peer: str) -> TestClient:
    return TestClient(api.client.app, client=(peer, 5000), headers={"Authorization": f"Bearer {api.secret}"})


def submit(c: TestClient, forwarded_for: str) -> int:
    return c.post("/api/v1/forms/site", json={"name": "Jane"}, headers={"X-Forwarded-For": forwarded_for}).status_code


def test_rate_limits_count_the_forwarded_client_of_a_trusted_proxy(make_sqlite_crm: Any) -> None:
    proxy = client(build_api(make_sqlite_crm(settings=TRUSTED)), "127.0.0.1")
    assert [submit(proxy, "203.0.113.5") for _ in range(4)] == [201, 201, 201, 429]  # the form allows 3
    assert submit(proxy, "203.0.113.6") == 201  # another client behind the same proxy
    # a chain: the client, then a trusted inner proxy; the nearest untrusted address is the client
    assert submit(proxy, "198.51.100.9, 10.0.0.7") == 201
    assert submit(proxy, "203.0.113.5, 10.0.0.7") == 429


def test_forwarding_headers_from_anyone_else_are_ignored(make_sqlite_crm: Any) -> None:
    stranger = client(build_api(make_sqlite_crm(settings=TRUSTED)), "192.0.2.44")
    # a client cannot dodge its rate limit by claiming other addresses
    assert [submit(stranger, f"203.0.113.{i}") for i in range(4)] == [201, 201, 201, 429]
    untrusting = client(build_api(make_sqlite_crm(settings={"forms": FORMS})), "127.0.0.1")
    assert [submit(untrusting, f"203.0.113.{i}") for i in range(4)] == [201, 201, 201, 429]


def test_links_use_the_public_scheme_and_host(make_sqlite_crm: Any) -> None:
    api = build_api(make_sqlite_crm(settings=TRUSTED))
    headers = {"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "crm.example.com"}
    url = client(api, "10.2.3.4").post("/api/v1/users/me/calendar", headers=headers).json()["url"]
    assert url.startswith("https://crm.example.com/calendar/")
    url = client(api, "192.0.2.44").post("/api/v1/users/me/calendar", headers=headers).json()["url"]
    assert url.startswith("http://testserver/calendar/")  # not from a trusted proxy: as connected
    forwarded = {"Forwarded": 'for="[2001:db8::7]:4711";proto=https;host=crm.example.org, for=10.0.0.7'}
    url = client(api, "127.0.0.1").post("/api/v1/users/me/calendar", headers=forwarded).json()["url"]
    assert url.startswith("https://crm.example.org/calendar/")


async def _seen(scope: Any, receive: Any, send: Any) -> None:
    _seen.scope = scope  # type: ignore[attr-defined]
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.parametrize("headers, client_host, scheme, host", [
    ({"Forwarded": "for=198.51.100.1;proto=https;host=a.example"}, "198.51.100.1", "https", "a.example"),
    ({"Forwarded": 'for="[2001:db8::1]:80";proto=http'}, "2001:db8::1", "http", "testserver"),
    ({"Forwarded": "for=unknown;proto=https"}, "10.0.0.1", "https", "testserver"),
    ({"Forwarded": "for=198.51.100.1;host=bad/host"}, "198.51.100.1", "http", "testserver"),
    ({"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "gopher"}, "198.51.100.1", "http", "testserver"),
    ({"X-Forwarded-For": "198.51.100.1, 198.51.100.2", "X-Forwarded-Proto": "https"}, "198.51.100.2", "https",
     "testserver"),
    ({"X-Forwarded-For": "10.0.0.9, 10.0.0.8"}, "10.0.0.9", "http", "testserver"),  # every hop trusted
    ({}, "10.0.0.1", "http", "testserver"),
])
def test_header_forms(headers: dict[str, str], client_host: str, scheme: str, host: str) -> None:
    app = ProxyHeaders(_seen, parse_trusted(["10.0.0.0/8"]))
    assert TestClient(app, client=("10.0.0.1", 1)).get("/", headers=headers).status_code == 204
    scope = _seen.scope  # type: ignore[attr-defined]
    assert (scope["client"][0], scope["scheme"], dict(scope["headers"])[b"host"].decode()) == (client_host, scheme,
                                                                                              host)


@pytest.mark.parametrize("value", ["10.0.0.0/8", ["proxy.example"], [10]])
def test_bad_trusted_proxies_name_the_key(make_sqlite_crm: Any, value: Any) -> None:
    from crmkit.web import create_app

    crm = make_sqlite_crm(settings={"server": {"trusted_proxies": value}})
    with pytest.raises(ConfigError, match="trusted_proxies"):
        create_app(crm)
    assert Settings().plugin_settings == {}
