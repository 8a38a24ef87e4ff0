"""Access-control devices (turnstiles, door readers) and how their requests are authenticated.

Each device has its own key ``fdk_<id>_<random>``, shown once when the device is added, with
its signing secret (``signing_secret(key)``: the hex SHA-256 of ``"fitness-sign:" + key``). A
request carries the key as a bearer token (``Authorization: Bearer fdk_...``) or is signed
with HMAC-SHA256: ``X-Fitness-Device: <id>``, ``X-Fitness-Timestamp: <unix seconds>`` and
``X-Fitness-Signature: sha256=<hex of HMAC(signing secret, "<timestamp>." + body)>``. The
database keeps the key's hash and the signing secret, never the key. A timestamp
outside ``signature_window_seconds`` of the server's clock is refused. Replays are harmless:
check-ins are idempotent by (device, event id), so a replayed request gets the first answer
and counts no second visit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Mapping

from sqlalchemy import Connection, insert, select, update

from crmkit import Crm, Tx, check_text

from .checks import new_id
from .config import NAME, config
from .tables import devices

PREFIX = "fdk_"


class DeviceAuthError(Exception):
    """The request is not from an active device (answered 401 without details beyond the message)."""


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_device(tx: Tx, name: str) -> tuple[int, str]:
    """Register a device; returns ``(id, key)``. The key is not shown again."""
    label = check_text(name, "name", max_length=200, required=True)
    device_id = new_id(tx.conn.execute(insert(devices).values(
        name=label, key_hash="", secret="", active=True, created_at=tx.now)))
    key = f"{PREFIX}{device_id}_{secrets.token_urlsafe(24)}"
    tx.conn.execute(update(devices).where(devices.c.id == device_id).values(key_hash=_hash(key), secret=signing_secret(key)))
    tx.emit(f"{NAME}.device_added", "fitness_device", device_id, data={"name": label})
    return device_id, key


def revoke_device(tx: Tx, device_id: int) -> None:
    tx.conn.execute(update(devices).where(devices.c.id == device_id).values(active=False))
    tx.emit(f"{NAME}.device_revoked", "fitness_device", device_id)


def _active(conn: Connection, device_id: int) -> tuple[str, str] | None:
    row = conn.execute(select(devices.c.key_hash, devices.c.secret).where(
        devices.c.id == device_id, devices.c.active.is_(True))).first()
    return (row.key_hash, row.secret) if row is not None else None


def authenticate(crm: Crm, headers: Mapping[str, str], body: bytes, now: datetime) -> int:
    """The id of the device that sent the request, or ``DeviceAuthError``."""
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        key = auth[7:].strip()
        device_id = _device_id(key)
        with crm.engine.connect() as conn:
            found = _active(conn, device_id)
        if found is None or not hmac.compare_digest(found[0], _hash(key)):
            raise DeviceAuthError("the device key is not valid")
        return device_id
    raw_id, stamp, signature = (headers.get(h, "") for h in
                                ("x-fitness-device", "x-fitness-timestamp", "x-fitness-signature"))
    if not (raw_id and stamp and signature):
        raise DeviceAuthError("give the device key as a bearer token, or sign the request "
                              "(X-Fitness-Device, X-Fitness-Timestamp, X-Fitness-Signature)")
    if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 10 and stamp.isascii() and stamp.isdigit()
            and len(stamp) <= 12):
        raise DeviceAuthError("X-Fitness-Device and X-Fitness-Timestamp are whole numbers")
    if abs(now.timestamp() - int(stamp)) > config(crm).signature_window_seconds:
        raise DeviceAuthError("X-Fitness-Timestamp is outside the allowed window (a replayed or late request)")
    with crm.engine.connect() as conn:
        found = _active(conn, int(raw_id))
    if found is None:
        raise DeviceAuthError("the signature is not valid")
    expected = "sha256=" + sign_with(found[1], stamp, body)
    if not hmac.compare_digest(expected, signature.strip()):
        raise DeviceAuthError("the signature is not valid")
    return int(raw_id)


def sign_with(secret: str, stamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<stamp>." + body`` with the device's signing secret."""
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signing_secret(key: str) -> str:
    """The signing secret of a device key (what a signing device uses as its HMAC key)."""
    return hashlib.sha256(b"fitness-sign:" + key.encode()).hexdigest()


def _device_id(key: str) -> int:
    if not key.startswith(PREFIX):
        raise DeviceAuthError("the device key is not valid")
    raw = key[len(PREFIX):].split("_", 1)[0]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
        raise DeviceAuthError("the device key is not valid")
    return int(raw)
