"""The messaging tables (one ``MetaData``, registered by the core's messaging defaults).

Migrated by the core's branch (``crmkit_0003``); prefixed ``crm_`` like every core table.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from crmkit import UTCDateTime, schema

metadata = MetaData()

# The outbox: one row per message to a person, delivered by the worker (crmkit.messages.outbox).
messages = Table(
    "crm_messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("channel", String(40), nullable=False),
    Column("kind", String(20), nullable=False),  # the address kind: email, phone, telegram
    Column("purpose", String(20), nullable=False),  # transactional or marketing
    Column("contact_id", ForeignKey(schema.contacts.c.id, ondelete="SET NULL")),
    Column("user_id", ForeignKey(schema.users.c.id, ondelete="SET NULL")),
    Column("to_address", String(254), nullable=False),
    Column("subject", String(300), nullable=False, default=""),
    Column("body", Text, nullable=False),
    Column("html", Text),
    Column("headers", JSON, nullable=False, default=dict),
    Column("group_key", String(200)),
    Column("campaign_id", Integer),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("provider_id", String(200)),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),
    Index("ix_crm_messages_due", "status", "next_attempt_at"),
    Index("ix_crm_messages_contact", "contact_id", "created_at"),
    Index("ix_crm_messages_group", "group_key"),
    Index("ix_crm_messages_campaign", "campaign_id", "status"),
    Index("ix_crm_messages_user", "user_id", "id"),  # a user's notifications (migration crmkit_0006)
    Index("ix_crm_messages_provider", "channel", "provider_id"),
)

# Consent: one row per contact and address kind (email, phone, telegram); no row = not asked.
consent = Table(
    "crm_message_consent", metadata,
    Column("contact_id", ForeignKey(schema.contacts.c.id, ondelete="CASCADE"), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("status", String(10), nullable=False),  # in or out
    Column("source", String(100), nullable=False, default=""),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Message templates: one row per key and language.
templates = Table(
    "crm_message_templates", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(100), nullable=False),
    Column("language", String(10), nullable=False),
    Column("subject", String(300), nullable=False, default=""),
    Column("body", Text, nullable=False),
    Column("html", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("key", "language"),
)

# Small named values: the signing secret, the webhook cursor over the event log.
state = Table(
    "crm_message_state", metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# Reminders sent for a task (due, overdue): each at most once.
task_reminders = Table(
    "crm_task_reminders", metadata,
    Column("task_id", ForeignKey(schema.tasks.c.id, ondelete="CASCADE"), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("message_id", Integer),
    Column("created_at", UTCDateTime, nullable=False),
)

# Outbound webhooks (Standard Webhooks): subscriptions and one delivery per (subscription, event).
webhook_subscriptions = Table(
    "crm_webhook_subscriptions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2000), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("secret", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("description", String(300), nullable=False, default=""),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("disabled_reason", Text),
    Column("after_event_id", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
webhook_deliveries = Table(
    "crm_webhook_deliveries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", ForeignKey(webhook_subscriptions.c.id, ondelete="CASCADE"), nullable=False),
    Column("event_id", Integer, nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("webhook_id", String(100), nullable=False, unique=True),
    Column("status", String(20), nullable=False),  # pending, sending, delivered, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("subscription_id", "event_id"),
    Index("ix_crm_webhook_deliveries_due", "status", "next_attempt_at"),
)

# Campaigns: a segment of contacts x a template x a schedule (once, or yearly on birthdays).
campaigns = Table(
    "crm_campaigns", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("template_key", String(100), nullable=False),
    Column("channel", String(40), nullable=False),
    Column("segment", JSON, nullable=False),
    Column("schedule", String(20), nullable=False),  # once, birthday, event
    Column("trigger", String(100)),  # the event type an ``event`` campaign answers (migration crmkit_0006)
    Column("start_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # scheduled, running, done, paused
    Column("last_run_on", String(10)),
    Column("queued", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Messages that came in (e-mail, SMS replies, messengers): never taken twice (channel, external id).
inbound = Table(
    "crm_inbound_messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("external_id", String(300), nullable=False),
    Column("thread_id", Integer),
    Column("in_reply_to", String(300)),
    Column("from_address", String(254), nullable=False),
    Column("contact_id", ForeignKey(schema.contacts.c.id, ondelete="SET NULL")),
    Column("lead_id", ForeignKey(schema.leads.c.id, ondelete="SET NULL")),
    Column("subject", String(300), nullable=False, default=""),
    Column("body", Text, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("kind", "external_id"),
    Index("ix_crm_inbound_contact", "contact_id", "received_at"),
)
