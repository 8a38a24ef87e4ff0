"""A change to who may do what applies to the very next request: deactivation, demotion,
revocation, a new password -- made through the API, the SDK, or another process (the CLI).

Every change bumps the deployment's security stamp in its own transaction and clears this
process's caches (tokens, services, roles) after the commit; other processes read the stamp
at every request (SQLite) or every ``check_seconds`` (PostgreSQL: 0.1 s).
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest
from sqlalchemy import delete, select
from starlette.testclient import TestClient
from test_api_helpers import Api, api, build_api  # noqa: F401  (fixture)

from crmkit import Crm, NotFoundError, Settings, schema
from crmkit.core import auth
from crmkit.web import create_app
from tests.test_cli import deployment, ok  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "password_cost", auth.TEST_COST)


def bearer(crm: Crm, user_id: int) -> dict[str, str]:
    _, secret = auth.create_token(crm, user_id, "test")
    return {"Authorization": f"Bearer {secret}"}


def wait_for_other_processes(crm: Crm) -> None:
    """How long a change made elsewhere may take to reach ``crm``: its stamp check interval."""
    time.sleep(crm.security.check_seconds)


def team_world(crm: Crm) -> tuple[Any, Any, Any]:
    """A head of team A, a manager in it, and the manager's deal (which the head sees)."""
    head = crm.users.create(email="head@windows.example", name="Hana Head", role="head", team="A")
    manager = crm.users.create(email="max@windows.example", name="Max Manager", role="manager", team="A")
    deal = crm.as_user(manager.id).deals.create(title="Windows", amount="100.00")
    return head, manager, deal


def test_deactivation_through_the_api_refuses_the_very_next_request(api: Api) -> None:
    manager = api.crm.users.create(email="max@windows.example", name="Max", role="manager")
    headers = bearer(api.crm, manager.id)
    for _ in range(2):  # the second answer comes from the caches
        api.ok(api.client.get("/api/v1/users/me", headers=headers))
    api.ok(api.patch(f"/api/v1/users/{manager.id}", {"active": False}))
    api.error(api.client.get("/api/v1/users/me", headers=headers), 401)
    api.ok(api.patch(f"/api/v1/users/{manager.id}", {"active": True}))
    api.ok(api.client.get("/api/v1/users/me", headers=headers))


def test_demotion_and_team_change_through_the_api_limit_the_very_next_request(api: Api) -> None:
    head, manager, deal = team_world(api.crm)
    headers = bearer(api.crm, head.id)
    for _ in range(2):
        api.ok(api.client.get(f"/api/v1/deals/{deal.id}", headers=headers))
    api.ok(api.patch(f"/api/v1/users/{head.id}", {"team": "B"}))
    api.error(api.client.get(f"/api/v1/deals/{deal.id}", headers=headers), 404)
    api.ok(api.patch(f"/api/v1/users/{head.id}", {"team": "A"}))
    api.ok(api.client.get(f"/api/v1/deals/{deal.id}", headers=headers))
    api.ok(api.patch(f"/api/v1/users/{head.id}", {"role": "manager"}))
    api.error(api.client.get(f"/api/v1/deals/{deal.id}", headers=headers), 404)
    assert api.ok(api.client.get("/api/v1/users/me", headers=headers))["role"] == "manager"


def test_changes_through_the_sdk_apply_to_the_very_next_request(api: Api) -> None:
    head, manager, deal = team_world(api.crm)
    headers, mine = bearer(api.crm, head.id), bearer(api.crm, manager.id)
    api.ok(api.client.get(f"/api/v1/deals/{deal.id}", headers=headers))
    api.ok(api.client.get("/api/v1/users/me", headers=mine))
    api.crm.as_user(api.admin_id).users.update(head.id, {"role": "manager"})
    api.error(api.client.get(f"/api/v1/deals/{deal.id}", headers=headers), 404)
    api.crm.users.update(manager.id, {"active": False})
    api.error(api.client.get("/api/v1/users/me", headers=mine), 401)


def test_revoked_tokens_and_new_passwords_move_the_stamp(api: Api) -> None:
    manager = api.crm.users.create(email="max@windows.example", name="Max", role="manager")
    token, secret = auth.create_token(api.crm, manager.id)
    headers = {"Authorization": f"Bearer {secret}"}
    api.ok(api.client.get("/api/v1/users/me", headers=headers))
    before = stamp(api.crm)
    auth.set_password(api.crm, manager.id, "correct horse")
    assert stamp(api.crm) == before + 1
    auth.revoke_token(api.crm, token.id, actor_id=manager.id)
    assert stamp(api.crm) == before + 2
    api.error(api.client.get("/api/v1/users/me", headers=headers), 401)
    auth.revoke_token(api.crm, token.id)  # already revoked: no change, no bump
    assert stamp(api.crm) == before + 2


def stamp(crm: Crm) -> int:
    with crm.engine.connect() as conn:
        return int(conn.scalar(select(schema.security_stamp.c.stamp)) or 0)


