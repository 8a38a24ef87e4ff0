"""crmkit: archived cards, files on cards, calendar feeds

Revision ID: crmkit_0002
Revises: crmkit_0001
Depends on: -

``archived_at`` on leads, contacts, companies, deals and tasks (NULL: not archived, so every
existing card stays as it was); ``crm_files`` (documents on cards) and ``crm_calendar_feeds``
(each user's secret task-feed URL, hashed). Only additions: no existing row changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "crmkit_0002"
down_revision = "crmkit_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_calendar_feeds",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["crm_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("token_hash")
    )
    op.create_table(
        "crm_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["uploaded_by"], ["crm_users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("storage_key")
    )
    with op.batch_alter_table("crm_files", schema=None) as batch_op:
        batch_op.create_index("ix_crm_files_entity", ["entity_type", "entity_id", "id"], unique=False)

    with op.batch_alter_table("crm_companies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("crm_contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("crm_deals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("crm_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crm_tasks", schema=None) as batch_op:
        batch_op.drop_column("archived_at")

    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.drop_column("archived_at")

    with op.batch_alter_table("crm_deals", schema=None) as batch_op:
        batch_op.drop_column("archived_at")

    with op.batch_alter_table("crm_contacts", schema=None) as batch_op:
        batch_op.drop_column("archived_at")

    with op.batch_alter_table("crm_companies", schema=None) as batch_op:
        batch_op.drop_column("archived_at")

    with op.batch_alter_table("crm_files", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_files_entity")

    op.drop_table("crm_files")
    op.drop_table("crm_calendar_feeds")
