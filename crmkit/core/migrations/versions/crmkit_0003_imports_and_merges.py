"""imports, import rows and rejects, saved mappings, merges

Revision ID: crmkit_0003
Revises: crmkit_0002
Depends on: -
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "crmkit_0003"
down_revision = "crmkit_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("crm_import_mappings",
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("entity", sa.String(length=20), nullable=False),
    sa.Column("mapping", sa.JSON(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("name")
    )
    op.create_table("crm_imports",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("entity", sa.String(length=20), nullable=False),
    sa.Column("file_name", sa.String(length=255), nullable=False),
    sa.Column("file_sha256", sa.String(length=64), nullable=False),
    sa.Column("mode", sa.String(length=12), nullable=False),
    sa.Column("dry_run", sa.Boolean(), nullable=False),
    sa.Column("status", sa.String(length=12), nullable=False),
    sa.Column("mapping", sa.JSON(), nullable=False),
    sa.Column("options", sa.JSON(), nullable=False),
    sa.Column("total", sa.Integer(), nullable=False),
    sa.Column("created", sa.Integer(), nullable=False),
    sa.Column("updated", sa.Integer(), nullable=False),
    sa.Column("rejected", sa.Integer(), nullable=False),
    sa.Column("skipped", sa.Integer(), nullable=False),
    sa.Column("checkpoint", sa.Integer(), nullable=False),
    sa.Column("actor_id", sa.Integer(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(["actor_id"], ["crm_users.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    op.create_table("crm_merges",
    sa.Column("entity_type", sa.String(length=20), nullable=False),
    sa.Column("merged_id", sa.Integer(), autoincrement=False, nullable=False),
    sa.Column("survivor_id", sa.Integer(), nullable=False),
    sa.Column("actor_id", sa.Integer(), nullable=True),
    sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("snapshot", sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(["actor_id"], ["crm_users.id"], ),
    sa.PrimaryKeyConstraint("entity_type", "merged_id")
    )
    with op.batch_alter_table("crm_merges", schema=None) as batch_op:
        batch_op.create_index("ix_crm_merges_survivor", ["entity_type", "survivor_id"], unique=False)

    op.create_table("crm_import_rejects",
    sa.Column("import_id", sa.Integer(), nullable=False),
    sa.Column("record", sa.Integer(), autoincrement=False, nullable=False),
    sa.Column("line", sa.Integer(), nullable=False),
    sa.Column("field", sa.String(length=100), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("cells", sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(["import_id"], ["crm_imports.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("import_id", "record")
    )
    op.create_table("crm_import_rows",
    sa.Column("import_id", sa.Integer(), nullable=False),
    sa.Column("record", sa.Integer(), autoincrement=False, nullable=False),
    sa.Column("line", sa.Integer(), nullable=False),
    sa.Column("entity_type", sa.String(length=20), nullable=False),
    sa.Column("entity_id", sa.Integer(), nullable=False),
    sa.Column("action", sa.String(length=10), nullable=False),
    sa.Column("external_id", sa.String(length=200), nullable=True),
    sa.Column("before", sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(["import_id"], ["crm_imports.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("import_id", "record")
    )
    with op.batch_alter_table("crm_import_rows", schema=None) as batch_op:
        batch_op.create_index("ix_crm_import_rows_entity", ["entity_type", "entity_id"], unique=False)
        batch_op.create_index("ix_crm_import_rows_external", ["entity_type", "external_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crm_import_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_import_rows_external")
        batch_op.drop_index("ix_crm_import_rows_entity")

    op.drop_table("crm_import_rows")
    op.drop_table("crm_import_rejects")
    with op.batch_alter_table("crm_merges", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_merges_survivor")

    op.drop_table("crm_merges")
    op.drop_table("crm_imports")
    op.drop_table("crm_import_mappings")
