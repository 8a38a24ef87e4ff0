"""The web UI over HTTP (Starlette's TestClient), on SQLite and PostgreSQL: sessions, CSRF,
record rules on pages, plugins' panels and actions only where the plugin is enabled, the catalogs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from crmkit import Crm
from crmkit.core import auth
from crmkit.ui.i18n import LOCALE_DIR
from crmkit.web import create_app

PASSWORD = "correct-horse-1"


def login(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return client.post("/login", data={"email": email, "password": password, "csrf": csrf, "next": "/"},
                       follow_redirects=False)


def csrf_of(client: TestClient, path: str = "/") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text).group(1)  # type: ignore[union-attr]


@pytest.fixture
def people(crm: Crm) -> dict[str, Any]:
    anna = crm.system.users.create(email="anna@example.com", name="Anna", role="manager")
    bob = crm.system.users.create(email="bob@example.com", name="Bob", role="manager")
    for user in (anna, bob):
        auth.set_password(crm, user.id, PASSWORD)
    deal = crm.as_user(anna.id).deals.create(title="Anna's deal", amount="100.00")
    return {"anna": anna, "bob": bob, "deal": deal}


def test_pages_need_a_login_and_the_session_ends_with_the_password(crm: Crm, people: dict[str, Any]) -> None:
    client = TestClient(create_app(crm))
    first = client.get("/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/login?next=/"
    assert login(client, "anna@example.com", "wrong-password").status_code == 401
    done = login(client, "anna@example.com")
    assert done.status_code == 303
    cookie = done.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/").status_code == 200
    auth.set_password(crm, people["anna"].id, "a-new-password-2")  # e.g. from another process
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_post_without_the_csrf_token_is_refused(crm: Crm, people: dict[str, Any]) -> None:
    client = TestClient(create_app(crm))
    login(client, "anna@example.com")
    deal = people["deal"]
    refused = client.post(f"/deals/{deal.id}/edit", data={"f_title": "hijacked", "version": "1"})
    assert refused.status_code == 403
    wrong = client.post(f"/deals/{deal.id}/edit", data={"f_title": "hijacked", "csrf": "forged"})
    assert wrong.status_code == 403
    assert crm.system.deals.get(deal.id).title == "Anna's deal"
    ok = client.post(f"/deals/{deal.id}/edit", data={"f_title": "Renamed", "version": "1", "csrf": csrf_of(client)},
                     follow_redirects=False)
    assert ok.status_code == 303 and crm.system.deals.get(deal.id).title == "Renamed"
    assert client.post("/login", data={"email": "anna@example.com", "password": PASSWORD}).status_code == 403


def test_a_card_one_may_not_see_answers_like_a_missing_one(crm: Crm, people: dict[str, Any]) -> None:
    client = TestClient(create_app(crm))
    login(client, "bob@example.com")
    hidden = client.get(f"/deals/{people['deal'].id}")
    missing = client.get("/deals/99999")
    assert hidden.status_code == missing.status_code == 404
    main = re.compile(r"<main.*</main>", re.DOTALL)
    assert main.search(hidden.text).group(0) == main.search(missing.text).group(0)  # type: ignore[union-attr]
    assert "Anna&#39;s deal" not in client.get("/deals").text and "Anna's deal" not in client.get("/deals").text
    moved = client.post(f"/deals/{people['deal'].id}/move", data={"stage": "proposal_sent", "csrf": csrf_of(client)})
    assert moved.status_code == 404
    assert crm.system.deals.get(people["deal"].id).stage == "collecting_data"


def test_unknown_paths_are_html_for_pages_and_json_for_the_api(crm: Crm, people: dict[str, Any]) -> None:
    client = TestClient(create_app(crm))
    assert client.get("/no-such-page").headers["content-type"].startswith("text/html")
    api = client.get("/api/v1/no-such-resource")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    page = client.get("/login")
    assert "default-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize("enabled", [True, False])
def test_plugin_panels_and_actions_only_when_enabled(make_crm: Any, enabled: bool) -> None:
    crm = make_crm(plugins=["telephony", "installments"] if enabled else [])
    user = crm.system.users.create(email="olivia@example.com", name="Olivia", role="admin")
    auth.set_password(crm, user.id, PASSWORD)
    me = crm.as_user(user.id)
    contact = me.contacts.create(first_name="Jane", phones=["+12065550101"])
    deal = me.deals.create(title="Windows", amount="1200.00", contact_id=contact.id)
    client = TestClient(create_app(crm))
    login(client, "olivia@example.com")
    html = client.get(f"/deals/{deal.id}").text
    assert ('data-panel="telephony.calls"' in html) is enabled
    assert ('data-action="telephony.call"' in html) is enabled
    if enabled:
        from crmkit_installments.service import Installments

        Installments(crm, user.id).create_plan(deal.id, payments=3)
        me.deals.win(deal.id)
        html = client.get(f"/deals/{deal.id}").text
        assert 'data-panel="installments.schedule"' in html and 'data-action="installments.record_payment"' in html
        paid = client.post(f"/deals/{deal.id}/actions/installments.record_payment",
                           data={"amount": "400.00", "method": "cash", "csrf": csrf_of(client)})
        assert paid.status_code == 200 and "Payment of $400.00 recorded." in paid.text
    else:
        assert client.post(f"/deals/{deal.id}/actions/installments.record_payment",
                           data={"amount": "1", "csrf": csrf_of(client)}).status_code == 404


def test_the_catalogs_are_complete() -> None:
    from babel.messages.pofile import read_po

    with (LOCALE_DIR / "messages.pot").open("rb") as f:
        template = read_po(f)
    for lang in ("ru",):
        with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
            catalog = read_po(f, locale=lang)
        missing = [m.id for m in template if m.id and (catalog.get(m.id) is None or not catalog.get(m.id).string)]
        assert not missing, f"{lang}: untranslated {missing[:5]}"
