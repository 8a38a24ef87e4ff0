"""club_bar: the tabs table

Revision ID: club_bar_0001
Revises: -
Depends on: crmkit_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "club_bar_0001"
down_revision = None
branch_labels = ("club_bar",)
depends_on = "crmkit_0001"


def upgrade() -> None:
    op.create_table(
        "club_bar_tabs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("member_no", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["deal_id"], ["crm_deals.id"]),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("club_bar_tabs")
