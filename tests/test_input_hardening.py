"""Hostile values reach the services as clear errors naming the field, never a crash, never
a partial write: amounts (Money), datetimes at the calendar's edge, custom decimals, control
characters and bidirectional overrides in text, deals kept out of the lead pipeline.
(Issue 12, defects 2, 4 and 5; SDK, HTTP and CLI; SQLite and PostgreSQL.)"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from test_api_helpers import Api, api  # noqa: F401  (fixture)
from test_cli import as_admin, cfg, deployment, fails, ok  # noqa: F401  (fixtures)

from crmkit import Crm, Money, ValidationError, schema
from crmkit.testing import template

HUGE_AMOUNTS = ["1e400", "1E+30", "-1e400", "1e15", "9" * 101, "1e-400"]


def _rows(crm: Crm) -> int:
    with crm.engine.connect() as conn:
        return sum(int(conn.scalar(select(func.count()).select_from(t)) or 0)
                   for t in (schema.deals, schema.events, schema.contacts))


@pytest.mark.parametrize("amount", HUGE_AMOUNTS)
def test_money_refuses_what_it_cannot_hold(amount: str) -> None:
    with pytest.raises(ValidationError) as err:
        Money.parse(amount, "USD")
    assert err.value.field == "amount"
    with pytest.raises(ValidationError) as err:
        Money.parse(amount, "EUR", field="price")
    assert err.value.field == "price"


def test_money_keeps_what_it_can() -> None:
    assert str(Money.parse("999999999999999.99", "USD").amount) == "999999999999999.99"
    assert str(Money.parse("1e2", "USD").amount) == "100.00"
    assert str(Money.parse("0E-400", "JPY").amount) == "0"


def test_huge_amounts_through_the_sdk_and_http(api: Api) -> None:
    crm = api.crm
    before = _rows(crm)
    deal = crm.deals.create(title="ok", amount="10.00")
    for amount in HUGE_AMOUNTS:
        with pytest.raises(ValidationError) as err:
            crm.deals.create(title="x", amount=amount)
        assert err.value.field == "amount"
        api.error(api.post("/api/v1/deals", {"title": "x", "amount": amount}), 422, "amount")
        api.error(api.patch(f"/api/v1/deals/{deal.id}", {"amount": amount}), 422, "amount")
    assert _rows(crm) == before + 2  # the one deal and its event


def test_huge_amount_through_the_cli(as_admin: list[str]) -> None:
    fails(*as_admin, "deals", "create", "--title", "x", "--amount", "1e400", contains="amount: 1e400 is too large")


def test_custom_decimals_and_datetimes_at_the_edges(make_crm: Any) -> None:
    fields = template()["custom_fields"]
    crm = make_crm(custom_fields={**fields, "deal": {**fields["deal"], "ratio": {"type": "decimal"},
                                                     "due": {"type": "datetime"}}})
    for custom, field in (({"ratio": "1e400"}, "ratio"), ({"ratio": "0.00000000001"}, "ratio"),
                          ({"due": "9999-12-31T23:00:00-05:00"}, "due"), ({"due": "0001-01-01T00:00:00+01:00"}, "due"),
                          ({"due": "2026-01-01T00:00:00"}, "due")):
        with pytest.raises(ValidationError) as err:
            crm.deals.create(title="x", custom=custom)
        assert err.value.field == field, custom
    deal = crm.deals.create(title="x", custom={"ratio": "1E+2", "due": "9999-12-31T23:00:00+00:00"})
    assert deal.custom["ratio"] == "100"
    assert [d.id for d in crm.deals.list(ratio__gte="99.5").items] == [deal.id]
    with pytest.raises(ValidationError) as err:
        crm.deals.list(ratio__gte="1e400")
    assert err.value.field == "ratio"


SINGLE_LINE_BAD = ["a\nb", "a\rb", "a\tb", "a\x1bb", "a\x7fb", "a\x85b", "a\u202eb", "a\u2066b", "a\x00b"]


@pytest.mark.parametrize("bad", SINGLE_LINE_BAD)
def test_names_and_titles_refuse_control_and_bidi_characters(api: Api, bad: str) -> None:
    crm = api.crm
    before = _rows(crm)
    for path, body, field in (("/api/v1/deals", {"title": bad}, "title"),
                              ("/api/v1/contacts", {"first_name": bad}, "first_name"),
                              ("/api/v1/leads", {"title": "t", "name": bad}, "name"),
                              ("/api/v1/companies", {"name": bad}, "name"),
                              ("/api/v1/tasks", {"title": bad}, "title")):
        err = api.error(api.post(path, body), 422, field)
        assert "U+" in err["message"] or "NUL" in err["message"]
    with pytest.raises(ValidationError, match="U\\+"):
        crm.users.create(email="x@x.example", name=bad)
    assert _rows(crm) == before


def test_multi_line_fields_keep_line_breaks_but_not_the_rest(api: Api) -> None:
    crm = api.crm
    task = crm.tasks.add(title="t", description="line 1\r\n\tline 2")
    assert task.description == "line 1\r\n\tline 2"
    note = crm.notes.add("task", task.id, "first\nsecond")
    assert note.body == "first\nsecond"
    for bad in ("a\x1bb", "a\u202eb", "a\x00b", "a\x9bb"):
        api.error(api.post("/api/v1/notes", {"entity_type": "task", "entity_id": task.id, "body": bad}), 422, "body")
        with pytest.raises(ValidationError) as err:
            crm.tasks.update(task.id, {"description": bad})
        assert err.value.field == "description"
        deal = crm.deals.create(title="d")
        with pytest.raises(ValidationError) as err:
            crm.deals.lose(deal.id, reason_text=bad)
        assert err.value.field == "reason_text"


def test_deals_keep_out_of_the_lead_pipeline(api: Api) -> None:
    crm = api.crm
    deal = crm.deals.create(title="d")
    before = _rows(crm)
    api.error(api.post(f"/api/v1/deals/{deal.id}/move", {"pipeline": "leads", "stage": "converted"}), 422, "pipeline")
    api.error(api.post("/api/v1/deals", {"title": "x", "pipeline": "leads"}), 422, "pipeline")
    with pytest.raises(ValidationError) as err:
        crm.deals.copy(deal.id, pipeline="leads")
    assert err.value.field == "pipeline"
    assert crm.deals.get(deal.id).pipeline == "sales" and _rows(crm) == before


def test_sdk_filters_are_typed(crm: Crm) -> None:
    """A filter value of the wrong type is a ValidationError naming the filter, on both databases
    (PostgreSQL answered a text for an integer column with a database error)."""
    deal = crm.deals.create(title="d")
    for filters, key in (({"responsible_id": "abc"}, "responsible_id"), ({"responsible_id": 2**64}, "responsible_id"),
                         ({"responsible_id": True}, "responsible_id"), ({"title": 5}, "title"),
                         ({"title": "a\ud800"}, "title"), ({"created_at__gte": "yesterday"}, "created_at__gte"),
                         ({"created_at__gte": "2026-01-01T00:00:00"}, "created_at__gte"),
                         ({"id__in": "12"}, "id__in"), ({"id__in": ["x"]}, "id__in")):
        with pytest.raises(ValidationError) as err:
            crm.deals.list(filters)
        assert err.value.field == key, filters
    assert [d.id for d in crm.deals.list(responsible_id=None, id__in=[deal.id, str(deal.id)]).items] == [deal.id]
    assert crm.deals.count(created_at__lte="2999-01-01T00:00:00+00:00") == 1


def test_user_custom_fields_filter_by_id(api: Api) -> None:
    crm = api.crm
    mike = crm.users.create(email="mike@x.example", name="Mike")
    deal = crm.deals.create(title="d", custom={"measurer_id": mike.id})
    crm.deals.create(title="other")
    assert [d.id for d in crm.deals.list(measurer_id=mike.id).items] == [deal.id]
    items = api.ok(api.get("/api/v1/deals", params={"measurer_id": str(mike.id)}))["items"]
    assert [d["id"] for d in items] == [deal.id]


def test_lone_surrogates_never_reach_the_database(crm: Crm) -> None:
    with pytest.raises(ValidationError, match="lone surrogate") as err:
        crm.deals.create(title="bad \udc80 title")
    assert err.value.field == "title"
    task = crm.tasks.add(title="t")
    with pytest.raises(ValidationError, match="lone surrogate"):
        crm.notes.add("task", task.id, "bad \ud800")


def test_cli_as_takes_ascii_ids(cfg: list[str]) -> None:
    fails(*cfg, "--as", "²", "deals", "list", contains="'²' is not a valid e-mail address")
    fails(*cfg, "--as", "9" * 25, "deals", "list", contains="not a valid id")
