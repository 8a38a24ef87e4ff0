"""The CLI end to end through click's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner, Result

from crmkit.cli import cli

CLEAN_ENV = {"CRMKIT_CONFIG": None, "CRMKIT_USER": None, "CRMKIT_PLUGINS": None, "CRMKIT_DATABASE_URL": None,
             "CRMKIT_DEBUG": None}


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={**CLEAN_ENV, **(env or {})}, catch_exceptions=False)


def ok(*args: str, **kw: Any) -> Result:
    result = run(*args, **kw)
    assert result.exit_code == 0, result.output
    return result


def as_json(*args: str, **kw: Any) -> Any:
    return json.loads(ok(*args, "--json", **kw).stdout)


def fails(*args: str, contains: str, code: int = 1, **kw: Any) -> str:
    """The command fails with ``code`` and exactly one line on stderr, no traceback."""
    result = run(*args, **kw)
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert contains in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def deployment(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A fresh deployment made by `crmkit init` on the test database; yields its config path."""
    ok("init", str(tmp_path / "crm"), "--database", db_url)
    yield str(tmp_path / "crm" / "crmkit.toml")


@pytest.fixture
def cfg(deployment: str) -> list[str]:
    return ["--config", deployment]


@pytest.fixture
def as_admin(cfg: list[str]) -> list[str]:
    """``cfg`` acting as a new admin (``--as``): a change needs a person (issue 13)."""
    ok(*cfg, "users", "add", "--email", "admin@windows.example", "--name", "Ada Admin", "--role", "admin")
    return [*cfg, "--as", "admin@windows.example"]


# -- deployment-less commands --------------------------------------------------------


def test_help_and_plugins_work_without_a_deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = ok("--help").stdout
    for command in ("init", "demo", "plugins", "leads", "deals", "tasks", "events", "timeline", "pipelines"):
        assert command in out
    assert "example-hello" not in out
    ok("deals", "--help")
    assert "example" in ok("plugins").stdout
    fails("deals", "list", contains="no deployment config at crmkit.toml")


def test_init_writes_the_commented_template_and_refuses_to_overwrite(db_url: str, tmp_path: Path) -> None:
    target = tmp_path / "new"
    out = ok("init", str(target), "--database", db_url, "--name", "Acme CRM").stdout
    config = target / "crmkit.toml"
    assert "Created" in out and config.is_file()
    text = config.read_text()
    assert text.startswith("# crmkit deployment settings") and 'name = "Acme CRM"' in text
    pipelines = as_json("--config", str(config), "pipelines")
    assert [p["key"] for p in pipelines["pipelines"]] == ["leads", "sales", "deferred"]
    assert pipelines["pipelines"][1]["stages"][0]["key"] == "collecting_data"
    fails("init", str(target), contains="already exists")
    assert config.read_text() == text


def test_init_with_an_unusable_database_leaves_no_config(tmp_path: Path) -> None:
    fails("init", str(tmp_path / "x"), "--database", "nosuchdb://nowhere", contains="Error:")
    assert not (tmp_path / "x" / "crmkit.toml").exists()


# -- cards ------------------------------------------------------------------------------


