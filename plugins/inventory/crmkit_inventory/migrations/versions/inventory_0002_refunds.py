"""inventory: the money refunded for customer returns

Revision ID: inventory_0002
Revises: inventory_0001
Depends on: -
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmkit import UTCDateTime

revision = "inventory_0002"
down_revision = "inventory_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inventory_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("movement_id", sa.Integer(), nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["crm_contacts.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["crm_users.id"]),
        sa.ForeignKeyConstraint(["line_id"], ["inventory_sale_lines.id"]),
        sa.ForeignKeyConstraint(["movement_id"], ["inventory_movements.id"]),
        sa.ForeignKeyConstraint(["sale_id"], ["inventory_sales.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("movement_id"),
    )
    op.create_index("ix_inventory_refunds_created_at", "inventory_refunds", ["created_at"], unique=False)
    op.create_index("ix_inventory_refunds_sale_id", "inventory_refunds", ["sale_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inventory_refunds_sale_id", table_name="inventory_refunds")
    op.drop_index("ix_inventory_refunds_created_at", table_name="inventory_refunds")
    op.drop_table("inventory_refunds")
