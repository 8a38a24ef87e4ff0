"""Password hashing: OWASP's scrypt parameters, the same work whether or not the user (or their
password) exists, and stored hashes upgraded to the current parameters at the next login.

The tests run at ``auth.TEST_COST`` (N=2**10) unless they check the default itself (the
``owasp`` fixture): the mechanism is the same at every cost, and N=2**17 takes 0.3-1 s a hash.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
from sqlalchemy import select, update

from crmkit import Crm, PermissionDeniedError, schema
from crmkit.core import auth
from crmkit.core.auth import ScryptCost


@pytest.fixture
def cheap(monkeypatch: pytest.MonkeyPatch) -> ScryptCost:
    monkeypatch.setattr(auth, "password_cost", auth.TEST_COST)
    return auth.TEST_COST


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every ``hashlib.scrypt`` call's parameters (the real function still runs)."""
    calls: list[dict[str, Any]] = []
    real = hashlib.scrypt

    def spy(password: bytes, *, salt: bytes, n: int, r: int, p: int, maxmem: int = 0, dklen: int = 64) -> bytes:
        calls.append({"n": n, "r": r, "p": p, "maxmem": maxmem, "dklen": dklen, "salt": len(salt)})
        return real(password, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=dklen)

    monkeypatch.setattr(auth.hashlib, "scrypt", spy)
    return calls


def stored_hash(crm: Crm, user_id: int) -> str | None:
    with crm.engine.connect() as conn:
        return conn.scalar(select(schema.users.c.password_hash).where(schema.users.c.id == user_id))


@pytest.fixture
def owasp(monkeypatch: pytest.MonkeyPatch) -> ScryptCost:
    """The production cost, even where a test suite lowered it."""
    monkeypatch.setattr(auth, "password_cost", auth.DEFAULT_COST)
    return auth.DEFAULT_COST


def test_new_hashes_use_owasp_parameters_and_fit_in_maxmem(owasp: ScryptCost) -> None:
    assert owasp == ScryptCost(2**17, 8, 1)
    assert auth.DEFAULT_COST.maxmem >= 128 * 8 * 2**17  # 128 MiB: hashlib refuses less
    hashed = auth.hash_password("open sesame")  # the real thing, once
    assert hashed.startswith("scrypt$131072$8$1$")
    assert auth.verify_password("open sesame", hashed) and not auth.verify_password("open sesamE", hashed)


def test_every_failed_check_does_the_same_scrypt(crm: Crm, alice: Any, cheap: ScryptCost,
                                                 scrypt_calls: list[dict[str, Any]]) -> None:
    auth.set_password(crm, alice.id, "correct horse")
    crm.users.create(email="nopass@windows.example", name="No Password")
    gone = crm.users.create(email="gone@windows.example", name="Gone")
    auth.set_password(crm, gone.id, "correct horse")
    crm.users.update(gone.id, {"active": False})
    auth.check_password(crm, "warm-up@windows.example", "x")  # the dummy hash is made once per cost
    real = {"n": cheap.n, "r": cheap.r, "p": cheap.p, "maxmem": cheap.maxmem, "dklen": 32, "salt": 16}
    for email, password in (("nobody@windows.example", "correct horse"), ("nopass@windows.example", "anything!"),
                            (alice.email, "wrong horse"), ("gone@windows.example", "correct horse"),
                            (alice.email, "correct horse")):
        scrypt_calls.clear()
        found = auth.check_password(crm, email, password)
        assert (found is not None) == (email == alice.email and password == "correct horse")
        assert scrypt_calls == [real], (email, password)
    for user_id in (alice.id, 999):
        scrypt_calls.clear()
        assert not auth.confirm_password(crm, user_id, "wrong horse")
        assert scrypt_calls == [real]


