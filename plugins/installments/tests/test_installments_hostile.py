"""Hostile input to the plugin's routes and service: always a 4xx JSON error (a ValidationError in
the SDK), never a 500 -- deep or non-finite JSON, other content types, lone surrogates, amounts
beyond a decimal's precision, schedules past 9999-12-31, non-ASCII digits."""

from __future__ import annotations

from datetime import date
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from crmkit import FrozenClock, ValidationError
from crmkit.testing import auth_headers
from crmkit.web import create_app
from crmkit_installments.reports import aging, cash_in
from crmkit_installments.service import Installments

from installments_support import MakeCrm, enabled, sold, user

BASE = "/api/v1/installments"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def world(make_crm: MakeCrm, clock: FrozenClock) -> Iterator[tuple[Any, TestClient, int, int, int]]:
    """(crm, client as an admin, a deal without a plan, a won deal with a plan, one of its payments)."""
    crm = enabled(make_crm, clock)
    admin = user(crm, "ada", role="admin")
    fresh = crm.as_user(admin.id).deals.create(title="Fresh", amount="1200.00")
    deal, _ = sold(crm, admin.id)
    payment = Installments(crm, admin.id).record_payment(deal.id, "10.00")
    with TestClient(create_app(crm), headers=auth_headers(crm, admin.id)) as client:
        yield crm, client, fresh.id, deal.id, payment.id


def error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    err: dict[str, Any] = response.json()["error"]
    assert err["message"] and err.get("field") == field, err
    return err


def test_broken_bodies_are_4xx_on_every_plugin_route(world: Any) -> None:
    crm, client, fresh, deal, payment = world
    for url in (f"{BASE}/plans/{fresh}", f"{BASE}/plans/{deal}/payments", f"{BASE}/payments/{payment}/reverse"):
        for raw in (b"[" * 100_000, b"{" * 100_000, b'{"a":' * 100_000, b"[" * 40 + b"]" * 40, b"{bad",
                    b'{"amount": NaN}', b'{"amount": Infinity}', b'{"payments": 1e999}'):
            error(client.post(url, content=raw, headers=JSON), 400)
        error(client.post(url, content=b'{"reason": "x"}', headers={"Content-Type": "text/plain"}), 415)
        error(client.post(url, content=b'{"reason": "x"}'), 415)
        for raw in (b"[1]", b'"x"', b"null", b""):
            error(client.post(url, content=raw, headers=JSON), 422, "body")
        error(client.post(url, content=b'{"colour": "red"}', headers=JSON), 422, "colour")
        error(client.post(url, content=b'{"\\ud800": 1}', headers=JSON), 422, "\\ud800")
    assert Installments(crm).plan(deal).paid.amount == 10  # nothing changed


def test_hostile_values_are_422_naming_the_field(world: Any) -> None:
    crm, client, fresh, deal, payment = world
    plan, pay, reverse = f"{BASE}/plans/{fresh}", f"{BASE}/plans/{deal}/payments", f"{BASE}/payments/{payment}/reverse"
    cases = [
        (pay, {"amount": "1e400"}, "amount"),
        (pay, {"amount": "9" * 400}, "amount"),
        (pay, {"amount": "1.00", "method": "\ud800"}, "method"),
        (pay, {"amount": "1.00", "reference": "\udfff"}, "reference"),
        (pay, {"amount": "1.00", "paid_on": "0000-00-00"}, "paid_on"),
        (pay, {"amount": "1.00", "paid_on": "9999-12-31"}, "paid_on"),
        (pay, {"amount": 2**64}, "amount"),
        (pay, {"amount": {"amount": "1"}}, "amount"),
        (reverse, {"reason": "\ud800"}, "reason"),
        (reverse, {"reason": ["bounced"]}, "reason"),
        (plan, {"payments": 3, "start": "9999-12-01"}, "start"),
        (plan, {"payments": 600, "start": "9990-01-01"}, "start"),
        (plan, {"payments": 3, "start": "0000-00-00"}, "start"),
        (plan, {"payments": 2**64}, "payments"),
        (plan, {"dates": ["9999-12-31", "0001-01-01"]}, "dates"),
        (plan, {"payments": 3, "total": "1e400"}, "total"),
        (plan, {"payments": 3, "down_payment": "1" * 100}, "down_payment"),
    ]
    for url, body, field in cases:
        raw = __import__("json").dumps(body).encode("utf-8", "surrogatepass")
        error(client.post(url, content=raw, headers=JSON), 422, field)
    made = client.post(plan, json={"dates": ["0001-01-01", "9999-12-31"]})  # the ends of the calendar work
    assert made.status_code == 201, made.text
    for months in ("²", "٣", "9" * 30, "-1", "0", "121", " 1", "1.5"):
        error(client.get(f"{BASE}/reports/cash-in", params={"months": months}), 422, "months")
    assert client.get(f"{BASE}/reports/cash-in", params={"months": "120"}).status_code == 200
    assert client.get(f"{BASE}/reports/aging").status_code == 200
    assert client.get(f"{BASE}/plans/{2**64}").status_code == 422  # a path id no deal can have


def test_the_service_refuses_the_same_values(world: Any) -> None:
    crm, _, fresh, deal, payment = world
    inst = Installments(crm)
    for call, field in [
        (lambda: inst.record_payment(deal, "1e400"), "amount"),
        (lambda: inst.record_payment(deal, "1.00", reference="\ud800"), "reference"),
        (lambda: inst.reverse_payment(payment, reason="\ud800"), "reason"),
        (lambda: inst.reverse_payment("²", reason="x"), "payment_id"),
        (lambda: inst.plan("٣"), "deal_id"),
        (lambda: inst.create_plan(fresh, payments=3, start=date(9999, 12, 1)), "start"),
        (lambda: inst.create_plan(fresh, payments=3, total="1" * 60), "total"),
    ]:
        with pytest.raises(ValidationError) as err:
            call()
        assert err.value.field == field


def test_reports_at_the_ends_of_the_calendar(world: Any) -> None:
    crm = world[0]
    for day in (date.min, date(1, 2, 1), date.max, date(9999, 12, 1)):
        managers, totals = aging(crm, today=day)
        assert [t.currency for t in totals] == ["USD"]
        assert [r.month for r in cash_in(crm, months=120, today=day)] == (
            [] if day < date(2026, 1, 1) else ["2026-02", "2026-03", "2026-04"])
