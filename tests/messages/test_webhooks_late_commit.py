"""PostgreSQL: an event whose command got its id first but commits last still gets its webhook
deliveries -- the webhook queue never reads past an event that is still to commit."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest
from sqlalchemy import select

from crmkit import Crm, Event, PluginInfo, Settings, hookimpl, schema
from crmkit.messages.tables import webhook_deliveries
from crmkit.testing import template


class HoldsSlowDeals:
    """Keeps a command creating a deal titled "slow" open after its events have their ids."""

    plugin_info = PluginInfo(name="holds_slow_deals", version="0.1.0")

    def __init__(self) -> None:
        self.release, self.holding = threading.Event(), threading.Event()

    @hookimpl
    def crm_on_events(self, tx: Any, events: Sequence[Event]) -> None:
        if any(e.type == "deal.created" and (e.changes.get("title") or {}).get("after") == "slow" for e in events):
            self.holding.set()
            assert self.release.wait(20)


@pytest.fixture
def pg(db_url: str, clock: Any, tmp_path: Path) -> Iterator[tuple[Crm, HoldsSlowDeals]]:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: its ids commit in order")
    plugin = HoldsSlowDeals()
    crm = Crm(Settings.from_dict({**template(), "database": db_url}, base_dir=tmp_path, environ={}),
              plugins=[plugin], clock=clock)
    yield crm, plugin
    plugin.release.set()
    crm.close()


def test_a_late_committed_event_is_still_queued_once(pg: tuple[Crm, HoldsSlowDeals]) -> None:
    crm, plugin = pg
    crm.messages.webhooks.create("http://127.0.0.1:9/hook", ["deal.created"])
    slow = threading.Thread(target=lambda: crm.system.deals.create(title="slow"))
    slow.start()
    assert plugin.holding.wait(20)  # "slow" holds its event id, uncommitted
    fast = crm.system.deals.create(title="fast")  # commits first, with a later id
    crm.messages.webhooks.enqueue()  # must not move past the open command
    plugin.release.set()
    slow.join(20)
    crm.messages.webhooks.enqueue()
    with crm.engine.connect() as conn:
        created = list(conn.scalars(select(schema.events.c.id).where(schema.events.c.type == "deal.created")
                                    .order_by(schema.events.c.id)))
        queued = list(conn.scalars(select(webhook_deliveries.c.event_id).order_by(webhook_deliveries.c.event_id)))
    assert len(created) == 2 and queued == created  # both, each once
    assert fast.title == "fast"
