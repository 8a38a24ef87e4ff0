"""Event delivery across processes (issue 12, defect 10): one deliverer at a time per
subscriber, a dead holder taken over at once, and ``Tx.once`` for effects that must
happen once even when delivery repeats. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from crmkit import schema
from crmkit.core import leases
from crmkit.core.worker import Worker

ROOT = Path(__file__).resolve().parent.parent


def _deliveries(path: Path) -> list[int]:
    return [int(line.split()[1]) for line in path.read_text().splitlines()] if path.exists() else []


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def test_two_processes_deliver_each_event_once(make_crm: Any, db_url: str, tmp_path: Path, clock: Any) -> None:
    path = tmp_path / "ledger.txt"
    settings = {"ledger": {"path": str(path), "delay": 0.002}}
    crm = make_crm(plugins=["ledger"], settings=settings)
    crm.dispatcher.inline = False
    crm.dispatcher.init_cursors()
    with crm.transaction() as tx:  # 120 events, none delivered yet
        for i in range(120):
            tx.emit("probe.made", "deal", i + 1)
    script = textwrap.dedent(f"""
        from datetime import datetime
        from crmkit import Crm, FrozenClock, Settings
        from tests.conftest import _template
        data = {{**_template(), "database": {db_url!r}, "plugins": ["ledger"], "settings": {settings!r}}}
        crm = Crm(Settings.from_dict(data, environ={{}}), clock=FrozenClock(datetime.fromisoformat({clock.now().isoformat()!r})))
        crm.dispatcher.batch_size = 7
        for _ in range(200):
            if crm.dispatcher.deliver_pending(limit=7).delivered == 0 and crm.dispatcher.deliver_pending().delivered == 0:
                break
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    crm.dispatcher.deliver_pending()  # whatever a process left for later
    delivered = _deliveries(path)
    assert sorted(delivered) == sorted(set(delivered)), "an event was delivered twice"
    assert len(set(delivered)) == 120


def test_a_dead_workers_lease_is_taken_over_at_once(make_crm: Any, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("leases are SQLite's (PostgreSQL: row locks go with the connection)")
    crm = make_crm()
    now = crm.clock.now()
    dead = f"{leases.HOST}:{_dead_pid()}"
    with crm.engine.begin() as conn:
        conn.execute(insert(schema.leases), [
            {"name": "worker", "owner": dead, "taken_at": now, "expires_at": now + Worker(crm).lease},
            {"name": "deliver:ledger", "owner": dead, "taken_at": now, "expires_at": now + Worker(crm).lease}])
    Worker(crm).run_once()  # no "another worker is running": the holder is gone
    with crm.engine.connect() as conn:
        assert leases.holder(conn, "worker") is None


def test_a_live_holder_keeps_its_lease_until_it_expires(make_crm: Any, db_url: str, clock: Any) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("leases are SQLite's")
    crm = make_crm()
    now = crm.clock.now()
    with crm.engine.begin() as conn:
        assert leases.take(conn, "job", "elsewhere:1", now, Worker(crm).lease) is None
        assert leases.take(conn, "job", leases.owner_name(), now, Worker(crm).lease) == "elsewhere:1"
        later = now + Worker(crm).lease
        assert leases.take(conn, "job", leases.owner_name(), later, Worker(crm).lease) is None  # expired


def test_tx_once_makes_a_repeated_delivery_harmless(make_crm: Any, tmp_path: Path) -> None:
    path = tmp_path / "ledger.txt"
    crm = make_crm(plugins=["ledger"], settings={"ledger": {"path": str(path), "once": True}})
    deal = crm.deals.create(title="once")
    [event] = [e for e in crm.timeline.of("deal", deal.id).items if e.type == "deal.created"]
    hook = crm.pm.hook.crm_event_committed
    hook(crm=crm, event=event)  # delivered again, e.g. after a crash before the cursor moved
    hook(crm=crm, event=event)
    assert _deliveries(path).count(event.id) == 1
    with crm.transaction() as tx:
        assert tx.once("other", event.id) is True
        assert tx.once("other", event.id) is False
    with pytest.raises(RuntimeError):
        with crm.transaction() as tx:
            assert tx.once("rolled-back", event.id)
            raise RuntimeError("the command failed")
    with crm.transaction() as tx:
        assert tx.once("rolled-back", event.id) is True  # the failed transaction recorded nothing
