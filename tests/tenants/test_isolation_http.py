"""Tenants served by one process never see each other's data: hypothesis drives requests for
random tenants and users (creating, listing and reading contacts and deals, with tokens of the
right and of other tenants) through one :class:`TenantRouter`, and checks every answer against a
per-tenant oracle of what that tenant holds and what that user may see; then each tenant's
after-commit subscriber (delivered in the requests' own threads) must have got events of its own
log only (SQLite; PostgreSQL with schemas and a database of its own)."""

from __future__ import annotations

from pathlib import Path

import attrs
from hypothesis import HealthCheck, Phase, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from starlette.testclient import TestClient

from crmkit.tenants import Tenant, TenantRegistry, TenantRouter
from crmkit.tenants.pool import PG_POOL_SIZE

from tenants_support import Installation

TENANT_PLUGINS = ["ledger"]  # after-commit delivery in the request's own thread (the default mode)
TENANT_CONFIG = """
[settings.ledger]
path = "{folder}/ledger.txt"
"""
TENANTS = ("acme", "beta", "gamma")
USERS = ("admin", "ann", "bob")
KINDS = ("contacts", "deals")
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüßжщ中文 ", min_size=1, max_size=20).map(str.strip).filter(bool)


@attrs.define
class Oracle:
    """What each tenant holds: kind -> id -> (name, the user who made it)."""

    cards: dict[str, dict[str, dict[int, tuple[str, str]]]] = attrs.field(
        factory=lambda: {t: {k: {} for k in KINDS} for t in TENANTS})

    def visible(self, tenant: str, kind: str, user: str) -> dict[int, str]:
        """Admins see every card; a manager sees the cards they made (responsible by default)."""
        return {i: n for i, (n, owner) in self.cards[tenant][kind].items() if user == "admin" or owner == user}


class TenantRequests(RuleBasedStateMachine):
    inst: Installation
    client: TestClient
    oracle: Oracle

    def url(self, tenant: str, path: str) -> str:
        return f"{self.inst.urls[tenant]}/api/v1/{path}"

    @rule(tenant=st.sampled_from(TENANTS), user=st.sampled_from(USERS), kind=st.sampled_from(KINDS), name=names)
    def create(self, tenant: str, user: str, kind: str, name: str) -> None:
        body = {"first_name": name} if kind == "contacts" else {"title": name, "amount": "10.00"}
        r = self.client.post(self.url(tenant, kind), json=body, headers=self.inst.headers[tenant][user])
        assert r.status_code == 201, r.text
        card = r.json()
        assert card["responsible_id"] == self.inst.user_ids[tenant][user]
        assert card["id"] not in self.oracle.cards[tenant][kind]  # a new card of this tenant
        self.oracle.cards[tenant][kind][card["id"]] = (name, user)

    @rule(tenant=st.sampled_from(TENANTS), user=st.sampled_from(USERS), kind=st.sampled_from(KINDS))
    def list_cards(self, tenant: str, user: str, kind: str) -> None:
        r = self.client.get(self.url(tenant, kind), params={"limit": 500}, headers=self.inst.headers[tenant][user])
        assert r.status_code == 200, r.text
        key = "first_name" if kind == "contacts" else "title"
        assert {c["id"]: c[key] for c in r.json()["items"]} == self.oracle.visible(tenant, kind, user)

    @rule(tenant=st.sampled_from(TENANTS), user=st.sampled_from(USERS), kind=st.sampled_from(KINDS),
          ident=st.integers(min_value=1, max_value=40))
    def read_by_id(self, tenant: str, user: str, kind: str, ident: int) -> None:
        """An id read in ``tenant``: ids overlap (every tenant counts from 1), so the same id is
        another tenant's card, this tenant's, or nobody's."""
        r = self.client.get(self.url(tenant, f"{kind}/{ident}"), headers=self.inst.headers[tenant][user])
        mine = self.oracle.cards[tenant][kind].get(ident)
        if mine is not None and ident in self.oracle.visible(tenant, kind, user):
            assert r.status_code == 200, r.text
            assert r.json()["first_name" if kind == "contacts" else "title"] == mine[0]
        else:  # nobody's, or a card this user may not see: the same 404 (existence is not told)
            assert r.status_code == 404, r.text

    @rule(tenant=st.sampled_from(TENANTS), other=st.sampled_from(TENANTS), user=st.sampled_from(USERS),
          kind=st.sampled_from(KINDS))
    def foreign_token(self, tenant: str, other: str, user: str, kind: str) -> None:
        """A token is valid in its own tenant only."""
        if tenant == other:
            return
        r = self.client.get(self.url(tenant, kind), headers=self.inst.headers[other][user])
        assert r.status_code == 401, r.text
        r = self.client.post(self.url(tenant, kind), json={"first_name": "x", "title": "x"},
                             headers=self.inst.headers[other][user])
        assert r.status_code == 401, r.text

    @invariant()
    def one_crm_per_tenant(self) -> None:
        pool = self.client.app.pool  # type: ignore[attr-defined]
        crms = [pool.peek(n).crm for n in pool.names()]
        assert len({id(c) for c in crms}) == len(crms)
        assert len({id(c.pm) for c in crms}) == len(crms)  # a plugin manager each
        assert len({id(c.engine) for c in crms}) == len(crms)  # an engine (pool, caches) each
        if self.inst.kind == "postgresql":  # small pools: many tenants share one server
            assert {c.engine.pool.size() for c in crms} <= {PG_POOL_SIZE}


