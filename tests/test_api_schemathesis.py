"""Property-based API test: schemathesis against our own OpenAPI document.

For every documented operation -- the core's and the enabled plugins' routes (installments
documents its request and response schemas with ``crmkit.web.operation.document``) -- it
generates valid and invalid requests and checks that the server never answers 5xx and that each
answer (status, content type, headers, body) is one the document describes. A stateful run
follows the document's links (create a card, then read, change and act on it).

CI runs a few examples per operation; the deep mode (``CRMKIT_DEEP=1``, ``make test-deep``)
runs :data:`DEEP_EXAMPLES` per operation and longer stateful scenarios, and with
``CRMKIT_DEEP_REPORT=<file>`` writes its figures (requests, 5xx, violations) as JSON.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.generation.stateful.state_machine import APIStateMachine
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)
from sqlalchemy import create_engine, text
from test_api_helpers import FORMS, Api, build_api

from crmkit import Crm, FrozenClock, Settings
from crmkit.testing import template
from crmkit_installments.service import Installments

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
DEEP = os.environ.get("CRMKIT_DEEP", "") == "1"
DEEP_EXAMPLES = 100
MAX_EXAMPLES = DEEP_EXAMPLES if DEEP else 12
STATEFUL_EXAMPLES, STATEFUL_STEPS = (100, 10) if DEEP else (5, 5)
PLUGINS = ["example", "installments", "telephony"]
TELEPHONY = {"generic": {"secret": "generic-webhook-secret-0123456789"},  # its webhooks check signatures
             "twilio": {"auth_token": "12345", "webhook_url": "http://testserver/api/v1/telephony/webhooks/twilio"},
             "sms": {"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "12345",
                     "from": "+12025550100",  # Twilio SMS: its status and inbound webhooks check signatures
                     "status_callback_url": "http://testserver/api/v1/telephony/sms/twilio/status",
                     "inbound_url": "http://testserver/api/v1/telephony/sms/twilio/inbound"}}
TALLY: Counter[str] = Counter()
"""What the runs of this session sent and got: ``requests``, ``5xx``, ``violations``, per mode."""


def seed(crm: Crm) -> Api:
    """The API of ``crm`` with one card of each kind (id 1), so generated ids sometimes exist, and an
    installment plan on the won deal 1 (its control deal is 2)."""
    api = build_api(crm, max_body_bytes=100_000)
    company = crm.companies.create(name="Acme")
    contact = crm.contacts.create(first_name="Dan", company_id=company.id)
    crm.leads.create(title="A lead", name="Bob")
    deal = crm.deals.create(title="A deal", contact_id=contact.id, amount="1200.00")
    crm.tasks.add(title="Call", entity_type="deal", entity_id=deal.id)
    crm.notes.add("deal", deal.id, "note")
    Installments(crm).create_plan(deal.id, payments=3, start="2026-02-01", down_payment="200.00")
    crm.deals.win(deal.id)
    Installments(crm).record_payment(deal.id, "100.00")
    return api


SETTINGS = {"plugins": PLUGINS, "settings": {"forms": FORMS, "telephony": TELEPHONY}}


@pytest.fixture
def seeded(make_crm: Any) -> Api:
    return seed(make_crm(**SETTINGS))


class Fresh:
    """An ASGI app serving a new deployment, on a database of its own, from each stateful scenario on:
    scenarios do not see each other's cards, so a scenario replays the same way (Hypothesis checks)."""

    def __init__(self, db_url: str, clock: FrozenClock, folder: Path) -> None:
        self.db_url, self.clock, self.folder = db_url, clock, folder
        self.made: list[Crm] = []
        self.schemas: list[str] = []
        self.admin = None if db_url.startswith("sqlite") else create_engine(db_url.split("?")[0])
        self.current = self.new()

    def new(self) -> Api:
        n = len(self.made)
        url = f"sqlite:///{self.folder / f'scenario-{n}.db'}"
        if self.admin is not None:
            name = f"s{n}_{uuid.uuid4().hex[:8]}"
            with self.admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{name}"'))
            self.schemas.append(name)
            url = f"{self.db_url.split('?')[0]}?options={quote(f'-csearch_path={name}')}"
        crm = Crm(Settings.from_dict({**template(), "database": url, **SETTINGS}, base_dir=self.folder,
                                     environ={}), clock=self.clock)
        self.made.append(crm)
        return seed(crm)

    def reset(self) -> None:
        self.current = self.new()

    def close(self) -> None:
        for crm in self.made:
            crm.close()
        if self.admin is not None:
            with self.admin.begin() as conn:
                for name in self.schemas:
                    conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
            self.admin.dispose()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.current.client.app(scope, receive, send)


