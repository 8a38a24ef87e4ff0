"""The board page over HTTP (Starlette's TestClient), on SQLite and PostgreSQL: the cards a user may
see with their amounts, owners and stalled marks, the columns' counts and sums per currency, the
filters, the ETag poll, and a number of queries that does not grow with the cards."""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from crmkit import Crm
from crmkit.core import auth
from crmkit.core.clock import FrozenClock
from crmkit.web import create_app

PASSWORD = "correct-horse-1"
CARD = re.compile(r'<li class="card( stalled)?" data-id="(\d+)" data-version="\d+" data-stage="([a-z_]+)">(.*?)</li>',
                  re.DOTALL)


def login(client: TestClient, email: str) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = client.post("/login", data={"email": email, "password": PASSWORD, "csrf": csrf, "next": "/"},
                       follow_redirects=False)
    assert done.status_code == 303


def cards(html: str) -> dict[int, dict[str, Any]]:
    """The board's cards by id: stage, stalled badge, title, amount and owner as shown."""
    out = {}
    for stalled, ident, stage, body in CARD.findall(html):
        meta = re.search(r'<p class="card-meta">(.*?)</p>', body, re.DOTALL).group(1)  # type: ignore[union-attr]
        spans = re.findall(r"<span>([^<]*)</span>", meta)
        badge = re.search(r'<span class="badge warn">([^<]*)</span>', meta)
        out[int(ident)] = {"stage": stage, "stalled": badge.group(1) if badge else None, "marked": bool(stalled),
                           "title": re.search(r'class="card-title">([^<]*)</a>', body).group(1),  # type: ignore[union-attr]
                           "spans": spans}
    return out


def column_meta(html: str, stage: str) -> str:
    found = re.search(rf'<h2 id="col-{stage}">[^<]*</h2>\s*<p class="meta">(.*?)</p>', html, re.DOTALL)
    assert found is not None, stage
    return re.sub(r"<[^>]+>", "", found.group(1))


@pytest.fixture
def board(make_crm: Any, clock: FrozenClock) -> dict[str, Any]:
    crm: Crm = make_crm(ui={"stall_days": {"default": 10, "proposal_sent": 2}})
    people = {}
    for key, name, role in (("admin", "Olivia", "admin"), ("ann", "Ann <b>Lee</b>", "manager"),
                            ("bob", "Bob", "manager")):
        people[key] = crm.system.users.create(email=f"{key}@example.com", name=name, role=role).id
        auth.set_password(crm, people[key], PASSWORD)
    ann, bob = crm.as_user(people["ann"]).deals, crm.as_user(people["bob"]).deals
    ids = {
        "smith": ann.create(title="Smith: 5 windows", amount="4200.00", source="phone",
                            custom={"window_count": 5}).id,
        "muller": ann.create(title="Müller: door", amount="950.50", currency="EUR").id,
        "none": ann.create(title="No amount yet").id,
        "bob": bob.create(title="Bob's office", amount="100.00").id,
    }
    for decoy in ("won", "lost", "archived"):
        made = ann.create(title=f"Decoy {decoy}", amount="1.00").id
        {"won": lambda i: ann.win(i), "lost": lambda i: ann.lose(i, reason_text="x"),
         "archived": lambda i: ann.archive(i)}[decoy](made)
    clock.advance(days=5)
    ids["fresh"] = ann.create(title="Fresh request", amount="10.00").id
    clock.advance(days=3)
    ids["brown"] = ann.move(ann.create(title="Brown: bay window", amount="3100.00").id, "proposal_sent").id
    ids["quick"] = ann.move(ann.create(title="Quick proposal", amount="200.00").id, "proposal_sent").id
    clock.advance(days=1)
    ann.move(ids["quick"], "collecting_data")
    ann.move(ids["quick"], "proposal_sent")
    clock.advance(days=2)  # now: smith & co. 11 days in their stage, fresh 6, brown 3 (norm 2), quick 2
    return {"crm": crm, "people": people, "ids": ids}


