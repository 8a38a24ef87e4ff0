"""The event types the core emits, as constants (public: ``from crmkit import events``).

    from crmkit import events

    @hookimpl
    def crm_on_events(tx, events_):
        for event in events_:
            if event.type == events.DEAL_STAGE_CHANGED and event.data.get("to_kind") == "won":
                ...

Every type is ``<entity>.<what happened>``. A plugin's own events are prefixed with the
plugin's name (``installments.payment_recorded``) and declared as constants in the plugin.
:data:`CORE_TYPES` holds every type below.
"""

from __future__ import annotations

from .core.events import Event

USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_PASSWORD_CHANGED = "user.password_changed"
USER_TOKEN_CREATED = "user.token_created"
USER_TOKEN_REVOKED = "user.token_revoked"
USER_CALENDAR_FEED_CREATED = "user.calendar_feed_created"
USER_CALENDAR_FEED_REVOKED = "user.calendar_feed_revoked"

LEAD_CREATED = "lead.created"
LEAD_UPDATED = "lead.updated"
LEAD_STAGE_CHANGED = "lead.stage_changed"
LEAD_REJECTED = "lead.rejected"
LEAD_CONVERTED = "lead.converted"
LEAD_REOPENED = "lead.reopened"
LEAD_SHARED = "lead.shared"
LEAD_ARCHIVED = "lead.archived"
LEAD_RESTORED = "lead.restored"
LEAD_DELETED = "lead.deleted"

CONTACT_CREATED = "contact.created"
CONTACT_UPDATED = "contact.updated"
CONTACT_POSSIBLE_DUPLICATE = "contact.possible_duplicate"
CONTACT_SHARED = "contact.shared"
CONTACT_EXPORTED = "contact.exported"
"""A person's data was exported (``data``: ``format``; the export itself is not logged)."""
CONTACT_ERASED = "contact.erased"
"""A person was erased (``data``: ``reason``, ``rows`` changed per table)."""
CONTACT_ARCHIVED = "contact.archived"
CONTACT_RESTORED = "contact.restored"
CONTACT_DELETED = "contact.deleted"

COMPANY_CREATED = "company.created"
COMPANY_UPDATED = "company.updated"
COMPANY_SHARED = "company.shared"
COMPANY_ARCHIVED = "company.archived"
COMPANY_RESTORED = "company.restored"
COMPANY_DELETED = "company.deleted"

DEAL_CREATED = "deal.created"
DEAL_UPDATED = "deal.updated"
DEAL_STAGE_CHANGED = "deal.stage_changed"
"""``changes``: ``stage`` (and ``pipeline``, ``status`` when they change); ``data``: ``pipeline``,
``from_pipeline``, ``from_kind``/``to_kind`` (open, won, lost) and, when lost, ``reason``,
``reason_text``, ``reason_label``."""
DEAL_COPIED = "deal.copied"
DEAL_SHARED = "deal.shared"
DEAL_ARCHIVED = "deal.archived"
DEAL_RESTORED = "deal.restored"
DEAL_DELETED = "deal.deleted"

TASK_CREATED = "task.created"
TASK_UPDATED = "task.updated"
TASK_COMPLETED = "task.completed"
TASK_CANCELLED = "task.cancelled"
TASK_REASSIGNED = "task.reassigned"
TASK_REOPENED = "task.reopened"
TASK_OVERDUE = "task.overdue"
"""Emitted once per late open task by the core's periodic job ``core.overdue_tasks``."""
TASK_SHARED = "task.shared"
TASK_ARCHIVED = "task.archived"
TASK_RESTORED = "task.restored"
TASK_DELETED = "task.deleted"

NOTE_ADDED = "note.added"

FILE_ADDED = "file.added"
FILE_REMOVED = "file.removed"

# messages to and from people (crmkit.messages, docs/messages.md): on the contact's timeline
MESSAGE_QUEUED = "message.queued"
MESSAGE_SENT = "message.sent"
MESSAGE_DELIVERED = "message.delivered"
MESSAGE_FAILED = "message.failed"
MESSAGE_BOUNCED = "message.bounced"
MESSAGE_SUPPRESSED = "message.suppressed"
MESSAGE_CANCELLED = "message.cancelled"
MESSAGE_RECEIVED = "message.received"
MESSAGE_OPTED_IN = "message.opted_in"
MESSAGE_OPTED_OUT = "message.opted_out"
MESSAGE_TEMPLATE_SAVED = "message.template_saved"
WEBHOOK_CREATED = "webhook.created"
WEBHOOK_UPDATED = "webhook.updated"
WEBHOOK_DISABLED = "webhook.disabled"
CAMPAIGN_CREATED = "campaign.created"
CAMPAIGN_QUEUED = "campaign.queued"

CORE_TYPES: frozenset[str] = frozenset(
    value for name, value in list(globals().items()) if name.isupper() and isinstance(value, str)
)
"""Every event type the core emits."""

__all__ = sorted(name for name, value in list(globals().items())
                 if name.isupper() and isinstance(value, str)) + ["CORE_TYPES", "Event"]
