"""Fixtures and helpers shared by the API tests (imported by each test_api_* module)."""

from __future__ import annotations

from typing import Any, Iterator

import attrs
import pytest
from starlette.testclient import TestClient

from crmkit import Crm
from crmkit.core import auth
from crmkit.web import create_app

FORMS = {
    "site": {"source": "web_form", "utm_source": "website", "rate_limit": 3},
    "landing": {"title": "Spring landing", "utm_campaign": "spring"},
}


@attrs.define
class Api:
    crm: Crm
    client: TestClient
    admin_id: int
    secret: str

    def token_for(self, user_id: int) -> dict[str, str]:
        _, secret = auth.create_token(self.crm, user_id, "test")
        return {"Authorization": f"Bearer {secret}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(url, json=json, **kw)

    def patch(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.patch(url, json=json, **kw)

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def error(self, response: Any, status: int, field: str | None = None) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/json")
        err = response.json()["error"]
        assert set(err) <= {"code", "message", "field"} and err["message"]
        if field is not None:
            assert err.get("field") == field, err
        return err  # type: ignore[no-any-return]


def build_api(crm: Crm, **app_options: Any) -> Api:
    admin = crm.users.by_email("admin@windows.example") or crm.users.create(
        email="admin@windows.example", name="Ada Admin", role="admin")
    _, secret = auth.create_token(crm, admin.id, "tests")
    client = TestClient(create_app(crm, **app_options), headers={"Authorization": f"Bearer {secret}"})
    return Api(crm=crm, client=client, admin_id=admin.id, secret=secret)


@pytest.fixture
def api(make_crm: Any) -> Iterator[Api]:
    crm = make_crm(settings={"forms": FORMS})
    built = build_api(crm)
    with built.client:
        yield built
