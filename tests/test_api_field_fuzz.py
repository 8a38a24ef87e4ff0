"""Field fuzz: hostile values in every field of every create and update, core and plugin.

Each example puts one hostile value -- a 10 kB string, emoji, right-to-left text, control
characters and bidirectional overrides, NaN/Infinity, huge and negative numbers and amounts,
dates and times out of range, wrong types -- into one field of an otherwise valid body (custom
fields included) and checks the answer:

* never a 5xx;
* a 4xx is a JSON error naming that field (or, for ``NaN``/``Infinity``, which are not JSON, a
  400 for the body), and the database is exactly as before (every row of every table);
* a 2xx stored no control character or bidirectional override anywhere in the card.

CI runs :data:`CI_EXAMPLES` examples; the deep mode (``CRMKIT_DEEP=1``) :data:`DEEP_EXAMPLES`.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select
from test_api_helpers import FORMS, Api, build_api

from crmkit_installments.service import Installments

CI_EXAMPLES, DEEP_EXAMPLES = 150, 3000
EXAMPLES = DEEP_EXAMPLES if os.environ.get("CRMKIT_DEEP", "") == "1" else CI_EXAMPLES
TALLY: Counter[str] = Counter()

NAN = object()  # stands for a raw NaN / Infinity token in the body
HOSTILE: list[Any] = [
    "x" * 10_240, "😀" * 2_600, "👩‍👩‍👧‍👦 family", "مرحبا بالعالم", "שלום \u202eevil\u202c", "a\u2066b\u2069", "tab\there",
    "line\nbreak", "nul\x00", "bell\x07", "del\x7f", "c1\x85", "esc\x1b[31m", " ", "", "\ufeffbom", "é" * 301,
    "1e400", "1E+30", "-1e9", "-5", "-0.001", "0.00001", "9" * 40, "NaN", "Infinity", "-Infinity", "12,50",
    "0000-00-00", "0001-01-01", "9999-12-31", "10000-01-01", "2026-02-30", "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00", "2026-01-01T00:00:00", "yesterday",
    10**30, -(10**30), 2**31, 2**63, -1, 0, 1.5, -1e308, 1e308, True, [], ["x"], {}, {"a": 1}, None, NAN,
]
RELATED = {"total": ("down_payment",), "down_payment": ("total",)}
"""A value refused for its relation to another field may name that one (a total of 0 leaves no
room for the down payment)."""
_STORED_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def values() -> st.SearchStrategy[Any]:
    """The fixed hostile values, and generated text of every Unicode category."""
    return st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=60), st.integers(), st.floats())


@pytest.fixture
def world(make_crm: Any) -> Api:
    api = build_api(make_crm(plugins=["installments"], settings={"forms": FORMS}))
    crm = api.crm
    company = crm.companies.create(name="Acme")
    contact = crm.contacts.create(first_name="Dan", company_id=company.id)
    crm.leads.create(title="A lead", name="Bob")
    deal = crm.deals.create(title="A deal", contact_id=contact.id, amount="1200.00")
    crm.tasks.add(title="Call", entity_type="deal", entity_id=deal.id)
    plan_deal = crm.deals.create(title="Plan deal", amount="900.00")
    Installments(crm).create_plan(plan_deal.id, payments=3, start="2026-02-01")
    crm.deals.win(plan_deal.id)
    crm.deals.create(title="Free for a plan", amount="500.00")
    return api


VALID = {"title": "Valid", "body": "A note", "entity_type": "deal", "entity_id": 1, "name": "Nora",
         "first_name": "Nora", "email": "nora@windows.example", "stage": "proposal_sent", "amount": "10.00",
         "reason": "too_expensive", "payments": 3, "start": "2026-03-01"}


def targets(api: Api) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, valid body, field) for every field of every create and update."""
    doc = api.ok(api.get("/api/v1/openapi.json"))
    paths = {"/api/v1/leads": "POST", "/api/v1/leads/{id}": "PATCH", "/api/v1/contacts": "POST",
             "/api/v1/contacts/{id}": "PATCH", "/api/v1/companies": "POST", "/api/v1/companies/{id}": "PATCH",
             "/api/v1/deals": "POST", "/api/v1/deals/{id}": "PATCH", "/api/v1/tasks": "POST",
             "/api/v1/tasks/{id}": "PATCH", "/api/v1/notes": "POST", "/api/v1/users": "POST",
             "/api/v1/users/{id}": "PATCH", "/api/v1/deals/{id}/move": "POST",
             "/api/v1/installments/plans/{deal_id}": "POST", "/api/v1/installments/plans/{deal_id}/payments": "POST"}
    ids = {"/api/v1/installments/plans/{deal_id}": 4, "/api/v1/installments/plans/{deal_id}/payments": 2}
    out = []
    for path, method in paths.items():
        schema = doc["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
        url = path.replace("{id}", "1").replace("{deal_id}", str(ids.get(path, 1)))
        base = {name: VALID[name] for name in schema.get("required", ())}
        if "entity_id" in schema["properties"]:  # a pair: one without the other is the other's error
            base.update(entity_type="deal", entity_id=1)
        if method == "POST" and "first_name" in schema["properties"]:  # a contact needs a name
            base["first_name"] = "Nora"
        if path == "/api/v1/installments/plans/{deal_id}":
            base = {"payments": 3, "start": "2026-03-01", "replace": True}
        if path == "/api/v1/installments/plans/{deal_id}/payments":
            base = {"amount": "10.00"}
        for name, prop in schema["properties"].items():
            custom = prop.get("properties") if name == "custom" else None
            if custom:
                out += [(method, url, base, f"custom.{field}") for field in custom]
            elif name not in ("password", "active", "role"):  # never lock the test's admin out
                out.append((method, url, base, name))
    return out


def dump(api: Api) -> list[Any]:
    """Every row of every table (the database's whole state), token use times aside."""
    out = []
    with api.crm.engine.connect() as conn:
        for name, table in sorted(api.crm.tables.items()):
            cols = [c for c in table.c if c.name != "last_used_at"]
            out.append((name, sorted(map(repr, conn.execute(select(*cols)).all()))))
    return out


def encode(body: dict[str, Any], field: str, value: Any) -> bytes:
    payload = json.loads(json.dumps(body))
    target, key = payload, field
    if field.startswith("custom."):
        target = payload.setdefault("custom", {})
        key = field.split(".", 1)[1]
    target[key] = "__NAN__" if value is NAN else value
    raw = json.dumps(payload, ensure_ascii=False, allow_nan=True)
    return raw.replace('"__NAN__"', "NaN").encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    target = os.environ.get("CRMKIT_DEEP_REPORT")
    if target:
        path = Path(target)
        old = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**old, "field_fuzz": dict(TALLY)}, indent=2, sort_keys=True))


