"""Hostile input never gets a 500: crafted cursors, huge and non-ASCII ids, extreme dates,
deep or non-finite JSON, lone surrogates, through the HTTP app and the SDK, on both databases."""

from __future__ import annotations

import base64
import json
from typing import Any, Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from test_api_helpers import FORMS, Api, api, build_api  # noqa: F401  (fixture)

from crmkit import Crm, ValidationError
from crmkit.web import read_json_body
from crmkit.web.errors import crm_error_handler
from crmkit.core.errors import CrmError


def b64(value: Any) -> str:
    """A keyset cursor as the services write them (base64 of a JSON array), holding ``value``."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.fixture
def seeded(make_crm: Any) -> Iterator[Api]:
    """The window company with one card of each kind, and three deals to page through."""
    crm = make_crm(settings={"forms": FORMS})
    api = build_api(crm)
    company = crm.companies.create(name="Acme")
    contact = crm.contacts.create(first_name="Dan", company_id=company.id)
    crm.leads.create(title="A lead", name="Bob")
    for title in ("One", "Two", "Three"):
        deal = crm.deals.create(title=title, contact_id=contact.id)
    crm.deals.move(deal.id, "proposal_sent")
    crm.tasks.add(title="Call", entity_type="deal", entity_id=deal.id)
    crm.notes.add("deal", deal.id, "note")
    with api.client:
        yield api


def list_routes(api: Api) -> list[tuple[str, tuple[str, ...]]]:
    """(url, sort orders) of every core GET operation taking a ``cursor``, path ids filled in."""
    deal_id = api.crm.deals.list(limit=1).items[0].id
    out = []
    for op in api.client.app.state.operations:  # type: ignore[attr-defined]
        params = {p.name: p for p in op.query}
        if op.method != "GET" or "cursor" not in params:
            continue
        url = "/api/v1" + op.path.replace("{id:int}", str(deal_id)).replace("{entity_type}", "deal")
        orders = tuple(params["order"].schema["enum"]) if "order" in params else ("id",)
        out.append((url, orders))
    return out


# -- 1. cursors ----------------------------------------------------------------------------------

ID_CURSORS = [str(2**64), str(2**63), "9" * 19, "18446744073709551616" + "0" * 100, "²", "٣"]
KEYSET_CURSORS = [  # any order but id
    b64(["2026-01-05T09:00:00+00:00", 2**64]),  # a huge id
    b64(["2026-01-05T09:00:00+00:00", 2**31]),  # an id no row can have
    b64(["2026-01-05T09:00:00+00:00", True]),
    b64([None, 1]), b64([[], 1]), b64([{}, 1]), b64({"a": 1, "b": 2}), b64(["x", 1, 2]), b64("x"),
    base64.urlsafe_b64encode(b"[" * 120).decode().rstrip("="), "bm90IGpzb24",
]
TIME_CURSORS = [  # orders by a datetime: created_at, updated_at, ...
    b64(["0001-01-01T00:00:00", 1]),            # naive
    b64(["2026-01-05T09:00:00", 1]),            # naive, in range
    b64(["2026-01-05", 1]),                     # a date: naive midnight
    b64(["9999-12-31T23:59:59+14:00", 1]),      # aware but not the UTC the services write
    b64(["9999-12-31T23:59:59-14:00", 1]),      # past 9999-12-31 in UTC
    b64(["0001-01-01T00:00:00+14:00", 1]),      # before 0001-01-01 in UTC
    b64(["0000-00-00T00:00:00+00:00", 1]), b64([12, 1]),
]
TEXT_CURSORS = [  # orders by text: title, name, ...
    base64.urlsafe_b64encode(b'["\\ud800", 1]').decode().rstrip("="),   # a lone surrogate
    base64.urlsafe_b64encode(b'["a\\u0000b", 1]').decode().rstrip("="),  # NUL
    b64([12, 1]), b64([True, 1]),
]


def test_crafted_cursors_are_422_naming_cursor_on_every_list_route(seeded: Api) -> None:
    routes = list_routes(seeded)
    assert {url for url, _ in routes} >= {"/api/v1/deals", "/api/v1/notes", "/api/v1/events", "/api/v1/users"}
    for url, orders in routes:
        for order in orders:
            query = {} if order == "id" and len(orders) == 1 else {"order": order}
            key = order.lstrip("-")
            cursors = ID_CURSORS if key == "id" else ID_CURSORS + KEYSET_CURSORS + (
                TIME_CURSORS if key.endswith("_at") else TEXT_CURSORS)
            for cursor in cursors:
                response = seeded.get(url, params={**query, "cursor": cursor})
                assert response.status_code == 422, (url, order, cursor, response.text)
                seeded.error(response, 422, "cursor")
    for url in ("/api/v1/deals", "/api/v1/notes"):  # ids stop at 2^31-1 (32-bit on PostgreSQL)
        seeded.error(seeded.get(url, params={"cursor": str(2**31)}), 422, "cursor")


def test_cursors_the_services_write_still_page(seeded: Api) -> None:
    for order in ("created_at", "-updated_at", "title", "-stage_entered_at"):
        first = seeded.ok(seeded.get("/api/v1/deals", params={"order": order, "limit": 2}))
        assert json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "==="))[0] is not None
        rest = seeded.ok(seeded.get("/api/v1/deals", params={"order": order, "limit": 2,
                                                             "cursor": first["next_cursor"]}))
        assert len(first["items"]) + len(rest["items"]) == 3 and rest["next_cursor"] is None
    events = seeded.ok(seeded.get("/api/v1/events", params={"cursor": str(2**40)}))  # 64-bit event ids
    assert events == {"items": [], "next_cursor": None}


def test_crafted_cursors_are_validation_errors_in_the_sdk(crm: Crm) -> None:
    deal = crm.deals.create(title="x")
    calls = [
        lambda: crm.deals.list(cursor=str(2**64)),
        lambda: crm.deals.list(cursor=str(2**31)),
        lambda: crm.deals.list(cursor="²"),
        lambda: crm.deals.list(order="created_at", cursor=b64(["0001-01-01T00:00:00", 1])),
        lambda: crm.deals.list(order="-created_at", cursor=b64(["9999-12-31T23:59:59+14:00", 1])),
        lambda: crm.deals.list(order="updated_at", cursor=b64(["2026-01-05T09:00:00+00:00", 2**64])),
        lambda: crm.deals.list(order="title", cursor=base64.urlsafe_b64encode(b'["\\ud800", 1]').decode()),
        lambda: crm.deals.history(deal.id, cursor=str(2**31)),
        lambda: crm.timeline.of("deal", deal.id, cursor=str(2**64)),
        lambda: crm.timeline.all(cursor="٣"),
    ]
    for call in calls:
        with pytest.raises(ValidationError) as err:
            call()
        assert err.value.field == "cursor"
    with pytest.raises(ValidationError) as err:
        crm.timeline.all(actor_id=2**64)
    assert err.value.field == "actor_id"


# -- 2. ids and integers in query strings -----------------------------------------------------


def integer_params(api: Api) -> Iterator[tuple[str, str]]:
    """(url, name) of every integer query parameter of every core operation (array items too)."""
    deal_id = api.crm.deals.list(limit=1).items[0].id
    for op in api.client.app.state.operations:  # type: ignore[attr-defined]
        url = "/api/v1" + op.path.replace("{id:int}", str(deal_id)).replace("{entity_type}", "deal")
        for p in op.query:
            schema = p.schema.get("items", p.schema) if p.schema.get("type") == "array" else p.schema
            kind = schema.get("type")
            if "integer" in (kind if isinstance(kind, list) else [kind]):  # a user field: an id or an e-mail
                yield url, p.name


def test_huge_and_non_ascii_ids_in_query_strings_are_422_naming_the_field(seeded: Api) -> None:
    found = list(integer_params(seeded))
    assert ("/api/v1/deals", "responsible_id") in found and ("/api/v1/events", "actor_id") in found
    for url, name in found:
        for value in ("9" * 25, str(2**64), "-" + "9" * 25, "²", "٣", "1.5", "1e3", " 1", "0x10"):
            seeded.error(seeded.get(url, params={name: value}), 422, name)
    err = seeded.error(seeded.get("/api/v1/deals", params={"responsible_id": "9" * 25}), 422, "responsible_id")
    assert "2147483647" in err["message"]


# -- 3. dates at the ends of the calendar ------------------------------------------------------


def test_extreme_dates_in_filters_work_or_are_422(seeded: Api) -> None:
    for name in ("created_at__gt", "created_at__lte", "closed_at__lt"):
        for value, status in [("9999-12-31T23:59:59+00:00", 200), ("0001-01-01T00:00:00+00:00", 200),
                              ("9999-12-31T23:59:59-14:00", 422), ("0001-01-01T00:00:00+14:00", 422),
                              ("0000-00-00T00:00:00Z", 422), ("9999-12-31", 422)]:
            response = seeded.get("/api/v1/deals", params={name: value})
            assert response.status_code == status, (name, value, response.text)
    for value, status in [("9999-12-31", 200), ("0001-01-01", 200), ("0000-00-00", 422), ("10000-01-01", 422)]:
        assert seeded.get("/api/v1/contacts", params={"birthday__gte": value}).status_code == status
        assert seeded.get("/api/v1/deals", params={"next_contact_date__lt": value}).status_code == status
    for value in ("9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00"):
        assert seeded.get("/api/v1/tasks", params={"due_at__gte": value}).status_code == 200
        assert seeded.get("/api/v1/deals", params={"measurement_date__gt": value}).status_code == 200
    seeded.error(seeded.get("/api/v1/deals", params={"measurement_date__gt": "0001-01-01T00:00:00+14:00"}), 422,
                 "measurement_date__gt")


# -- 4. deep, non-finite and otherwise broken JSON bodies -------------------------------------

DEEP = [b"[" * 100_000, b"{" * 100_000, b'{"a":' * 100_000, b"[" * 33 + b"]" * 33,
        b'{"title": "x", "utm": ' + b"[" * 40 + b"]" * 40 + b"}"]
NON_FINITE = [b'{"title": NaN}', b'{"title": Infinity}', b'{"title": -Infinity}', b'{"title": 1e999}',
              b'{"title": 1' + b"0" * 5000 + b"}"]


def test_deep_and_non_finite_json_is_400_on_core_routes(seeded: Api) -> None:
    json_type = {"Content-Type": "application/json"}
    deal_id = seeded.crm.deals.list(limit=1).items[0].id
    for url in ("/api/v1/deals", f"/api/v1/deals/{deal_id}/move", "/api/v1/forms/site", "/api/v1/notes"):
        for raw in DEEP + NON_FINITE:
            response = seeded.client.post(url, content=raw, headers=json_type)
            seeded.error(response, 400)
    deep = seeded.error(seeded.client.post("/api/v1/deals", content=b"[" * 100_000, headers=json_type), 400)
    assert "nested deeper than 32 levels" in deep["message"]
    nested = b'{"title": "x", "utm": {"source": ' + b"[" * 30 + b"]" * 30 + b"}}"  # within the depth: a 422
    seeded.error(seeded.client.post("/api/v1/deals", content=nested, headers=json_type), 422, "utm.source")


HOSTILE_VALUES: list[Any] = [2**64, -(2**64), 1.5, True, None, "", "x" * 20_000, "\ud800", "a\x00b", "²",
                             {"a": {"b": [1]}}, [1, [2]], "0000-00-00", "9999-12-31", "0001-01-01",
                             "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1e400", "9" * 400]


def test_hostile_values_in_every_body_field_are_4xx(seeded: Api) -> None:
    """Each field of each core body (custom fields too) gets every hostile value: never a 500."""
    crm = seeded.crm
    deal = crm.deals.list(limit=1).items[0]
    lead, task = crm.leads.list(limit=1).items[0], crm.tasks.list(limit=1).items[0]
    base = {"/api/v1/deals": {"title": "x"}, "/api/v1/leads": {"title": "x"}, "/api/v1/companies": {"name": "x"},
            "/api/v1/tasks": {"title": "x"},
            "/api/v1/notes": {"entity_type": "deal", "entity_id": deal.id, "body": "b"}}
    tried = 0
    for op in seeded.client.app.state.operations:  # type: ignore[attr-defined]
        if op.body is None or op.path.startswith("/users") or op.path.startswith("/tokens"):
            continue
        card = task.id if op.path.startswith("/tasks") else lead.id if op.path.startswith("/leads") else deal.id
        url = "/api/v1" + op.path.replace("{id:int}", str(card)).replace("{key}", "site")
        fields = list(op.body.get("properties", {}))
        custom = list(op.body.get("properties", {}).get("custom", {}).get("properties", {}))
        for field in fields + [f"custom.{c}" for c in custom]:
            for value in HOSTILE_VALUES:
                body = dict(base.get(url, {}))
                if field.startswith("custom."):
                    body["custom"] = {field[7:]: value}
                else:
                    body[field] = value
                raw = json.dumps(body).encode("utf-8", "surrogatepass")
                response = seeded.client.post(url, content=raw, headers={"Content-Type": "application/json"}) \
                    if op.method == "POST" else \
                    seeded.client.patch(url, content=raw, headers={"Content-Type": "application/json"})
                assert response.status_code < 500, (op.method, url, field, repr(value)[:80], response.text)
                tried += 1
    assert tried > 1000


def test_lone_surrogates_and_nul_are_422_naming_the_field(seeded: Api) -> None:
    json_type = {"Content-Type": "application/json"}
    for raw, field in [(b'{"title": "\\ud800"}', "title"), (b'{"title": "\\udfff\\ud800x"}', "title"),
                       (b'{"title": "x", "utm": {"source": "\\udc00"}}', "utm.source"),
                       (b'{"name": "\\ud800"}', "name"), (b'{"\\ud800": "x"}', None)]:
        url = "/api/v1/forms/site" if b'"name"' in raw or raw.startswith(b'{"\\ud800') else "/api/v1/deals"
        seeded.error(seeded.client.post(url, content=raw, headers=json_type), 422, field)
    # in a query string: undecodable bytes become U+FFFD, an ordinary character
    assert seeded.client.get("/api/v1/deals?source=%ED%A0%80").status_code == 200
    seeded.error(seeded.client.get("/api/v1/deals?%ED%A0%80=1"), 422)
    seeded.error(seeded.client.get("/api/v1/deals?title=a%00b"), 422, "title")


# -- the public helper plugin routes read bodies with ----------------------------------------------


async def echo(request: Request) -> JSONResponse:
    body = await read_json_body(request, {"type": "object", "additionalProperties": False,
                                          "properties": {"name": {"type": "string", "maxLength": 10},
                                                         "tags": {"type": "array"}}})
    return JSONResponse(body)


async def anything(request: Request) -> JSONResponse:
    return JSONResponse(await read_json_body(request, required=False))


@pytest.fixture
def plugin_like() -> Iterator[TestClient]:
    """A Starlette app like a plugin's routes, with crmkit's JSON error handler."""
    app = Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/any", anything, methods=["POST"])],
                    exception_handlers={CrmError: crm_error_handler})
    with TestClient(app) as client:
        yield client


def test_read_json_body_follows_the_core_rules(plugin_like: TestClient) -> None:
    def post(url: str, raw: bytes, ctype: str | None = "application/json") -> Any:
        return plugin_like.post(url, content=raw, headers={"Content-Type": ctype} if ctype else {})

    assert post("/echo", b'{"name": "Ann", "tags": ["a"]}').json() == {"name": "Ann", "tags": ["a"]}
    assert post("/echo", b'{"name": "Ann"}', "application/vnd.api+json; charset=utf-8").status_code == 200
    assert post("/any", b"").json() == {}
    for raw, ctype, status, field in [
        (b'{"name": "Ann"}', None, 415, None),
        (b'{"name": "Ann"}', "text/plain", 415, None),
        (b"name=Ann", "application/x-www-form-urlencoded", 415, None),
        (b"", "application/json", 422, "body"),
        (b"[1]", "application/json", 422, "body"),
        (b"null", "application/json", 422, "body"),
        (b'{"name": 5}', "application/json", 422, "name"),
        (b'{"name": "x", "colour": "red"}', "application/json", 422, "colour"),
        (b'{"name": "\\ud800"}', "application/json", 422, "name"),
        (b'{"tags": ["ok", "a\\u0000b"]}', "application/json", 422, "tags[1]"),
        (b"{bad", "application/json", 400, None),
        (b'{"name": NaN}', "application/json", 400, None),
        (b'{"name": 1e999}', "application/json", 400, None),
        (b"[" * 100_000, "application/json", 400, None),
        (b"{" * 100_000, "application/json", 400, None),
        (b'{"tags": ' + b"[" * 40 + b"]" * 40 + b"}", "application/json", 400, None),
        (b"\xff\xfe\x00", "application/json", 400, None),
    ]:
        response = post("/echo", raw, ctype)
        assert response.status_code == status, (raw[:40], ctype, response.text)
        err = response.json()["error"]
        assert err.get("field") == field and err["message"], (raw[:40], err)
    assert post("/any", b'{"deep": {"a": [{"b": "\\ud800"}]}}').json()["error"]["field"] == "deep.a[0].b"


def test_a_form_with_too_many_fields_is_a_400(make_crm: Any) -> None:
    api = build_api(make_crm(settings={"forms": FORMS}))
    with api.client:
        body = "&".join(f"f{i}=x" for i in range(201))
        r = api.client.post("/api/v1/forms/site", content=body, headers={
            "Authorization": "", "Content-Type": "application/x-www-form-urlencoded"})
        api.error(r, 400)


def test_the_host_header_is_never_echoed(api: Api) -> None:
    """Starlette's trailing-slash redirect put the request's Host into an absolute Location."""
    for path in ("/api/v1/deals/", "/api/v1/nope", "/api/v1/deals/1/"):
        r = api.client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
        assert r.status_code == 404, (path, r.status_code)
        assert "evil.example" not in r.text and "evil.example" not in str(r.headers), (path, r.headers)
