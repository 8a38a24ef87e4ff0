"""telephony: the call log

Revision ID: telephony_0001
Revises: -
Depends on: crmkit_0001

The telephony plugin's table (its call log) as they were before crmkit had migrations. A
database made then holds them already: each table is created only where it is
missing, so this revision adopts such a database (its rows untouched) as it
fills an empty one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "telephony_0001"
down_revision = None
branch_labels = ("telephony",)
depends_on = "crmkit_0001"


def _missing(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _missing("telephony_calls"):
        op.create_table(
            "telephony_calls",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("provider", sa.String(length=40), nullable=False),
            sa.Column("call_id", sa.String(length=200), nullable=False),
            sa.Column("direction", sa.String(length=10), nullable=False),
            sa.Column("status", sa.String(length=10), nullable=False),
            sa.Column("result", sa.String(length=10), nullable=True),
            sa.Column("phone", sa.String(length=20), nullable=True),
            sa.Column("from_number", sa.String(length=100), nullable=True),
            sa.Column("to_number", sa.String(length=100), nullable=True),
            sa.Column("extension", sa.String(length=100), nullable=True),
            sa.Column("user_id", sa.Integer(), nullable=True),
            sa.Column("responsible_id", sa.Integer(), nullable=True),
            sa.Column("routed_by", sa.String(length=20), nullable=True),
            sa.Column("contact_id", sa.Integer(), nullable=True),
            sa.Column("lead_id", sa.Integer(), nullable=True),
            sa.Column("deal_id", sa.Integer(), nullable=True),
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("duration", sa.Integer(), nullable=True),
            sa.Column("recording_url", sa.Text(), nullable=True),
            sa.Column("hangup_cause", sa.String(length=200), nullable=True),
            sa.Column("callback_task_id", sa.Integer(), nullable=True),
            sa.Column("callback_call_id", sa.Integer(), nullable=True),
            sa.Column("response_seconds", sa.Integer(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["callback_task_id"], ["crm_tasks.id"]),
            sa.ForeignKeyConstraint(["contact_id"], ["crm_contacts.id"]),
            sa.ForeignKeyConstraint(["deal_id"], ["crm_deals.id"]),
            sa.ForeignKeyConstraint(["lead_id"], ["crm_leads.id"]),
            sa.ForeignKeyConstraint(["responsible_id"], ["crm_users.id"]),
            sa.ForeignKeyConstraint(["user_id"], ["crm_users.id"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("provider", "call_id", name="uq_telephony_calls_provider_call")
        )
        op.create_index("ix_telephony_calls_deal", "telephony_calls", ["deal_id"], unique=False)
        op.create_index("ix_telephony_calls_phone", "telephony_calls", ["phone", "started_at"], unique=False)
        op.create_index("ix_telephony_calls_user_started", "telephony_calls", ["user_id", "started_at"], unique=False)


def downgrade() -> None:
    op.drop_table("telephony_calls")
