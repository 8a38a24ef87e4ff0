"""{{ cookiecutter.plugin_name }}: the handovers table

Revision ID: {{ cookiecutter.plugin_name[:27] }}_0001
Revises: -
Depends on: crmkit_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "{{ cookiecutter.plugin_name[:27] }}_0001"
down_revision = None
branch_labels = ("{{ cookiecutter.plugin_name }}",)
depends_on = "crmkit_0001"  # the core revision that made crm_deals, which handovers reference


def upgrade() -> None:
    op.create_table(
        "{{ cookiecutter.plugin_name }}_handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=254), nullable=False),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["deal_id"], ["crm_deals.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_{{ cookiecutter.plugin_name }}_handovers_deal_id", "{{ cookiecutter.plugin_name }}_handovers", ["deal_id"])


def downgrade() -> None:
    op.drop_table("{{ cookiecutter.plugin_name }}_handovers")