def test_deal_lifecycle_through_the_cli(cfg: list[str]) -> None:
    anna = as_json(*cfg, "users", "add", "--email", "Anna@Windows.example", "--name", "Anna Lee")
    assert anna["email"] == "anna@windows.example"
    # anna's own contact: a manager links only cards she can see
    contact = as_json(*cfg, "--as", "anna@windows.example", "contacts", "create", "--first-name", "John",
                      "--last-name", "Smith",
                      "--phone", "(206) 555-0142", "--email", "John@Example.com")
    assert contact["phones"] == ["+12065550142"] and contact["emails"] == ["john@example.com"]
    deal = as_json(*cfg, "--as", "anna@windows.example", "deals", "create", "--title", "Windows for the Smiths",
                   "--amount", "1200.50", "--contact", str(contact["id"]), "--responsible", "me",
                   "--custom", "window_count=5", "--custom", "customer_kind=person")
    assert deal["amount"] == {"amount": "1200.50", "currency": "USD"}
    assert deal["custom"] == {"window_count": 5, "customer_kind": "person"}
    assert deal["stage"] == "collecting_data" and deal["responsible_id"] == anna["id"]
    did = str(deal["id"])
    anna_as = ["--as", "anna@windows.example"]

    out = ok(*cfg, *anna_as, "deals", "move", did, "proposal_sent").stdout
    assert "now sales/proposal_sent" in out and "(by Anna Lee)" in out
    fails(*cfg, *anna_as, "deals", "lose", did, contains="Error: reason: losing needs a reason")
    assert as_json(*cfg, "deals", "show", did)["status"] == "open"
    lost = as_json(*cfg, *anna_as, "deals", "lose", did, "--reason", "too_expensive", "--reason-text", "found cheaper")
    assert lost["status"] == "lost" and lost["lost_reason"] == "Too expensive: found cheaper"

    second = as_json(*cfg, *anna_as, "deals", "create", "--title", "Office windows", "--amount", "99")
    won = as_json(*cfg, *anna_as, "deals", "win", str(second["id"]))
    assert won["stage"] == "won" and won["status"] == "won"

    history = as_json(*cfg, "deals", "history", did)
    assert [(m["from_stage"], m["to_stage"]) for m in history["items"]] == [
        (None, "collecting_data"), ("collecting_data", "proposal_sent"), ("proposal_sent", "lost")]
    last = ok(*cfg, "deals", "history", did).stdout.strip().splitlines()[-1].split()
    assert last[-4:] == ["proposal_sent", "lost", "Anna", "Lee"]

    listed = as_json(*cfg, "deals", "list", "--status", "lost")
    assert [d["id"] for d in listed["items"]] == [deal["id"]] and listed["next_cursor"] is None
    assert [d["id"] for d in as_json(*cfg, "deals", "list", "--filter", "window_count__gte=5")["items"]] == [deal["id"]]
    table = ok(*cfg, "deals", "list").stdout
    assert "Windows for the Smiths" in table and "1200.50 USD" in table and "Anna Lee" in table

    events = as_json(*cfg, "timeline", "deal", did)["items"]  # the proposal's follow-up task too (issue 13)
    assert [e["type"] for e in events] == ["deal.created", "deal.stage_changed", "task.created",
                                           "deal.stage_changed", "task.cancelled"]
    assert events[0]["actor_id"] == anna["id"]
    assert "deal.stage_changed" in ok(*cfg, "timeline", "deal", did).stdout


def test_pages_and_global_json(cfg: list[str]) -> None:
    ok(*cfg, "users", "add", "--email", "admin@windows.example", "--name", "Ada Admin", "--role", "admin")
    admin = ["--as", "admin@windows.example"]
    for i in range(3):
        ok(*cfg, *admin, "companies", "create", "--name", f"Company {i}", "--address", f"{i} Main St")
    first = json.loads(ok(*cfg, "--json", "companies", "list", "--limit", "2").stdout)
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = as_json(*cfg, "companies", "list", "--limit", "2", "--cursor", first["next_cursor"])
    assert [c["name"] for c in rest["items"]] == ["Company 2"] and rest["next_cursor"] is None
    assert "--cursor" in ok(*cfg, "companies", "list", "--limit", "2").stdout
    company = first["items"][0]
    ok(*cfg, *admin, "contacts", "create", "--first-name", "Eve", "--company", str(company["id"]))
    shown = as_json(*cfg, "companies", "show", str(company["id"]))
    assert [c["first_name"] for c in shown["contacts"]] == ["Eve"]
    assert "Eve" in ok(*cfg, "companies", "show", str(company["id"])).stdout


