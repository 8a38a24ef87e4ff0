"""A plugin with a periodic job that records each run (and can be made slow), for worker tests."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

import crmkit
from crmkit import PeriodicJob, UTCDateTime, hookimpl

plugin_info = crmkit.PluginInfo(name="jobs", version="0.1.0")

metadata = MetaData()
runs = Table(
    "jobs_runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("job", String(100), nullable=False),
    Column("ran_at", UTCDateTime, nullable=False),
    Column("worker_pid", Integer, nullable=False),
)


def _tick(crm: Any, now: datetime) -> None:
    import os

    time.sleep(float(crm.plugin_settings("jobs").get("seconds", 0)))
    with crm.transaction(None) as tx:
        tx.conn.execute(insert(runs).values(job="tick", ran_at=now, worker_pid=os.getpid()))


def _broken(crm: Any, now: datetime) -> None:
    if crm.plugin_settings("jobs").get("broken"):
        raise RuntimeError("the broken job failed")


@hookimpl
def crm_register_tables(crm: Any) -> MetaData:
    return metadata


@hookimpl
def crm_register_periodic_jobs(crm: Any) -> list[PeriodicJob]:
    return [PeriodicJob("tick", timedelta(hours=1), _tick), PeriodicJob("broken", timedelta(hours=1), _broken)]
