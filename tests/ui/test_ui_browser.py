"""The web UI end to end in headless Chromium: the scenarios of issue 14's "Done when".

Each test uses its own cards of the module's deployment (see conftest.seed), so they run in any
order. axe-core runs inside the pages; the four screenshots of docs/screenshots are written here.
"""

from __future__ import annotations

from typing import Any, Callable

from conftest import UiServer, axe_violations, shot

Open = Callable[..., Any]


def card_in(page: Any, stage: str, deal_id: int) -> Any:
    return page.locator(f'ol.cards[data-stage="{stage}"] li.card[data-id="{deal_id}"]')


def drag(page: Any, deal_id: int, stage: str) -> None:
    source = page.locator(f'li.card[data-id="{deal_id}"] .card-title')
    target = page.locator(f'ol.cards[data-stage="{stage}"]')
    box, goal = source.bounding_box(), target.bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + 5)
    page.mouse.down()
    for step in range(1, 11):  # SortableJS follows real pointer moves
        page.mouse.move(box["x"] + (goal["x"] + 30 - box["x"]) * step / 10, box["y"] + (goal["y"] + 30 - box["y"]) * step / 10)
        page.wait_for_timeout(15)
    page.mouse.up()


def test_login_and_drag_to_the_next_stage_shows_its_automatic_task(page_for: Open, ui_server: UiServer) -> None:
    login = page_for(None)
    login.goto(ui_server.url + "/")
    assert "/login" in login.url
    assert "Bright Windows" in login.inner_text("h1")
    assert axe_violations(login) == []
    page = page_for("anna")
    page.goto(ui_server.url + "/board/sales")
    deal = ui_server.ids["deal0"]
    drag(page, deal, "proposal_sent")
    status = page.locator("#board-status")
    status.filter(has_text="Follow up on the proposal").wait_for()
    card_in(page, "proposal_sent", deal).wait_for()
    assert ui_server.crm.system.deals.get(deal).stage == "proposal_sent"
    assert axe_violations(page) == []
    page.click("body")
    shot(page, "board.png")