def test_hostile_field_values_are_4xx_naming_the_field_and_change_nothing(world: Api) -> None:
    api = world
    found = targets(api)
    assert len(found) > 60  # every field of 16 creates and updates, custom fields included

    @given(target=st.sampled_from(found), value=values())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def check(target: tuple[str, str, dict[str, Any], str], value: Any) -> None:
        method, url, base, field = target
        if base.get("email") and field != "email":  # each user made is a new user
            base = {**base, "email": f"user{TALLY['requests']}@windows.example"}
        raw = encode(base, field, value)
        before = dump(api)
        response = api.client.request(method, url, content=raw, headers={"Content-Type": "application/json"})
        TALLY["requests"] += 1
        TALLY[f"{response.status_code // 100}xx"] += 1
        assert response.status_code < 500, (method, url, field, value, response.text)
        if response.status_code >= 400:
            err = response.json()["error"]
            if value is NAN or (isinstance(value, float) and not math.isfinite(value)):  # not JSON
                assert response.status_code == 400, response.text
            else:
                named = err.get("field") or ""
                if field.startswith("custom.") and "." not in named:  # the service names a custom field bare
                    named = "custom." + named
                assert (named == field or named.startswith((field + ".", field + "["))
                        or named in RELATED.get(field, ())), (field, value, err)
            assert dump(api) == before, (method, url, field, value, "changed the database")
        else:
            stored = json.dumps(response.json(), ensure_ascii=False)
            assert not _STORED_BAD.search(stored), (field, value, stored[:300])

    check()
    assert TALLY["requests"] >= EXAMPLES
