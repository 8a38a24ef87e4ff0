"""The web UI's browser tests: a demo-like deployment served by uvicorn on a free loopback port,
driven by Debian's headless Chromium through Playwright (never Playwright's own browser download).

``ui_server`` serves one deployment per test module (SQLite: the browser tests are about pages,
the services underneath run on both databases in the other tests); ``page_for(user, ...)`` opens
a fresh browser context logged in as a user.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import attrs
import pytest
import uvicorn

from crmkit import Crm, Settings
from crmkit.core import auth
from crmkit.testing import template
from crmkit.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "demo-password-1"
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
STAFF = {"olivia": ("Olivia Grant", "admin", None), "anna": ("Anna Lee", "manager", "sales"),
         "david": ("David Kim", "manager", "sales"), "victor": ("Victor Hale", "head", "measurers"),
         "tom": ("Tom Baker", "manager", "measurers")}


@attrs.define
class UiServer:
    url: str
    crm: Crm
    users: dict[str, int]
    ids: dict[str, int]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(crm: Crm) -> tuple[dict[str, int], dict[str, int]]:
    """The window company in small: staff with passwords, customers, deals on every open stage."""
    users = {}
    for login, (name, role, team) in STAFF.items():
        users[login] = crm.system.users.create(email=f"{login}@example.com", name=name, role=role, team=team).id
        auth.set_password(crm, users[login], PASSWORD)
    anna, david, tom = (crm.as_user(users[k]) for k in ("anna", "david", "tom"))
    ids: dict[str, int] = {}
    jane = anna.contacts.create(first_name="Jane", last_name="Doe", phones=["+1 206 555 0101"], emails=["jane@example.org"])
    ids["jane"] = jane.id
    for i, (title, amount) in enumerate((("Smith: 5 windows", "4200.00"), ("Garcia: balcony door", "1800.00"),
                                         ("Miller: 2 windows", "950.00"), ("Wilson: 8 windows", "7300.00"))):
        ids[f"deal{i}"] = anna.deals.create(title=title, amount=amount, contact_id=jane.id).id
    ids["proposal"] = anna.deals.create(title="Brown: bay window", amount="3100.00", contact_id=jane.id).id
    anna.deals.move(ids["proposal"], "proposal_sent")
    ids["xss"] = anna.deals.create(title="<script>alert(1)</script>", amount="10.00").id
    ids["david_deal"] = david.deals.create(title="Kim's secret office deal", amount="99000.00").id
    ids["lead"] = crm.system.leads.create(title="Request: 3 windows", name="Paul Green", phone="+1 425 555 0150",
                                          source="web_form", responsible_id=users["anna"]).id
    ids["lead2"] = crm.system.leads.create(title="Call: door repair", name="Mark Hill", phone="+1 253 555 0120",
                                           source="call", responsible_id=users["anna"]).id
    now = crm.clock.now()
    for title, due in (("Measure: Smith, 5 windows", now - timedelta(hours=20)),
                       ("Measure: Garcia, balcony door", now + timedelta(hours=2)),
                       ("Measure: Wilson, 8 windows", now + timedelta(days=3))):
        task = crm.system.tasks.add(title=title, assignee_id=users["tom"], due_at=now if due is None else due,
                                    entity_type="deal", entity_id=ids["deal0"])
        ids.setdefault("tom_task", task.id)
    crm.system.tasks.add(title="Call back Mark Hill", assignee_id=users["tom"], due_at=now + timedelta(hours=1),
                         entity_type="lead", entity_id=ids["lead2"])
    del tom
    return users, ids


@contextmanager
def serving(crm: Crm) -> Iterator[str]:
    """Serve ``crm``'s app with uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(crm), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def deployment(folder: Path, **overrides: Any) -> Crm:
    """A deployment in ``folder`` on SQLite, from the config template with ``overrides``."""
    settings = Settings.from_dict({**template(), "database": f"sqlite:///{folder / 'crm.db'}",
                                   "name": "Bright Windows", **overrides}, base_dir=folder, environ={})
    return Crm(settings)


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    crm = deployment(tmp_path_factory.mktemp("ui"))
    users, ids = seed(crm)
    with serving(crm) as url:
        yield UiServer(url, crm, users, ids)
    crm.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_for(browser: Any, ui_server: UiServer) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []

    def open_as(login: str | None, *, width: int = 1280, height: int = 860, locale: str = "en-US") -> Any:
        context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(5000)
        if login is not None:
            page.goto(f"{ui_server.url}/login")
            page.fill("#email", f"{login}@example.com")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{ui_server.url}/")
        return page

    yield open_as
    for context in contexts:
        context.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")  # evaluate: the pages' CSP refuses inline scripts
    result = page.evaluate("async () => JSON.stringify((await axe.run(document)).violations)")
    return [v for v in json.loads(result) if v["impact"] in ("serious", "critical")]


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=False)
