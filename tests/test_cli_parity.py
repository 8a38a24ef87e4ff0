"""What the API does, the CLI does too (issue 13): update leads, contacts and companies; show,
update, cancel and reopen tasks; list notes; reopen a rejected lead (CLI and API)."""

from __future__ import annotations

import json
from typing import Any

from test_api_helpers import Api, api  # noqa: F401  (fixture)
from test_cli import as_admin, cfg, deployment, fails, ok  # noqa: F401  (fixtures)


def data(*args: str) -> Any:
    return json.loads(ok(*args, "--json").stdout)


def test_updating_cards(as_admin: list[str]) -> None:
    cli = as_admin
    ok(*cli, "users", "add", "--email", "tom@windows.example", "--name", "Tom Baker")
    lead = data(*cli, "leads", "create", "--title", "Web request", "--name", "Jo")
    lead = data(*cli, "leads", "update", str(lead["id"]), "--phone", "(212) 555-0100", "--responsible",
                "tom@windows.example", "--utm", "source=google", "--version", str(lead["version"]))
    assert (lead["phone"], lead["responsible_id"], lead["utm"], lead["version"]) == ("+12125550100", 2,
                                                                                     {"source": "google"}, 2)
    fails(*cli, "leads", "update", str(lead["id"]), "--name", "x", "--version", "1", contains="changed by someone else")
    fails(*cli, "leads", "update", str(lead["id"]), contains="nothing to change")

    company = data(*cli, "companies", "create", "--name", "Glass LLC")
    company = data(*cli, "companies", "update", str(company["id"]), "--address", "1 Main St", "--responsible", "2")
    assert (company["address"], company["responsible_id"]) == ("1 Main St", 2)
    contact = data(*cli, "contacts", "create", "--first-name", "Ann", "--phone", "+1 212 555 0101")
    contact = data(*cli, "contacts", "update", str(contact["id"]), "--last-name", "Lee", "--phone", "+1 212 555 0102",
                   "--phone", "+1 212 555 0103", "--company", str(company["id"]), "--birthday", "1990-02-03")
    assert contact["last_name"] == "Lee" and contact["phones"] == ["+12125550102", "+12125550103"]
    assert contact["company_id"] == company["id"] and contact["birthday"] == "1990-02-03"
    contact = data(*cli, "contacts", "update", str(contact["id"]), "--company", "", "--birthday", "")
    assert contact["company_id"] is None and contact["birthday"] is None
    out = ok(*cli, "contacts", "update", str(contact["id"]), "--email", "ann@example.com").stdout
    assert out.strip() == f"Updated contact {contact['id']}: Ann Lee (by Ada Admin)"
    fails(*cli, "contacts", "update", str(contact["id"]), "--phone", "12", contains="phones[0]:")


def test_tasks_and_notes(as_admin: list[str]) -> None:
    cli = as_admin
    deal = data(*cli, "deals", "create", "--title", "Windows")
    task = data(*cli, "tasks", "add", "--title", "Measure", "--on", f"deal:{deal['id']}", "--due", "2030-01-02")
    shown = ok(*cli, "tasks", "show", str(task["id"])).stdout
    assert shown.startswith(f"Task {task['id']}: Measure") and "Ada Admin" in shown and f"deal:{deal['id']}" in shown
    assert data(*cli, "tasks", "show", str(task["id"]))["title"] == "Measure"
    task = data(*cli, "tasks", "update", str(task["id"]), "--title", "Measure 3 windows",
                "--due", "2030-01-03T10:00+01:00",
                "--description", "bring the ladder")
    assert (task["title"], task["due_at"], task["description"]) == ("Measure 3 windows", "2030-01-03T09:00:00+00:00",
                                                                     "bring the ladder")
    cancelled = data(*cli, "tasks", "cancel", str(task["id"]), "--reason", "the customer measured themselves")
    assert cancelled["status"] == "cancelled"
    fails(*cli, "tasks", "cancel", str(task["id"]), contains="already cancelled")
    reopened = data(*cli, "tasks", "reopen", str(task["id"]))
    assert reopened["status"] == "open" and reopened["completed_at"] is None
    fails(*cli, "tasks", "reopen", str(task["id"]), contains="already open")
    events = data(*cli, "timeline", "task", str(task["id"]))["items"]
    assert [e["type"] for e in events] == ["task.created", "task.updated", "task.cancelled", "task.reopened"]
    assert events[2]["data"]["reason"] == "the customer measured themselves"

    ok(*cli, "notes", "add", "deal", str(deal["id"]), "Prefers mornings")
    ok(*cli, "notes", "add", "task", str(task["id"]), "Ladder in the van")
    notes = data(*cli, "notes", "list", "--on", f"deal:{deal['id']}")["items"]
    assert [n["body"] for n in notes] == ["Prefers mornings"]
    table = ok(*cli, "notes", "list", "--author", "me").stdout
    assert "Prefers mornings" in table and "Ladder in the van" in table and "task:" in table


def test_reopening_a_rejected_lead(as_admin: list[str], api: Api) -> None:
    cli = as_admin
    lead = data(*cli, "leads", "create", "--title", "Quote", "--name", "Mary")
    fails(*cli, "leads", "reopen", str(lead["id"]), contains=f"lead {lead['id']} is new; only a rejected lead")
    data(*cli, "leads", "reject", str(lead["id"]), "--reason-text", "no budget")
    out = ok(*cli, "leads", "reopen", str(lead["id"])).stdout
    assert out.strip() == f"Reopened lead {lead['id']}: now new (by Ada Admin)"
    reopened = data(*cli, "leads", "show", str(lead["id"]))
    assert (reopened["status"], reopened["stage"], reopened["lost_reason"], reopened["closed_at"]) == (
        "new", "new", None, None)
    events = data(*cli, "timeline", "lead", str(lead["id"]))["items"]
    assert events[-2]["type"] == "lead.reopened" and events[-2]["data"]["rejected_because"] == "no budget"
    assert events[-1]["type"] == "task.created"  # the first stage's rules again: a new call back

    # the API: POST /leads/{id}/reopen and /tasks/{id}/reopen
    made = api.ok(api.post("/api/v1/leads", {"title": "Call"}), 201)
    api.error(api.post(f"/api/v1/leads/{made['id']}/reopen"), 409, "status")
    api.ok(api.post(f"/api/v1/leads/{made['id']}/reject", {"reason_text": "spam"}))
    assert api.ok(api.post(f"/api/v1/leads/{made['id']}/reopen"))["status"] == "new"
    task = api.ok(api.post("/api/v1/tasks", {"title": "Call"}), 201)
    api.ok(api.post(f"/api/v1/tasks/{task['id']}/cancel", {"reason": "duplicate"}))
    assert api.ok(api.post(f"/api/v1/tasks/{task['id']}/reopen"))["status"] == "open"
