"""One log line per request and per job run, with the request id that the command's events carry;
no personal data (no query strings, no ids or secrets of paths, no client address) by default."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest
from sqlalchemy import select
from test_api_helpers import build_api

from crmkit import Crm, Event, Settings, Worker, current_request_id, hookimpl, schema
from crmkit.ops.config import LoggingOptions, logging_options
from crmkit.ops.logs import configure_logging
from crmkit.testing import template


class Recorder:
    """Records the request id each hook sees (in the transaction, and after commit)."""

    plugin_info = __import__("crmkit").PluginInfo(name="recorder", version="0.1.0")

    def __init__(self) -> None:
        self.in_tx: list[tuple[str, str | None, str | None]] = []
        self.committed: list[tuple[str, str | None]] = []

    @hookimpl
    def crm_on_events(self, tx: Any, events: Sequence[Event]) -> None:
        self.in_tx += [(e.type, e.request_id, current_request_id()) for e in events]

    @hookimpl
    def crm_event_committed(self, event: Event) -> None:
        self.committed.append((event.type, event.request_id))


@pytest.fixture
def recorded(db_url: str, clock: Any, tmp_path: Path) -> Iterator[tuple[Crm, Recorder]]:
    recorder = Recorder()
    settings = Settings.from_dict({**template(), "database": db_url,
                                   "settings": {"server": {"trusted_proxies": ["10.0.0.0/8"]}}},
                                  base_dir=tmp_path, environ={})
    crm = Crm(settings, plugins=[recorder], clock=clock)
    yield crm, recorder
    crm.close()


def lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "crmkit.requests"]


def test_a_request_has_one_line_and_its_events_carry_its_id(recorded: tuple[Crm, Recorder],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    crm, recorder = recorded
    api = build_api(crm)
    caplog.set_level(logging.INFO, logger="crmkit.requests")
    r = api.post("/api/v1/deals", {"title": "Jane's windows"})
    assert r.status_code == 201
    request_id = r.headers["x-request-id"]
    [line] = lines(caplog)
    assert line.request_id == request_id and line.route == "/api/v1/deals" and line.status == 201  # type: ignore[attr-defined]
    assert line.method == "POST" and line.duration_ms >= 0  # type: ignore[attr-defined]
    text = line.getMessage()
    assert request_id in text and "jane" not in text.lower() and "testclient" not in text

    deal_id = r.json()["id"]
    [created] = [e for e in crm.timeline.of("deal", deal_id) if e.type == "deal.created"]
    assert created.request_id == request_id  # stored in the event log
    assert ("deal.created", request_id, request_id) in recorder.in_tx  # in the transaction's hooks
    assert ("deal.created", request_id) in recorder.committed  # and after commit

    caplog.clear()
    r = api.get(f"/api/v1/deals/{deal_id}")
    [line] = lines(caplog)
    assert line.route == "/api/v1/deals/{id}" and r.headers["x-request-id"] != request_id  # type: ignore[attr-defined]
    caplog.clear()
    assert api.get("/api/v1/search?q=jane%40example.com").status_code == 200
    [line] = lines(caplog)
    assert line.route == "/api/v1/search" and "jane" not in line.getMessage()  # type: ignore[attr-defined]


def test_a_secret_in_a_path_is_not_logged(recorded: tuple[Crm, Recorder], caplog: pytest.LogCaptureFixture) -> None:
    api = build_api(recorded[0])
    path = api.ok(api.post("/api/v1/users/me/calendar"))["path"]
    caplog.set_level(logging.INFO, logger="crmkit.requests")
    assert api.get(path).status_code == 200
    [line] = lines(caplog)
    assert line.route == "/calendar/{secret}.ics" and path not in line.getMessage()  # type: ignore[attr-defined]


def test_a_request_id_is_taken_only_from_a_trusted_proxy(recorded: tuple[Crm, Recorder]) -> None:
    crm = recorded[0]
    api = build_api(crm)
    direct = api.get("/api/v1/deals", headers={"X-Request-ID": "from-the-client"})
    assert direct.headers["x-request-id"] != "from-the-client"
    from starlette.testclient import TestClient

    proxied = TestClient(api.client.app, client=("10.1.2.3", 4000), headers={"Authorization": f"Bearer {api.secret}"})
    assert proxied.get("/api/v1/deals", headers={"X-Request-ID": "lb-7f3a"}).headers["x-request-id"] == "lb-7f3a"
    bad = proxied.get("/api/v1/deals", headers={"X-Request-ID": "no spaces\tor tabs"}).headers["x-request-id"]
    assert bad != "no spaces\tor tabs" and len(bad) == 16


def test_probes_are_not_logged_unless_asked(make_sqlite_crm: Any, caplog: pytest.LogCaptureFixture) -> None:
    api = build_api(make_sqlite_crm())
    caplog.set_level(logging.INFO, logger="crmkit.requests")
    api.get("/readyz")
    api.get("/healthz")
    assert lines(caplog) == []
    loud = build_api(make_sqlite_crm(settings={"logging": {"probes": True, "client_addresses": True}}))
    loud.get("/healthz")
    [line] = lines(caplog)
    assert line.client == "testclient" and "client=testclient" in line.getMessage()  # type: ignore[attr-defined]


def test_a_job_run_has_one_line_and_its_events_carry_its_run_id(recorded: tuple[Crm, Recorder], clock: Any,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    from datetime import timedelta

    crm, recorder = recorded
    crm.tasks.add(title="Call back", due_at=clock.now() + timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    caplog.set_level(logging.INFO, logger="crmkit.worker")
    Worker(crm).run_once()
    [line] = [r for r in caplog.records if getattr(r, "job", None) == "core.overdue_tasks"]
    run_id = line.request_id  # type: ignore[attr-defined]
    assert run_id.startswith("job-") and "core.overdue_tasks ran in" in line.getMessage()
    with crm.engine.connect() as conn:
        payload = conn.scalar(select(schema.events.c.payload).where(schema.events.c.type == "task.overdue"))
    assert payload["request_id"] == run_id


def test_json_lines(make_sqlite_crm: Any) -> None:
    crm = make_sqlite_crm(settings={"logging": {"format": "json"}})
    stream = io.StringIO()
    handler = configure_logging(logging_options(crm.settings), stream)
    try:
        api = build_api(crm)
        r = api.get("/api/v1/search?q=secret-search")
        [record] = [json.loads(line) for line in stream.getvalue().splitlines()
                    if json.loads(line)["logger"] == "crmkit.requests"]
        assert record["request_id"] == r.headers["x-request-id"] and record["route"] == "/api/v1/search"
        assert record["status"] == 200 and record["method"] == "GET" and record["level"] == "info"
        assert "secret-search" not in stream.getvalue() and record["time"].endswith("+00:00")
    finally:
        root = logging.getLogger("crmkit")
        root.removeHandler(handler)
        root.propagate = True
        root.setLevel(logging.NOTSET)


@pytest.mark.parametrize("table, key", [({"format": "xml"}, "format"), ({"level": "loud"}, "level"),
                                        ({"requests": "yes"}, "requests"), ({"color": True}, "color")])
def test_bad_logging_settings_name_the_key(table: dict[str, Any], key: str) -> None:
    from crmkit import ConfigError

    with pytest.raises(ConfigError, match=key):
        logging_options(Settings.from_dict({"settings": {"logging": table}}, environ={}))
    assert LoggingOptions().format == "text"
