"""Hostile input to the plugin's routes: always a 4xx JSON error naming the field, never a 500,
and nothing written -- broken or deep JSON, other content types, lone surrogates, numbers past
a decimal's precision, non-ASCII digits, quantities with too many decimals, JSON floats."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from crmkit import FrozenClock
from crmkit.testing import auth_headers
from crmkit.web import create_app
from crmkit_inventory.tables import count_lines, movements, products, sales, tab_entries

from inventory_support import MakeCrm, enabled, stocked, user

BASE = "/api/v1/inventory"
JSON = {"Content-Type": "application/json"}
TABLES = (movements, sales, tab_entries, products, count_lines)


@pytest.fixture
def world(make_crm: MakeCrm, clock: FrozenClock) -> Iterator[tuple[Any, TestClient, int, int]]:
    """(crm, a client as an admin, a member's contact id, an open count's id)."""
    crm = enabled(make_crm, clock)
    admin = user(crm)
    inv = stocked(crm, admin.id)
    inv.receive("bar", [{"sku": "WATER", "qty": "10", "unit_cost": "0.40"}])
    member = crm.contacts.create(first_name="Maya", last_name="Stone")
    from crmkit_inventory.counts import Counts

    count = Counts(crm, admin.id).open("store")
    with TestClient(create_app(crm), headers=auth_headers(crm, admin.id)) as client:
        yield crm, client, member.id, count.id


def written(crm: Any) -> tuple[int, ...]:
    with crm.engine.connect() as conn:
        return tuple(int(conn.scalar(select(func.count()).select_from(t))) for t in TABLES)


def error(response: Any, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    err = response.json()["error"]
    assert err["message"] and (field is None or err.get("field") == field), err


def posts(member: int, count: int) -> list[str]:
    return [f"{BASE}/products", f"{BASE}/receipts", f"{BASE}/sales", f"{BASE}/write-offs", f"{BASE}/transfers",
            f"{BASE}/returns", f"{BASE}/movements/1/reverse", f"{BASE}/tabs/{member}/payments", f"{BASE}/counts",
            f"{BASE}/counts/{count}/lines", f"{BASE}/sales/1/void"]


def test_broken_bodies_are_4xx_on_every_route(world: Any) -> None:
    crm, client, member, count = world
    before = written(crm)
    for url in posts(member, count):
        for raw in (b"[" * 100_000, b'{"a":' * 100_000, b"{bad", b'{"qty": NaN}', b'{"qty": 1e999}'):
            error(client.post(url, content=raw, headers=JSON), 400)
        error(client.post(url, content=b"{}", headers={"Content-Type": "text/plain"}), 415)
        for raw in (b"[1]", b'"x"', b"null"):
            error(client.post(url, content=raw, headers=JSON), 422, "body")
        error(client.post(url, content=b'{"colour": "red"}', headers=JSON), 422, "colour")
        error(client.post(url, content=b'{"\\ud800": 1}', headers=JSON), 422)
    assert written(crm) == before


def test_hostile_values_are_422_naming_the_field(world: Any) -> None:
    crm, client, member, count = world
    before = written(crm)
    sale = {"location": "bar", "lines": [{"sku": "WATER", "qty": "1"}]}
    cases = [
        (f"{BASE}/sales", {**sale, "lines": [{"sku": "WATER", "qty": "1e400"}]}, "lines[0].qty"),
        (f"{BASE}/sales", {**sale, "lines": [{"sku": "WATER", "qty": "9" * 40}]}, "lines[0].qty"),
        (f"{BASE}/sales", {**sale, "lines": [{"sku": "WATER", "qty": "١"}]}, "lines[0].qty"),
        (f"{BASE}/sales", {**sale, "lines": [{"sku": "WATER", "qty": 2**70}]}, "lines[0].qty"),
        (f"{BASE}/sales", {**sale, "lines": [{"sku": "\ud800", "qty": "1"}]}, "lines[0].sku"),
        (f"{BASE}/sales", {**sale, "lines": [{"sku": "WATER", "qty": "0"}]}, "lines[0].qty"),
        (f"{BASE}/sales", {**sale, "lines": [{"sku": "WATER", "qty": "1"}] * 501}, "lines"),
        (f"{BASE}/sales", {**sale, "tendered": "1e400"}, "tendered"),
        (f"{BASE}/sales", {**sale, "payment": "iou"}, "payment"),
        (f"{BASE}/sales", {**sale, "contact_id": 2**40}, "contact_id"),
        (f"{BASE}/sales", {**sale, "location": ["bar"]}, "location"),
        (f"{BASE}/receipts", {"location": "bar", "lines": [{"sku": "WATER", "qty": "1", "unit_cost": "-1"}]},
         "lines[0].unit_cost"),
        (f"{BASE}/receipts", {"location": "bar", "lines": [{"sku": "WATER", "qty": "1", "unit_cost": "0.4", "currency": "XXX"}]},
         "lines[0].currency"),
        (f"{BASE}/products", {"sku": "X", "name": "X", "price": "1", "vat_rate": "7.123"}, "vat_rate"),
        (f"{BASE}/products", {"sku": "X" * 65, "name": "X", "price": "1"}, "sku"),
        (f"{BASE}/products", {"sku": "X", "name": "X", "price": "1", "unit": "crate"}, "unit"),
        (f"{BASE}/tabs/{member}/payments", {"amount": "0"}, "amount"),
        (f"{BASE}/tabs/{member}/payments", {"amount": 1.5}, "amount"),
        (f"{BASE}/counts/{count}/lines", {"lines": [{"sku": "WATER", "qty": "-1"}]}, "lines[0].qty"),
        (f"{BASE}/transfers", {"sku": "WATER", "qty": "1", "source": "bar", "target": "bar"}, "target"),
        (f"{BASE}/write-offs", {"location": "bar", "sku": "WATER", "qty": "1", "reason": "\u202e"}, "reason"),
    ]
    for url, body, field in cases:
        raw = json.dumps(body).encode("utf-8", "surrogatepass")
        error(client.post(url, content=raw, headers=JSON), 422, field)
    assert written(crm) == before
    for path in (f"{BASE}/sales/{2**64}", f"{BASE}/counts/{2**40}", f"{BASE}/tabs/{2**40}"):
        assert client.get(path).status_code in (404, 422)
    for q in ("since=²", "until=9999-99-99", "since=2026-01-01&until=2025-01-01", "since=0001-01-01"):
        error(client.get(f"{BASE}/reports/margin?{q}"), 422)
    assert client.get(f"{BASE}/reports/margin?since=2026-01-01&until=9999-12-31").status_code == 422  # > 10 years
    assert client.get(f"{BASE}/stock?sku=NOPE").status_code == 422
    assert client.get(f"{BASE}/movements?after=-1").status_code == 422
