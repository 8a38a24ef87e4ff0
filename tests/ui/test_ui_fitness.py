"""The fitness plugin in the browser: the front desk's check-in page (one member let in, one refused
with the reason), the member panel on a contact card and the trainer's page, checked by axe-core on a
desktop and on a 360 px phone; the screenshots go to plugins/fitness/screenshots."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from conftest import PASSWORD, UiServer, axe_violations, deployment, serving

from crmkit import Crm
from crmkit.core import auth
from crmkit_fitness.checkins import Request
from crmkit_fitness.club import Club
from crmkit_fitness.passes import daily_pass

Open = Callable[..., Any]
SHOTS = Path(__file__).resolve().parents[2] / "plugins" / "fitness" / "screenshots"
PHONE = {"width": 360, "height": 760}


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """A club: a desk clerk (head), a trainer, Ann with a yearly membership, her card and visits, Bob with none."""
    crm: Crm = deployment(tmp_path_factory.mktemp("ui-fitness"), plugins=["fitness"], name="Riverside Fitness")
    users = {}
    for login, name, role in (("desk", "Dana Desk", "head"), ("tom", "Tom Trainer", "trainer")):
        users[login] = crm.system.users.create(email=f"{login}@example.com", name=name, role=role).id
        auth.set_password(crm, users[login], PASSWORD)
    club = Club(crm, users["desk"])
    club.add_activity("gym", "Gym")
    club.add_activity("yoga", "Yoga")
    club.add_product(key="gold12", name="Gold, 12 months", price="690.00", currency="USD", duration_days=365,
                     freeze_days=30, freeze_times=2)
    club.add_product(key="yoga10", name="10 yoga sessions", kind="pack", price="120.00", currency="USD",
                     duration_days=90, sessions=10, activities=["yoga"])
    ann = club.services.contacts.create(first_name="Ann", last_name="Lee", phones=["+12065550111"])
    bob = club.services.contacts.create(first_name="Bob", last_name="Stone")
    cy = club.services.contacts.create(first_name="Cy", last_name="Marsh")
    for who in (ann, cy):
        club.enroll(who.id, "gold12")
    club.enroll(ann.id, "yoga10")
    club.assign(ann.id, trainer_id=users["tom"], card="C-1001")
    club.assign(cy.id, trainer_id=users["tom"], card="C-1002")
    club.add_class(activity="yoga", trainer_id=users["tom"], starts_at=crm.clock.now() + timedelta(days=2), minutes=60,
                   capacity=12, title="Morning yoga")
    club.check_in([Request("seed-1", crm.clock.now(), card="C-1001")])
    daily_pass(crm, crm.clock.now())  # phases and the first touch points, as the worker's pass leaves them
    with serving(crm) as url:
        yield UiServer(url, crm, users, {"ann": ann.id, "bob": bob.id, "cy": cy.id})
    crm.close()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page scrolls sideways ({width} px)"


def test_the_front_desk_lets_one_in_and_refuses_another_with_the_reason(page_for: Open, ui_server: UiServer) -> None:
    for size, suffix in (({}, "desktop"), (PHONE, "phone")):
        page = page_for("desk", **size)
        page.goto(f"{ui_server.url}/p/fitness/desk")
        assert axe_violations(page) == []
        page.fill('input[name="who"]', "C-1002")
        page.click('form.desk button[type="submit"]')
        allowed = page.locator("p.decision.allowed")
        allowed.wait_for()
        assert "Welcome in" in allowed.inner_text()
        assert page.locator(f'p.decision a[href="/contacts/{ui_server.ids["cy"]}"]').count() == 1
        page.fill('input[name="who"]', str(ui_server.ids["bob"]))
        page.click('form.desk button[type="submit"]')
        refused = page.locator("p.decision.refused")
        refused.wait_for()
        assert "No membership" in refused.inner_text()
        assert axe_violations(page) == []
        _fits(page)
        _shot(page, f"desk-{suffix}.png")
    decisions = [e for e in ui_server.crm.timeline.of("contact", ui_server.ids["bob"], limit=50).items
                 if e.type == "fitness.checkin"]
    assert len(decisions) == 2 and all(e.data["reason"] == "no_membership" for e in decisions)


def test_the_member_panel_on_the_contact_card(page_for: Open, ui_server: UiServer) -> None:
    for size, suffix in (({}, "desktop"), (PHONE, "phone")):
        page = page_for("desk", **size)
        page.goto(f"{ui_server.url}/contacts/{ui_server.ids['ann']}")
        panel = page.locator('[data-panel="fitness.member"]')
        text = panel.inner_text()
        assert "Gold, 12 months" in text and "10 yoga sessions" in text and "10 sessions" in text
        assert "Welcome in" in text and "adaptation" in text and "welcome" in text  # check-in, phase, touch point
        assert axe_violations(page) == []
        _fits(page)
        panel.scroll_into_view_if_needed()
        _shot(page, f"member-panel-{suffix}.png")


def test_the_trainers_page_lists_their_members_and_classes(page_for: Open, ui_server: UiServer) -> None:
    for size, suffix in (({}, "desktop"), (PHONE, "phone")):
        page = page_for("tom", **size)
        page.goto(f"{ui_server.url}/p/fitness/trainer")
        text = page.locator("main").inner_text()
        assert "Ann Lee" in text and "Cy Marsh" in text and "Bob" not in text
        assert "Morning yoga" in text
        assert axe_violations(page) == []
        _fits(page)
        _shot(page, f"trainer-{suffix}.png")