def test_requests_for_random_tenants_and_users_see_only_their_tenant(installation: Installation) -> None:
    router = TenantRouter(installation.registry_path)
    oracle = Oracle()
    with TestClient(router) as client:
        def machine() -> TenantRequests:
            m = TenantRequests()
            m.inst, m.client, m.oracle = installation, client, oracle
            return m

        run_state_machine_as_test(machine, settings=settings(
            max_examples=10, stateful_step_count=15, deadline=None, database=None,
            phases=[Phase.generate],  # the tenants' data outlives an example: a replay is not the same run
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
        assert sorted(router.pool.names()) == sorted(installation.names.values())

        # room for one tenant: each request closes the other tenant and starts its own again
        router.pool.max_open = 1
        for tenant in ("acme", "beta", "gamma", "acme"):
            TenantRequests.list_cards(_bound(installation, client, oracle), tenant, "admin", "contacts")
            TenantRequests.create(_bound(installation, client, oracle), tenant, "ann", "deals", f"after {tenant}")
        assert len(router.pool) == 1 and router.pool.evicted >= 3
    router.close()
    _check_deliveries(installation, oracle)


def _check_deliveries(inst: Installation, oracle: Oracle) -> None:
    """Each tenant's after-commit subscriber got events of that tenant's log only, every card's."""
    from crmkit import Crm, Settings

    for short, name in inst.names.items():
        tenant = inst.registry.get(name)
        with Crm(Settings.load(tenant.config, environ={})) as crm:
            crm.dispatcher.deliver_pending()  # PostgreSQL may leave the very last commits to the next delivery
            log = crm.timeline.all(limit=500).items
        ledger = tenant.config.parent / "ledger.txt"
        delivered = {int(line.split()[1]) for line in ledger.read_text().splitlines()}
        created = [e for e in log if e.type in ("contact.created", "deal.created")]
        assert len(created) == sum(len(oracle.cards[short][k]) for k in KINDS)
        assert {e.id for e in created} <= delivered <= {e.id for e in log}


def _bound(inst: Installation, client: TestClient, oracle: Oracle) -> TenantRequests:
    m = TenantRequests.__new__(TenantRequests)
    m.inst, m.client, m.oracle = inst, client, oracle
    return m


def test_unknown_hosts_paths_and_disabled_tenants_reach_no_tenant(tmp_path: Path) -> None:
    """Nothing of any tenant runs for them (these tenants' files do not even exist)."""
    registry = TenantRegistry(tmp_path / "tenants.toml")
    registry = registry.with_tenant(Tenant("acme", tmp_path / "acme.toml", hosts=("acme.test",), prefix="/acme"))
    registry.with_tenant(Tenant("off", tmp_path / "off.toml", hosts=("off.test",), disabled=True)).save()
    router = TenantRouter(registry.path)
    with TestClient(router) as client:
        for url, status, code in (("http://nobody.test/api/v1/contacts", 404, "unknown_tenant"),
                                  ("http://nobody.test/acmex/api/v1/contacts", 404, "unknown_tenant"),
                                  ("http://off.test/api/v1/contacts", 403, "tenant_disabled")):
            r = client.get(url)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), url
        assert len(router.pool) == 0
