"""Responses holding every kind of custom field conform to the OpenAPI document (issue 12, defect 6).

The generated schemathesis runs (test_api_schemathesis.py) only see the values they happen to
create; here each operation answering a deal is called on a deal whose ``user`` field
(``measurer_id``) is set, and its response is checked against the document.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import response_schema_conformance
from test_api_helpers import Api, build_api

CASES: list[tuple[str, str, dict[str, Any], Any]] = [
    ("/api/v1/deals/{id}", "GET", {"id": 1}, None),
    ("/api/v1/deals", "GET", {}, None),
    ("/api/v1/deals/{id}", "PATCH", {"id": 1}, {"title": "Eight windows"}),
    ("/api/v1/deals/{id}/move", "POST", {"id": 1}, {"stage": "proposal_sent"}),
    ("/api/v1/deals/{id}/win", "POST", {"id": 1}, {}),
]


def test_user_custom_fields_are_documented_as_the_ids_the_api_returns(make_crm: Any) -> None:
    api: Api = build_api(make_crm())
    measurer = api.crm.users.create(email="max@windows.example", name="Max Measurer")
    custom = {"measurer_id": measurer.id, "window_count": 8, "installments": True,
              "next_contact_date": "2026-05-01", "measurement_date": "2026-05-02T10:00:00+00:00",
              "customer_kind": "person"}
    created = api.post("/api/v1/deals", {"title": "Windows", "amount": "10.50", "custom": custom})
    assert created.status_code == 201, created.text
    assert created.json()["custom"]["measurer_id"] == measurer.id  # an integer, not a string

    doc = api.ok(api.get("/api/v1/openapi.json"))
    write = doc["paths"]["/api/v1/deals"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "integer" in write["properties"]["custom"]["properties"]["measurer_id"]["type"]

    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.client.app)
    auth = {"Authorization": f"Bearer {api.secret}"}
    create = schema["/api/v1/deals"]["POST"].Case(body={"title": "More windows", "custom": custom})
    create.call_and_validate(headers=auth, checks=[response_schema_conformance])
    for path, method, params, body in CASES:
        kwargs: dict[str, Any] = {"path_parameters": params}
        if body is not None:
            kwargs["body"] = body
        case = schema[path][method].Case(**kwargs)
        response = case.call_and_validate(headers=auth, checks=[response_schema_conformance])
        assert response.status_code < 300, (method, path, response.text)
