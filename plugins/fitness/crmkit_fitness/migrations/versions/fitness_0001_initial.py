"""fitness: the catalogue, members, memberships, freezes, classes, bookings, devices, check-ins, touch points

Revision ID: fitness_0001
Revises: -
Depends on: crmkit_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "fitness_0001"
down_revision = None
branch_labels = ("fitness",)
depends_on = "crmkit_0001"


def upgrade() -> None:
    op.create_table('fitness_activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('fitness_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('fitness_members',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('card', sa.String(length=40), nullable=True),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('trainer_id', sa.Integer(), nullable=True),
    sa.Column('phase', sa.String(length=12), nullable=False),
    sa.Column('phase_since', sa.Date(), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('first_visit_on', sa.Date(), nullable=True),
    sa.Column('last_visit_on', sa.Date(), nullable=True),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('recent', sa.Float(), nullable=False),
    sa.Column('norm', sa.Float(), nullable=False),
    sa.Column('rate_on', sa.Date(), nullable=True),
    sa.Column('risk', sa.Integer(), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contacts.id'], ),
    sa.ForeignKeyConstraint(['manager_id'], ['crm_users.id'], ),
    sa.ForeignKeyConstraint(['trainer_id'], ['crm_users.id'], ),
    sa.PrimaryKeyConstraint('contact_id'),
    sa.UniqueConstraint('card')
    )
    op.create_index('ix_fitness_members_phase', 'fitness_members', ['phase', 'risk'], unique=False)
    op.create_index(op.f('ix_fitness_members_trainer_id'), 'fitness_members', ['trainer_id'], unique=False)
    op.create_table('fitness_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('duration_days', sa.Integer(), nullable=False),
    sa.Column('visit_limit', sa.Integer(), nullable=True),
    sa.Column('sessions', sa.Integer(), nullable=True),
    sa.Column('access_from', sa.Integer(), nullable=True),
    sa.Column('access_to', sa.Integer(), nullable=True),
    sa.Column('activities', sa.JSON(), nullable=False),
    sa.Column('trainer_id', sa.Integer(), nullable=True),
    sa.Column('freeze_days', sa.Integer(), nullable=False),
    sa.Column('freeze_times', sa.Integer(), nullable=False),
    sa.Column('trial', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['trainer_id'], ['crm_users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('fitness_classes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('trainer_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['fitness_activities.id'], ),
    sa.ForeignKeyConstraint(['trainer_id'], ['crm_users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_fitness_classes_trainer_id'), 'fitness_classes', ['trainer_id'], unique=False)
    op.create_table('fitness_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('visits_used', sa.Integer(), nullable=False),
    sa.Column('sessions_used', sa.Integer(), nullable=False),
    sa.Column('freeze_days_used', sa.Integer(), nullable=False),
    sa.Column('freezes_used', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('renews_id', sa.Integer(), nullable=True),
    sa.Column('renewal_deal_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=True),
    sa.Column('trainer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contacts.id'], ),
    sa.ForeignKeyConstraint(['deal_id'], ['crm_deals.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['fitness_products.id'], ),
    sa.ForeignKeyConstraint(['renewal_deal_id'], ['crm_deals.id'], ),
    sa.ForeignKeyConstraint(['trainer_id'], ['crm_users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_fitness_memberships_contact', 'fitness_memberships', ['contact_id', 'ends_on'], unique=False)
    op.create_index('ix_fitness_memberships_ends', 'fitness_memberships', ['kind', 'ends_on'], unique=False)
    op.create_table('fitness_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['fitness_classes.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contacts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('class_id', 'contact_id', name='uq_fitness_bookings_class_contact')
    )
    op.create_index(op.f('ix_fitness_bookings_contact_id'), 'fitness_bookings', ['contact_id'], unique=False)
    op.create_table('fitness_checkins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.String(length=80), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=True),
    sa.Column('class_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['fitness_classes.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contacts.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['fitness_devices.id'], ),
    sa.ForeignKeyConstraint(['membership_id'], ['fitness_memberships.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'event_id', name='uq_fitness_checkins_device_event')
    )
    op.create_index('ix_fitness_checkins_contact_at', 'fitness_checkins', ['contact_id', 'at'], unique=False)
    op.create_table('fitness_freezes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['crm_users.id'], ),
    sa.ForeignKeyConstraint(['membership_id'], ['fitness_memberships.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_fitness_freezes_membership_id'), 'fitness_freezes', ['membership_id'], unique=False)
    op.create_table('fitness_sales',
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('renews_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contacts.id'], ),
    sa.ForeignKeyConstraint(['deal_id'], ['crm_deals.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['fitness_products.id'], ),
    sa.ForeignKeyConstraint(['renews_id'], ['fitness_memberships.id'], ),
    sa.PrimaryKeyConstraint('deal_id'),
    sa.UniqueConstraint('renews_id')
    )
    op.create_table('fitness_touches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('fired_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contacts.id'], ),
    sa.ForeignKeyConstraint(['membership_id'], ['fitness_memberships.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['crm_tasks.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contact_id', 'rule', 'cycle', name='uq_fitness_touches_contact_rule_cycle')
    )
    op.create_index('ix_fitness_touches_membership', 'fitness_touches', ['membership_id'], unique=False)


def downgrade() -> None:
    op.drop_table("fitness_touches")
    op.drop_table("fitness_sales")
    op.drop_table("fitness_freezes")
    op.drop_table("fitness_checkins")
    op.drop_table("fitness_bookings")
    op.drop_table("fitness_memberships")
    op.drop_table("fitness_classes")
    op.drop_table("fitness_products")
    op.drop_table("fitness_members")
    op.drop_table("fitness_devices")
    op.drop_table("fitness_activities")
