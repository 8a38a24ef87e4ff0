"""The web UI's reports page: figures of the logged-in user's cards, SVG charts (no script), a bad
period as a page, not a 500. SQLite and PostgreSQL (the page's queries run on both)."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from starlette.testclient import TestClient

from crmkit.core import auth
from crmkit.core.reports import run_report
from crmkit.web import create_app

from conftest import NOW  # at import: this folder's conftest (inside a test, "conftest" is the last one collected)

PASSWORD = "report-password-1"


def _client(seeded: SimpleNamespace, who: Any) -> TestClient:
    auth.set_password(seeded.crm, who.id, PASSWORD)
    client = TestClient(create_app(seeded.crm))
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = client.post("/login", data={"email": who.email, "password": PASSWORD, "csrf": csrf, "next": "/"},
                       follow_redirects=False)
    assert done.status_code == 303, done.text
    return client


def test_reports_page_shows_each_users_figures_with_svg_charts(seeded: SimpleNamespace) -> None:
    period = {"from": "2026-02-01", "to": "2026-05-31"}
    for who in (seeded.admin, seeded.m1):
        client = _client(seeded, who)
        page = client.get("/reports", params=period)
        assert page.status_code == 200, page.text
        html = page.text
        assert html.count("<svg class=\"chart") == 8 and "<script" not in html.split("<main")[1]
        conv = run_report(seeded.crm.as_user(who.id), "conversion", since="2026-02-01", until="2026-05-31").rows[0]
        assert f"<strong>{conv['deals_per_100']:.1f}</strong>" in html
        managers = run_report(seeded.crm.as_user(who.id), "managers", since="2026-02-01", until="2026-05-31")
        shown = set(re.findall(r"<tr><td>([^<]+)</td><td>\d+</td>", html.split('id="h-managers"')[1]))
        assert shown == {r["manager"] for r in managers.rows}
    assert shown == {seeded.m1.name}  # the manager's page: their own row only
    both = client.get("/reports", params={**period, "compare": "1"})
    assert both.status_code == 200 and "Period before" in both.text
    bad = client.get("/reports", params={"from": "2026-05-01", "to": "2026-01-01"})
    assert bad.status_code == 422 and "until" in bad.text and "<svg" not in bad.text
    assert client.get("/reports", params={"from": "not a date"}).status_code == 422


def test_scores_on_cards_and_most_likely_deals(seeded: SimpleNamespace) -> None:
    from crmkit.core.reports.scores import scores_of
    from crmkit.core.reports.scores_job import recompute_scores

    crm = seeded.crm
    recompute_scores(crm, NOW)
    client = _client(seeded, seeded.m1)
    mine = [d for d in crm.as_user(seeded.m1.id).deals.list({"status": "open"}).items]
    assert mine
    card = client.get(f"/deals/{mine[0].id}")
    assert card.status_code == 200
    score = scores_of(crm, "deal", mine[0].id)["lead_win"]
    assert "Chance to win" in card.text and f"{score:.0%}" in card.text
    page = client.get("/reports").text.split('id="h-likely"')[1].split("</section>")[0]
    shown = [int(i) for i in re.findall(r'href="/deals/(\d+)"', page)]
    assert set(shown) == {d.id for d in mine} and len(shown) == len(mine)
