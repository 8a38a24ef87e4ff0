"""The CLI says who acts (issue 13): a change a person makes needs ``--as`` (or ``CRMKIT_USER``)
instead of being silently the system's, and its output names them; admin and ops commands work
without. Also: errors as JSON with ``--json``, negative numbers as values."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import cfg, deployment, fails, ok, run  # noqa: F401  (fixtures)

from crmkit import Crm
from crmkit.core.settings import Settings

NEEDS_A_PERSON = "--as: who is making this change? Give --as EMAIL (or set CRMKIT_USER)"


def test_changes_need_a_person_and_name_them(cfg: list[str]) -> None:
    ok(*cfg, "users", "add", "--email", "anna@windows.example", "--name", "Anna Lee")  # admin commands: no --as
    anna = [*cfg, "--as", "anna@windows.example"]
    ok(*anna, "deals", "create", "--title", "Windows")
    ok(*anna, "leads", "create", "--title", "Web request")
    ok(*anna, "tasks", "add", "--title", "Call")
    for command in (
        ["deals", "create", "--title", "T"], ["deals", "update", "1", "--title", "T"], ["deals", "move", "1", "won"],
        ["deals", "win", "1"], ["deals", "lose", "1", "--reason-text", "x"],
        ["leads", "create", "--title", "T"], ["leads", "update", "1", "--title", "T"],
        ["leads", "move", "1", "qualifying"], ["leads", "reject", "1", "--reason-text", "x"], ["leads", "reopen", "1"],
        ["leads", "convert", "1"], ["contacts", "create", "--first-name", "X"],
        ["contacts", "update", "1", "--first-name", "X"], ["companies", "create", "--name", "X"],
        ["companies", "update", "1", "--name", "X"], ["tasks", "add", "--title", "T"],
        ["tasks", "update", "1", "--title", "T"], ["tasks", "complete", "1"], ["tasks", "cancel", "1"],
        ["tasks", "reopen", "1"], ["tasks", "reassign", "1", "anna@windows.example"],
        ["notes", "add", "deal", "1", "hello"],
    ):
        fails(*cfg, *command, contains=NEEDS_A_PERSON)
    # nothing was written by the refused commands
    assert json.loads(ok(*cfg, "--json", "deals", "show", "1").stdout)["version"] == 1
    assert [e["actor_id"] for e in json.loads(ok(*cfg, "--json", "timeline", "deal", "1").stdout)["items"]] == [1]

    # who acted is said; CRMKIT_USER is the default --as
    assert ok(*anna, "deals", "win", "1").stdout.strip() == "Won deal 1: now sales/won (won) (by Anna Lee)"
    out = run(*cfg, "notes", "add", "deal", "1", "Paid", env={"CRMKIT_USER": "anna@windows.example"})
    assert out.exit_code == 0 and out.stdout.strip() == "Added note 1 to deal 1 (by Anna Lee)"
    # reads and ops commands keep working without anyone
    for command in (["deals", "list"], ["timeline", "deal", "1"], ["pipelines"], ["events", "deliver"],
                    ["worker", "--once"], ["users", "token", "anna@windows.example"], ["db", "current"], ["plugins"]):
        ok(*cfg, *command)


def test_errors_are_json_with_json(cfg: list[str]) -> None:
    result = run(*cfg, "--json", "deals", "create", "--title", "T")
    assert result.exit_code == 1 and result.stdout == ""
    assert json.loads(result.stderr) == {"error": {"code": "validation_error", "message": NEEDS_A_PERSON,
                                                   "field": "as"}}
    ok(*cfg, "users", "add", "--email", "anna@windows.example", "--name", "Anna Lee")
    result = run(*cfg, "--as", "anna@windows.example", "deals", "create", "--title", "T", "--amount", "lots", "--json")
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert json.loads(result.stderr)["error"] == {"code": "validation_error", "field": "amount",
                                                  "message": "amount: 'lots' is not a decimal number"}
    result = run(*cfg, "--json", "deals", "frobnicate")
    assert result.exit_code == 1 and json.loads(result.stderr)["error"]["code"] == "usage_error"
    assert json.loads(run(*cfg, "deals", "show", "9", "--json").stderr)["error"]["code"] == "not_found"
    assert run(*cfg, "deals", "show", "9").stderr.strip() == "Error: deal 9 does not exist"  # without: one line


def test_negative_numbers_are_values(deployment: str) -> None:
    path = Path(deployment)
    path.write_text(path.read_text().replace("plugins = []", 'plugins = ["installments"]'))
    cfg = ["--config", deployment]
    ok(*cfg, "users", "add", "--email", "anna@windows.example", "--name", "Anna Lee")
    anna = [*cfg, "--as", "anna@windows.example"]
    deal = json.loads(ok(*anna, "--json", "deals", "create", "--title", "Windows", "--amount", "1000.00").stdout)
    ok(*anna, "installments", "plan", str(deal["id"]), "--payments", "2", "--start", "2030-01-10")
    ok(*anna, "deals", "win", str(deal["id"]))
    line = fails(*anna, "installments", "pay", str(deal["id"]), "-5", contains="Error:")
    assert "No such option" not in line and "amount" in line  # the service refuses the amount, in its words
    fails(*anna, "installments", "pay", str(deal["id"]), "-x", contains="No such option '-x'")
    with Crm(Settings.load(path)) as crm:
        assert crm.system.deals.get(deal["id"]).status == "won"
