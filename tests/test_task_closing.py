"""Closing a card closes its open tasks (issue 13): nothing goes overdue on a won, lost,
converted, rejected or archived card. Each task is cancelled as a ``task.cancelled`` event whose
data says why, by the user who closed the card; the tasks the closing itself calls for stay open."""

from __future__ import annotations

import copy
import json
from typing import Any

from test_api_helpers import Api, api, build_api  # noqa: F401  (fixture)
from test_cli import as_admin, cfg, deployment, ok  # noqa: F401  (fixtures)

from crmkit.testing import template


def _task(api: Api, entity: str, ident: int, title: str = "Call back") -> dict[str, Any]:
    body = {"title": title, "entity_type": entity, "entity_id": ident, "due_at": "2026-01-07"}
    return api.ok(api.post("/api/v1/tasks", body), 201)  # type: ignore[no-any-return]


def _cancellation(api: Api, task_id: int) -> dict[str, Any]:
    events = api.ok(api.get(f"/api/v1/timeline/task/{task_id}"))["items"]
    assert events[-1]["type"] == "task.cancelled", events
    return events[-1]  # type: ignore[no-any-return]


def _last_event(api: Api, entity: str, ident: int, type_: str) -> dict[str, Any]:
    events = api.ok(api.get(f"/api/v1/timeline/{entity}/{ident}", params={"limit": 500}))["items"]
    return [e for e in events if e["type"] == type_][-1]  # type: ignore[no-any-return]


def test_won_lost_converted_rejected_and_archived_cards_close_their_open_tasks(api: Api) -> None:
    won = api.ok(api.post("/api/v1/deals", {"title": "Won deal"}), 201)
    lost = api.ok(api.post("/api/v1/deals", {"title": "Lost deal"}), 201)
    archived = api.ok(api.post("/api/v1/deals", {"title": "Archived deal"}), 201)
    open_task, done_task = _task(api, "deal", won["id"]), _task(api, "deal", won["id"], "Send the quote")
    api.ok(api.post(f"/api/v1/tasks/{done_task['id']}/complete"))
    lost_task, archived_task = _task(api, "deal", lost["id"]), _task(api, "deal", archived["id"])

    api.ok(api.post(f"/api/v1/deals/{won['id']}/win", {}))
    api.ok(api.post(f"/api/v1/deals/{lost['id']}/lose", {"reason_text": "went quiet"}))
    api.ok(api.post(f"/api/v1/deals/{archived['id']}/archive", {}))

    for task, deal, how in ((open_task, won, "won"), (lost_task, lost, "lost"), (archived_task, archived, "archived")):
        assert api.ok(api.get(f"/api/v1/tasks/{task['id']}"))["status"] == "cancelled"
        event = _cancellation(api, task["id"])
        cause = _last_event(api, "deal", deal["id"], "deal.archived" if how == "archived" else "deal.stage_changed")
        assert event["actor_id"] == api.admin_id
        assert event["data"] == {"entity_type": "deal", "entity_id": deal["id"],
                                 "reason": f"deal {deal['id']} was {how}",
                                 "because": f"deal_{how}", "cause_event_id": cause["id"]}
    assert api.ok(api.get(f"/api/v1/tasks/{done_task['id']}"))["status"] == "done"  # closed tasks stay as they are

    rejected = api.ok(api.post("/api/v1/leads", {"title": "Spam"}), 201)
    converted = api.ok(api.post("/api/v1/leads", {"title": "3 windows", "name": "Ann Lee"}), 201)
    # the lead stage's own "Call back" task (and one more) on each lead
    rejected_tasks = [t["id"] for t in api.ok(api.get("/api/v1/tasks", params={
        "entity_type": "lead", "entity_id": rejected["id"]}))["items"]] + [_task(api, "lead", rejected["id"])["id"]]
    converted_tasks = [t["id"] for t in api.ok(api.get("/api/v1/tasks", params={
        "entity_type": "lead", "entity_id": converted["id"]}))["items"]]
    assert len(rejected_tasks) == 2 and len(converted_tasks) == 1
    api.ok(api.post(f"/api/v1/leads/{rejected['id']}/reject", {"reason_text": "spam"}))
    api.ok(api.post(f"/api/v1/leads/{converted['id']}/convert", {}))
    for ids, why in ((rejected_tasks, "lead_rejected"), (converted_tasks, "lead_converted")):
        for task_id in ids:
            assert _cancellation(api, task_id)["data"]["because"] == why


def test_a_won_stages_own_tasks_stay_open_and_nothing_is_overdue_on_a_closed_card(make_crm: Any, clock: Any) -> None:
    pipelines = copy.deepcopy(template()["pipelines"])
    sales = next(p for p in pipelines if p["key"] == "sales")
    won = next(s for s in sales["stages"] if s.get("kind") == "won")
    won["tasks"] = [{"title": "Deliver the windows: {title}", "due_hours": 48}]
    api = build_api(make_crm(pipelines=pipelines))
    with api.client:
        deal = api.ok(api.post("/api/v1/deals", {"title": "Bay window"}), 201)
        api.ok(api.post(f"/api/v1/deals/{deal['id']}/move", {"stage": "proposal_sent"}))  # its rule: a follow-up task
        follow_up = api.ok(api.get("/api/v1/tasks", params={"entity_id": deal["id"], "entity_type": "deal"}))["items"]
        assert [t["title"] for t in follow_up] == ["Follow up on the proposal: Bay window"]
        api.ok(api.post(f"/api/v1/deals/{deal['id']}/win", {}))
        tasks = api.ok(api.get("/api/v1/tasks", params={"entity_id": deal["id"], "entity_type": "deal"}))["items"]
        assert [(t["title"], t["status"]) for t in tasks] == [
            ("Follow up on the proposal: Bay window", "cancelled"), ("Deliver the windows: Bay window", "open")]
        clock.advance(days=30)
        overdue = api.ok(api.get("/api/v1/tasks", params={"overdue": "true"}))["items"]
        assert [t["title"] for t in overdue] == ["Deliver the windows: Bay window"]


def test_losing_a_deal_in_the_cli_cancels_its_task_and_says_why(as_admin: list[str]) -> None:
    deal_id = str(json.loads(ok(*as_admin, "--json", "deals", "create", "--title", "Smiths").stdout)["id"])
    ok(*as_admin, "tasks", "add", "--title", "Measure", "--on", f"deal:{deal_id}", "--due", "tomorrow")
    ok(*as_admin, "deals", "lose", deal_id, "--reason", "too_expensive")
    assert "status       cancelled" in ok(*as_admin, "tasks", "show", "1").stdout
    assert "task.cancelled" in ok(*as_admin, "timeline", "task", "1").stdout
    cancelled = json.loads(ok(*as_admin, "--json", "timeline", "task", "1").stdout)["items"][-1]
    assert cancelled["data"]["reason"] == f"deal {deal_id} was lost" and cancelled["data"]["because"] == "deal_lost"
