"""``/healthz`` and ``/readyz``: liveness without the database; readiness fails while the database is
gone or behind the code's schema and recovers by itself; the worker's last run is reported."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import delete, insert, select
from tcp_relay import Relay
from test_api_helpers import build_api

from crmkit import Worker
from crmkit.core.migrations.state import version_table


def ready(api: Any) -> tuple[int, dict[str, Any]]:
    api.client.app.state.readiness.cache_seconds = 0  # every probe checks afresh
    r = api.client.get("/readyz")
    if r.status_code == 503:
        assert r.headers["retry-after"] == "1"
    return r.status_code, r.json()


def test_liveness_and_readiness(make_sqlite_crm: Any) -> None:
    api = build_api(make_sqlite_crm())
    assert api.client.get("/healthz", headers={"Authorization": ""}).json() == {"status": "ok"}
    status, body = ready(api)
    assert status == 200 and body["status"] == "ready"
    assert body["checks"]["database"] == {"status": "ok"} and body["checks"]["migrations"] == {"status": "ok"}


def test_readiness_fails_while_the_schema_is_behind_and_recovers(make_crm: Any) -> None:
    crm = make_crm()
    api = build_api(crm)
    with crm.engine.begin() as conn:
        rows = list(conn.scalars(select(version_table.c.version_num)))
        conn.execute(delete(version_table))  # as a database that `crmkit db upgrade` has not reached
    status, body = ready(api)
    assert status == 503 and body["checks"]["migrations"]["status"] == "behind"
    assert any(b.startswith("crmkit ") for b in body["checks"]["migrations"]["behind"])
    with crm.engine.begin() as conn:
        conn.execute(insert(version_table), [{"version_num": r} for r in rows])
    assert ready(api)[0] == 200


def test_the_worker_is_reported_and_fails_readiness_only_when_asked(make_crm: Any, clock: Any) -> None:
    crm = make_crm()
    api = build_api(crm)
    assert ready(api)[1]["checks"]["worker"] == {"status": "never_seen"}
    assert ready(api)[0] == 200
    Worker(crm).run_once()
    clock.advance(timedelta(seconds=30))
    assert ready(api)[1]["checks"]["worker"] == {"status": "ok", "last_seen_seconds_ago": 30.0}
    clock.advance(timedelta(minutes=10))
    status, body = ready(api)
    assert status == 200 and body["checks"]["worker"]["status"] == "stale"

    strict = build_api(make_crm(settings={"monitoring": {"ready_requires_worker": True,
                                                         "worker_stale_seconds": 60}}))
    status, body = ready(strict)
    assert status == 503 and body["checks"]["worker"]["status"] == "stale"
    Worker(strict.crm).run_once()
    assert ready(strict)[0] == 200


def test_answers_are_reused_for_a_second(make_sqlite_crm: Any) -> None:
    crm = make_sqlite_crm()
    api = build_api(crm)
    readiness = api.client.app.state.readiness
    assert api.client.get("/readyz").status_code == 200
    with crm.engine.begin() as conn:
        rows = list(conn.scalars(select(version_table.c.version_num)))
        conn.execute(delete(version_table))
    assert api.client.get("/readyz").status_code == 200  # within cache_seconds: the last answer
    readiness.cache_seconds = 0
    assert api.client.get("/readyz").status_code == 503
    with crm.engine.begin() as conn:
        conn.execute(insert(version_table), [{"version_num": r} for r in rows])


def test_readiness_fails_while_postgresql_is_unreachable_and_recovers(make_crm: Any, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a database server that goes away is PostgreSQL's")
    parts = urlsplit(db_url)
    relay = Relay((parts.hostname or "127.0.0.1", parts.port or 5432))
    relay.start()
    try:
        netloc = f"{parts.username}@127.0.0.1:{relay.port}"
        crm = make_crm(database=urlunsplit(parts._replace(netloc=netloc)))
        api = build_api(crm)
        assert ready(api)[0] == 200
        relay.stop()  # the server is gone: its connections drop, new ones are refused
        status, body = ready(api)
        assert status == 503 and body["checks"]["database"]["status"] == "unavailable"
        assert api.client.get("/healthz").status_code == 200  # alive all the same
        relay.start()
        assert ready(api)[0] == 200
        assert api.post("/api/v1/deals", {"title": "after the outage"}).status_code == 201
    finally:
        relay.stop()
