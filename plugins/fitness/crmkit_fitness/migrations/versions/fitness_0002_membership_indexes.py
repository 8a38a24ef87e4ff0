"""fitness: index memberships by their deal and by the membership they renew

Revision ID: fitness_0002
Revises: fitness_0001
Depends on: -
"""

from __future__ import annotations

from alembic import op

revision = "fitness_0002"
down_revision = "fitness_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_fitness_memberships_deal", "fitness_memberships", ["deal_id"], unique=False)
    op.create_index("ix_fitness_memberships_renews", "fitness_memberships", ["renews_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_fitness_memberships_renews", table_name="fitness_memberships")
    op.drop_index("ix_fitness_memberships_deal", table_name="fitness_memberships")
