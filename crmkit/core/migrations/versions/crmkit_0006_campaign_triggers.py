"""messages: event-triggered campaigns (crm_campaigns.trigger), a user's notifications (an index)

Revision ID: crmkit_0006
Revises: crmkit_0005
Depends on: -

A nullable column: the event type an ``event`` campaign answers (crmkit/messages/triggers.py), and
``ix_crm_messages_user`` (user_id, id) for the web UI's notification list and its unread count.
Only additions: no existing row changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "crmkit_0006"
down_revision = "crmkit_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crm_campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trigger", sa.String(length=100), nullable=True))
    with op.batch_alter_table("crm_messages", schema=None) as batch_op:
        batch_op.create_index("ix_crm_messages_user", ["user_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crm_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_messages_user")
    with op.batch_alter_table("crm_campaigns", schema=None) as batch_op:
        batch_op.drop_column("trigger")
