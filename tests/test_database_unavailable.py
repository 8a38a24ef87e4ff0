"""A lost database connection (PostgreSQL restarted, a backend killed) is a 503 with Retry-After,
never a 500; the command rolled back; the pool reconnects by itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest
from sqlalchemy import func, select, text
from test_api_helpers import build_api

from crmkit import Crm, Event, FrozenClock, PluginInfo, Settings, hookimpl, schema
from crmkit.core.db import DatabaseUnavailable
from crmkit.testing import template


class KillsItsConnection:
    """A plugin whose validation hook kills its own database backend for a deal titled "drop me"."""

    plugin_info = PluginInfo(name="kills_its_connection", version="0.1.0")

    @hookimpl
    def crm_validate(self, tx: Any, events: Sequence[Event]) -> None:
        if any(e.type == "deal.created" and (e.changes.get("title") or {}).get("after") == "drop me"
               for e in events):
            tx.conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))


@pytest.fixture
def postgres_crm(db_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Crm]:
    if not db_url.startswith("postgresql"):
        pytest.skip("a lost server connection is PostgreSQL's (SQLite is a file in this process)")
    settings = Settings.from_dict({**template(), "database": db_url}, base_dir=tmp_path, environ={})
    crm = Crm(settings, plugins=[KillsItsConnection()], clock=clock)
    yield crm
    crm.close()


def deals(crm: Crm) -> int:
    with crm.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(schema.deals)))


def test_a_connection_lost_mid_command_is_a_503_and_the_pool_recovers(postgres_crm: Crm) -> None:
    api = build_api(postgres_crm)
    ok = api.post("/api/v1/deals", {"title": "before"})
    assert ok.status_code == 201, ok.text
    lost = api.post("/api/v1/deals", {"title": "drop me"}, headers={"Idempotency-Key": "drop-1"})
    assert lost.status_code == 503, lost.text
    assert lost.headers["retry-after"] == "1"
    assert json.loads(lost.text)["error"]["code"] == "database_unavailable"
    assert deals(postgres_crm) == 1  # nothing of the lost command
    # the pool reconnected by itself, and the lost command's claim was released (not a 409 for 5 minutes):
    after = api.post("/api/v1/deals", {"title": "after"}, headers={"Idempotency-Key": "drop-1"})
    assert after.status_code == 201, after.text
    assert deals(postgres_crm) == 2


def test_the_sdk_raises_database_unavailable_and_the_next_command_works(postgres_crm: Crm) -> None:
    with pytest.raises(DatabaseUnavailable) as err:
        postgres_crm.deals.create(title="drop me")
    assert err.value.status == 503
    assert postgres_crm.deals.create(title="fine").id >= 1
    assert deals(postgres_crm) == 1


def test_connections_killed_while_idle_are_replaced_at_checkout(postgres_crm: Crm, db_url: str) -> None:
    postgres_crm.deals.create(title="one")  # the pool holds a connection now
    with postgres_crm.engine.connect() as conn:
        pids = [conn.scalar(text("SELECT pg_backend_pid()"))]
    from sqlalchemy import create_engine

    other = create_engine(db_url)
    with other.begin() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()
    assert postgres_crm.deals.create(title="two").title == "two"  # pre-ping found it dead, reconnected
    assert deals(postgres_crm) == 2
