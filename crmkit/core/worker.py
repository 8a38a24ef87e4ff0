"""The worker: periodic jobs (core and plugins') and after-commit event delivery.

``Worker(crm).run_once()`` is one pass (``crmkit worker --once``, cron, tests);
``run_forever()`` repeats it. A pass is idempotent: a job runs only when due, and
each job is written so that running it twice changes nothing the second time.

On PostgreSQL several workers may run: a due job's row is claimed with
``FOR UPDATE SKIP LOCKED`` and held while the job runs, so no job runs twice.
On SQLite one worker runs at a time, enforced by a lease (:mod:`crmkit.core.leases`);
a second one is refused with a clear message, and a worker that died (killed, no
such process any more) is taken over at once.
"""

from __future__ import annotations

import logging
import time as _time
import traceback
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

import attrs
from sqlalchemy import Connection, insert, select, update

from . import leases, schema
from .errors import ConflictError
from .jobs import PeriodicJob
from .request_context import new_request_id, request_scope
from .unit_of_work import write_connection

if TYPE_CHECKING:  # pragma: no cover
    from .app import Crm

log = logging.getLogger("crmkit.worker")
LEASE = "worker"


@attrs.define
class PassReport:
    """What one pass did."""

    ran: list[str] = attrs.field(factory=list)
    failed: dict[str, str] = attrs.field(factory=dict)
    delivered: int = 0
    delivery_failures: int = 0


class Worker:
    def __init__(self, crm: "Crm", *, name: str | None = None, lease: timedelta = timedelta(minutes=5)) -> None:
        self.crm = crm
        self.name = name or leases.owner_name()
        self.lease = lease
        self.jobs: dict[str, PeriodicJob] = {j.name: j for j in core_jobs() + list(crm.jobs)}

    @property
    def postgres(self) -> bool:
        return self.crm.engine.dialect.name == "postgresql"

    # -- one pass -------------------------------------------------------------------

    def run_once(self) -> PassReport:
        report = PassReport()
        if not self.postgres:
            self._take_lease()
        try:
            self._ensure_rows()
            for name in sorted(self.jobs):
                self._run_if_due(name, report)
            delivered = self.crm.dispatcher.deliver_pending()
            retried = self.crm.dispatcher.retry_due()
            report.delivered = delivered.delivered + retried.delivered
            report.delivery_failures = delivered.failed + retried.failed
        finally:
            if not self.postgres:
                self._release_lease()
        return report

    def run_forever(self, *, interval: float = 30.0, should_stop: Callable[[], bool] = lambda: False) -> None:
        while not should_stop():
            report = self.run_once()
            log.info("pass: ran %s, failed %s, delivered %d", report.ran, list(report.failed), report.delivered)
            _time.sleep(interval)

    def _ensure_rows(self) -> None:
        j = schema.jobs.c
        with write_connection(self.crm) as conn:
            have = set(conn.scalars(select(j.name)))
            missing = [n for n in self.jobs if n not in have]
            if missing:
                now = self.crm.clock.now()
                conn.execute(insert(schema.jobs), [{"name": n, "next_run_at": now, "runs": 0} for n in missing])

    def _run_if_due(self, name: str, report: PassReport) -> None:
        j = schema.jobs.c
        job = self.jobs[name]
        now = self.crm.clock.now()
        due = select(j.next_run_at).where(j.name == name, j.next_run_at <= now)
        if self.postgres:
            # The row lock is held while the job runs: another worker skips it.
            with self.crm.engine.begin() as conn:
                if conn.scalar(due.with_for_update(skip_locked=True)) is None:
                    return
                self._execute(conn, job, now, report)
            return
        with self.crm.engine.connect() as conn:
            if conn.scalar(due) is None:
                return
        error = self._call(job, now)  # one worker (the lease): nobody else claims it meanwhile
        with write_connection(self.crm) as conn:
            self._record(conn, job, now, error, report)

    def _execute(self, conn: Connection, job: PeriodicJob, now: datetime, report: PassReport) -> None:
        error = self._call(job, now)
        self._record(conn, job, now, error, report)

    def _call(self, job: PeriodicJob, now: datetime) -> str | None:
        run_id = f"job-{new_request_id()}"
        started = _time.perf_counter()
        with request_scope(run_id):  # the run's events carry its id (crmkit.current_request_id)
            try:
                job.run(self.crm, now)
            except Exception as exc:  # a failing job is recorded and retried next time it is due
                log.exception("job %s failed", job.name, extra={"request_id": run_id, "job": job.name})
                return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
        took = _time.perf_counter() - started
        log.info("job %s ran in %.3fs (slot %s)", job.name, took, now.isoformat(), extra={
            "request_id": run_id, "job": job.name, "duration_ms": round(took * 1000, 1), "slot": now.isoformat()})
        return None

    def _record(self, conn: Connection, job: PeriodicJob, now: datetime, error: str | None, report: PassReport) -> None:
        j = schema.jobs.c
        conn.execute(update(schema.jobs).where(j.name == job.name).values(
            next_run_at=now + job.every, last_run_at=now, last_worker=self.name, runs=j.runs + 1, last_error=error,
        ))
        if error is None:
            report.ran.append(job.name)
        else:
            report.failed[job.name] = error

    # -- the SQLite lease -----------------------------------------------------------

    def _take_lease(self) -> None:
        now = self.crm.clock.now()
        with write_connection(self.crm) as conn:
            if leases.take(conn, LEASE, self.name, now, self.lease) is not None:
                owner, started, _ = leases.holder(conn, LEASE) or ("?", now, now)
                raise ConflictError(
                    f"another worker ({owner}, started {started:%Y-%m-%d %H:%M} UTC) is running; "
                    "on SQLite only one worker may run at a time (use PostgreSQL for several)"
                )

    def _release_lease(self) -> None:
        with write_connection(self.crm) as conn:
            leases.release(conn, LEASE, self.name)


# -- the core's own jobs ----------------------------------------------------------------


def core_jobs() -> list[PeriodicJob]:
    return [PeriodicJob(name="core.overdue_tasks", every=timedelta(minutes=1), run=mark_overdue_tasks)]


def mark_overdue_tasks(crm: "Crm", now: datetime, *, batch: int = 1000) -> int:
    """Emit ``task.overdue`` once for every open task whose due time has passed."""
    t = schema.tasks.c
    total = 0
    while True:
        with crm.transaction(None) as tx:
            rows = tx.conn.execute(
                select(t.id, t.assignee_id, t.due_at, t.entity_type, t.entity_id, t.title)
                .where(t.status == "open", t.due_at < now, t.overdue_at.is_(None)).order_by(t.id).limit(batch)
            ).all()
            if not rows:
                return total
            tx.conn.execute(update(schema.tasks).where(t.id.in_([r.id for r in rows])).values(overdue_at=now))
            for r in rows:
                tx.emit("task.overdue", "task", r.id, data={
                    "assignee_id": r.assignee_id, "title": r.title, "due_at": r.due_at.isoformat(),
                    "overdue_seconds": int((now - r.due_at).total_seconds()),
                    "entity_type": r.entity_type, "entity_id": r.entity_id,
                })
            total += len(rows)
