"""Reports through the record rules, before/after, the CLI (table, --json, --csv) and the HTTP API,
on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from crmkit import schema
from crmkit.cli import cli
from crmkit.core.reports import REPORTS, Comparison, run_report
from crmkit.testing import auth_headers
from crmkit.web import create_app
from conftest import rows

UTC = timezone.utc
PERIOD = {"since": "2026-02-01", "until": "2026-07-31"}
SINCE, UNTIL = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)
CLEAN_ENV = {"CRMKIT_CONFIG": None, "CRMKIT_USER": None, "CRMKIT_PLUGINS": None, "CRMKIT_DATABASE_URL": None}


def visible_leads(crm: Any, users: set[int]) -> list[Any]:
    """Leads of ``users``, unassigned ones, and those with an open task of ``users`` (the record rule)."""
    tasked = {t.entity_id for t in rows(crm, schema.tasks)
              if t.entity_type == "lead" and t.status == "open" and t.assignee_id in users}
    return [ld for ld in rows(crm, schema.leads)
            if (ld.responsible_id in users or ld.responsible_id is None or ld.id in tasked)
            and SINCE <= ld.created_at < UNTIL]


def won_deals(crm: Any, users: set[int] | None) -> list[Any]:
    return [d for d in rows(crm, schema.deals) if d.status == "won" and SINCE <= d.closed_at < UNTIL
            and (users is None or d.responsible_id in users)]


def test_record_rules_change_the_figures(seeded: SimpleNamespace) -> None:
    crm, m1, head = seeded.crm, seeded.m1, seeded.head
    north = {head.id, m1.id, seeded.m2.id}
    figures = {}
    for who, users in (("m1", {m1.id}), ("head", north)):
        uid = m1.id if who == "m1" else head.id
        conv = run_report(crm.as_user(uid), "conversion", **PERIOD).rows[0]
        assert conv["leads"] == len(visible_leads(crm, users))
        check = run_report(crm.as_user(uid), "average_check", **PERIOD)
        assert sum(r["won"] for r in check.rows) == sum(d.amount_minor is not None for d in won_deals(crm, users))
        mgrs = run_report(crm.as_user(uid), "managers", **PERIOD)
        assert {r["manager_id"] for r in mgrs.rows if r["won"]} <= users
        figures[who] = (conv["leads"], sum(r["won"] for r in check.rows))
    admin_conv = run_report(crm.as_user(seeded.admin.id), "conversion", **PERIOD).rows[0]
    admin_won = sum(r["won"] for r in run_report(crm.as_user(seeded.admin.id), "average_check", **PERIOD).rows)
    assert figures["m1"][0] < figures["head"][0] < admin_conv["leads"]
    assert figures["m1"][1] < figures["head"][1] < admin_won
    # the head's team filter of the admin's report is the head's own view of the deals
    team = run_report(crm.as_user(seeded.admin.id), "average_check", team="north", **PERIOD)
    assert sum(r["won"] for r in team.rows) == figures["head"][1]


def test_compare_to_gives_both_periods_and_the_change(seeded: SimpleNamespace) -> None:
    crm = seeded.crm
    both = run_report(crm, "conversion", since="2026-03-01", until="2026-04-30", compare_to="previous")
    assert isinstance(both, Comparison)
    assert both.before.scope.since == datetime(2025, 12, 30, tzinfo=UTC)  # 61 days before March 1st
    after = run_report(crm, "conversion", since="2026-03-01", until="2026-04-30").rows[0]
    before = run_report(crm, "conversion", since=datetime(2025, 12, 30, tzinfo=UTC),
                        until=datetime(2026, 3, 1, tzinfo=UTC)).rows[0]
    row = both.rows[0]
    for m in ("leads", "deals", "won", "won_per_100"):
        assert (row[f"{m}_before"], row[m]) == (before[m], after[m])
        assert row[f"{m}_change"] == pytest.approx(after[m] - before[m])
    assert row["leads_before"] > 0 and row["leads"] > 0
    money = run_report(crm, "average_check", since="2026-04-01", until="2026-06-30", compare_to="2026-01-01..2026-03-31")
    usd = next(r for r in money.rows if r["currency"] == "USD")
    assert usd["total_change"].amount == usd["total"].amount - usd["total_before"].amount
    year = run_report(crm, "tasks", since="2026-02-01", until="2026-03-01", compare_to="year")
    assert year.before.scope.since == datetime(2025, 2, 1, tzinfo=UTC)


def _cli(config: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", config, *args], env=CLEAN_ENV, catch_exceptions=False)


def test_cli_table_json_csv(seeded: SimpleNamespace) -> None:
    crm, cfg = seeded.crm, seeded.config
    seeded.clock.set(seeded.clock.now())  # the CLI's deployment reads the real clock: "now" differs
    period = ["--from", "2026-02-01", "--to", "2026-07-31"]
    out = _cli(cfg, "--as", "m1@windows.example", "report", "conversion", *period, "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    expected = run_report(crm.as_user(seeded.m1.id), "conversion", **PERIOD).to_json()
    assert data["rows"] == expected["rows"] and data["report"] == "conversion"
    out = _cli(cfg, "report", "average_check", *period, "--csv")
    assert out.exit_code == 0, out.output
    parsed = list(csv.DictReader(io.StringIO(out.stdout)))
    ref = run_report(crm, "average_check", **PERIOD)
    assert [(r["currency"], int(r["won"]), r["total"]) for r in parsed] == [
        (r["currency"], r["won"], str(r["total"])) for r in ref.rows]
    out = _cli(cfg, "report", "funnel", *period, "--compare-to", "previous")
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0].split()[:4] == ["STAGE", "ENTERED_BEFORE", "ENTERED", "ENTERED_CHANGE"]
    assert lines[1].startswith("collecting_data") and len(lines) == 1 + len(crm.pipeline("sales").stages)
    out = _cli(cfg, "report", "--help")
    assert all(name in out.stdout for name in REPORTS)


@pytest.mark.parametrize("args, field", [
    (["conversion", "--from", "2026-13-01"], "since"),
    (["conversion", "--from", "2026-03-01", "--to", "2026-02-01"], "until"),
    (["conversion", "--manager", "nobody@example.com"], "manager"),
    (["funnel", "--pipeline", "nope"], "pipeline"),
    (["average_check", "--compare-to", "last week"], "compare_to"),
    (["no_such_report"], "report"),
])
def test_cli_bad_input_is_one_line(seeded: SimpleNamespace, args: list[str], field: str) -> None:
    out = CliRunner().invoke(cli, ["--config", seeded.config, "--json", "report", *args], env=CLEAN_ENV)
    assert out.exit_code == 1, out.output
    assert "Traceback" not in out.output
    assert json.loads(out.stderr)["error"]["field"] == field


def test_api_reports_follow_the_callers_record_rules(seeded: SimpleNamespace) -> None:
    crm = seeded.crm
    client = TestClient(create_app(crm))
    listed = client.get("/api/v1/reports", headers=auth_headers(crm, seeded.m1.id)).json()
    assert [r["name"] for r in listed["items"]] == list(REPORTS)
    for user in (seeded.m1, seeded.head, seeded.admin):
        got = client.get("/api/v1/reports/conversion", params={"from": "2026-02-01", "to": "2026-07-31"},
                         headers=auth_headers(crm, user.id))
        assert got.status_code == 200, got.text
        assert got.json()["rows"] == run_report(crm.as_user(user.id), "conversion", **PERIOD).to_json()["rows"]
    m1 = auth_headers(crm, seeded.m1.id)
    got = client.get("/api/v1/reports/managers", params={"from": "2026-02-01", "to": "2026-07-31",
                                                          "compare_to": "previous"}, headers=m1).json()
    assert {"won_amount_before", "won_amount", "won_amount_change"} <= set(got["rows"][0])
    assert got["rows"][0]["won_amount"]["currency"] == "USD"
    for params, field in (({"from": "yesterday"}, "since"), ({"manager": "x"}, "manager"),
                          ({"compare_to": "previous"}, "compare_to")):
        bad = client.get("/api/v1/reports/conversion", params=params, headers=m1)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == field, bad.text
    assert client.get("/api/v1/reports/nope", headers=m1).status_code == 404
    assert client.get("/api/v1/reports/conversion").status_code == 401
