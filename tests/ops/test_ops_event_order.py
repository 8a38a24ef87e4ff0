"""PostgreSQL: a command that got its event ids first but commits last is still delivered -- a
deliverer never reads past an event that is still to commit (crmkit.core.log_horizon)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest

from crmkit import Crm, Event, PluginInfo, Settings, hookimpl
from crmkit.testing import template


class SlowAndRecording:
    """Holds a command titled "slow" open after its events have ids; records every delivery."""

    plugin_info = PluginInfo(name="slow_recorder", version="0.1.0")

    def __init__(self) -> None:
        self.release = threading.Event()
        self.holding = threading.Event()
        self.delivered: list[int] = []

    @hookimpl
    def crm_on_events(self, tx: Any, events: Sequence[Event]) -> None:
        if any(e.type == "deal.created" and (e.changes.get("title") or {}).get("after") == "slow" for e in events):
            self.holding.set()
            assert self.release.wait(20)

    @hookimpl
    def crm_event_committed(self, event: Event) -> None:
        self.delivered.append(event.id or 0)


@pytest.fixture
def pg(db_url: str, clock: Any, tmp_path: Path) -> Iterator[tuple[Crm, SlowAndRecording]]:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: its ids commit in order")
    plugin = SlowAndRecording()
    crm = Crm(Settings.from_dict({**template(), "database": db_url}, base_dir=tmp_path, environ={}),
              plugins=[plugin], clock=clock)
    yield crm, plugin
    plugin.release.set()
    crm.close()


def test_an_event_committed_after_a_later_one_is_delivered(pg: tuple[Crm, SlowAndRecording]) -> None:
    crm, plugin = pg
    slow = threading.Thread(target=lambda: crm.system.deals.create(title="slow"))
    slow.start()
    assert plugin.holding.wait(20)  # "slow" has its event ids and is not committed
    fast = crm.system.deals.create(title="fast")  # commits first, with later ids
    assert plugin.delivered == []  # its delivery did not skip past the open command
    plugin.release.set()
    slow.join(20)
    crm.dispatcher.deliver_pending()
    from sqlalchemy import select

    from crmkit import schema

    with crm.engine.connect() as conn:
        ids = list(conn.scalars(select(schema.events.c.id).order_by(schema.events.c.id)))
    assert sorted(set(plugin.delivered)) == ids and len(plugin.delivered) == len(ids)  # all, each once
    assert fast.title == "fast"
