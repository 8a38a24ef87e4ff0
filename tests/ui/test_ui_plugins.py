"""A plugin in the browser: the installments plugin's panel and action on a deal card, present
because the deployment enables it (test_ui_browser.py checks they are absent without it), and a
form posted without its CSRF token refused with nothing written."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, Iterator

import pytest
from conftest import PASSWORD, UiServer, axe_violations, deployment, serving

from crmkit import Crm
from crmkit.core import auth
from crmkit_installments.service import Installments

Open = Callable[..., Any]


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """This module's deployment: installments enabled, one won deal with a three-payment plan."""
    crm: Crm = deployment(tmp_path_factory.mktemp("ui-plugins"), plugins=["installments"])
    anna = crm.system.users.create(email="anna@example.com", name="Anna Lee", role="manager", team="sales").id
    auth.set_password(crm, anna, PASSWORD)
    deal = crm.as_user(anna).deals.create(title="Smith: 5 windows", amount="900.00")
    Installments(crm, anna).create_plan(deal.id, payments=3, start="2030-01-10")
    crm.as_user(anna).deals.win(deal.id)
    with serving(crm) as url:
        yield UiServer(url, crm, {"anna": anna}, {"deal": deal.id})
    crm.close()


def test_the_plugins_panel_and_action_work_on_the_card(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("anna")
    deal = ui_server.ids["deal"]
    page.goto(f"{ui_server.url}/deals/{deal}")
    panel = page.locator('section[data-panel="installments.schedule"]')
    assert "Installment plan" in panel.inner_text()
    assert panel.locator("tbody tr").count() == 3
    form = page.locator('form[data-action="installments.record_payment"]')
    form.locator('input[name="amount"]').fill("300.00")
    form.locator("button").click()
    page.get_by_text("Payment of").first.wait_for()
    payments = Installments(ui_server.crm, ui_server.users["anna"]).payments(deal)
    assert [p.amount.amount for p in payments] == [Decimal("300.00")]
    assert axe_violations(page) == []


def test_a_form_without_its_csrf_token_is_refused(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("anna")
    deal = ui_server.ids["deal"]
    page.goto(f"{ui_server.url}/deals/{deal}")
    before = Installments(ui_server.crm, ui_server.users["anna"]).payments(deal)
    form = page.locator('form[data-action="installments.record_payment"]')
    form.locator('input[name="csrf"]').evaluate("input => input.remove()")
    form.locator('input[name="amount"]').fill("100.00")
    with page.expect_response(lambda r: "/actions/" in r.url) as answer:
        form.locator("button").click()
    assert answer.value.status == 403
    assert Installments(ui_server.crm, ui_server.users["anna"]).payments(deal) == before
