"""The scale test: on PostgreSQL, ``crmkit serve --workers 2`` and two ``crmkit worker`` processes under a
mixed load; one worker is killed (SIGKILL) midway and started again. Afterwards every acknowledged
write is in the database, every event reached the subscribing plugin, no periodic job ran twice for
one slot, no request got a 5xx -- and ``/metrics`` (added up over both web processes) agrees."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cluster import METRICS_TOKEN, Cluster, make_deployment, run_load
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, func, select, text, update

from crmkit import schema

LOAD_SECONDS = 8.0
SLOT_EVERY = 1.5  # seconds between the job slots the test opens (the job's own period is an hour)


def test_two_web_processes_and_two_workers_lose_nothing(db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several web processes and workers: PostgreSQL")
    config, token = make_deployment(tmp_path / "crm", db_url)
    engine = create_engine(db_url)
    cluster = Cluster(config, web=2, workers=2)
    slots: list[float] = []
    stop_slots = threading.Event()

    def open_slots() -> None:  # makes the test plugin's job due again and again: both workers race for it
        while not stop_slots.wait(SLOT_EVERY):
            with engine.begin() as conn:
                conn.execute(update(schema.jobs).where(schema.jobs.c.name == "jobs.tick")
                             .values(next_run_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
            slots.append(time.monotonic())

    def restart_a_worker() -> None:
        cluster.kill_worker(0)
        time.sleep(0.5)
        cluster.start_worker(0)

    try:
        cluster.start()
        with engine.connect() as conn:
            first_event = conn.scalar(select(func.coalesce(func.max(schema.events.c.id), 0)))
        opener = threading.Thread(target=open_slots)
        opener.start()
        try:
            acked = run_load(cluster.base, token, seconds=LOAD_SECONDS, threads=4, midway=restart_a_worker)
        finally:
            stop_slots.set()
            opener.join()
        _wait_delivered(engine, timeout=60)
        metrics = _scrape_all(cluster.base, sum(acked.statuses.values()), timeout=20)
        cluster.stop()
        _check(engine, acked, first_event, config, slots, metrics, cluster.log_text())
    finally:
        cluster.stop()
        engine.dispose()


def _check(engine: Any, acked: Any, first_event: int, config: Path, slots: list[float],
           metrics: dict[Any, float], logs: str) -> None:

    # zero 5xx, no broken connections, nothing refused that should not be
    assert acked.errors == [], acked.errors[:10]
    assert not [s for s in acked.statuses if s >= 500] and acked.writes > 50, acked.statuses
    assert "Traceback" not in logs, logs[-3000:]
    assert "INFO crmkit.worker: job jobs.tick ran in" in logs  # one line per job run
    assert re.search(r"INFO crmkit\.requests: [0-9a-f]{16} POST /api/v1/deals 201 ", logs)  # and per request

    with engine.connect() as conn:
        # every acknowledged write is there, as acknowledged
        d = schema.deals.c
        stages = dict(conn.execute(select(d.id, schema.stages.c.key).join(schema.stages, schema.stages.c.id == d.stage_id)
                                   .where(d.id.in_(list(acked.deals)))).all())
        assert stages == acked.deals
        t = schema.tasks.c
        done = set(conn.scalars(select(t.id).where(t.id.in_(list(acked.completed_tasks)), t.status == "done")))
        assert done == acked.completed_tasks
        leads = set(conn.scalars(select(schema.leads.c.id).where(schema.leads.c.id.in_(list(acked.leads)))))
        assert leads == acked.leads

        # every event since the start reached the ledger plugin (at least once: a killed worker may repeat)
        events = set(conn.scalars(select(schema.events.c.id).where(schema.events.c.id > first_event)))
        ticks = [r.ran_at for r in conn.execute(text("SELECT ran_at FROM jobs_runs WHERE job = 'tick'"))]
    delivered = {int(line.split()[1]) for line in (config.parent / "ledger.txt").read_text().splitlines()}
    assert events and events <= delivered, sorted(events - delivered)[:20]

    # no job ran twice for one slot: one run per slot opened (and the first), never two at the same time
    assert len(ticks) == len(set(ticks)), sorted(ticks)
    assert 2 <= len(ticks) <= len(slots) + 1, (len(ticks), len(slots))

    # /metrics, added up over both web processes, saw every request and no 5xx
    requests = {k: v for k, v in metrics.items() if k[0] == "crmkit_http_requests_total"}
    assert _api_requests(metrics) == sum(acked.statuses.values())
    assert not [k for k in requests if dict(k[1])["status"].startswith("5")]
    assert metrics[("crmkit_event_backlog", (("subscriber", "ledger"),))] == 0


def _wait_delivered(engine: Any, *, timeout: float) -> None:
    """Until the ledger's cursor is at the end of the log (the workers catch up every second)."""
    deadline = time.monotonic() + timeout
    c = schema.event_cursors.c
    while True:
        with engine.connect() as conn:
            last = conn.scalar(select(func.max(schema.events.c.id)))
            cursor = conn.scalar(select(c.last_event_id).where(c.subscriber == "ledger"))
        if cursor == last:
            return
        assert time.monotonic() < deadline, f"delivery stuck at {cursor} of {last}"
        time.sleep(0.3)


def _api_requests(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    return sum(v for (name, labels), v in metrics.items()
               if name == "crmkit_http_requests_total" and dict(labels)["route"].startswith("/api/v1/"))


def _scrape_all(base: str, expected: int, *, timeout: float) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` once every process has written its counts (each does about once a second)."""
    deadline = time.monotonic() + timeout
    while True:
        metrics = _scrape(base)
        if _api_requests(metrics) >= expected or time.monotonic() > deadline:
            return metrics
        time.sleep(0.5)


def _scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert r.status_code == 200, r.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(r.text) for s in fam.samples}
