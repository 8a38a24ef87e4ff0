"""In a browser (Debian's headless Chromium through Playwright): a deployment made by ``crmkit init
--distribution fitclub`` shows the distribution's brand (name, logo, colours) and labels; and one
installation serving tenants by host name -- the club, made with ``crmkit tenants add
--distribution fitclub``, a plain window company, and a German club -- shows each its own brand and
labels (the German one in German), and a login to one is no login to another."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import uvicorn
from click.testing import CliRunner

from crmkit.cli import cli

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--host-resolver-rules=MAP *.test 127.0.0.1"]  # the tenants' host names, on loopback
PASSWORD = "demo-password-1"
PRIMARY = "rgb(15, 118, 110)"  # the brand's #0f766e


def crmkit(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def log_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_a_deployment_made_from_the_distribution_shows_its_brand_and_labels(browser: Any, tmp_path: Path) -> None:
    from crmkit import Crm, Settings
    from crmkit.web import create_app

    crmkit("init", "--distribution", "fitclub", str(tmp_path / "club"), "--demo")
    config = str(tmp_path / "club" / "crmkit.toml")
    crmkit("--config", config, "users", "set-password", "maria.schulz@fitclub.example", "--password", PASSWORD)
    with Crm(Settings.load(config, environ={})) as crm, serving(create_app(crm)) as port:
        base = f"http://127.0.0.1:{port}"
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(f"{base}/login")
        assert page.title().endswith("FitClub CRM")
        brand = page.locator("header .brand")
        assert brand.inner_text().strip() == "FitClub CRM"
        logo = page.locator("header .brand img.logo")
        assert logo.evaluate("img => img.complete && img.naturalWidth > 0")  # the distribution's logo, served
        assert page.locator("header.top").evaluate("e => getComputedStyle(e).backgroundColor") == PRIMARY

        log_in(page, base, "maria.schulz@fitclub.example")
        nav = page.locator("header nav").inner_text()
        for label in ("Members", "Enquiries", "Sales"):  # the club's words for contacts, leads and deals
            assert label in nav
        page.click("header nav >> text=Members")
        assert page.locator("main h1").inner_text().strip() == "Members"
        assert "Anna" in page.locator("main").inner_text()  # the distribution's demo members
        page.goto(f"{base}/board/sales")
        main = page.locator("main").inner_text()
        assert "Personal training" in main and "Offer sent" in main  # its pipeline, with the demo's sales
        assert ": 10 sessions" in main
        context.close()


def test_two_tenants_in_one_process_each_show_their_own_brand(browser: Any, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from crmkit.tenants import TenantRouter

    monkeypatch.setenv("CRMKIT_TENANTS", str(tmp_path / "tenants.toml"))
    crmkit("tenants", "add", "club", "--host", "club.test", "--distribution", "fitclub")
    crmkit("tenants", "add", "windows", "--host", "windows.test")
    crmkit("tenants", "add", "verein", "--host", "verein.test", "--distribution", "fitclub", "--demo")
    verein = tmp_path / "verein" / "crmkit.toml"  # a German club: its default language
    verein.write_text(verein.read_text().replace("\n[ui]\n", '\n[ui]\nlocale = "de"\n', 1))
    for tenant, email in (("club", "boss@club.test"), ("windows", "boss@windows.test"),
                          ("verein", "boss@verein.test")):
        crmkit("tenants", "run", tenant, "--", "users", "add", "--email", email, "--name", "Boss", "--role", "admin")
        crmkit("tenants", "run", tenant, "--", "users", "set-password", email, "--password", PASSWORD)
    router = TenantRouter(tmp_path / "tenants.toml")
    with serving(router) as port:
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
        page = context.new_page()
        page.set_default_timeout(5000)
        club, windows = f"http://club.test:{port}", f"http://windows.test:{port}"
        log_in(page, club, "boss@club.test")
        assert page.locator("header .brand").inner_text().strip() == "FitClub CRM"
        assert "Members" in page.locator("header nav").inner_text()

        page.goto(f"{windows}/")  # the club's session is no session here
        assert page.url.startswith(f"{windows}/login")
        assert page.locator("header .brand").inner_text().strip() == "windows"
        assert page.locator("header.top").evaluate("e => getComputedStyle(e).backgroundColor") != PRIMARY
        log_in(page, windows, "boss@windows.test")
        nav = page.locator("header nav").inner_text()
        assert "Contacts" in nav and "Members" not in nav
        page.goto(f"{club}/contacts")  # still logged in at the club, as the club's user
        assert page.locator("main h1").inner_text().strip() == "Members"
        context.close()

        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="de-DE")
        page = context.new_page()
        page.set_default_timeout(5000)
        log_in(page, f"http://verein.test:{port}", "boss@verein.test")  # the distribution's German labels
        nav = page.locator("header nav").inner_text()
        assert "Mitglieder" in nav and "Anfragen" in nav and "Verkäufe" in nav
        assert page.locator("header .brand").inner_text().strip() == "FitClub CRM"
        page.click("header nav >> text=Mitglieder")
        assert "Anna" in page.locator("main").inner_text()  # the demo members of `tenants add --demo`
        context.close()
    router.close()
