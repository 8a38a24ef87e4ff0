"""``Idempotency-Key`` when things go wrong (issue 12, defect 7): a process dying after its command
committed, a claim left by a process that died before, a command outliving its claim, and the
fingerprint covering the URL path. The happy paths are in test_api_protocol.py."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest
from sqlalchemy import func, select
from test_api_helpers import Api, build_api

from crmkit import ConflictError, Crm, Event, FrozenClock, PluginInfo, Settings, hookimpl, schema
from crmkit.testing import template
from crmkit.web import idempotency


class ProcessDied(BaseException):
    """Stands for the process dying: no ``except Exception`` on the way up catches it."""


class DieAfterCommit:
    """A plugin whose after-commit hook kills the "process" once a deal was committed."""

    plugin_info = PluginInfo(name="die_after_commit", version="0.1.0")

    @hookimpl
    def crm_event_committed(self, crm: Any, event: Event) -> None:
        if event.type == "deal.created":
            raise ProcessDied(f"killed after deal {event.entity_id} committed")


class Deployment:
    """Processes of one deployment over the same database, each a ``Crm`` with an app."""

    def __init__(self, db_url: str, clock: FrozenClock, tmp_path: Path) -> None:
        self.settings = Settings.from_dict({**template(), "database": db_url}, base_dir=tmp_path, environ={})
        self.clock = clock
        self.made: list[Crm] = []

    def process(self, plugins: Sequence[Any] = ()) -> Api:
        crm = Crm(self.settings, plugins=plugins, clock=self.clock)
        self.made.append(crm)
        return build_api(crm)


@pytest.fixture
def deployment(db_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Deployment]:
    made = Deployment(db_url, clock, tmp_path)
    yield made
    for crm in made.made:
        crm.close()


def deals(api: Api) -> int:
    with api.crm.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(schema.deals)))


def post(api: Api, path: str, body: bytes, key: str) -> Any:
    return api.client.post(path, content=body, headers={"Content-Type": "application/json", "Idempotency-Key": key})


def test_a_process_dying_after_its_command_committed_leaves_the_response_for_the_retry(
        deployment: Deployment) -> None:
    body = json.dumps({"title": "Windows for the Smiths"}).encode()
    first = deployment.process(plugins=[DieAfterCommit()])
    with pytest.raises(ProcessDied):
        post(first, "/api/v1/deals", body, "order-1")
    assert deals(first) == 1  # the command committed; its answer never reached the client

    deployment.clock.advance(seconds=(idempotency.ABANDONED_AFTER + timedelta(minutes=1)).total_seconds())
    restarted = deployment.process()  # a new process, after the takeover period
    retry = post(restarted, "/api/v1/deals", body, "order-1")
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert deals(restarted) == 1  # not a second deal
    assert retry.json()["title"] == "Windows for the Smiths" and retry.headers["etag"] == '"1"'


def test_a_claim_left_by_a_dead_process_is_409_until_the_takeover_then_runs_once(deployment: Deployment) -> None:
    api = deployment.process()
    body = json.dumps({"title": "Windows"}).encode()
    fp = idempotency.fingerprint("POST", "/api/v1/deals", body)
    # the first step of a request whose process then died: the key is claimed, no command ran
    dead = idempotency.claim(api.crm, api.admin_id, "order-2", fp)
    assert isinstance(dead, idempotency.Claim)

    running = post(api, "/api/v1/deals", body, "order-2")
    api.error(running, 409, "Idempotency-Key")
    assert "still running" in running.json()["error"]["message"]
    deployment.clock.advance(seconds=idempotency.ABANDONED_AFTER.total_seconds() - 1)
    api.error(post(api, "/api/v1/deals", body, "order-2"), 409, "Idempotency-Key")
    assert deals(api) == 0

    deployment.clock.advance(seconds=2)  # past the takeover period: nothing was written, run it
    taken = post(api, "/api/v1/deals", body, "order-2")
    assert taken.status_code == 201, taken.text
    assert "idempotent-replayed" not in taken.headers
    replay = post(api, "/api/v1/deals", body, "order-2")
    assert replay.status_code == 201 and replay.json() == taken.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert deals(api) == 1


def test_a_command_outliving_its_claim_rolls_back_instead_of_writing_twice(deployment: Deployment) -> None:
    api = deployment.process()
    body = json.dumps({"title": "Slow windows"}).encode()
    slow = idempotency.claim(api.crm, api.admin_id, "order-3", idempotency.fingerprint("POST", "/api/v1/deals", body))
    assert isinstance(slow, idempotency.Claim)
    deployment.clock.advance(seconds=(idempotency.ABANDONED_AFTER + timedelta(seconds=1)).total_seconds())
    assert post(api, "/api/v1/deals", body, "order-3").status_code == 201  # took the key over

    with pytest.raises(ConflictError, match="took it over"):  # the slow one finishes at last
        with api.crm.transaction(api.admin_id) as tx:
            api.crm.as_user(api.admin_id).deals.create(title="Slow windows")
            tx.before_commit(lambda tx: slow.store(tx, 201, b"{}"))
    assert deals(api) == 1
    replay = post(api, "/api/v1/deals", body, "order-3")
    assert replay.headers["idempotent-replayed"] == "true" and replay.json()["id"] == 1


def test_a_failed_command_leaves_no_claim_behind(deployment: Deployment) -> None:
    api = deployment.process()
    bad = json.dumps({"title": "x", "amount": "1", "currency": "XXX"}).encode()
    api.error(post(api, "/api/v1/deals", bad, "order-4"), 422, "currency")
    with api.crm.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(idempotency.idempotency_keys)) == 0
    assert deals(api) == 0


def test_the_fingerprint_covers_the_path(deployment: Deployment) -> None:
    api = deployment.process()
    one = api.crm.deals.create(title="One")
    two = api.crm.deals.create(title="Two")
    body = json.dumps({"stage": "proposal_sent"}).encode()
    api.ok(post(api, f"/api/v1/deals/{one.id}/move", body, "move-it"))
    other = post(api, f"/api/v1/deals/{two.id}/move", body, "move-it")  # the same key and body, another deal
    api.error(other, 422, "Idempotency-Key")
    assert api.crm.deals.get(two.id).stage == "collecting_data"
    assert idempotency.fingerprint("POST", "/a", b"{}") != idempotency.fingerprint("POST", "/b", b"{}")
    assert idempotency.fingerprint("POST", "/a", b"{}") != idempotency.fingerprint("PUT", "/a", b"{}")


def test_a_key_is_kept_for_a_day_then_free_for_another_request(deployment: Deployment) -> None:
    api = deployment.process()
    first = post(api, "/api/v1/deals", json.dumps({"title": "Monday"}).encode(), "weekly-order")
    assert first.status_code == 201
    deployment.clock.advance(seconds=idempotency.KEEP_FOR.total_seconds() - 1)
    api.error(post(api, "/api/v1/deals", json.dumps({"title": "Tuesday"}).encode(), "weekly-order"), 422,
              "Idempotency-Key")
    replay = post(api, "/api/v1/deals", json.dumps({"title": "Monday"}).encode(), "weekly-order")
    assert replay.headers["idempotent-replayed"] == "true" and replay.json()["id"] == first.json()["id"]
    deployment.clock.advance(seconds=2)  # a day later: the key is someone's new request
    later = post(api, "/api/v1/deals", json.dumps({"title": "Tuesday"}).encode(), "weekly-order")
    assert later.status_code == 201 and "idempotent-replayed" not in later.headers
    assert deals(api) == 2
    assert idempotency.KEEP_FOR == timedelta(hours=24) and idempotency.ABANDONED_AFTER == timedelta(minutes=5)


def test_a_claim_taken_over_while_its_first_command_still_runs_lets_only_one_of_them_store(
        deployment: Deployment) -> None:
    api = deployment.process()
    fp = idempotency.fingerprint("POST", "/api/v1/deals", b'{"title": "Twice?"}')
    slow = idempotency.claim(api.crm, api.admin_id, "order-5", fp)
    deployment.clock.advance(seconds=(idempotency.ABANDONED_AFTER + timedelta(seconds=1)).total_seconds())
    fresh = idempotency.claim(api.crm, api.admin_id, "order-5", fp)  # the retry took it over, and runs
    assert isinstance(slow, idempotency.Claim) and isinstance(fresh, idempotency.Claim)
    with pytest.raises(ConflictError, match="took it over"):
        with api.crm.transaction(api.admin_id) as tx:  # the slow first request finishes meanwhile
            api.crm.as_user(api.admin_id).deals.create(title="Twice?")
            tx.before_commit(lambda tx: slow.store(tx, 201, b'{"id": 1}'))
    with api.crm.transaction(api.admin_id) as tx:
        made = api.crm.as_user(api.admin_id).deals.create(title="Twice?")
        tx.before_commit(lambda tx: fresh.store(tx, 201, json.dumps({"id": made.id}).encode()))
    assert deals(api) == 1
    assert idempotency.claim(api.crm, api.admin_id, "order-5", fp) == idempotency.Stored(201, {"id": made.id})
