"""The worker and event delivery of a many-tenant installation stay within each tenant: hypothesis
drives contacts created in random tenants (through the router) and worker rounds over every tenant
(:class:`TenantWorker`); each tenant's outbound webhook (the worker's ``core.webhooks`` job) must
have received exactly that tenant's contacts, signed with that tenant's secret, and each tenant's
after-commit subscriber (the ``ledger`` test plugin, delivery left to the worker) exactly events
of that tenant's own log (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import attrs
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from standardwebhooks.webhooks import Webhook
from starlette.testclient import TestClient

from crmkit import Crm, FrozenClock, Settings
from crmkit.tenants import Tenant, TenantPool, TenantRouter, TenantWorker

from tenants_support import Installation

TENANT_PLUGINS = ["ledger"]
TENANT_CONFIG = """
[settings.events]
delivery = "worker"

[settings.ledger]
path = "{folder}/ledger.txt"
"""
TENANTS = ("acme", "beta", "gamma")


class _Receiver(BaseHTTPRequestHandler):
    got: list[tuple[str, dict[str, str], bytes]]

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.got.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@attrs.define
class Env:
    inst: Installation
    client: TestClient
    worker: TenantWorker
    pool: TenantPool
    got: list[tuple[str, dict[str, str], bytes]]
    secrets: dict[str, str]
    clock: FrozenClock
    created: dict[str, list[str]] = attrs.field(factory=lambda: {t: [] for t in TENANTS})


@pytest.fixture(scope="module")
def env(installation: Installation) -> Iterator[Env]:
    got: list[tuple[str, dict[str, str], bytes]] = []
    handler = type("Receiver", (_Receiver,), {"got": got})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    clock = FrozenClock()  # each worker round moves it on, so the minutely jobs are due every round

    def start(tenant: Tenant) -> Crm:
        return Crm(Settings.load(tenant.config, environ={}), clock=clock)

    pool = TenantPool(make_crm=start)  # shared by the router and the worker, as in one process serving both
    registry = installation.registry
    secrets = {}
    for short, name in installation.names.items():
        entry = pool.acquire(registry.get(name))
        sub = entry.crm.messages.webhooks.create(f"{url}/{short}", ["contact.created"])
        assert sub.secret is not None
        secrets[short] = sub.secret
        pool.release(entry)
    router = TenantRouter(installation.registry_path, pool=pool)
    with TestClient(router) as client:
        yield Env(installation, client, TenantWorker(str(installation.registry_path), pool=pool), pool, got, secrets,
                  clock)
    pool.close()
    server.shutdown()
    server.server_close()


actions = st.lists(st.one_of(st.tuples(st.sampled_from(TENANTS), st.integers(0, 10**6)), st.just(None)),
                   min_size=1, max_size=12)


@settings(max_examples=6, deadline=None, database=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=actions)
def test_worker_rounds_and_deliveries_stay_in_their_tenant(env: Env, steps: list[tuple[str, int] | None]) -> None:
    # every example ends with two worker rounds: on PostgreSQL a delivery may take the events of a
    # command committed just before it a round later (crmkit/core/log_horizon.py)
    plan = [*steps, None, None]
    for i, step in enumerate(plan):
        if step is not None:
            tenant, n = step
            name = f"{tenant}-{n}"
            r = env.client.post(f"{env.inst.urls[tenant]}/api/v1/contacts", json={"first_name": name},
                                headers=env.inst.headers[tenant]["admin"])
            assert r.status_code == 201, r.text
            env.created[tenant].append(name)
            continue
        env.clock.advance(minutes=2)
        passes = env.worker.run_once()
        assert sorted(p.tenant for p in passes) == sorted(env.inst.names.values())
        assert all(p.error is None and not p.failed for p in passes), passes
        _check_webhooks(env)
        _check_ledgers(env, complete=i == len(plan) - 1)


def _check_webhooks(env: Env) -> None:
    for short in TENANTS:
        mine = [(h, b) for path, h, b in env.got if path == f"/{short}"]
        verifier = Webhook(env.secrets[short])
        names = []
        for headers, body in mine:
            payload = verifier.verify(body, headers)  # signed with this tenant's own secret
            names.append(payload["data"]["changes"]["first_name"]["after"])
        assert names == env.created[short]


def _check_ledgers(env: Env, *, complete: bool) -> None:
    registry = env.inst.registry
    for short, name in env.inst.names.items():
        tenant = registry.get(name)
        ledger = Path(tenant.config.parent / "ledger.txt")
        delivered = [int(line.split()[1]) for line in ledger.read_text().splitlines()] if ledger.exists() else []
        entry = env.pool.acquire(tenant)
        try:
            log = entry.crm.timeline.all(limit=500).items
        finally:
            env.pool.release(entry)
        ids = {e.id for e in log}
        created = {e.id for e in log if e.type == "contact.created"}
        assert set(delivered) <= ids  # nothing from another tenant's log
        assert len(created) == len(env.created[short])
        if complete:
            assert created <= set(delivered)  # every contact of this tenant delivered by the worker
