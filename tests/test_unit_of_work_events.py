"""The unit of work's events keep their ids through rounds of reactions, and SQLite writers of one
process queue on the write gate (found by mutation testing: scripts/mutation.py unit_of_work)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest
from sqlalchemy import select

from crmkit import Crm, Event, FrozenClock, PluginInfo, Settings, hookimpl, schema
from crmkit.core.unit_of_work import write_connection
from crmkit.testing import template


class Twice:
    """Answers each ``ping`` with two ``pong`` events: a second round of two."""

    plugin_info = PluginInfo(name="twice", version="0.1.0")

    @hookimpl
    def crm_on_events(self, tx: Any, events: Sequence[Event]) -> None:
        for e in events:
            if e.type == "test.ping":
                tx.emit("test.pong", "deal", 1, data={"n": 1})
                tx.emit("test.pong", "deal", 2, data={"n": 2})


@pytest.fixture
def twice(db_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Crm]:
    crm = Crm(Settings.from_dict({**template(), "database": db_url}, base_dir=tmp_path, environ={}),
              plugins=[Twice()], clock=clock)
    yield crm
    crm.close()


def test_every_event_gets_its_own_log_id_in_every_round(twice: Crm) -> None:
    with twice.transaction() as tx:
        tx.emit("test.ping", "deal", 7)
        tx.emit("test.ping", "deal", 8)
    e = schema.events.c
    with twice.engine.connect() as conn:
        logged = [tuple(r) for r in conn.execute(select(e.id, e.type, e.entity_id).order_by(e.id))]
    assert [(ev.id, ev.type, ev.entity_id) for ev in tx.events] == logged
    assert [t for _, t, _ in logged] == ["test.ping", "test.ping"] + ["test.pong"] * 4


def test_sqlite_writers_of_one_process_queue_on_the_write_gate(crm: Any, db_url: str) -> None:
    done = threading.Event()
    worker = threading.Thread(target=lambda: (crm.deals.create(title="queued"), done.set()))
    with crm.write_gate():  # another writer of this process holds the gate
        worker.start()
        finished_meanwhile = done.wait(0.5 if db_url.startswith("sqlite") else 30)
    worker.join(30)
    assert done.is_set()
    assert finished_meanwhile is (not db_url.startswith("sqlite"))  # SQLite: it waited its turn


def test_sqlite_write_transactions_take_the_write_lock_when_they_begin(make_crm: Any, db_url: str) -> None:
    """BEGIN IMMEDIATE: another process's writer waits at its start, instead of reading first and
    failing on a lock upgrade (SQLite answers SQLITE_BUSY at once there; the busy timeout cannot help)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's locking (PostgreSQL locks rows)")
    one, other = make_crm(), make_crm()  # two processes' engines over one database file
    began = threading.Event()

    def second_writer() -> None:
        with write_connection(other):
            began.set()

    with write_connection(one):
        worker = threading.Thread(target=second_writer)
        worker.start()
        assert not began.wait(0.5)  # blocked in BEGIN IMMEDIATE while the first holds the lock
    assert began.wait(30)
    worker.join(30)


def test_without_the_event_log_a_command_logs_nothing(db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
    """``Crm(event_log=False)`` (the benchmarks' way to measure the log's cost) writes the cards only."""
    crm = Crm(Settings.from_dict({**template(), "database": db_url}, base_dir=tmp_path, environ={}),
              clock=clock, event_log=False)
    try:
        deal = crm.deals.create(title="Unlogged")
        with crm.engine.connect() as conn:
            assert conn.execute(select(schema.events.c.id)).all() == []
        assert crm.deals.get(deal.id).title == "Unlogged"
    finally:
        crm.close()