def test_leads_create_list_reject(cfg: list[str]) -> None:
    ok(*cfg, "users", "add", "--email", "admin@windows.example", "--name", "Ada Admin", "--role", "admin")
    cfg = [*cfg, "--as", "admin@windows.example"]
    lead = as_json(*cfg, "leads", "create", "--title", "Quote for 4 windows", "--name", "Mary Brown",
                   "--phone", "+1 425 555 0199", "--source", "web_form")
    assert lead["phone"] == "+14255550199" and lead["status"] == "new"
    assert [x["id"] for x in as_json(*cfg, "leads", "list", "--status", "new")["items"]] == [lead["id"]]
    fails(*cfg, "leads", "reject", str(lead["id"]), contains="Error: reason:")
    rejected = as_json(*cfg, "leads", "reject", str(lead["id"]), "--reason-text", "Only wants a repair")
    assert rejected["status"] == "rejected" and rejected["lost_reason"] == "Only wants a repair"
    assert "Mary Brown" in ok(*cfg, "leads", "show", str(lead["id"])).stdout


def test_tasks_due_overdue_complete_reassign(cfg: list[str]) -> None:
    ok(*cfg, "users", "add", "--email", "tom@windows.example", "--name", "Tom Baker", "--team", "measurers")
    ok(*cfg, "users", "add", "--email", "liam@windows.example", "--name", "Liam Novak", "--team", "measurers")
    ok(*cfg, "users", "add", "--email", "admin@windows.example", "--name", "Ada Admin", "--role", "admin")
    cfg = [*cfg, "--as", "admin@windows.example"]
    deal = as_json(*cfg, "deals", "create", "--title", "Smith windows")
    late = as_json(*cfg, "tasks", "add", "--title", "Measure", "--assignee", "tom@windows.example", "--due", "-2d",
                   "--on", f"deal:{deal['id']}")
    soon = as_json(*cfg, "tasks", "add", "--title", "Call back", "--assignee", "tom@windows.example",
                   "--due", "2030-01-02T10:00")
    assert soon["due_at"] == "2030-01-02T10:00:00+00:00" and late["entity_type"] == "deal"
    tom = ["--as", "tom@windows.example"]
    assert [t["id"] for t in as_json(*cfg, *tom, "tasks", "list", "--assignee", "me")["items"]] == [late["id"], soon["id"]]
    assert [t["id"] for t in as_json(*cfg, "tasks", "list", "--overdue")["items"]] == [late["id"]]
    assert "(2 days overdue)" in ok(*cfg, "tasks", "list", "--on", f"deal:{deal['id']}").stdout
    assert as_json(*cfg, *tom, "tasks", "complete", str(late["id"]))["status"] == "done"
    fails(*cfg, "tasks", "complete", str(late["id"]), contains="already done")
    moved = as_json(*cfg, "tasks", "reassign", str(soon["id"]), "liam@windows.example")
    assert as_json(*cfg, "tasks", "list", "--status", "open", "--assignee", "liam@windows.example")["items"][0]["id"] == moved["id"]
    note = as_json(*cfg, "notes", "add", "deal", str(deal["id"]), "Customer prefers mornings")
    assert note["body"] == "Customer prefers mornings"
    assert "Customer prefers mornings" in ok(*cfg, "timeline", "deal", str(deal["id"])).stdout


def test_users_list(cfg: list[str]) -> None:
    ok(*cfg, "users", "add", "--email", "head@windows.example", "--name", "Victor Hale", "--role", "head",
       "--team", "measurers")
    users = as_json(*cfg, "users", "list", "--team", "measurers")["items"]
    assert [(u["name"], u["role"]) for u in users] == [("Victor Hale", "head")]
    fails(*cfg, "users", "add", "--email", "head@windows.example", "--name", "Again", contains="already exists")


# -- errors -----------------------------------------------------------------------------


