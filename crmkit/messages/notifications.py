"""In-app notifications: a user's reminders and digests (the messages addressed to them) as a list in
the web UI, with an unread count in its header.

Every message with ``user_id`` is a notification of that user (task due/overdue reminders, the daily
digest, anything a plugin sends to a user). What the user has seen is one number per user in
``crm_message_state`` (``notifications_seen:<user id>``: the newest message id they marked read).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, update

from crmkit import check_id

from .records import Message
from .tables import messages, state

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm


class NotificationService:
    """``crm.messages.notifications(user_id)``: one user's notifications."""

    def __init__(self, crm: "Crm", user_id: int) -> None:
        self.crm = crm
        self.user_id = check_id(user_id, "user_id")
        self._key = f"notifications_seen:{self.user_id}"

    def seen(self) -> int:
        """The newest message id the user marked read (0: none)."""
        with self.crm.engine.connect() as conn:
            return int(conn.scalar(select(state.c.value).where(state.c.name == self._key)) or 0)

    def list(self, *, limit: int = 50) -> list[Message]:
        """The newest ``limit`` notifications (at most 200), newest first."""
        m = messages.c
        with self.crm.engine.connect() as conn:
            rows = conn.execute(select(messages).where(m.user_id == self.user_id)
                                .order_by(m.id.desc()).limit(max(1, min(int(limit), 200)))).all()
        return [Message.from_row(r) for r in rows]

    def unread(self) -> int:
        """How many notifications came after the last one marked read."""
        m = messages.c
        with self.crm.engine.connect() as conn:
            seen = int(conn.scalar(select(state.c.value).where(state.c.name == self._key)) or 0)
            return int(conn.scalar(select(func.count()).select_from(messages).where(
                m.user_id == self.user_id, m.id > seen)) or 0)

    def mark_read(self) -> int:
        """Mark every notification so far read; returns the newest id marked."""
        m = messages.c
        with self.crm.transaction(self.user_id) as tx:
            newest = int(tx.conn.scalar(select(func.coalesce(func.max(m.id), 0)).where(
                m.user_id == self.user_id)) or 0)
            if not tx.conn.execute(update(state).where(state.c.name == self._key).values(value=str(newest))).rowcount:
                tx.conn.execute(insert(state).values(name=self._key, value=str(newest)))
        return newest
