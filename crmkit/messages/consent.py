"""Consent and the sending policy: opt-in/opt-out per contact and address kind, signed one-click
unsubscribe links (RFC 8058), quiet hours, frequency caps.

* An opt-out stops every **marketing** message of that kind (campaigns, greetings); transactional
  messages (a payment reminder, a reply) still go. No row: the contact was never asked -- marketing
  may go, unless ``[settings.messages] marketing_requires_opt_in`` ... is not offered: opt-out only.
* Quiet hours (``quiet_hours = "21:00-08:00"``) hold messages to contacts until they end, in the
  contact's time zone (its custom field ``timezone`` when the deployment declares it) or else the
  deployment's (``[settings.messages] timezone``, else ``timezone``).
* A frequency cap (``marketing_cap`` per ``cap_days``) suppresses marketing messages beyond it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, func, insert, select, update

from crmkit import ValidationError, check_id

from .config import MessagesSettings, load
from .records import KINDS
from .tables import consent, messages, state

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm

SECRET_KEY = "signing_secret"
UNSUBSCRIBE_PATH = "/api/v1/messages/unsubscribe"


def signing_secret(crm: "Crm") -> bytes:
    """``[settings.messages] secret``, else one generated once and kept in the database."""
    configured = load(crm).secret
    if configured:
        return configured.encode()
    cache = crm.plugin_state("crmkit.messages")
    if "secret" in cache:
        return cache["secret"]  # type: ignore[no-any-return]
    with crm.engine.connect() as conn:
        value = conn.scalar(select(state.c.value).where(state.c.name == SECRET_KEY))
    if value is None:
        with crm.transaction(None) as tx:
            value = tx.conn.scalar(select(state.c.value).where(state.c.name == SECRET_KEY))
            if value is None:
                value = secrets.token_urlsafe(32)
                tx.conn.execute(insert(state).values(name=SECRET_KEY, value=value))
    cache["secret"] = value.encode()
    return cache["secret"]  # type: ignore[no-any-return]


def unsubscribe_token(crm: "Crm", contact_id: int, kind: str) -> str:
    mac = hmac.new(signing_secret(crm), f"unsubscribe:{contact_id}:{kind}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode().rstrip("=")


def unsubscribe_links(crm: "Crm", kind: str) -> Callable[[int], str]:
    """``link(contact_id)``: the signed one-click unsubscribe URL for ``kind`` (bulk paths: the key and
    the URL's start are prepared once). The signature is URL-safe base64, ``kind`` a plain word."""
    if kind not in KINDS:
        raise ValidationError(f"kind: one of {', '.join(KINDS)}", field="kind")
    base = hmac.new(signing_secret(crm), digestmod=hashlib.sha256)
    start = f"{load(crm).public_url}{UNSUBSCRIBE_PATH}?c="

    def link(contact_id: int) -> str:
        mac = base.copy()
        mac.update(f"unsubscribe:{contact_id}:{kind}".encode())
        token = base64.urlsafe_b64encode(mac.digest()[:18]).decode().rstrip("=")
        return f"{start}{int(contact_id)}&k={kind}&s={token}"

    return link


def unsubscribe_url(crm: "Crm", contact_id: int, kind: str) -> str:
    """The signed one-click unsubscribe URL of a contact for one kind of address."""
    return unsubscribe_links(crm, kind)(contact_id)


def check_unsubscribe(crm: "Crm", contact: Any, kind: Any, signature: Any) -> tuple[int, str]:
    """The (contact id, kind) a link signs, or a :class:`ValidationError`."""
    try:
        contact_id = check_id(int(contact), "c")
    except (TypeError, ValueError):
        raise ValidationError("c: not a contact id", field="c") from None
    if kind not in KINDS:
        raise ValidationError(f"k: one of {', '.join(KINDS)}", field="k")
    expected = unsubscribe_token(crm, contact_id, kind)
    if not isinstance(signature, str) or not hmac.compare_digest(expected, signature):
        raise ValidationError("s: this unsubscribe link is not valid (it was changed or cut)", field="s")
    return contact_id, kind


def set_consent(conn: Connection, contact_id: int, kind: str, status: str, source: str, now: datetime) -> bool:
    """Record ``in`` or ``out``; True if it changed."""
    c = consent.c
    current = conn.scalar(select(c.status).where(c.contact_id == contact_id, c.kind == kind))
    if current == status:
        return False
    if current is None:
        conn.execute(insert(consent).values(contact_id=contact_id, kind=kind, status=status, source=source,
                                            updated_at=now))
    else:
        conn.execute(update(consent).where(c.contact_id == contact_id, c.kind == kind)
                     .values(status=status, source=source, updated_at=now))
    return True


def opted_out(conn: Connection, contact_id: int, kind: str) -> bool:
    c = consent.c
    return conn.scalar(select(c.status).where(c.contact_id == contact_id, c.kind == kind)) == "out"


def zone_of(crm: "Crm", custom: Any) -> ZoneInfo:
    """The contact's time zone (custom field ``timezone``), else the deployment's."""
    s = load(crm)
    for name in ((custom or {}).get("timezone") if isinstance(custom, dict) else None, s.timezone,
                 crm.settings.timezone):
        if isinstance(name, str) and name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def quiet_until(s: MessagesSettings, now: datetime, zone: ZoneInfo) -> datetime | None:
    """When quiet hours end, if ``now`` falls in them (in ``zone``); else None."""
    if s.quiet_start is None or s.quiet_end is None or s.quiet_start == s.quiet_end:
        return None
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    start, end = s.quiet_start, s.quiet_end
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(now.tzinfo)


def over_cap(conn: Connection, s: MessagesSettings, contact_id: int, kind: str, now: datetime) -> bool:
    """Whether the contact already got ``marketing_cap`` marketing messages of ``kind`` within ``cap_days``."""
    if s.marketing_cap <= 0:
        return False
    m = messages.c
    since = now - timedelta(days=s.cap_days)
    count = conn.scalar(select(func.count()).select_from(messages).where(
        m.contact_id == contact_id, m.kind == kind, m.purpose == "marketing",
        m.status.in_(("sending", "sent", "delivered")), func.coalesce(m.sent_at, m.updated_at) >= since))
    return int(count or 0) >= s.marketing_cap
