"""crmkit: customer segments (lifecycle, RFM) and card scores

Revision ID: crmkit_0005
Revises: crmkit_0004_messages
Depends on: -

``crm_customer_segments`` (per contact or company: lifecycle stage, RFM scores and segment) and
``crm_scores`` (per card and model: the latest score), both written by the worker's jobs
(crmkit.core.reports); indexes for the reports: a lead's deals, a manager's leads, tasks by author,
contacts and companies by responsible user. Only additions:
no existing row changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "crmkit_0005"
down_revision = "crmkit_0004_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_customer_segments",
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lifecycle", sa.String(length=20), nullable=False),
        sa.Column("lifecycle_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("last_purchase_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rfm_r", sa.Integer(), nullable=True),
        sa.Column("rfm_f", sa.Integer(), nullable=True),
        sa.Column("rfm_m", sa.Integer(), nullable=True),
        sa.Column("rfm_segment", sa.String(length=30), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entity_type", "entity_id"),
    )
    with op.batch_alter_table("crm_customer_segments", schema=None) as batch_op:
        batch_op.create_index("ix_crm_customer_segments_lifecycle", ["entity_type", "lifecycle"], unique=False)
        batch_op.create_index("ix_crm_customer_segments_rfm", ["entity_type", "rfm_segment"], unique=False)
    op.create_table(
        "crm_scores",
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entity_type", "entity_id", "model"),
    )
    with op.batch_alter_table("crm_scores", schema=None) as batch_op:
        batch_op.create_index("ix_crm_scores_model", ["model", "entity_type", "score"], unique=False)
    with op.batch_alter_table("crm_deals", schema=None) as batch_op:
        batch_op.create_index("ix_crm_deals_lead", ["lead_id"], unique=False)
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.create_index("ix_crm_leads_responsible", ["responsible_id", "created_at"], unique=False)
    with op.batch_alter_table("crm_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_crm_tasks_created_by", ["created_by"], unique=False)
    with op.batch_alter_table("crm_contacts", schema=None) as batch_op:
        batch_op.create_index("ix_crm_contacts_responsible", ["responsible_id"], unique=False)
    with op.batch_alter_table("crm_companies", schema=None) as batch_op:
        batch_op.create_index("ix_crm_companies_responsible", ["responsible_id"], unique=False)


def downgrade() -> None:
    for table, index in (("crm_companies", "ix_crm_companies_responsible"), ("crm_contacts", "ix_crm_contacts_responsible"),
                         ("crm_tasks", "ix_crm_tasks_created_by")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
    with op.batch_alter_table("crm_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_leads_responsible")
    with op.batch_alter_table("crm_deals", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_deals_lead")
    with op.batch_alter_table("crm_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_scores_model")
    op.drop_table("crm_scores")
    with op.batch_alter_table("crm_customer_segments", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_customer_segments_rfm")
        batch_op.drop_index("ix_crm_customer_segments_lifecycle")
    op.drop_table("crm_customer_segments")
