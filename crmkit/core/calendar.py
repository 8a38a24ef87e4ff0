"""Each user's tasks as an iCalendar feed at a secret, revocable URL: ``/calendar/<secret>.ics``.

``crm.as_user(id).calendar.rotate()`` makes (or replaces) the acting user's secret and returns it,
once; ``revoke()`` ends the feed. The secret is stored hashed (sha256, like API tokens); whoever
has the URL reads the feed, so it is all the authentication the feed has: rotate it if it leaks.

The feed holds the tasks assigned to the user that their record rules let them see, not archived,
with a due time: every open one, and the done or cancelled ones due in the last
:data:`CLOSED_DAYS` days, at most :data:`MAX_TASKS` (the latest due). Each is a ``VEVENT`` at its
due time (``DTSTART`` in UTC, no duration): subscribed calendars (Google, Outlook, Apple) show
events, most ignore to-dos. ``UID`` is stable per task, ``DTSTAMP``/``LAST-MODIFIED`` are the task's
last change, ``SEQUENCE`` its version; cancelled tasks have ``STATUS:CANCELLED``, done ones
``STATUS:CONFIRMED`` and a "Done: " summary.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, or_, select

from . import schema
from .access import USERS, Access
from .errors import NotFoundError, PermissionDeniedError
from .ical import component, escape_text, utc
from .services.base import check_id, read_connection
from .unit_of_work import transaction

if TYPE_CHECKING:  # pragma: no cover
    from .app import Crm

MAX_TASKS = 2000
CLOSED_DAYS = 90
PATH = "/calendar/{secret}.ics"
SECRET = re.compile(r"^[A-Za-z0-9_-]{32,100}$")
_PLURAL = {"lead": "leads", "contact": "contacts", "company": "companies", "deal": "deals", "task": "tasks"}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def feed_path(secret: str) -> str:
    return PATH.format(secret=secret)


class CalendarService:
    """``crm.as_user(id).calendar``: the acting user's feed URL (an admin: anyone's)."""

    def __init__(self, crm: "Crm", actor_id: int | None, access: Access | None = None) -> None:
        self.crm = crm
        self.actor_id = actor_id
        self.access = access if access is not None else Access.of(crm, actor_id)

    def _owner(self, user_id: Any) -> int:
        if user_id is None:
            if self.actor_id is None:
                raise PermissionDeniedError("the system has no calendar: name the user")
            return self.actor_id
        ident = check_id(user_id, "user_id")
        if ident != self.actor_id:
            self.access.require(USERS, "manage other users' calendar feeds")
        return ident

    def rotate(self, user_id: int | None = None) -> str:
        """A new secret for the user's feed (the acting user by default); the old URL stops working.
        Returns the secret, shown once: the feed is at :func:`feed_path` of it."""
        from .services.refs import check_user

        owner = self._owner(user_id)
        secret = secrets.token_urlsafe(32)
        with transaction(self.crm, self.actor_id) as tx:
            check_user(tx.conn, owner, "user_id")
            feeds = schema.calendar_feeds
            replaced = tx.conn.execute(delete(feeds).where(feeds.c.user_id == owner)).rowcount > 0
            tx.conn.execute(insert(feeds).values(user_id=owner, token_hash=_hash(secret), prefix=secret[:8],
                                                 created_at=tx.now))
            tx.emit("user.calendar_feed_created", "user", owner, data={"replaced": replaced, "prefix": secret[:8]})
        return secret

    def revoke(self, user_id: int | None = None) -> bool:
        """End the user's feed (its URL answers 404). False when there was none."""
        owner = self._owner(user_id)
        with transaction(self.crm, self.actor_id) as tx:
            feeds = schema.calendar_feeds
            gone = tx.conn.execute(delete(feeds).where(feeds.c.user_id == owner)).rowcount > 0
            if gone:
                tx.emit("user.calendar_feed_revoked", "user", owner)
        return gone


def feed_owner(crm: "Crm", secret: str) -> int | None:
    """The user whose feed ``secret`` opens (None: unknown or revoked)."""
    if not isinstance(secret, str) or not SECRET.match(secret):
        return None
    f = schema.calendar_feeds.c
    with read_connection(crm) as conn:
        return conn.scalar(select(f.user_id).where(f.token_hash == _hash(secret)))  # type: ignore[no-any-return]


def render_feed(crm: "Crm", secret: str, *, base_url: str | None = None) -> str:
    """The iCalendar text of the feed ``secret`` opens (:class:`NotFoundError` for an unknown,
    revoked or deactivated one). ``base_url`` (the server's) makes each event's ``URL``."""
    owner = feed_owner(crm, secret)
    if owner is None:
        raise NotFoundError("no such calendar")
    try:
        access = crm.access_for(owner)
    except PermissionDeniedError:  # deactivated: the feed is dormant
        raise NotFoundError("no such calendar") from None
    t = schema.tasks
    c = t.c
    since = crm.clock.now() - timedelta(days=CLOSED_DAYS)
    query = (select(t).where(c.assignee_id == owner, c.archived_at.is_(None), c.due_at.is_not(None),
                             or_(c.status == "open", c.due_at >= since))
             .order_by(c.due_at.desc(), c.id.desc()).limit(MAX_TASKS))
    rule = access.visible("task", t)
    if rule is not None:
        query = query.where(rule)
    u = schema.users.c
    with read_connection(crm) as conn:
        rows = conn.execute(query).all()
        name = conn.scalar(select(u.name).where(u.id == owner)) or ""
    domain = re.sub(r"[^a-z0-9]+", "-", crm.settings.name.lower()).strip("-") or "crmkit"
    events = [_event(row, domain, base_url) for row in reversed(rows)]
    title = f"{crm.settings.name}: {name}'s tasks" if name else f"{crm.settings.name}: tasks"
    return component("VCALENDAR", [
        ("VERSION", "2.0"), ("PRODID", "-//crmkit//task feed//EN"), ("CALSCALE", "GREGORIAN"),
        ("X-WR-CALNAME", escape_text(title)), ("NAME", escape_text(title)),
        ("REFRESH-INTERVAL;VALUE=DURATION", "PT15M"), ("X-PUBLISHED-TTL", "PT15M"),
    ], events)


def _event(row: Any, domain: str, base_url: str | None) -> str:
    summary = f"Done: {row.title}" if row.status == "done" else row.title
    props = [
        ("UID", f"task-{row.id}@{domain}.crmkit"), ("DTSTAMP", utc(row.updated_at)), ("DTSTART", utc(row.due_at)),
        ("CREATED", utc(row.created_at)), ("LAST-MODIFIED", utc(row.updated_at)),
        ("SEQUENCE", str(max(row.version - 1, 0))), ("SUMMARY", escape_text(summary)),
        ("STATUS", "CANCELLED" if row.status == "cancelled" else "CONFIRMED"), ("TRANSP", "TRANSPARENT"),
    ]
    about = f"{row.entity_type} {row.entity_id}" if row.entity_type else ""
    description = "\n\n".join(p for p in (row.description, f"On {about}." if about else "") if p)
    if description:
        props.append(("DESCRIPTION", escape_text(description)))
    if base_url:
        target = f"{_PLURAL[row.entity_type]}/{row.entity_id}" if row.entity_type in _PLURAL else "tasks"
        props.append(("URL;VALUE=URI", base_url.rstrip("/") + "/" + target))
    return component("VEVENT", props)
