"""The worker: due jobs, idempotent passes, one worker on SQLite, no job twice on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crmkit import ConflictError
from crmkit.core.worker import Worker
from crmkit_testplugins import jobs


def runs(crm) -> int:
    with crm.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(jobs.runs))


def test_overdue_tasks_are_reported_once(crm, clock):
    user = crm.users.create(email="a@x.example", name="A")
    task = crm.tasks.add(title="Send the proposal", assignee_id=user.id, due_at=clock.now() + timedelta(days=1))
    worker = Worker(crm)
    worker.run_once()
    assert crm.timeline.all(type="task.overdue").items == []
    clock.advance(days=3)
    report = worker.run_once()
    assert "core.overdue_tasks" in report.ran
    [event] = crm.timeline.all(type="task.overdue").items
    assert event.entity_id == task.id and event.data["overdue_seconds"] == 2 * 86400
    clock.advance(minutes=5)
    worker.run_once()  # the job runs again: nothing new to report
    worker.run_once()
    assert len(crm.timeline.all(type="task.overdue")) == 1
    # rescheduled and late again: reported again
    crm.tasks.update(task.id, {"due_at": clock.now() + timedelta(hours=1)})
    clock.advance(hours=2)
    worker.run_once()
    assert len(crm.timeline.all(type="task.overdue")) == 2


def test_jobs_run_when_due_and_failures_are_recorded(make_crm, clock):
    crm = make_crm(plugins=["jobs"], settings={"jobs": {"broken": True}})
    worker = Worker(crm)
    assert {"jobs.tick", "jobs.broken", "core.overdue_tasks"} <= set(worker.jobs)
    first = worker.run_once()
    assert "jobs.tick" in first.ran and "the broken job failed" in first.failed["jobs.broken"]
    worker.run_once()
    assert runs(crm) == 1  # not due again for an hour
    clock.advance(hours=1)
    worker.run_once()
    assert runs(crm) == 2


def test_after_commit_events_are_delivered_by_the_worker(make_crm):
    from crmkit_testplugins import example

    example.DELIVERED.clear()
    crm = make_crm(plugins=["example"])
    crm.dispatcher.inline = False
    crm.deals.create(title="A")
    assert Worker(crm).run_once().delivered >= 1
    assert Worker(crm).run_once().delivered == 0
    assert [t for t, _ in example.DELIVERED] == ["deal.created"]
    example.DELIVERED.clear()


def test_sqlite_allows_one_worker(make_crm, db_url, clock):
    if not db_url.startswith("sqlite"):
        pytest.skip("the single-worker lease is SQLite's")
    crm = make_crm()
    first = Worker(crm, name="worker-a")
    first._take_lease()
    with pytest.raises(ConflictError, match="another worker \\(worker-a, started .*\\) is running; on SQLite only one"):
        Worker(crm, name="worker-b").run_once()
    clock.advance(minutes=6)  # a crashed worker's lease expires
    Worker(crm, name="worker-b").run_once()


def test_two_worker_processes_on_postgresql_do_each_job_once(make_crm, db_url, clock):
    if not db_url.startswith("postgresql"):
        pytest.skip("several workers need PostgreSQL")
    crm = make_crm(plugins=["jobs"])
    Worker(crm)._ensure_rows()
    script = textwrap.dedent(f"""
        from datetime import datetime
        from crmkit import Crm, FrozenClock, Settings
        from crmkit.core.worker import Worker
        from tests.conftest import _template
        data = {{**_template(), "database": {db_url!r}, "plugins": ["jobs"], "settings": {{"jobs": {{"seconds": 1}}}}}}
        crm = Crm(Settings.from_dict(data, environ={{}}), clock=FrozenClock(datetime.fromisoformat({clock.now().isoformat()!r})))
        print(Worker(crm).run_once().ran)
    """)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert runs(crm) == 1
    ran = [out for out, _ in outputs]
    assert sum("jobs.tick" in out for out in ran) == 1
