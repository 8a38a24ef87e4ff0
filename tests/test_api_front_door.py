"""The API's front door (issue 13): an index at /api/v1/, interactive docs served from vendored
files (no CDN), a complete Allow header on 405, OPTIONS, and CORS only for configured origins."""

from __future__ import annotations

import re
from typing import Any

import pytest
from test_api_helpers import Api, api, build_api  # noqa: F401  (fixture)

from crmkit import ConfigError
from crmkit.web import create_app


def test_the_index_links_everything(api: Api) -> None:
    for path in ("/api/v1", "/api/v1/"):
        index = api.ok(api.client.get(path, headers={"Authorization": ""}))
        assert index["openapi"] == "/api/v1/openapi.json" and index["docs"] == "/api/v1/docs"
        assert index["resources"]["deals"] == "/api/v1/deals"
        for link in (index["openapi"], index["health"]):
            assert api.client.get(link, headers={"Authorization": ""}).status_code == 200


def test_the_docs_page_uses_only_vendored_files(api: Api) -> None:
    page = api.client.get("/api/v1/docs", headers={"Authorization": ""})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text), "a file from another host"
    assets = re.findall(r"(?:src|href)=\"(/api/v1/docs/assets/[^\"]+)\"", page.text)
    assert len(assets) == 3
    for asset in assets:
        r = api.client.get(asset, headers={"Authorization": ""})
        assert r.status_code == 200 and len(r.content) > 100, asset
    assert "crmkit API" in page.text or "API</title>" in page.text


def test_405_names_every_method_and_options_answers(api: Api) -> None:
    r = api.client.put("/api/v1/deals")
    assert r.status_code == 405
    allowed = {m.strip() for m in r.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    r = api.client.options("/api/v1/deals/1")
    assert r.status_code == 204 and {"GET", "PATCH"} <= {m.strip() for m in r.headers["allow"].split(",")}
    r = api.client.put("/api/v1/deals/1")
    assert r.status_code == 405 and {"PATCH", "DELETE"} <= {m.strip() for m in r.headers["allow"].split(",")}


def test_cors_is_off_by_default(api: Api) -> None:
    r = api.client.get("/api/v1/health", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_for_configured_origins(make_crm: Any) -> None:
    app = build_api(make_crm(settings={"server": {"cors_origins": ["https://app.example"]}}))
    with app.client as c:
        pre = c.options("/api/v1/deals", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key, if-match"})
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-credentials" not in pre.headers
        r = c.get("/api/v1/deals", headers={"Origin": "https://app.example"})
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        assert "etag" in r.headers["access-control-expose-headers"].lower()
        other = c.get("/api/v1/deals", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("origins", [["https://app.example/path"], "https://app.example", [5], ["ftp://x"]])
def test_bad_cors_origins_stop_the_start(make_crm: Any, origins: Any) -> None:
    with pytest.raises(ConfigError, match="cors_origins"):
        create_app(make_crm(settings={"server": {"cors_origins": origins}}))


def test_no_route_is_a_json_404_whatever_the_method(api: Api) -> None:
    """The web UI's catch-all must not turn an API path that matches nothing into a 405."""
    for method, path in (("POST", "/api/v1/deals/abc/move"), ("DELETE", "/api/v1/nope"), ("PATCH", "/api/v1/x/y"),
                         ("GET", "/api/v1/deals/abc"), ("POST", "/api")):
        r = api.client.request(method, path)
        assert r.status_code == 404, (method, path, r.status_code)
        assert r.headers["content-type"].startswith("application/json"), (method, path)
    page = api.client.get("/nowhere")  # a page path: the web UI's own 404
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
