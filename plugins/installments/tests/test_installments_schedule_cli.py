"""``crmkit installments schedule`` says which items are paid (issue 13: it printed "paid" on every
row, unpaid ones included); paying needs a person, and a negative amount reaches the service."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from crmkit.cli import cli


def test_schedule_rows_say_paid_unpaid_or_partly_paid(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"CRMKIT_PLUGINS": "installments", "CRMKIT_CONFIG": None, "CRMKIT_USER": None}
    config = str(tmp_path / "crm" / "crmkit.toml")

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["--config", config, *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    assert runner.invoke(cli, ["init", str(tmp_path / "crm"), "--database", db_url], env=env).exit_code == 0
    run("users", "add", "--email", "mia@windows.example", "--name", "Mia", "--role", "admin")
    mia = ["--as", "mia@windows.example"]
    deal = json.loads(run(*mia, "--json", "deals", "create", "--title", "Windows", "--amount", "900.00"))
    run(*mia, "installments", "plan", str(deal["id"]), "--payments", "3", "--start", "2030-01-10")
    refused = runner.invoke(cli, ["--config", config, "installments", "pay", str(deal["id"]), "100.00"], env=env)
    assert refused.exit_code == 1 and "--as: who is making this change?" in refused.stderr
    run(*mia, "deals", "win", str(deal["id"]))
    run(*mia, "installments", "pay", str(deal["id"]), "400.00")

    rows = [line.split() for line in run("installments", "schedule", str(deal["id"])).splitlines()
            if line.strip().startswith("#")]
    assert [row[3:] for row in rows] == [["paid"], ["100.00", "paid,", "200.00", "due"], ["unpaid"]]
