"""The web UI in German and Simplified Chinese, in the browser: the deployment's language when the
user chose none (German here), the user's own choice over it (Chinese), plugin text from the
plugin's own catalog, dates and money in the locale's format, and the phone width (360 px) with
the longer German words and the Chinese script (screenshots in docs/screenshots)."""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

import pytest
from conftest import UiServer, axe_violations, deployment, seed, serving, shot

from crmkit import Crm
from crmkit_installments.service import Installments

Open = Callable[..., Any]


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """The window company in small, German by default ([ui] locale = "de"), installments enabled."""
    crm: Crm = deployment(tmp_path_factory.mktemp("ui-languages"), plugins=["installments"], ui={"locale": "de"})
    users, ids = seed(crm)
    Installments(crm, users["anna"]).create_plan(ids["deal1"], payments=3, start="2030-01-10")
    crm.as_user(users["anna"]).deals.win(ids["deal1"])
    with serving(crm) as url:
        yield UiServer(url, crm, users, ids)
    crm.close()


def choose(page: Any, code: str) -> None:
    page.select_option("#lang-select", code)
    page.click(".lang button")
    page.wait_for_load_state()


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


def test_the_german_ui_is_the_deployments_language(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("anna")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.inner_text("h1") == "Hallo, Anna Lee"
    names = page.locator("#lang-select option").all_inner_texts()
    assert names == ["English", "Deutsch", "Русский", "Slovenščina", "简体中文"]
    page.goto(ui_server.url + "/my-tasks")
    assert page.inner_text("h1") == "Meine Aufgaben"
    page.goto(f"{ui_server.url}/deals/{ui_server.ids['deal1']}")
    main = page.inner_text("main")
    assert "1.800,00\xa0$" in main  # German grouping and decimal comma, the symbol after
    panel = page.locator('section[data-panel="installments.schedule"]')
    assert "Ratenplan" in panel.inner_text()  # the plugin's own catalog
    assert "600,00\xa0$" in panel.inner_text()
    assert "Zahlung erfassen" in page.locator('form[data-action="installments.record_payment"]').inner_text()
    assert axe_violations(page) == []


def test_the_users_choice_beats_the_deployments_language(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("tom")
    choose(page, "zh_Hans")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    page.goto(ui_server.url + "/my-tasks")
    assert page.inner_text("h1") == "我的任务"
    assert "已逾期" in page.inner_text("main")
    page.goto(f"{ui_server.url}/deals/{ui_server.ids['deal0']}")
    assert re.search(r"\b\d{4}/\d{1,2}/\d{1,2} \d{2}:\d{2}\b", page.inner_text("main"))  # zh's short date-time
    assert axe_violations(page) == []
    choose(page, "en")
    assert page.inner_text("h1") == "Smith: 5 windows" and page.locator("html").get_attribute("lang") == "en"


def test_the_chinese_deal_card_with_a_plugin_panel(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("anna")
    choose(page, "zh_Hans")
    page.goto(f"{ui_server.url}/deals/{ui_server.ids['deal1']}")
    panel = page.locator('section[data-panel="installments.schedule"]')
    assert "分期计划" in panel.inner_text() and "US$600.00" in panel.inner_text()
    assert "US$1,800.00" in page.inner_text("main")
    assert "记录付款" in page.locator('form[data-action="installments.record_payment"]').inner_text()


@pytest.mark.parametrize(("code", "title"), [("de", "Meine Aufgaben"), ("zh_Hans", "我的任务")])
def test_a_phone_in_german_and_in_chinese(page_for: Open, ui_server: UiServer, code: str, title: str) -> None:
    page = page_for("tom", width=360, height=740)
    choose(page, code)
    page.goto(ui_server.url + "/my-tasks")
    assert page.inner_text("h1") == title
    no_sideways_scroll(page)
    shot(page, f"my-tasks-phone-{code}.png")
    page = page_for("anna", width=360, height=740)
    choose(page, code)
    page.goto(f"{ui_server.url}/deals/{ui_server.ids['deal1']}")
    page.locator('section[data-panel="installments.schedule"]').scroll_into_view_if_needed()
    no_sideways_scroll(page)
    shot(page, f"deal-card-phone-{code}.png")
    assert axe_violations(page) == []
