"""messages: event-triggered campaigns (crm_campaigns.trigger)

Revision ID: crmkit_0006
Revises: crmkit_0005
Depends on: -

A nullable column: the event type an ``event`` campaign answers (crmkit/messages/triggers.py).
Only an addition: no existing row changes.
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


def downgrade() -> None:
    with op.batch_alter_table("crm_campaigns", schema=None) as batch_op:
        batch_op.drop_column("trigger")
