"""The board's read (crmkit.core.services.board.board_cards), on SQLite and PostgreSQL: the open deals
of one pipeline with what a card shows, under the same record rules and filters as the deal list."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from crmkit import Crm, ValidationError
from crmkit.core.money import Money
from crmkit.core.services import board
from crmkit.core.services.board import board_cards


def open_ids(crm: Crm, user_id: int | None, pipeline: str = "sales", **filters: Any) -> list[int]:
    """What the deal list shows: the open deals of ``pipeline`` (every page), by id."""
    svc = crm.as_user(user_id).deals if user_id is not None else crm.deals
    ids, cursor = [], None
    while True:
        page = svc.list({**filters, "pipeline": pipeline, "status": "open"}, limit=2, cursor=cursor)
        ids += [d.id for d in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids


def card_ids(crm: Crm, user_id: int | None, pipeline: str = "sales", **filters: Any) -> list[int]:
    svc = crm.as_user(user_id).deals if user_id is not None else crm.deals
    return [c.id for c in board_cards(svc, pipeline, filters)]


@pytest.fixture
def org(crm: Crm) -> dict[str, int]:
    u = crm.users
    people = {
        "admin": u.create(email="root@x.example", name="Root", role="admin").id,
        "head": u.create(email="head@x.example", name="Head", role="head", team="sales").id,
        "ann": u.create(email="ann@x.example", name="Ann", team="sales").id,
        "bob": u.create(email="bob@x.example", name="Bob", team="sales").id,
        "eve": u.create(email="eve@x.example", name="Eve", team="other").id,
        "tom": u.create(email="tom@x.example", name="Tom", team="other").id,
    }
    return people


def test_the_open_deals_of_the_pipeline_with_what_a_card_shows(crm: Crm, org: dict[str, int]) -> None:
    ann = crm.as_user(org["ann"]).deals
    first = ann.create(title="Smith: 5 windows", amount="4200.00")
    moved = ann.move(ann.create(title="Brown: bay window", amount="3100.50", currency="EUR").id, "proposal_sent")
    nobody = crm.deals.create(title="Nobody's deal")  # the system: no responsible user
    won = ann.win(ann.create(title="Won").id)
    lost = ann.lose(ann.create(title="Lost").id, reason_text="too late")
    archived = ann.archive(ann.create(title="Archived").id)
    elsewhere = ann.create(title="Deferred", pipeline="deferred")

    cards = board_cards(crm.as_user(org["admin"]).deals, "sales")

    assert [c.id for c in cards] == [first.id, moved.id, nobody.id]
    smith, brown, none = cards
    assert (smith.title, smith.stage, smith.version, smith.amount, smith.owner, smith.responsible_id) == (
        "Smith: 5 windows", "collecting_data", 1, Money(Decimal("4200.00"), "USD"), "Ann", org["ann"])
    assert (brown.stage, brown.version, brown.amount) == ("proposal_sent", moved.version, Money(Decimal("3100.50"), "EUR"))
    assert brown.stage_entered_at == moved.stage_entered_at and brown.stage_entered_at.tzinfo is not None
    assert (none.owner, none.responsible_id, none.amount) == ("", None, None)
    assert [c.id for c in board_cards(crm.deals, "deferred")] == [elsewhere.id]
    assert not {won.id, lost.id, archived.id} & {c.id for c in cards}


def test_the_record_rules_are_the_deal_lists(crm: Crm, org: dict[str, int]) -> None:
    deals = {who: crm.as_user(org[who]).deals.create(title=f"{who}'s deal").id for who in ("ann", "bob", "eve")}
    shared = crm.as_user(org["eve"]).deals.create(title="Eve's shared deal").id
    crm.as_user(org["eve"]).deals.share(shared, org["ann"])
    # an open task for a sales member on Eve's deal: Ann's head and Tom (the assignee) may read it
    tasked = crm.as_user(org["eve"]).deals.create(title="Eve's deal with Bob's task").id
    crm.tasks.add(title="Measure", assignee_id=org["bob"], entity_type="deal", entity_id=tasked)
    crm.tasks.add(title="Call", assignee_id=org["tom"], entity_type="deal", entity_id=deals["eve"])

    expected = {
        "admin": [deals["ann"], deals["bob"], deals["eve"], shared, tasked],
        "head": [deals["ann"], deals["bob"], tasked],
        "ann": [deals["ann"], shared],
        "bob": [deals["bob"], tasked],
        "eve": [deals["eve"], shared, tasked],
        "tom": [deals["eve"]],
    }
    for who, ids in expected.items():
        assert card_ids(crm, org[who]) == open_ids(crm, org[who]) == ids, who


def test_the_filters_are_the_deal_lists(crm: Crm, org: dict[str, int]) -> None:
    admin = crm.as_user(org["admin"]).deals
    for i in range(6):
        admin.create(title=f"Deal {i}", responsible_id=org["ann"] if i % 2 else org["bob"],
                     source="web" if i % 3 else "phone", custom={"window_count": 1 + i % 3})
    for filters in ({"responsible_id": org["ann"]}, {"responsible_id": "ann@x.example"}, {"source": "phone"},
                    {"window_count": "2"}, {"responsible_id": org["bob"], "source": "web"}, {"archived": "any"}):
        ids = card_ids(crm, org["admin"], **filters)
        assert ids == open_ids(crm, org["admin"], **filters) and ids, filters
    with pytest.raises(ValidationError) as refused:
        board_cards(admin, "sales", {"colour": "red"})
    assert refused.value.field == "colour"
    with pytest.raises(ValidationError) as refused:
        board_cards(admin, "sales", {"window_count": "many"})
    assert refused.value.field == "window_count"


def test_text_matches_titles_in_any_case_up_to_the_limit(crm: Crm, org: dict[str, int],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ann = crm.as_user(org["ann"]).deals
    titles = ["Окна для Иванова", "Door", "ОКНА: балкон", "Windows", "окна и двери", "Roof", "Ещё окна"]
    ids = [ann.create(title=t).id for t in titles]
    windows = [ids[0], ids[2], ids[4], ids[6]]
    assert [c.id for c in board_cards(ann, "sales", text="  оКНа ")] == windows  # Unicode case, not ASCII only
    assert [c.id for c in board_cards(ann, "sales", limit=3)] == ids[:3]
    monkeypatch.setattr(board, "_CHUNK", 2)  # the text filter reads in chunks: across their edges
    assert [c.id for c in board_cards(ann, "sales", text="окна")] == windows
    assert [c.id for c in board_cards(ann, "sales", text="окна", limit=3)] == windows[:3]
    assert board_cards(ann, "sales", text="nothing like it") == []
