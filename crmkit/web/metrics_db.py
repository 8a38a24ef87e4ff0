"""The deployment's gauges for ``/metrics``, read from the database at scrape time.

Shared by every process (the database is the truth): the event log's backlog per subscriber
(plugin), failed deliveries by subscriber and status, each periodic job's runs, lag and last
outcome, when a worker last ran a job; and this process's connection pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select

from ..core import schema
from .metrics import family

if TYPE_CHECKING:  # pragma: no cover
    from ..core.app import Crm


def deployment_lines(crm: "Crm") -> list[str]:
    """Every database-derived family (one connection, a handful of indexed queries)."""
    with crm.engine.connect() as conn:
        return [*_event_lines(crm, conn), *_job_lines(crm, conn)]


def _event_lines(crm: "Crm", conn: Connection) -> list[str]:
    e, c, f = schema.events.c, schema.event_cursors.c, schema.event_failures.c
    subscribers = list(crm.dispatcher.subscribers)
    cursors = dict(conn.execute(select(c.subscriber, c.last_event_id).where(c.subscriber.in_(subscribers))).all())
    backlog = []
    for name in sorted(subscribers):
        last = cursors.get(name)
        pending = 0 if last is None else conn.scalar(select(func.count()).select_from(schema.events)
                                                     .where(e.id > last))
        backlog.append((("subscriber",), (name,), int(pending or 0)))
    failures = conn.execute(select(f.subscriber, f.status, func.count()).group_by(f.subscriber, f.status)).all()
    totals: dict[str, int] = {}
    for subscriber, _, count in failures:
        totals[subscriber] = totals.get(subscriber, 0) + int(count)
    return [
        *family("crmkit_event_backlog", "gauge", "Committed events not yet delivered to a subscriber (plugin).", backlog),
        *family("crmkit_event_delivery_failures_total", "counter",
                "Deliveries that failed at least once, by subscriber.",
                [(("subscriber",), (s,), n) for s, n in sorted(totals.items())]),
        *family("crmkit_event_delivery_failures", "gauge",
                "Failed deliveries by subscriber and status (retrying, dead, delivered on a retry).",
                [(("subscriber", "status"), (s, st), int(n)) for s, st, n in sorted(failures)]),
    ]


def _job_lines(crm: "Crm", conn: Connection) -> list[str]:
    j = schema.jobs.c
    now = crm.clock.now()
    rows = conn.execute(select(j.name, j.runs, j.last_run_at, j.next_run_at, j.last_error).order_by(j.name)).all()
    names = ("job", "plugin")
    runs, lag, last, failing = [], [], [], []
    seen = None
    for r in rows:
        lv = (r.name, r.name.split(".", 1)[0])
        runs.append((names, lv, int(r.runs)))
        lag.append((names, lv, max(0.0, (now - r.next_run_at).total_seconds())))
        if r.last_run_at is not None:
            last.append((names, lv, r.last_run_at.timestamp()))
            seen = r.last_run_at if seen is None or r.last_run_at > seen else seen
        failing.append((names, lv, 1 if r.last_error else 0))
    worker = [((), (), seen.timestamp())] if seen is not None else []
    return [
        *family("crmkit_job_runs_total", "counter", "Runs of each periodic job (every worker).", runs),
        *family("crmkit_job_lag_seconds", "gauge", "How long a due job has waited past its time (0: not due).", lag),
        *family("crmkit_job_last_run_timestamp_seconds", "gauge", "When each job last ran (Unix time).", last),
        *family("crmkit_job_failing", "gauge", "1 when the job's last run failed.", failing),
        *family("crmkit_worker_last_seen_timestamp_seconds", "gauge",
                "When a worker last ran a job (Unix time).", worker),
    ]


def pool_lines(crm: "Crm") -> list[str]:
    """This process's database connection pool (pools that count: SQLAlchemy's QueuePool)."""
    pool: Any = crm.engine.pool
    if not all(hasattr(pool, m) for m in ("size", "checkedout", "checkedin", "overflow")):
        return []
    return [
        *family("crmkit_db_pool_size", "gauge", "Connections the pool keeps (this process).", [((), (), pool.size())]),
        *family("crmkit_db_pool_connections", "gauge", "Pool connections by state (this process).", [
            (("state",), ("checked_out",), pool.checkedout()), (("state",), ("idle",), pool.checkedin()),
            (("state",), ("overflow",), max(0, pool.overflow()))]),
    ]
