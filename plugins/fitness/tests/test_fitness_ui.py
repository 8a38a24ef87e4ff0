"""The web UI: the member panel on the contact card, the front desk's check-in page, the trainer's
page, the plugin's events in the timeline (HTTP, logged in through the login form)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from crmkit import Crm
from crmkit.cli import cli
from crmkit.web import create_app
from crmkit_fitness.club import Club

from fitness_support import catalogue

PASSWORD = "club-password-1"


@pytest.fixture
def club(db_url: str, tmp_path: Path) -> Iterator[Crm]:
    folder = tmp_path / "club"
    env = {"CRMKIT_PLUGINS": None, "CRMKIT_CONFIG": None, "CRMKIT_USER": None}
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(folder), "--database", db_url], env=env).exit_code == 0
    config = folder / "crmkit.toml"
    config.write_text(config.read_text().replace("plugins = []", 'plugins = ["fitness"]', 1))
    for email, role in (("desk@club.example", "head"), ("tom@club.example", "trainer")):
        added = runner.invoke(cli, ["--config", str(config), "users", "add", "--email", email, "--name",
                                    email.split("@")[0].title(), "--role", role, "--password", PASSWORD], env=env)
        assert added.exit_code == 0, added.output
    crm = Crm.from_config(config)
    yield crm
    crm.close()


def logged_in(crm: Crm, email: str) -> TestClient:
    client = TestClient(create_app(crm))
    page = client.get("/login")
    answer = client.post("/login", data={"email": email, "password": PASSWORD, "csrf": _csrf(page), "next": "/"},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def _csrf(page: Any) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr,no-any-return]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # pages; their services run on both elsewhere
def test_member_panel_desk_and_trainer_pages(club: Crm) -> None:
    desk = club.users.by_email("desk@club.example")
    tom = club.users.by_email("tom@club.example")
    assert desk is not None and tom is not None
    fit = Club(club, desk.id)
    catalogue(fit)
    ann = fit.services.contacts.create(first_name="Ann", last_name="Lee")
    fit.enroll(ann.id, "month")
    fit.assign(ann.id, trainer_id=tom.id, card="C-1")
    bob = fit.services.contacts.create(first_name="Bob")
    with logged_in(club, "desk@club.example") as client:
        page = client.get("/p/fitness/desk")
        assert page.status_code == 200 and 'name="who"' in page.text
        ok = client.post("/p/fitness/desk", data={"csrf": _csrf(page), "who": "C-1"})
        assert ok.status_code == 200 and "Welcome in" in ok.text and f"/contacts/{ann.id}" in ok.text
        no = client.post("/p/fitness/desk", data={"csrf": _csrf(page), "who": str(bob.id)})
        assert "No membership" in no.text and 'class="decision refused' in no.text
        unknown = client.post("/p/fitness/desk", data={"csrf": _csrf(page), "who": "nobody"})
        assert "Unknown card or member" in unknown.text
        card = client.get(f"/contacts/{ann.id}")
        assert card.status_code == 200
        assert "Membership" in card.text and "prospect" in card.text
        assert "Monthly" in card.text and "2 visits" in card.text  # the product by name; 3 allowed, 1 used at the desk
        assert "Check-in: Welcome in" in card.text
    with logged_in(club, "tom@club.example") as client:
        mine = client.get("/p/fitness/trainer")
        assert mine.status_code == 200 and "Ann Lee" in mine.text and "Bob" not in mine.text
        assert client.get("/p/fitness/desk").status_code in (403, 404)