@pytest.fixture
def two_processes(make_crm: Any) -> Iterator[tuple[Api, Crm]]:
    """A served deployment and a second ``Crm`` on the same database (another process's view)."""
    served, other = make_crm(), make_crm()
    built = build_api(served)
    with built.client:
        yield built, other


def test_another_process_deactivating_a_user_refuses_the_next_request(two_processes: tuple[Api, Crm]) -> None:
    api, other = two_processes
    manager = api.crm.users.create(email="max@windows.example", name="Max", role="manager")
    headers = bearer(api.crm, manager.id)
    for _ in range(2):
        api.ok(api.client.get("/api/v1/users/me", headers=headers))
    other.users.update(manager.id, {"active": False})
    wait_for_other_processes(api.crm)
    api.error(api.client.get("/api/v1/users/me", headers=headers), 401)


def test_another_process_demoting_or_revoking_applies_at_the_next_stamp_read(two_processes: tuple[Api, Crm]) -> None:
    api, other = two_processes
    head, manager, deal = team_world(api.crm)
    token, secret = auth.create_token(api.crm, head.id)
    headers = {"Authorization": f"Bearer {secret}"}
    api.ok(api.client.get(f"/api/v1/deals/{deal.id}", headers=headers))
    other.users.update(head.id, {"role": "manager"})
    wait_for_other_processes(api.crm)
    api.error(api.client.get(f"/api/v1/deals/{deal.id}", headers=headers), 404)
    api.ok(api.client.get("/api/v1/users/me", headers=headers))
    auth.revoke_token(other, token.id)
    wait_for_other_processes(api.crm)
    api.error(api.client.get("/api/v1/users/me", headers=headers), 401)


def test_cli_deactivation_while_serving(deployment: str) -> None:
    with Crm.from_config(deployment) as crm:
        manager = crm.users.create(email="max@windows.example", name="Max", role="manager")
        headers = bearer(crm, manager.id)
        with TestClient(create_app(crm), headers=headers) as client:
            for _ in range(2):
                assert client.get("/api/v1/users/me").status_code == 200
            out = ok("--config", deployment, "users", "deactivate", "max@windows.example").stdout
            assert "deactivated" in out
            wait_for_other_processes(crm)
            assert client.get("/api/v1/users/me").status_code == 401
            ok("--config", deployment, "users", "activate", str(manager.id))
            wait_for_other_processes(crm)
            assert client.get("/api/v1/users/me").status_code == 200


def test_a_change_inside_an_outer_transaction_applies_after_its_commit(api: Api) -> None:
    manager = api.crm.users.create(email="max@windows.example", name="Max", role="manager")
    headers = bearer(api.crm, manager.id)
    api.ok(api.client.get("/api/v1/users/me", headers=headers))
    with api.crm.transaction() as tx:
        api.crm.users.update(manager.id, {"active": False})
        tx.emit("test.outer", "user", manager.id)
    wait_for_other_processes(api.crm)  # this process learns it from the stamp, as another one would
    api.error(api.client.get("/api/v1/users/me", headers=headers), 401)


def test_the_sdk_access_cache_follows_the_stamp(make_crm: Any) -> None:
    crm, other = make_crm(), make_crm()
    head, manager, deal = team_world(crm)
    assert crm.access_for(head.id).role is not None and crm.access_for(head.id).role.name == "head"
    crm.as_user(head.id).deals.get(deal.id)
    other.users.update(head.id, {"team": "B"})
    wait_for_other_processes(crm)
    assert crm.access_for(head.id).team == "B"
    with pytest.raises(NotFoundError, match="does not exist"):  # a card one may not see is not there
        crm.as_user(head.id).deals.get(deal.id)


def test_the_stamp_row_is_recreated_if_missing(crm: Crm, alice: Any) -> None:
    with crm.engine.begin() as conn:
        conn.execute(delete(schema.security_stamp))
    generation = crm.security.current()
    crm.users.update(alice.id, {"name": "Alice M."})
    assert stamp(crm) == 1 and crm.security.current() != generation


def test_token_cache_entries_need_the_current_generation(crm: Crm, alice: Any) -> None:
    now = [0.0]
    cache = auth.TokenCache(crm, ttl=10, monotonic=lambda: now[0])
    _, secret = auth.create_token(crm, alice.id)
    assert cache.authenticate(secret) == alice.id
    crm.security.changed()
    assert cache.get(secret) is None
    assert cache.authenticate(secret) == alice.id
    crm.users.update(alice.id, {"active": False})
    assert cache.get(secret) is None and cache.authenticate(secret) is None


def test_an_in_memory_deployment_keeps_its_one_connection() -> None:
    """``sqlite://`` lives in one connection: the stamp is read through it, never taken away."""
    with Crm(Settings.from_dict({"database": "sqlite://"}, environ={})) as crm:
        manager = crm.users.create(email="max@windows.example", name="Max", role="manager")
        assert crm.as_user(manager.id).deals.list().items == []
        with TestClient(create_app(crm), headers=bearer(crm, manager.id)) as client:
            assert client.get("/api/v1/users/me").status_code == 200
            crm.users.update(manager.id, {"active": False})
            assert client.get("/api/v1/users/me").status_code == 401