def test_board_moves_from_the_keyboard(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("anna")
    page.goto(ui_server.url + "/board/sales")
    deal = ui_server.ids["deal3"]
    select = page.locator(f"#mv-{deal}")
    select.focus()
    select.select_option("proposal_sent")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    card_in(page, "proposal_sent", deal).wait_for()
    assert ui_server.crm.system.deals.get(deal).stage == "proposal_sent"


def test_a_stage_gate_asks_for_exactly_its_fields(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("anna")
    page.goto(ui_server.url + "/board/sales")
    deal = ui_server.ids["proposal"]
    drag(page, deal, "measurement_scheduled")
    dialog = page.locator("#move-dialog")
    dialog.locator("form").wait_for()
    inputs = dialog.locator("input:not([type=hidden]), select, textarea")
    assert inputs.count() == 1 and inputs.first.get_attribute("name") == "c_measurement_date"
    assert ui_server.crm.system.deals.get(deal).stage == "proposal_sent"  # refused: nothing moved
    inputs.first.fill("2030-05-04T10:30")
    dialog.locator("button.primary").click()
    page.locator("#board-status").filter(has_text="Moved to").wait_for()
    card_in(page, "measurement_scheduled", deal).wait_for()
    moved = ui_server.crm.system.deals.get(deal)
    assert moved.stage == "measurement_scheduled" and moved.custom["measurement_date"].startswith("2030-05-04")


def test_losing_asks_for_the_reason(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("anna")
    deal = ui_server.ids["deal1"]
    page.goto(f"{ui_server.url}/deals/{deal}")
    assert axe_violations(page) == []
    shot(page, "deal-card.png")
    page.select_option("#lose-reason", "too_expensive")
    page.click("text=Lose >> nth=-1")
    page.wait_for_url(f"{ui_server.url}/deals/{deal}")
    lost = ui_server.crm.system.deals.get(deal)
    assert lost.status == "lost" and lost.lost_reason == "Too expensive"
    assert "Reason: Too expensive" in page.inner_text("#timeline")


def test_convert_a_lead_from_the_inbox(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("anna")
    page.goto(ui_server.url + "/inbox")
    assert axe_violations(page) == []
    shot(page, "lead-inbox.png")
    lead = ui_server.ids["lead"]
    form = page.locator(f"#lead-{lead} form.convert")
    form.locator("input[name=amount]").fill("2500.00")
    form.locator("button.primary").click()
    page.wait_for_url("**/deals/*")
    converted = ui_server.crm.system.leads.get(lead)
    assert converted.status == "converted"
    deal = ui_server.crm.system.deals.list(lead_id=lead).items[0]
    assert page.url.endswith(f"/deals/{deal.id}") and str(deal.amount.amount) == "2500.00"


def test_complete_a_task_on_a_phone(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("tom", width=360, height=760)
    page.goto(ui_server.url + "/my-tasks")
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
    assert page.locator('a[href="tel:+12535550120"]').count() >= 1
    shot(page, "my-tasks-phone.png")
    task = ui_server.ids["tom_task"]
    page.click(f"#task-{task} button.done")
    page.locator(f"#task-{task}.done-now").wait_for()
    assert ui_server.crm.system.tasks.get(task).status == "done"


def test_a_manager_does_not_see_another_managers_deal(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("anna")
    secret = ui_server.ids["david_deal"]
    page.goto(ui_server.url + "/board/sales")
    assert page.locator(f'li.card[data-id="{secret}"]').count() == 0
    page.goto(ui_server.url + "/deals")
    assert "Kim's secret" not in page.inner_text("main")
    assert axe_violations(page) == []  # the list page
    page.goto(ui_server.url + "/search?q=secret")
    assert "Kim's secret" not in page.inner_text("main")
    response = page.goto(f"{ui_server.url}/deals/{secret}")
    assert response.status == 404
    missing = page.goto(f"{ui_server.url}/deals/999999")
    assert missing.status == 404 and page.inner_text("main") == page.inner_text("main")
    david = page_for("david")
    david.goto(f"{ui_server.url}/deals/{secret}")
    assert "Kim's secret office deal" in david.inner_text("h1")


def test_a_conflicting_edit_from_two_sessions_shows_what_changed(page_for: Open, ui_server: UiServer) -> None:
    deal = ui_server.ids["deal2"]
    first, second = page_for("anna"), page_for("anna")
    for page in (first, second):
        page.goto(f"{ui_server.url}/deals/{deal}")
    first.fill("#in-f_title", "Miller: 3 windows")
    first.click("form.stack >> text=Save")
    first.wait_for_url(f"{ui_server.url}/deals/{deal}")
    second.fill("#in-f_title", "Miller: 2 windows and a door")
    second.click("form.stack >> text=Save")
    conflict = second.locator(".conflict")
    conflict.wait_for()
    assert "Miller: 3 windows" in conflict.inner_text() and "Miller: 2 windows and a door" in conflict.inner_text()
    assert ui_server.crm.system.deals.get(deal).title == "Miller: 3 windows"


def test_a_script_in_a_title_is_text(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("anna")
    dialogs: list[Any] = []
    page.on("dialog", lambda d: (dialogs.append(d), d.dismiss()))
    for path in ("/board/sales", f"/deals/{ui_server.ids['xss']}", "/deals", "/search?q=script"):
        page.goto(ui_server.url + path)
        assert page.get_by_text("<script>alert(1)</script>").first.is_visible()
    assert dialogs == []


def test_the_russian_ui(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("tom")
    page.select_option("#lang-select", "ru")
    page.click(".lang button")
    page.goto(ui_server.url + "/my-tasks")
    assert page.inner_text("h1") == "Мои задачи"
    assert page.locator("html").get_attribute("lang") == "ru"
    assert "Просрочено" in page.inner_text("main")


def test_no_plugin_panel_or_action_when_no_plugin_is_enabled(page_for: Open, ui_server: UiServer) -> None:
    page = page_for("anna")
    page.goto(f"{ui_server.url}/deals/{ui_server.ids['deal1']}")
    assert page.locator("section.plugin-panel").count() == 0
    assert page.locator("form.plugin-action").count() == 0
    assert "Installment plan" not in page.inner_text("main")