def test_the_board_shows_the_cards_a_user_may_see(board: dict[str, Any]) -> None:
    crm, ids = board["crm"], board["ids"]
    client = TestClient(create_app(crm))
    login(client, "admin@example.com")
    html = client.get("/board/sales").text
    shown = cards(html)
    assert sorted(shown) == sorted(ids.values())  # no won, lost or archived deal
    assert shown[ids["smith"]] == {"stage": "collecting_data", "stalled": "Stalled: 11 days", "marked": True,
                                   "title": "Smith: 5 windows", "spans": ["$4,200.00", "Ann &lt;b&gt;Lee&lt;/b&gt;"]}
    assert shown[ids["muller"]]["spans"] == ["€950.50", "Ann &lt;b&gt;Lee&lt;/b&gt;"]
    assert shown[ids["none"]]["spans"] == ["Ann &lt;b&gt;Lee&lt;/b&gt;"]
    assert shown[ids["bob"]]["spans"] == ["$100.00", "Bob"]
    assert (shown[ids["fresh"]]["stalled"], shown[ids["fresh"]]["marked"]) == (None, False)
    assert shown[ids["brown"]]["stalled"] == "Stalled: 3 days" and shown[ids["brown"]]["stage"] == "proposal_sent"
    assert shown[ids["quick"]]["stalled"] is None  # 2 days: within proposal_sent's norm
    assert column_meta(html, "collecting_data") == "5 cards · €950.50 · $4,310.00"
    assert column_meta(html, "proposal_sent") == "2 cards · $3,300.00"
    assert column_meta(html, "measurement_done") == "0 cards"
    assert f'<label class="sr" for="mv-{ids["smith"]}">Move Smith: 5 windows to</label>' in html

    login(client, "ann@example.com")
    html = client.get("/board/sales").text
    assert ids["bob"] not in cards(html)
    assert column_meta(html, "collecting_data") == "4 cards · €950.50 · $4,210.00"
    client.cookies.set("crmkit_lang", "ru")
    html = client.get("/board/sales").text
    assert column_meta(html, "collecting_data") == "4 карточки · 950,50\xa0€ · 4\xa0210,00\xa0$"
    assert cards(html)[ids["smith"]]["spans"][0] == "4\xa0200,00\xa0$"


def test_the_filters(board: dict[str, Any]) -> None:
    crm, ids, people = board["crm"], board["ids"], board["people"]
    client = TestClient(create_app(crm))
    login(client, "admin@example.com")

    def shown(query: str) -> list[int]:
        return sorted(cards(client.get(f"/board/sales?{query}").text))

    assert shown("mine=1") == []
    assert shown(f"responsible={people['bob']}") == [ids["bob"]]
    assert shown("source=phone") == [ids["smith"]]
    assert shown("c_window_count=5") == [ids["smith"]]
    assert shown("q=%20WINDOW%20") == sorted([ids["smith"], ids["brown"]])
    assert shown("q=m%C3%9CLLER") == [ids["muller"]]
    assert shown(f"q=smith&responsible={people['ann']}") == [ids["smith"]]
    refused = client.get("/board/sales?c_window_count=many")
    assert refused.status_code == 422 and "window_count" in refused.text


def test_the_poll_answers_304_until_a_card_changes(board: dict[str, Any]) -> None:
    crm, ids, people = board["crm"], board["ids"], board["people"]
    client = TestClient(create_app(crm))
    login(client, "ann@example.com")
    tag = client.get("/board/sales").headers["etag"]
    first = client.get("/board/sales/columns")
    assert first.status_code == 200 and first.headers["etag"] == tag and len(cards(first.text)) == 6
    assert client.get("/board/sales/columns", headers={"If-None-Match": tag}).status_code == 304
    crm.as_user(people["bob"]).deals.update(ids["bob"], {"title": "Bob's, renamed"})  # not Ann's to see
    assert client.get("/board/sales/columns", headers={"If-None-Match": tag}).status_code == 304
    crm.as_user(people["ann"]).deals.move(ids["smith"], "proposal_sent")
    moved = client.get("/board/sales/columns", headers={"If-None-Match": tag})
    assert moved.status_code == 200 and moved.headers["etag"] != tag
    assert cards(moved.text)[ids["smith"]]["stage"] == "proposal_sent"


@pytest.fixture
def statements(board: dict[str, Any]) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = board["crm"].engine
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_the_queries_do_not_grow_with_the_cards(board: dict[str, Any], statements: list[str]) -> None:
    crm, people = board["crm"], board["people"]
    client = TestClient(create_app(crm))
    login(client, "admin@example.com")
    client.get("/board/sales")

    def queries() -> int:
        statements.clear()
        assert client.get("/board/sales").status_code == 200
        return len(statements)

    few = queries()
    others = [people["ann"], people["bob"], crm.system.users.create(email="c@example.com", name="Cleo").id]
    for i in range(30):
        crm.system.deals.create(title=f"More {i}", amount="5.00", currency=("USD", "EUR")[i % 2],
                                responsible_id=others[i % 3])
    assert len(cards(client.get("/board/sales").text)) == 37
    assert queries() == few