def test_a_weaker_hash_is_upgraded_after_a_successful_login(crm: Crm, alice: Any, cheap: ScryptCost) -> None:
    old = auth.hash_password("correct horse", cost=ScryptCost(2**9, 8, 1))
    with crm.engine.begin() as conn:
        conn.execute(update(schema.users).where(schema.users.c.id == alice.id).values(password_hash=old))
    events = len(crm.timeline.of("user", alice.id).items)
    assert auth.check_password(crm, alice.email, "wrong horse") is None
    assert stored_hash(crm, alice.id) == old  # a failed login changes nothing
    assert auth.check_password(crm, alice.email, "correct horse") is not None
    upgraded = stored_hash(crm, alice.id)
    assert upgraded is not None and upgraded.startswith(f"scrypt${cheap.n}$8$1$")
    assert auth.check_password(crm, alice.email, "correct horse") is not None
    assert stored_hash(crm, alice.id) == upgraded  # current: not hashed again
    assert len(crm.timeline.of("user", alice.id).items) == events  # not a password change
    stronger = auth.hash_password("correct horse", cost=ScryptCost(2**11, 8, 1))
    with crm.engine.begin() as conn:
        conn.execute(update(schema.users).where(schema.users.c.id == alice.id).values(password_hash=stronger))
    assert auth.check_password(crm, alice.email, "correct horse") is not None
    assert stored_hash(crm, alice.id) == stronger  # never downgraded


def test_an_old_default_hash_becomes_an_owasp_one(crm: Crm, alice: Any, owasp: ScryptCost) -> None:
    """What a deployment made before N=2**17 sees: its 2**14 hashes are replaced at login."""
    old = auth.hash_password("correct horse", cost=ScryptCost(2**14, 8, 1))
    with crm.engine.begin() as conn:
        conn.execute(update(schema.users).where(schema.users.c.id == alice.id).values(password_hash=old))
    assert auth.check_password(crm, alice.email, "correct horse") is not None
    assert (stored_hash(crm, alice.id) or "").startswith("scrypt$131072$8$1$")


def test_malformed_or_hostile_hashes_fail_cheaply(cheap: ScryptCost) -> None:
    good = auth.hash_password("open sesame")
    _, n, r, p, salt, digest = good.split("$")
    for bad in (None, "", "md5$x", "scrypt$x", "scrypt$1$2$3$!!$!!", f"scrypt$1000$8$1${salt}${digest}",
                f"scrypt$1073741824$8$1${salt}${digest}", f"scrypt${n}$1024$1${salt}${digest}",
                f"scrypt${n}$8$1${salt}$", f"scrypt${n}$8$1$%%%${digest}"):
        started = time.monotonic()
        assert not auth.verify_password("open sesame", bad), bad
        assert time.monotonic() - started < 5  # no 1 GiB hash for a corrupt row
    assert auth.verify_password("open sesame", good)


def test_passwords_with_any_characters(crm: Crm, alice: Any, cheap: ScryptCost) -> None:
    for password in ("pässwörd ✓✓", "\ud800 lone surrogate", "x" * auth.MAX_PASSWORD):
        auth.set_password(crm, alice.id, password)
        assert auth.check_password(crm, alice.email, password) is not None


def test_set_password_needs_the_right_to_manage_that_user(crm: Crm, alice: Any, cheap: ScryptCost) -> None:
    bob = crm.users.create(email="bob@windows.example", name="Bob")
    admin = crm.users.create(email="root@windows.example", name="Root", role="admin")
    with pytest.raises(PermissionDeniedError):
        auth.set_password(crm, bob.id, "correct horse", actor_id=alice.id)
    assert stored_hash(crm, bob.id) is None
    auth.set_password(crm, alice.id, "correct horse", actor_id=alice.id)
    auth.set_password(crm, bob.id, "correct horse", actor_id=admin.id)
    assert auth.check_password(crm, bob.email, "correct horse") is not None
    assert auth.has_password(crm, bob.id) and not auth.has_password(crm, admin.id)