def _count(mode: str, response: Any, failed: bool) -> None:
    TALLY[f"{mode}.requests"] += 1
    TALLY[f"{mode}.5xx"] += int(response.status_code >= 500)
    TALLY[f"{mode}.violations"] += int(failed)


def _check(api: Api, schema: Any, mode: GenerationMode, failures: list[str]) -> None:
    auth = {"Authorization": f"Bearer {api.secret}"}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def run(case: Any) -> None:
            response = case.call(headers=auth)
            try:
                case.validate_response(response, checks=CHECKS, headers=auth)
            except BaseException:
                _count(mode.value, response, True)
                raise
            _count(mode.value, response, False)

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (e.g. an operation without input)
            continue
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then report them together
            failures.append(f"{mode.value} {operation.method.upper()} {operation.path}: {str(exc)[:1500]}")


@pytest.fixture(scope="module", autouse=True)
def report() -> Any:
    """With ``CRMKIT_DEEP_REPORT``, the module's figures, added to the file's."""
    yield
    target = os.environ.get("CRMKIT_DEEP_REPORT")
    if target:
        path = Path(target)
        old = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**old, "schemathesis": dict(TALLY), "examples_per_operation": MAX_EXAMPLES},
                                   indent=2, sort_keys=True))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_openapi_document(seeded: Api, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", seeded.client.app)
    failures: list[str] = []
    _check(seeded, schema, mode, failures)
    assert not failures, "\n\n".join(failures)


def test_plugin_routes_document_their_request_bodies(seeded: Api) -> None:
    doc = seeded.ok(seeded.get("/api/v1/openapi.json"))
    for path in ("/api/v1/installments/plans/{deal_id}", "/api/v1/installments/plans/{deal_id}/payments",
                 "/api/v1/installments/payments/{payment_id}/reverse"):
        post = doc["paths"][path]["post"]
        body = post["requestBody"]["content"]["application/json"]["schema"]
        assert body["type"] == "object" and body["additionalProperties"] is False and body["properties"], path
        assert {"401", "415", "422"} <= set(post["responses"]), path
    cash_in = doc["paths"]["/api/v1/installments/reports/cash-in"]["get"]
    assert [p["name"] for p in cash_in["parameters"]] == ["months"]
    assert "items" in cash_in["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    links = doc["paths"]["/api/v1/deals"]["post"]["responses"]["201"]["links"]
    assert links["move_deal"] == {"operationId": "move_deal", "parameters": {"id": "$response.body#/id"}}
    webhook = doc["paths"]["/api/v1/telephony/webhooks/{provider}"]["post"]
    assert webhook["security"] == []  # public: it checks a signature, not a token


def test_stateful_scenarios_follow_the_links(db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
    app = Fresh(db_url, clock, tmp_path)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)

    def auth() -> dict[str, str]:
        return {"Authorization": f"Bearer {app.current.secret}"}

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            app.reset()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": auth()}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            try:
                case.validate_response(response, checks=CHECKS, headers=auth())
            except BaseException:
                _count("stateful", response, True)
                raise
            _count("stateful", response, False)

    assert issubclass(Workflow, APIStateMachine)
    try:
        Workflow.run(settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS,
                                       deadline=None, derandomize=True, database=None,
                                       suppress_health_check=list(HealthCheck)))
    finally:
        app.close()
    assert TALLY["stateful.requests"] > 0