def test_bad_input_is_one_line_and_exit_1(cfg: list[str]) -> None:
    ok(*cfg, "users", "add", "--email", "admin@windows.example", "--name", "Ada Admin", "--role", "admin")
    cfg = [*cfg, "--as", "admin@windows.example"]
    deal = as_json(*cfg, "deals", "create", "--title", "Windows")
    did = str(deal["id"])
    fails(*cfg, "deals", "move", did, "nowhere", contains="'nowhere' is not a stage of 'sales'")
    fails(*cfg, "deals", "list", "--stage", "nowhere", contains="stage: no stage 'nowhere'")
    fails(*cfg, "contacts", "create", "--first-name", "X", "--phone", "12", contains="phones[0]:")
    fails(*cfg, "deals", "create", "--title", "T", "--amount", "12.345", contains="amount: USD has 2 decimal places")
    fails(*cfg, "deals", "create", "--title", "T", "--amount", "lots", contains="'lots' is not a decimal number")
    fails(*cfg, "deals", "create", "--title", "T", "--custom", "window_count=0", contains="window_count: must be at least 1")
    fails(*cfg, "deals", "create", "--title", "T", "--custom", "colour", contains="'colour' is not KEY=VALUE")
    fails(*cfg, "deals", "show", "999", contains="deal 999 does not exist")
    fails(*cfg, "deals", "show", "abc", contains="'abc' is not a valid integer")
    fails(*cfg, "deals", "list", "--limit", "0", contains="--limit")
    fails(*cfg, "deals", "list", "--filter", "colour=red", contains="cannot filter deals by 'colour'")
    fails(*cfg, "deals", "create", contains="Missing option '--title'")
    fails(*cfg, "deals", "frobnicate", contains="No such command 'frobnicate'")
    fails(*cfg, "--as", "nobody@example.com", "deals", "list", contains="no user with e-mail 'nobody@example.com'")
    fails(*cfg, "tasks", "add", "--title", "T", "--due", "someday", contains="'someday' is not a time")
    fails(*cfg, "tasks", "list", "--on", "deal", contains="is not TYPE:ID")
    fails(*cfg, "notes", "add", "deal", "999", "hello", contains="deal 999 does not exist")
    fails(*cfg, "deals", "update", did, contains="nothing to change")
    fails(*cfg, "deals", "update", did, "--title", "New", "--version", "7", contains="changed by someone else")


def test_broken_config_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "crmkit.toml"
    config.write_text("name = [\n")
    fails("--config", str(config), "deals", "list", contains="not valid TOML")
    config.write_text('colour = "red"\n')
    fails("--config", str(config), "deals", "list", contains="unknown setting(s) colour")


def test_unexpected_errors_exit_2_without_traceback(cfg: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from crmkit.core.services.users import UserService

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(UserService, "list", boom)
    line = fails(*cfg, "users", "list", contains="Unexpected error: RuntimeError: disk on fire", code=2)
    assert "CRMKIT_DEBUG" in line
    result = run(*cfg, "users", "list", env={"CRMKIT_DEBUG": "1"})
    assert result.exit_code == 2 and "Traceback" in result.stderr


# -- events -----------------------------------------------------------------------------


def test_event_failures_listed_and_retried(deployment: str) -> None:
    path = Path(deployment)
    path.write_text(path.read_text().replace("plugins = []", 'plugins = ["example"]')
                    + "\n[settings.example]\nfail_after_commit = true\n")
    cfg = ["--config", deployment]
    ok(*cfg, "users", "add", "--email", "admin@windows.example", "--name", "Ada Admin", "--role", "admin")
    ok(*cfg, "--as", "admin@windows.example", "deals", "create", "--title", "Windows")
    failures = as_json(*cfg, "events", "failures")
    assert failures and {f["subscriber"] for f in failures} == {"example"}
    assert failures[0]["status"] == "retrying" and "could not deliver" in failures[0]["last_error"]
    table = ok(*cfg, "events", "failures", "--status", "retrying").stdout
    assert "example" in table and "RuntimeError" in table
    assert ok(*cfg, "events", "failures", "--status", "dead").stdout.strip() == "(none)"
    requeued = as_json(*cfg, "events", "retry", str(failures[0]["id"]))
    assert requeued == {"requeued": 1}
    counts = as_json(*cfg, "events", "deliver")
    assert counts["retried_failed"] >= 1 and counts["delivered"] == 0
    assert "Delivered" in ok(*cfg, "events", "deliver").stdout
