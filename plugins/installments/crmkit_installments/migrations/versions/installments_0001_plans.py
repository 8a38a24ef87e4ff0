"""installments: plans, their items, payments and allocations

Revision ID: installments_0001
Revises: -
Depends on: crmkit_0001

The installments plugin's tables as they were before crmkit had migrations. A
database made then holds them already: each table is created only where it is
missing, so this revision adopts such a database (its rows untouched) as it
fills an empty one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "installments_0001"
down_revision = None
branch_labels = ("installments",)
depends_on = "crmkit_0001"


def _missing(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _missing("installments_plans"):
        op.create_table(
            "installments_plans",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("deal_id", sa.Integer(), nullable=False),
            sa.Column("control_deal_id", sa.Integer(), nullable=True),
            sa.Column("currency", sa.String(length=3), nullable=False),
            sa.Column("total_minor", sa.BigInteger(), nullable=False),
            sa.Column("down_payment_minor", sa.BigInteger(), nullable=False),
            sa.Column("financed_minor", sa.BigInteger(), nullable=False),
            sa.Column("paid_minor", sa.BigInteger(), nullable=False),
            sa.Column("credit_minor", sa.BigInteger(), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("created_by", sa.Integer(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["control_deal_id"], ["crm_deals.id"]),
            sa.ForeignKeyConstraint(["created_by"], ["crm_users.id"]),
            sa.ForeignKeyConstraint(["deal_id"], ["crm_deals.id"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("control_deal_id"),
            sa.UniqueConstraint("deal_id")
        )
    if _missing("installments_items"):
        op.create_table(
            "installments_items",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("plan_id", sa.Integer(), nullable=False),
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("due_date", sa.Date(), nullable=False),
            sa.Column("amount_minor", sa.BigInteger(), nullable=False),
            sa.Column("paid_minor", sa.BigInteger(), nullable=False),
            sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True),
            sa.ForeignKeyConstraint(["plan_id"], ["installments_plans.id"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("plan_id", "seq", name="uq_installments_items_plan_seq")
        )
        op.create_index("ix_installments_items_due", "installments_items", ["due_date"], unique=False)
    if _missing("installments_payments"):
        op.create_table(
            "installments_payments",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("plan_id", sa.Integer(), nullable=False),
            sa.Column("amount_minor", sa.BigInteger(), nullable=False),
            sa.Column("paid_on", sa.Date(), nullable=False),
            sa.Column("method", sa.String(length=40), nullable=False),
            sa.Column("reference", sa.String(length=120), nullable=False),
            sa.Column("recorded_by", sa.Integer(), nullable=True),
            sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("reversed_by", sa.Integer(), nullable=True),
            sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("reversal_reason", sa.String(length=300), nullable=True),
            sa.ForeignKeyConstraint(["plan_id"], ["installments_plans.id"]),
            sa.ForeignKeyConstraint(["recorded_by"], ["crm_users.id"]),
            sa.ForeignKeyConstraint(["reversed_by"], ["crm_users.id"]),
            sa.PrimaryKeyConstraint("id")
        )
        op.create_index(op.f("ix_installments_payments_plan_id"), "installments_payments", ["plan_id"], unique=False)
    if _missing("installments_allocations"):
        op.create_table(
            "installments_allocations",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("plan_id", sa.Integer(), nullable=False),
            sa.Column("payment_id", sa.Integer(), nullable=False),
            sa.Column("item_id", sa.Integer(), nullable=False),
            sa.Column("amount_minor", sa.BigInteger(), nullable=False),
            sa.ForeignKeyConstraint(["item_id"], ["installments_items.id"]),
            sa.ForeignKeyConstraint(["payment_id"], ["installments_payments.id"]),
            sa.ForeignKeyConstraint(["plan_id"], ["installments_plans.id"]),
            sa.PrimaryKeyConstraint("id")
        )
        op.create_index(op.f("ix_installments_allocations_plan_id"), "installments_allocations", ["plan_id"], unique=False)


def downgrade() -> None:
    op.drop_table("installments_allocations")
    op.drop_table("installments_payments")
    op.drop_table("installments_items")
    op.drop_table("installments_plans")
