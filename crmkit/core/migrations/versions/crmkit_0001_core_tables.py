"""crmkit: the core tables

Revision ID: crmkit_0001
Revises: -
Depends on: -

The core's tables (crmkit.core.schema and the API's idempotency keys) as they
were before crmkit had migrations. A database made then holds them already: each
table is created only where it is missing, so this revision adopts such a
database (its rows untouched) as it fills an empty one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "crmkit_0001"
down_revision = None
branch_labels = ("crmkit",)
depends_on = None


def _missing(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _missing("crm_event_cursors"):
        op.create_table(
            "crm_event_cursors",
            sa.Column("subscriber", sa.String(length=100), nullable=False),
            sa.Column("last_event_id", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("subscriber")
        )
    if _missing("crm_events"):
        op.create_table(
            "crm_events",
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
            sa.Column("type", sa.String(length=80), nullable=False),
            sa.Column("entity_type", sa.String(length=40), nullable=False),
            sa.Column("entity_id", sa.Integer(), nullable=True),
            sa.Column("actor_id", sa.Integer(), nullable=True),
            sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("payload", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("id")
        )
        op.create_index("ix_crm_events_entity", "crm_events", ["entity_type", "entity_id", "id"], unique=False)
    if _missing("crm_jobs"):
        op.create_table(
            "crm_jobs",
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("last_worker", sa.String(length=200), nullable=True),
            sa.Column("runs", sa.Integer(), nullable=False),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("name")
        )
    if _missing("crm_leases"):
        op.create_table(
            "crm_leases",
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("owner", sa.String(length=200), nullable=False),
            sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("name")
        )
    if _missing("crm_lost_reasons"):
        op.create_table(
            "crm_lost_reasons",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("key", sa.String(length=100), nullable=False),
            sa.Column("label", sa.String(length=200), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("key")
        )
    if _missing("crm_pipelines"):
        op.create_table(
            "crm_pipelines",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("key", sa.String(length=63), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("origin", sa.String(length=200), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("key")
        )
    if _missing("crm_processed_events"):
        op.create_table(
            "crm_processed_events",
            sa.Column("consumer", sa.String(length=100), nullable=False),
            sa.Column("event_id", sa.BigInteger(), autoincrement=False, nullable=False),
            sa.PrimaryKeyConstraint("consumer", "event_id")
        )
    if _missing("crm_security_stamp"):
        op.create_table(
            "crm_security_stamp",
            sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("stamp", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("id")
        )
    if _missing("crm_users"):
        op.create_table(
            "crm_users",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("email", sa.String(length=254), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("role", sa.String(length=40), nullable=False),
            sa.Column("team", sa.String(length=100), nullable=True),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.Column("password_hash", sa.String(length=300), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("email")
        )
    if _missing("crm_api_tokens"):
        op.create_table(
            "crm_api_tokens",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("token_hash", sa.String(length=128), nullable=False),
            sa.Column("prefix", sa.String(length=16), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
            sa.ForeignKeyConstraint(["user_id"], ["crm_users.id"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("token_hash")
        )
    if _missing("crm_companies"):
        op.create_table(
            "crm_companies",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.String(length=300), nullable=False),
            sa.Column("address", sa.Text(), nullable=True),
            sa.Column("responsible_id", sa.Integer(), nullable=True),
            sa.Column("custom", sa.JSON(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["responsible_id"], ["crm_users.id"]),
            sa.PrimaryKeyConstraint("id")
        )
    if _missing("crm_event_failures"):
        op.create_table(
            "crm_event_failures",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.Column("subscriber", sa.String(length=100), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("status", sa.String(length=10), nullable=False),
            sa.Column("last_error", sa.Text(), nullable=False),
            sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["event_id"], ["crm_events.id"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("event_id", "subscriber")
        )
        op.create_index("ix_crm_event_failures_due", "crm_event_failures", ["status", "next_attempt_at"], unique=False)
    if _missing("crm_notes"):
        op.create_table(
            "crm_notes",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("entity_type", sa.String(length=20), nullable=False),
            sa.Column("entity_id", sa.Integer(), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.Column("author_id", sa.Integer(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["author_id"], ["crm_users.id"]),
            sa.PrimaryKeyConstraint("id")
        )
        op.create_index("ix_crm_notes_entity", "crm_notes", ["entity_type", "entity_id"], unique=False)
    if _missing("crm_shares"):
        op.create_table(
            "crm_shares",
            sa.Column("entity_type", sa.String(length=20), nullable=False),
            sa.Column("entity_id", sa.Integer(), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["user_id"], ["crm_users.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("entity_type", "entity_id", "user_id")
        )
        op.create_index("ix_crm_shares_user", "crm_shares", ["user_id", "entity_type"], unique=False)
    if _missing("crm_stages"):
        op.create_table(
            "crm_stages",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("pipeline_id", sa.Integer(), nullable=False),
            sa.Column("key", sa.String(length=63), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("kind", sa.String(length=10), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(["pipeline_id"], ["crm_pipelines.id"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("pipeline_id", "key")
        )
    if _missing("crm_tasks"):
        op.create_table(
            "crm_tasks",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("title", sa.String(length=300), nullable=False),
            sa.Column("description", sa.Text(), nullable=False),
            sa.Column("assignee_id", sa.Integer(), nullable=True),
            sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("status", sa.String(length=10), nullable=False),
            sa.Column("entity_type", sa.String(length=20), nullable=True),
            sa.Column("entity_id", sa.Integer(), nullable=True),
            sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("created_by", sa.Integer(), nullable=True),
            sa.Column("rule", sa.String(length=200), nullable=True),
            sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("custom", sa.JSON(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["assignee_id"], ["crm_users.id"]),
            sa.ForeignKeyConstraint(["created_by"], ["crm_users.id"]),
            sa.PrimaryKeyConstraint("id")
        )
        op.create_index("ix_crm_tasks_assignee_status_due", "crm_tasks", ["assignee_id", "status", "due_at"], unique=False)
        op.create_index("ix_crm_tasks_entity", "crm_tasks", ["entity_type", "entity_id"], unique=False)
        op.create_index("ix_crm_tasks_rule", "crm_tasks", ["rule", "entity_type", "entity_id"], unique=False)
    if _missing("crm_contacts"):
        op.create_table(
            "crm_contacts",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("first_name", sa.String(length=200), nullable=False),
            sa.Column("last_name", sa.String(length=200), nullable=False),
            sa.Column("company_id", sa.Integer(), nullable=True),
            sa.Column("birthday", sa.Date(), nullable=True),
            sa.Column("responsible_id", sa.Integer(), nullable=True),
            sa.Column("phones", sa.JSON(), nullable=False),
            sa.Column("emails", sa.JSON(), nullable=False),
            sa.Column("custom", sa.JSON(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["company_id"], ["crm_companies.id"]),
            sa.ForeignKeyConstraint(["responsible_id"], ["crm_users.id"]),
            sa.PrimaryKeyConstraint("id")
        )
    if _missing("crm_contact_emails"):
        op.create_table(
            "crm_contact_emails",
            sa.Column("contact_id", sa.Integer(), nullable=False),
            sa.Column("email", sa.String(length=254), nullable=False),
            sa.ForeignKeyConstraint(["contact_id"], ["crm_contacts.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("contact_id", "email")
        )
        op.create_index("ix_crm_contact_emails_email", "crm_contact_emails", ["email"], unique=False)
    if _missing("crm_contact_phones"):
        op.create_table(
            "crm_contact_phones",
            sa.Column("contact_id", sa.Integer(), nullable=False),
            sa.Column("phone", sa.String(length=20), nullable=False),
            sa.ForeignKeyConstraint(["contact_id"], ["crm_contacts.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("contact_id", "phone")
        )
        op.create_index("ix_crm_contact_phones_phone", "crm_contact_phones", ["phone"], unique=False)
    if _missing("crm_leads"):
        op.create_table(
            "crm_leads",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("title", sa.String(length=300), nullable=False),
            sa.Column("name", sa.String(length=300), nullable=False),
            sa.Column("company_name", sa.String(length=300), nullable=False),
            sa.Column("phone", sa.String(length=20), nullable=True),
            sa.Column("email", sa.String(length=254), nullable=True),
            sa.Column("source", sa.String(length=40), nullable=False),
            sa.Column("utm_source", sa.String(length=200), nullable=True),
            sa.Column("utm_medium", sa.String(length=200), nullable=True),
            sa.Column("utm_campaign", sa.String(length=200), nullable=True),
            sa.Column("utm_term", sa.String(length=200), nullable=True),
            sa.Column("utm_content", sa.String(length=200), nullable=True),
            sa.Column("status", sa.String(length=20), nullable=False),
            sa.Column("pipeline_id", sa.Integer(), nullable=True),
            sa.Column("stage_id", sa.Integer(), nullable=True),
            sa.Column("customer_kind", sa.String(length=20), nullable=True),
            sa.Column("responsible_id", sa.Integer(), nullable=True),
            sa.Column("contact_id", sa.Integer(), nullable=True),
            sa.Column("lost_reason_id", sa.Integer(), nullable=True),
            sa.Column("lost_reason_text", sa.Text(), nullable=True),
            sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("custom", sa.JSON(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["contact_id"], ["crm_contacts.id"]),
            sa.ForeignKeyConstraint(["lost_reason_id"], ["crm_lost_reasons.id"]),
            sa.ForeignKeyConstraint(["pipeline_id"], ["crm_pipelines.id"]),
            sa.ForeignKeyConstraint(["responsible_id"], ["crm_users.id"]),
            sa.ForeignKeyConstraint(["stage_id"], ["crm_stages.id"]),
            sa.PrimaryKeyConstraint("id")
        )
        op.create_index("ix_crm_leads_status", "crm_leads", ["status"], unique=False)
    if _missing("crm_deals"):
        op.create_table(
            "crm_deals",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("title", sa.String(length=300), nullable=False),
            sa.Column("pipeline_id", sa.Integer(), nullable=False),
            sa.Column("stage_id", sa.Integer(), nullable=False),
            sa.Column("status", sa.String(length=10), nullable=False),
            sa.Column("amount_minor", sa.BigInteger(), nullable=True),
            sa.Column("currency", sa.String(length=3), nullable=True),
            sa.Column("responsible_id", sa.Integer(), nullable=True),
            sa.Column("contact_id", sa.Integer(), nullable=True),
            sa.Column("company_id", sa.Integer(), nullable=True),
            sa.Column("lead_id", sa.Integer(), nullable=True),
            sa.Column("origin_deal_id", sa.Integer(), nullable=True),
            sa.Column("source", sa.String(length=40), nullable=False),
            sa.Column("utm_source", sa.String(length=200), nullable=True),
            sa.Column("utm_medium", sa.String(length=200), nullable=True),
            sa.Column("utm_campaign", sa.String(length=200), nullable=True),
            sa.Column("utm_term", sa.String(length=200), nullable=True),
            sa.Column("utm_content", sa.String(length=200), nullable=True),
            sa.Column("lost_reason_id", sa.Integer(), nullable=True),
            sa.Column("lost_reason_text", sa.Text(), nullable=True),
            sa.Column("stage_entered_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("custom", sa.JSON(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["company_id"], ["crm_companies.id"]),
            sa.ForeignKeyConstraint(["contact_id"], ["crm_contacts.id"]),
            sa.ForeignKeyConstraint(["lead_id"], ["crm_leads.id"]),
            sa.ForeignKeyConstraint(["lost_reason_id"], ["crm_lost_reasons.id"]),
            sa.ForeignKeyConstraint(["pipeline_id"], ["crm_pipelines.id"]),
            sa.ForeignKeyConstraint(["responsible_id"], ["crm_users.id"]),
            sa.ForeignKeyConstraint(["stage_id"], ["crm_stages.id"]),
            sa.PrimaryKeyConstraint("id")
        )
        op.create_index("ix_crm_deals_pipeline_status", "crm_deals", ["pipeline_id", "status"], unique=False)
        op.create_index("ix_crm_deals_responsible", "crm_deals", ["responsible_id", "created_at"], unique=False)
        op.create_index("ix_crm_deals_stage", "crm_deals", ["stage_id"], unique=False)
    if _missing("crm_stage_history"):
        op.create_table(
            "crm_stage_history",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("deal_id", sa.Integer(), nullable=False),
            sa.Column("pipeline_id", sa.Integer(), nullable=False),
            sa.Column("from_stage_id", sa.Integer(), nullable=True),
            sa.Column("to_stage_id", sa.Integer(), nullable=False),
            sa.Column("actor_id", sa.Integer(), nullable=True),
            sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["actor_id"], ["crm_users.id"]),
            sa.ForeignKeyConstraint(["deal_id"], ["crm_deals.id"], ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["from_stage_id"], ["crm_stages.id"]),
            sa.ForeignKeyConstraint(["pipeline_id"], ["crm_pipelines.id"]),
            sa.ForeignKeyConstraint(["to_stage_id"], ["crm_stages.id"]),
            sa.PrimaryKeyConstraint("id")
        )
        op.create_index("ix_crm_stage_history_deal", "crm_stage_history", ["deal_id", "moved_at"], unique=False)
        op.create_index("ix_crm_stage_history_to", "crm_stage_history", ["to_stage_id", "moved_at"], unique=False)
    if _missing("crm_idempotency_keys"):
        op.create_table(
            "crm_idempotency_keys",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("key", sa.String(length=200), nullable=False),
            sa.Column("fingerprint", sa.String(length=64), nullable=False),
            sa.Column("status", sa.Integer(), nullable=True),
            sa.Column("response", sa.Text(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["user_id"], ["crm_users.id"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("user_id", "key")
        )


def downgrade() -> None:
    op.drop_table("crm_idempotency_keys")
    op.drop_table("crm_stage_history")
    op.drop_table("crm_deals")
    op.drop_table("crm_leads")
    op.drop_table("crm_contact_phones")
    op.drop_table("crm_contact_emails")
    op.drop_table("crm_contacts")
    op.drop_table("crm_tasks")
    op.drop_table("crm_stages")
    op.drop_table("crm_shares")
    op.drop_table("crm_notes")
    op.drop_table("crm_event_failures")
    op.drop_table("crm_companies")
    op.drop_table("crm_api_tokens")
    op.drop_table("crm_users")
    op.drop_table("crm_security_stamp")
    op.drop_table("crm_processed_events")
    op.drop_table("crm_pipelines")
    op.drop_table("crm_lost_reasons")
    op.drop_table("crm_leases")
    op.drop_table("crm_jobs")
    op.drop_table("crm_events")
    op.drop_table("crm_event_cursors")
