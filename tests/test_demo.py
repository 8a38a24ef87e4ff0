"""`crmkit demo`: a ready deployment of the window company, with valid, current, deterministic data."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from test_cli import fails, ok

from crmkit import Crm, FrozenClock, Settings
from crmkit.demo import DOMAIN, seed, summarize


def _all(page_of: Any) -> list[Any]:
    items, cursor = [], None
    while True:
        page = page_of(cursor)
        items += list(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items


STATEMENTS = 7_500
"""At most this many SQL statements for the whole demo (6 047 on SQLite, 4 995 on PostgreSQL when
written): a deterministic bound on its cost that a query per row in a loop would break, where a
wall time flakes on a busy machine (the timing of a start-up lives in bench/)."""


@contextmanager
def counting_statements() -> Iterator[list[int]]:
    """Count every SQL statement any engine executes in the block."""
    seen = [0]

    def count(*_args: Any) -> None:
        seen[0] += 1

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def test_demo_makes_a_ready_deployment(db_url: str, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    with counting_statements() as statements:
        out = ok("demo", str(target), "--database", db_url).stdout
    assert 1_000 < statements[0] <= STATEMENTS, statements[0]
    assert "Demo deployment of Bright Windows ready" in out and "overdue" in out
    assert f"tom.baker@{DOMAIN}" in out and "crmkit tasks list --overdue" in out
    config = target / "crmkit.toml"

    with Crm.from_config(config) as crm:
        system = crm.system
        users = _all(lambda c: system.users.list(limit=500, cursor=c))
        roles = Counter((u.role, u.team) for u in users)
        assert roles[("admin", None)] == 1 and roles[("head", "sales")] == 1 and roles[("head", "measurers")] == 1
        assert roles[("manager", "sales")] >= 2 and roles[("manager", "measurers")] == 2

        leads = _all(lambda c: system.leads.list(limit=500, cursor=c))
        assert 45 <= len(leads) <= 60
        assert {lead.source for lead in leads} >= {"web_form", "call", "email", "messenger"}
        rejected = [lead for lead in leads if lead.status == "rejected"]
        assert len(rejected) >= 5 and all(lead.lost_reason for lead in rejected)
        assert all(lead.phone is None or lead.phone.startswith("+1") for lead in leads)

        contacts = _all(lambda c: system.contacts.list(limit=500, cursor=c))
        assert len(contacts) >= 30
        assert all(p.startswith("+") and p[1:].isdigit() for c in contacts for p in c.phones)
        assert all("@" in e and e == e.lower() for c in contacts for e in c.emails)
        companies = _all(lambda c: system.companies.list(limit=500, cursor=c))
        assert len(companies) >= 3
        for company in companies:
            assert company.address and system.contacts.list(company_id=company.id).items

        deals = _all(lambda c: system.deals.list(limit=500, cursor=c))
        by_stage = Counter((d.pipeline, d.stage) for d in deals)
        sales = crm.pipeline("sales")
        for stage in sales.stages:
            assert by_stage[("sales", stage.key)] >= 1, f"no deals in sales/{stage.key}"
        assert by_stage[("deferred", "waiting")] >= 1
        for deal in deals:
            assert deal.amount is not None and deal.amount.amount > 0 and deal.amount.currency == "USD"
            assert deal.custom["customer_kind"] in ("person", "legal_entity") and deal.custom["window_count"] >= 1
            assert deal.contact_id is not None and deal.lead_id is not None
            assert (deal.company_id is not None) == (deal.custom["customer_kind"] == "legal_entity")
            if deal.status == "lost":
                assert deal.lost_reason
            if deal.pipeline == "deferred" and deal.status == "open":
                assert "next_contact_date" in deal.custom
            reached = sales.stage(deal.stage)
            if deal.pipeline == "sales" and deal.status != "lost" and reached is not None and reached.position >= 3:
                assert "measurement_date" in deal.custom, "a measurer was assigned"
        won = [d for d in deals if d.status == "won"]
        assert len(won) >= 3 and all(system.deals.history(d.id)[-1].to_stage == "won" for d in won)

        now = datetime.now(timezone.utc)
        tasks = _all(lambda c: system.tasks.list(limit=500, cursor=c))
        overdue = [t for t in tasks if t.is_overdue(now)]
        assert overdue and len(overdue) < len([t for t in tasks if t.status == "open"])
        assert _all(lambda c: system.tasks.list(overdue=True, limit=500, cursor=c))
        assignees = {t.assignee_id for t in tasks if t.status == "open"}
        measurers = {u.id for u in users if u.team == "measurers"}
        assert measurers & assignees, "the measurers have tasks"
        assert all(t.assignee_id is not None and t.due_at is not None for t in tasks)

        # data looks current: history ends now, no event in the future
        events = _all(lambda c: system.timeline.all(limit=500, cursor=c))
        times = [e.occurred_at for e in events]
        assert max(times) <= now and max(times) > now - timedelta(days=2) and min(times) > now - timedelta(days=60)
        assert times == sorted(times), "the event log reads in time order"
        assert any(e.type == "note.added" for e in events)


def test_demo_refuses_an_existing_deployment_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    ok("demo", str(target))
    fails("demo", str(target), contains="already holds a deployment")
    out = ok("demo", str(target), "--force").stdout
    assert "ready" in out
    with Crm.from_config(target / "crmkit.toml") as crm:
        assert len(crm.system.users.list(limit=100).items) == 8  # recreated, not doubled


def test_demo_refuses_a_database_that_holds_data(db_url: str, tmp_path: Path) -> None:
    ok("demo", str(tmp_path / "one"), "--database", db_url)
    fails("demo", str(tmp_path / "two"), "--database", db_url, contains="already holds data")
    assert not (tmp_path / "two" / "crmkit.toml").exists()


def _snapshot(tmp_path: Path, name: str, now: datetime) -> list[tuple[Any, ...]]:
    from importlib import resources
    import tomllib

    data = tomllib.loads(resources.files("crmkit").joinpath("templates/crmkit.toml").read_text())
    data["database"] = f"sqlite:///{tmp_path / name}.db"
    with Crm(Settings.from_dict(data, environ={}), clock=FrozenClock(now)) as crm:
        seed(crm, now=now, seed=7)
        deals = crm.system.deals.list(limit=500).items
        return [(d.title, d.pipeline, d.stage, d.amount, d.created_at, dict(d.custom)) for d in deals]


def test_summary_counts_what_the_lists_hold(tmp_path: Path) -> None:
    from importlib import resources
    import tomllib

    now = datetime(2026, 3, 4, 15, 30, tzinfo=timezone.utc)
    data = tomllib.loads(resources.files("crmkit").joinpath("templates/crmkit.toml").read_text())
    data["database"] = f"sqlite:///{tmp_path / 'c'}.db"
    with Crm(Settings.from_dict(data, environ={}), clock=FrozenClock(now)) as crm:
        summary = seed(crm, now=now, seed=7)
        assert summary == summarize(crm, notes=summary.notes)
        system = crm.system
        leads = Counter(lead.status for lead in _all(lambda c: system.leads.list(limit=500, cursor=c)))
        assert dict(summary.leads) == {s: leads[s] for s in ("new", "in_progress", "converted", "rejected")}
        deals = Counter((d.pipeline, d.stage) for d in _all(lambda c: system.deals.list(limit=500, cursor=c)))
        assert {(p, s): n for p, s, n in summary.stages if n} == dict(deals)
        tasks = _all(lambda c: system.tasks.list(limit=500, cursor=c))
        assert summary.open_tasks == sum(t.status == "open" for t in tasks)
        assert summary.overdue_tasks == sum(t.is_overdue(crm.clock.now()) for t in tasks) > 0
        assert summary.contacts == len(_all(lambda c: system.contacts.list(limit=500, cursor=c)))
        assert summary.companies == len(_all(lambda c: system.companies.list(limit=500, cursor=c)))
        assert summary.users == len(summary.staff) == 8
        assert summary.notes == len(_all(lambda c: system.notes.list(limit=500, cursor=c)))


def test_demo_data_is_deterministic(tmp_path: Path) -> None:
    now = datetime(2026, 3, 4, 15, 30, tzinfo=timezone.utc)
    first = _snapshot(tmp_path, "a", now)
    assert first == _snapshot(tmp_path, "b", now)
    assert all(created <= now for *_, created, _ in first)


def test_seed_needs_a_frozen_clock(tmp_path: Path) -> None:
    from crmkit import ConfigError

    with Crm(Settings(database=f"sqlite:///{tmp_path / 'x.db'}")) as crm, pytest.raises(ConfigError):
        seed(crm)
