"""The core tables (SQLAlchemy Core, one MetaData).

Plugins keep their tables on their own MetaData (returned from
``crm_register_tables``); cross-plugin foreign keys use column objects such as
``ForeignKey(contacts.c.id)``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, Date, ForeignKey, Index, Integer, MetaData, String, Table, Text,
    UniqueConstraint,
)

from .types import UTCDateTime

metadata = MetaData()

Id = Integer  # portable autoincrement primary keys on SQLite and PostgreSQL


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _stamps() -> list[Column[object]]:
    return [
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        Column("version", Integer, nullable=False, default=1),
    ]


def _archived() -> Column[object]:
    """When the card was archived (hidden from lists by default); NULL while it is active."""
    return Column("archived_at", UTCDateTime)


def _utm() -> list[Column[str]]:
    """The advertising channel that brought a lead (copied to its deal): channel reports."""
    return [Column(f"utm_{k}", String(200)) for k in ("source", "medium", "campaign", "term", "content")]


users = Table(
    "crm_users", metadata, _id(),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(40), nullable=False, default="manager"),
    Column("team", String(100)),
    Column("active", Boolean, nullable=False, default=True),
    Column("password_hash", String(300)),  # scrypt, see crmkit.core.auth
    *_stamps(),
)

# API tokens: shown once, stored hashed (sha256 of a high-entropy secret), revocable.
api_tokens = Table(
    "crm_api_tokens", metadata, _id(),
    Column("user_id", ForeignKey(users.c.id), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

lost_reasons = Table(
    "crm_lost_reasons", metadata, _id(),
    Column("key", String(100), nullable=False, unique=True),
    Column("label", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

pipelines = Table(
    "crm_pipelines", metadata, _id(),
    Column("key", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("origin", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

stages = Table(
    "crm_stages", metadata, _id(),
    Column("pipeline_id", ForeignKey(pipelines.c.id), nullable=False),
    Column("key", String(63), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("position", Integer, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    UniqueConstraint("pipeline_id", "key"),
)

companies = Table(
    "crm_companies", metadata, _id(),
    Column("name", String(300), nullable=False),
    Column("address", Text),
    Column("responsible_id", ForeignKey(users.c.id)),
    Column("custom", JSON, nullable=False, default=dict),
    *_stamps(),
    _archived(),
)

contacts = Table(
    "crm_contacts", metadata, _id(),
    Column("first_name", String(200), nullable=False, default=""),
    Column("last_name", String(200), nullable=False, default=""),
    Column("company_id", ForeignKey(companies.c.id)),
    Column("birthday", Date),
    Column("responsible_id", ForeignKey(users.c.id)),
    Column("phones", JSON, nullable=False, default=list),
    Column("emails", JSON, nullable=False, default=list),
    Column("custom", JSON, nullable=False, default=dict),
    *_stamps(),
    _archived(),
)

# Look-up tables: a normalized phone or e-mail -> the contact (callers, repeat leads, imports).
contact_phones = Table(
    "crm_contact_phones", metadata,
    Column("contact_id", ForeignKey(contacts.c.id, ondelete="CASCADE"), primary_key=True),
    Column("phone", String(20), primary_key=True),
    Index("ix_crm_contact_phones_phone", "phone"),
)
contact_emails = Table(
    "crm_contact_emails", metadata,
    Column("contact_id", ForeignKey(contacts.c.id, ondelete="CASCADE"), primary_key=True),
    Column("email", String(254), primary_key=True),
    Index("ix_crm_contact_emails_email", "email"),
)

leads = Table(
    "crm_leads", metadata, _id(),
    Column("title", String(300), nullable=False),
    Column("name", String(300), nullable=False, default=""),
    Column("company_name", String(300), nullable=False, default=""),
    Column("phone", String(20)),
    Column("email", String(254)),
    Column("source", String(40), nullable=False, default="manual"),
    *_utm(),
    Column("status", String(20), nullable=False, default="new"),
    Column("pipeline_id", ForeignKey(pipelines.c.id)),
    Column("stage_id", ForeignKey(stages.c.id)),
    Column("customer_kind", String(20)),
    Column("responsible_id", ForeignKey(users.c.id)),
    Column("contact_id", ForeignKey(contacts.c.id)),
    Column("lost_reason_id", ForeignKey(lost_reasons.c.id)),
    Column("lost_reason_text", Text),
    Column("closed_at", UTCDateTime),
    Column("custom", JSON, nullable=False, default=dict),
    *_stamps(),
    _archived(),
    Index("ix_crm_leads_status", "status"),
)

deals = Table(
    "crm_deals", metadata, _id(),
    Column("title", String(300), nullable=False),
    Column("pipeline_id", ForeignKey(pipelines.c.id), nullable=False),
    Column("stage_id", ForeignKey(stages.c.id), nullable=False),
    Column("status", String(10), nullable=False, default="open"),
    Column("amount_minor", BigInteger),
    Column("currency", String(3)),
    Column("responsible_id", ForeignKey(users.c.id)),
    Column("contact_id", ForeignKey(contacts.c.id)),
    Column("company_id", ForeignKey(companies.c.id)),
    Column("lead_id", ForeignKey(leads.c.id)),
    Column("origin_deal_id", Integer),  # the deal this one was copied from (pipeline rules)
    Column("source", String(40), nullable=False, default="manual"),
    *_utm(),
    Column("lost_reason_id", ForeignKey(lost_reasons.c.id)),
    Column("lost_reason_text", Text),
    Column("stage_entered_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("custom", JSON, nullable=False, default=dict),
    *_stamps(),
    _archived(),
    Index("ix_crm_deals_stage", "stage_id"),
    Index("ix_crm_deals_pipeline_status", "pipeline_id", "status"),
    Index("ix_crm_deals_responsible", "responsible_id", "created_at"),
)

stage_history = Table(
    "crm_stage_history", metadata, _id(),
    Column("deal_id", ForeignKey(deals.c.id, ondelete="CASCADE"), nullable=False),
    Column("pipeline_id", ForeignKey(pipelines.c.id), nullable=False),
    Column("from_stage_id", ForeignKey(stages.c.id)),
    Column("to_stage_id", ForeignKey(stages.c.id), nullable=False),
    Column("actor_id", ForeignKey(users.c.id)),
    Column("moved_at", UTCDateTime, nullable=False),
    Index("ix_crm_stage_history_deal", "deal_id", "moved_at"),
    Index("ix_crm_stage_history_to", "to_stage_id", "moved_at"),
)

tasks = Table(
    "crm_tasks", metadata, _id(),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("assignee_id", ForeignKey(users.c.id)),
    Column("due_at", UTCDateTime),
    Column("status", String(10), nullable=False, default="open"),
    Column("entity_type", String(20)),
    Column("entity_id", Integer),
    Column("completed_at", UTCDateTime),
    Column("created_by", ForeignKey(users.c.id)),
    Column("rule", String(200)),  # set on automatic tasks: which rule made it (idempotency)
    Column("overdue_at", UTCDateTime),  # when the worker saw it overdue and emitted task.overdue
    Column("custom", JSON, nullable=False, default=dict),
    *_stamps(),
    _archived(),
    Index("ix_crm_tasks_assignee_status_due", "assignee_id", "status", "due_at"),
    Index("ix_crm_tasks_rule", "rule", "entity_type", "entity_id"),
    Index("ix_crm_tasks_entity", "entity_type", "entity_id"),
)

notes = Table(
    "crm_notes", metadata, _id(),
    Column("entity_type", String(20), nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("author_id", ForeignKey(users.c.id)),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_crm_notes_entity", "entity_type", "entity_id"),
)

# Cards shared with a user beyond what their role lets them see (record rules).
shares = Table(
    "crm_shares", metadata,
    Column("entity_type", String(20), primary_key=True),
    Column("entity_id", Integer, primary_key=True),
    Column("user_id", ForeignKey(users.c.id, ondelete="CASCADE"), primary_key=True),
    Index("ix_crm_shares_user", "user_id", "entity_type"),
)

# The event log: every command's domain events, appended in the command's transaction.
events = Table(
    "crm_events", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("type", String(80), nullable=False),
    Column("entity_type", String(40), nullable=False),
    Column("entity_id", Integer),
    Column("actor_id", Integer),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    Index("ix_crm_events_entity", "entity_type", "entity_id", "id"),
)

# After-commit delivery: one cursor per subscriber (plugin) over the event log ...
event_cursors = Table(
    "crm_event_cursors", metadata,
    Column("subscriber", String(100), primary_key=True),
    Column("last_event_id", BigInteger, nullable=False, default=0),
)
# ... and the deliveries that failed, retried with backoff until they succeed or give up.
event_failures = Table(
    "crm_event_failures", metadata, _id(),
    Column("event_id", ForeignKey(events.c.id), nullable=False),
    Column("subscriber", String(100), nullable=False),
    Column("attempts", Integer, nullable=False, default=1),
    Column("status", String(10), nullable=False, default="retrying"),
    Column("last_error", Text, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("event_id", "subscriber"),
    Index("ix_crm_event_failures_due", "status", "next_attempt_at"),
)

# The worker: periodic jobs (one row each).
jobs = Table(
    "crm_jobs", metadata,
    Column("name", String(200), primary_key=True),
    Column("next_run_at", UTCDateTime, nullable=False),
    Column("last_run_at", UTCDateTime),
    Column("last_worker", String(200)),
    Column("runs", Integer, nullable=False, default=0),
    Column("last_error", Text),
)
# SQLite's leases (crmkit.core.leases): the single worker, each subscriber's delivery.
leases = Table(
    "crm_leases", metadata,
    Column("name", String(200), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("taken_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
# Events a plugin has acted on (Tx.once): its effects happen once even when delivery repeats.
processed_events = Table(
    "crm_processed_events", metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", BigInteger, primary_key=True, autoincrement=False),
)

# Documents on cards (crmkit.core.services.files): the metadata here, the content in the file storage
# under ``storage_key`` (a random name; the original name is only metadata).
files = Table(
    "crm_files", metadata, _id(),
    Column("entity_type", String(20), nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(200), nullable=False, unique=True),
    Column("uploaded_by", ForeignKey(users.c.id)),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_crm_files_entity", "entity_type", "entity_id", "id"),
)

# Each user's task calendar feed (crmkit.core.calendar): the secret of its URL, stored hashed like a token.
calendar_feeds = Table(
    "crm_calendar_feeds", metadata,
    Column("user_id", ForeignKey(users.c.id, ondelete="CASCADE"), primary_key=True, autoincrement=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

CARD_TABLES = {"lead": leads, "contact": contacts, "company": companies, "deal": deals, "task": tasks}

# The security stamp (crmkit.core.auth.SecurityStamp): one row (id 1), bumped in the transaction of
# every change to a user's role, team, active flag, password or tokens. Each process trusts its
# cached tokens, roles and services only while the stamp they were cached under is current.
security_stamp = Table(
    "crm_security_stamp", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("stamp", BigInteger, nullable=False, default=0),
)

# The analytics jobs' tables (lifecycle, RFM, scores): on this MetaData, created and migrated with the core's.
from .reports.tables import customer_segments, scores  # noqa: E402,F401
