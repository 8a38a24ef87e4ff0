"""messages: outbox, consent, templates, webhooks, campaigns, inbound

Revision ID: crmkit_0004_messages
Revises: crmkit_0003
Depends on: -
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "crmkit_0004_messages"
down_revision = "crmkit_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("crm_campaigns",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("template_key", sa.String(length=100), nullable=False),
    sa.Column("channel", sa.String(length=40), nullable=False),
    sa.Column("segment", sa.JSON(), nullable=False),
    sa.Column("schedule", sa.String(length=20), nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("last_run_on", sa.String(length=10), nullable=True),
    sa.Column("queued", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id")
    )
    op.create_table("crm_inbound_messages",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("kind", sa.String(length=20), nullable=False),
    sa.Column("external_id", sa.String(length=300), nullable=False),
    sa.Column("thread_id", sa.Integer(), nullable=True),
    sa.Column("in_reply_to", sa.String(length=300), nullable=True),
    sa.Column("from_address", sa.String(length=254), nullable=False),
    sa.Column("contact_id", sa.Integer(), nullable=True),
    sa.Column("lead_id", sa.Integer(), nullable=True),
    sa.Column("subject", sa.String(length=300), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["contact_id"], ["crm_contacts.id"], ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["lead_id"], ["crm_leads.id"], ondelete="SET NULL"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("kind", "external_id")
    )
    with op.batch_alter_table("crm_inbound_messages", schema=None) as batch_op:
        batch_op.create_index("ix_crm_inbound_contact", ["contact_id", "received_at"], unique=False)

    op.create_table("crm_message_consent",
    sa.Column("contact_id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=20), nullable=False),
    sa.Column("status", sa.String(length=10), nullable=False),
    sa.Column("source", sa.String(length=100), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["contact_id"], ["crm_contacts.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("contact_id", "kind")
    )
    op.create_table("crm_message_state",
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("value", sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint("name")
    )
    op.create_table("crm_message_templates",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("key", sa.String(length=100), nullable=False),
    sa.Column("language", sa.String(length=10), nullable=False),
    sa.Column("subject", sa.String(length=300), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("html", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("key", "language")
    )
    op.create_table("crm_messages",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("idempotency_key", sa.String(length=200), nullable=False),
    sa.Column("channel", sa.String(length=40), nullable=False),
    sa.Column("kind", sa.String(length=20), nullable=False),
    sa.Column("purpose", sa.String(length=20), nullable=False),
    sa.Column("contact_id", sa.Integer(), nullable=True),
    sa.Column("user_id", sa.Integer(), nullable=True),
    sa.Column("to_address", sa.String(length=254), nullable=False),
    sa.Column("subject", sa.String(length=300), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("html", sa.Text(), nullable=True),
    sa.Column("headers", sa.JSON(), nullable=False),
    sa.Column("group_key", sa.String(length=200), nullable=True),
    sa.Column("campaign_id", sa.Integer(), nullable=True),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("provider_id", sa.String(length=200), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(["contact_id"], ["crm_contacts.id"], ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["user_id"], ["crm_users.id"], ondelete="SET NULL"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("idempotency_key")
    )
    with op.batch_alter_table("crm_messages", schema=None) as batch_op:
        batch_op.create_index("ix_crm_messages_campaign", ["campaign_id", "status"], unique=False)
        batch_op.create_index("ix_crm_messages_contact", ["contact_id", "created_at"], unique=False)
        batch_op.create_index("ix_crm_messages_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_crm_messages_group", ["group_key"], unique=False)
        batch_op.create_index("ix_crm_messages_provider", ["channel", "provider_id"], unique=False)

    op.create_table("crm_task_reminders",
    sa.Column("task_id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=20), nullable=False),
    sa.Column("message_id", sa.Integer(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["task_id"], ["crm_tasks.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("task_id", "kind")
    )
    op.create_table("crm_webhook_subscriptions",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("url", sa.String(length=2000), nullable=False),
    sa.Column("event_types", sa.JSON(), nullable=False),
    sa.Column("secret", sa.String(length=200), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("description", sa.String(length=300), nullable=False),
    sa.Column("consecutive_failures", sa.Integer(), nullable=False),
    sa.Column("disabled_reason", sa.Text(), nullable=True),
    sa.Column("after_event_id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id")
    )
    op.create_table("crm_webhook_deliveries",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("subscription_id", sa.Integer(), nullable=False),
    sa.Column("event_id", sa.Integer(), nullable=False),
    sa.Column("event_type", sa.String(length=80), nullable=False),
    sa.Column("webhook_id", sa.String(length=100), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_status_code", sa.Integer(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["subscription_id"], ["crm_webhook_subscriptions.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("subscription_id", "event_id"),
    sa.UniqueConstraint("webhook_id")
    )
    with op.batch_alter_table("crm_webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_crm_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crm_webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_webhook_deliveries_due")

    op.drop_table("crm_webhook_deliveries")
    op.drop_table("crm_webhook_subscriptions")
    op.drop_table("crm_task_reminders")
    with op.batch_alter_table("crm_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_messages_provider")
        batch_op.drop_index("ix_crm_messages_group")
        batch_op.drop_index("ix_crm_messages_due")
        batch_op.drop_index("ix_crm_messages_contact")
        batch_op.drop_index("ix_crm_messages_campaign")

    op.drop_table("crm_messages")
    op.drop_table("crm_message_templates")
    op.drop_table("crm_message_state")
    op.drop_table("crm_message_consent")
    with op.batch_alter_table("crm_inbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_inbound_contact")

    op.drop_table("crm_inbound_messages")
    op.drop_table("crm_campaigns")
