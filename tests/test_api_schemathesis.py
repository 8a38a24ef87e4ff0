"""Property-based API test: schemathesis against our own OpenAPI document.

For every documented operation it generates valid and invalid requests (a bounded
number per operation) and checks that the server never answers 5xx and that each
answer (status, content type, headers, body) is one the document describes.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)
from test_api_helpers import FORMS, Api, build_api

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
MAX_EXAMPLES = 12


@pytest.fixture
def seeded(make_crm: Any) -> Api:
    """A deployment with one card of each kind (id 1), so generated ids sometimes exist."""
    api = build_api(make_crm(plugins=["example"], settings={"forms": FORMS}), max_body_bytes=100_000)
    crm = api.crm
    company = crm.companies.create(name="Acme")
    contact = crm.contacts.create(first_name="Dan", company_id=company.id)
    crm.leads.create(title="A lead", name="Bob")
    deal = crm.deals.create(title="A deal", contact_id=contact.id)
    crm.tasks.add(title="Call", entity_type="deal", entity_id=deal.id)
    crm.notes.add("deal", deal.id, "note")
    return api


def _check(api: Api, schema: Any, mode: GenerationMode, failures: list[str]) -> None:
    auth = {"Authorization": f"Bearer {api.secret}"}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def run(case: Any) -> None:
            case.call_and_validate(headers=auth, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (e.g. an operation without input)
            continue
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then report them together
            failures.append(f"{mode.value} {operation.method.upper()} {operation.path}: {str(exc)[:1500]}")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_openapi_document(seeded: Api, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", seeded.client.app)
    failures: list[str] = []
    _check(seeded, schema, mode, failures)
    assert not failures, "\n\n".join(failures)
