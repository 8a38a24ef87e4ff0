"""crmkit.core.auth: scrypt passwords and API tokens (shown once, stored hashed, revocable)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from crmkit import Crm, FrozenClock, NotFoundError, PermissionDeniedError, ValidationError, schema
from crmkit.core import auth


def test_password_hash_round_trip_and_salting() -> None:
    first, second = auth.hash_password("open sesame"), auth.hash_password("open sesame")
    assert first != second and first.startswith("scrypt$")
    assert auth.verify_password("open sesame", first) and auth.verify_password("open sesame", second)
    assert not auth.verify_password("open sesam", first)
    for broken in (None, "", "md5$x", "scrypt$1$2$3$!!$!!", "scrypt$x"):
        assert not auth.verify_password("open sesame", broken)


def test_set_and_check_password(crm: Crm, alice: Any) -> None:
    assert auth.check_password(crm, alice.email, "anything!") is None
    auth.set_password(crm, alice.id, "correct horse")
    assert auth.check_password(crm, "ALICE@windows.example", "correct horse") == crm.users.get(alice.id)
    assert auth.check_password(crm, alice.email, "wrong horse") is None
    assert auth.check_password(crm, "nobody@windows.example", "correct horse") is None
    with pytest.raises(ValidationError, match="at least"):
        auth.set_password(crm, alice.id, "short")
    with pytest.raises(NotFoundError):
        auth.set_password(crm, 999, "long enough")
    with crm.engine.connect() as conn:
        stored = conn.scalar(select(schema.users.c.password_hash).where(schema.users.c.id == alice.id))
    assert "correct horse" not in stored
    assert [e.type for e in crm.timeline.of("user", alice.id).items][-1] == "user.password_changed"
    crm.users.update(alice.id, {"active": False})
    assert auth.check_password(crm, alice.email, "correct horse") is None


def test_tokens_are_shown_once_stored_hashed_and_revocable(crm: Crm, alice: Any) -> None:
    token, secret = auth.create_token(crm, alice.id, "zapier")
    assert secret.startswith(auth.TOKEN_PREFIX) and token.prefix == secret[:12] and token.name == "zapier"
    with crm.engine.connect() as conn:
        stored = conn.execute(select(schema.api_tokens)).one()
    assert stored.token_hash == auth.token_hash(secret) and secret not in stored
    assert auth.authenticate(crm, secret) == alice.id
    assert auth.authenticate(crm, secret + "x") is None
    assert auth.authenticate(crm, "not a token") is None
    assert [t.id for t in auth.list_tokens(crm, alice.id)] == [token.id]
    revoked = auth.revoke_token(crm, token.id)
    assert revoked.revoked_at is not None and auth.revoke_token(crm, token.id) == revoked
    assert auth.authenticate(crm, secret) is None
    assert auth.list_tokens(crm, alice.id) == [] and len(auth.list_tokens(crm, alice.id, include_revoked=True)) == 1


def test_token_permissions(crm: Crm, alice: Any) -> None:
    bob = crm.users.create(email="bob@windows.example", name="Bob")
    admin = crm.users.create(email="root@windows.example", name="Root", role="admin")
    with pytest.raises(PermissionDeniedError):
        auth.create_token(crm, bob.id, actor_id=alice.id)
    token, _ = auth.create_token(crm, bob.id, actor_id=admin.id)
    with pytest.raises(NotFoundError):
        auth.revoke_token(crm, token.id, actor_id=alice.id)
    auth.revoke_token(crm, token.id, actor_id=bob.id)
    crm.users.update(bob.id, {"active": False})
    with pytest.raises(ValidationError):
        auth.create_token(crm, bob.id)
    with pytest.raises(NotFoundError):
        auth.create_token(crm, 999)


def test_last_used_is_written_at_most_once_a_minute(crm: Crm, alice: Any, clock: FrozenClock) -> None:
    token, secret = auth.create_token(crm, alice.id)
    auth.authenticate(crm, secret)
    first = auth.get_token(crm, token.id).last_used_at
    assert first == clock.now()
    clock.advance(seconds=30)
    auth.authenticate(crm, secret)
    assert auth.get_token(crm, token.id).last_used_at == first
    clock.advance(timedelta(minutes=1))
    auth.authenticate(crm, secret)
    assert auth.get_token(crm, token.id).last_used_at == clock.now()


def test_token_cache_expires_and_forgets_revoked_tokens(crm: Crm, alice: Any) -> None:
    now = [0.0]
    crm.security.check_seconds = 60.0  # not by time: the revocation below moves the stamp
    cache = auth.TokenCache(crm, ttl=10, monotonic=lambda: now[0])
    token, secret = auth.create_token(crm, alice.id)
    assert cache.get(secret) is None and cache.authenticate(secret) == alice.id and cache.get(secret) == alice.id
    now[0] = 11
    assert cache.get(secret) is None
    assert cache.authenticate(secret) == alice.id
    auth.revoke_token(crm, token.id)
    assert cache.get(secret) is None and cache.authenticate(secret) is None
    assert auth.TokenCache(crm, ttl=0).get(secret) is None
