"""``[settings.events] delivery``: when after-commit delivery runs, and never inside SQLite's writer slot."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from crmkit import ConfigError, Crm, Event, FrozenClock, PluginInfo, Settings, hookimpl
from crmkit.testing import auth_headers, template
from crmkit.web import create_app
from crmkit.web.endpoint import writer_limiter



class Watcher:
    """Records each delivered event with the thread it ran on and whether the writer slot was held."""

    plugin_info = PluginInfo(name="watcher", version="0.1.0")

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []
        self.delivered = threading.Event()

    @hookimpl
    def crm_event_committed(self, crm: Any, event: Event) -> None:
        if not event.type.startswith("deal."):
            return
        held = int(writer_limiter(crm).borrowed_tokens) if crm.engine.dialect.name == "sqlite" else 0
        self.seen.append((event.type, threading.current_thread().name, held))
        self.delivered.set()


@pytest.fixture
def deployment(db_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Any]:
    made: list[Crm] = []

    def make(mode: str | None) -> tuple[Crm, Watcher]:
        data: dict[str, Any] = {**template(), "database": db_url}
        if mode is not None:
            data["settings"] = {"events": {"delivery": mode}}
        watcher = Watcher()
        crm = Crm(Settings.from_dict(data, base_dir=tmp_path, environ={}), plugins=[watcher], clock=clock)
        made.append(crm)
        return crm, watcher

    yield make
    for crm in made:
        crm.close()


def _post_deal(crm: Crm) -> int:
    user = crm.users.create(email="ann@example.com", name="Ann", role="manager")
    with TestClient(create_app(crm), headers=auth_headers(crm, user.id)) as client:
        response = client.post("/api/v1/deals", json={"title": "Bay window"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_the_default_delivers_before_the_response_and_outside_the_writer_slot(deployment: Any) -> None:
    crm, watcher = deployment(None)
    assert crm.delivery.mode == "outside_writer"
    _post_deal(crm)
    # delivered by the time the response came back, and the slot was free (the next write could run)
    assert [(t, held) for t, _, held in watcher.seen] == [("deal.created", 0)]
    assert crm.dispatcher.failures() == []


def test_inline_delivery_runs_in_the_command_and_on_sqlite_inside_the_writer_slot(deployment: Any,
                                                                                   db_url: str) -> None:
    crm, watcher = deployment("inline")
    _post_deal(crm)
    held = 1 if db_url.startswith("sqlite") else 0
    assert [(t, h) for t, _, h in watcher.seen] == [("deal.created", held)]


def test_background_delivery_runs_on_the_delivery_thread(deployment: Any) -> None:
    crm, watcher = deployment("background")
    deal = crm.deals.create(title="Bay window")  # returns without waiting for plugins
    assert watcher.delivered.wait(30)
    for _ in range(300):  # the cursor moves right after the hook returns
        if not crm.dispatcher.deliver_pending().delivered:
            break
        time.sleep(0.01)
    assert [(t, name) for t, name, _ in watcher.seen] == [("deal.created", "crmkit-delivery")]
    assert crm.deals.get(deal.id).title == "Bay window"


def test_worker_mode_leaves_delivery_to_the_worker(deployment: Any) -> None:
    crm, watcher = deployment("worker")
    _post_deal(crm)
    crm.deals.create(title="Bay window, second floor")
    assert watcher.seen == []
    for _ in range(50):  # what `crmkit worker` runs, once a tick (PostgreSQL: a cursor row another
        if crm.dispatcher.deliver_pending().delivered:  # connection holds is skipped until the next tick)
            break
        time.sleep(0.1)
    assert [t for t, _, _ in watcher.seen] == ["deal.created", "deal.created"]


@pytest.mark.parametrize("table, message", [
    ({"delivery": "sometimes"}, "[settings.events] delivery must be one of"),
    ({"deliver": "inline"}, "unknown key 'deliver'"),
])
def test_a_bad_setting_stops_the_start_naming_it(db_url: str, tmp_path: Path, table: dict[str, Any],
                                                 message: str) -> None:
    settings = Settings.from_dict({**template(), "database": db_url, "settings": {"events": table}},
                                  base_dir=tmp_path, environ={})
    with pytest.raises(ConfigError) as raised:
        Crm(settings)
    assert message in str(raised.value)
