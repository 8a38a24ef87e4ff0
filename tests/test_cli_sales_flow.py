"""The window company's sales flow through the CLI: capture, reject, convert, stages with their
automatic tasks, a refused stage, a deferred deal's task on its date, idempotent worker passes."""

from __future__ import annotations

from typing import Any

from tests.test_cli import as_json, cfg, deployment, fails, ok  # noqa: F401  (fixtures)


def test_sales_flow_through_the_cli(cfg: list[str]) -> None:
    ok(*cfg, "users", "add", "--email", "anna@windows.example", "--name", "Anna")
    ok(*cfg, "users", "add", "--email", "hank@windows.example", "--name", "Hank", "--role", "head",
       "--team", "measurers")
    mike = as_json(*cfg, "users", "add", "--email", "mike@windows.example", "--name", "Mike", "--team", "measurers")
    anna = [*cfg, "--as", "anna@windows.example"]

    web = as_json(*anna, "leads", "create", "--title", "Web form: 3 windows", "--name", "Ann Lee",
                  "--phone", "(212) 555-0100", "--source", "web_form", "--responsible", "me",
                  "--utm", "source=google", "--utm", "campaign=spring")
    assert web["utm"] == {"source": "google", "campaign": "spring"} and web["stage"] == "new"
    as_json(*anna, "leads", "create", "--title", "Incoming call", "--phone", "212-555-0111", "--source", "call")
    office = as_json(*anna, "leads", "create", "--title", "Office glazing", "--name", "Bob Stone",
                     "--company-name", "Glass LLC", "--email", "bob@glass.example", "--source", "email",
                     "--responsible", "me")
    fails(*anna, "leads", "reject", "2", contains="needs a reason")
    ok(*anna, "leads", "reject", "2", "--reason", "not_a_target_customer")
    assert [lead["id"] for lead in as_json(*anna, "leads", "list", "--stage", "not_target")["items"]] == [2]

    ok(*anna, "leads", "move", str(web["id"]), "qualifying")
    person = as_json(*anna, "leads", "convert", str(web["id"]), "--amount", "1200.00")
    assert person["company"] is None and person["deal"]["stage"] == "collecting_data"
    fails(*anna, "leads", "convert", str(web["id"]), contains="already converted")
    legal = as_json(*anna, "leads", "convert", str(office["id"]), "--customer-kind", "legal_entity")
    assert legal["company"]["name"] == "Glass LLC" and legal["contact"]["company_id"] == legal["company"]["id"]

    deal = str(person["deal"]["id"])
    ok(*anna, "deals", "move", deal, "proposal_sent")
    fails(*anna, "deals", "move", deal, "measurement_scheduled",
          contains="cannot enter stage 'measurement_scheduled' without measurement_date")
    ok(*anna, "deals", "update", deal, "--custom", "measurement_date=2026-01-09T10:00:00+00:00")
    ok(*anna, "deals", "move", deal, "measurement_scheduled")
    hank_tasks = as_json(*cfg, "tasks", "list", "--assignee", "hank@windows.example")["items"]
    assert [t["title"] for t in hank_tasks] == ["Assign a measurer: Web form: 3 windows on 2026-01-09T10:00:00+00:00"]
    ok(*cfg, "--as", "hank@windows.example", "deals", "update", deal, "--custom", f"measurer_id={mike['id']}")
    ok(*cfg, "--as", "hank@windows.example", "deals", "move", deal, "measurer_assigned")
    mike_tasks = as_json(*cfg, "--as", "mike@windows.example", "tasks", "list", "--assignee", "me")["items"]
    assert [t["title"] for t in mike_tasks] == ["Measure: Web form: 3 windows, Ann Lee"]

    # deferred demand: a task on the date; the worker reports it overdue once, however often it runs
    other = str(legal["deal"]["id"])
    ok(*anna, "deals", "move", other, "waiting", "--pipeline", "deferred")
    ok(*anna, "deals", "update", other, "--custom", "next_contact_date=2026-03-02")
    deferred = as_json(*cfg, "tasks", "list", "--on", f"deal:{other}")["items"]
    assert [(t["title"], t["due_at"]) for t in deferred] == [
        ("Contact again: Office glazing", "2026-03-02T09:00:00+00:00")]
    for _ in range(2):
        ok(*cfg, "worker", "--once", "--now", "2026-03-03T09:00:00+00:00")
    overdue = as_json(*cfg, "timeline", "task", str(deferred[0]["id"]))["items"]
    assert [e["type"] for e in overdue].count("task.overdue") == 1


def test_overdue_is_said_in_words() -> None:
    from datetime import timedelta

    from crmkit.cli.output import overdue_phrase

    assert overdue_phrase(timedelta(days=2, hours=3)) == "2 days overdue"
    assert overdue_phrase(timedelta(hours=1, minutes=5)) == "1 hour overdue"
    assert overdue_phrase(timedelta(seconds=30)) == "just overdue"


def test_worker_errors_are_one_line(cfg: list[str]) -> None:
    fails(*cfg, "worker", "--now", "2026-03-03T09:00:00+00:00", contains="--now needs --once")
    fails(*cfg, "worker", "--once", "--now", "tomorrow", contains="not an ISO datetime")
    fails(*cfg, "worker", "--once", "--now", "2026-03-03T09:00:00", contains="must be timezone-aware")
