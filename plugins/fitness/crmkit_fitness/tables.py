"""The plugin's tables, on its own MetaData: they exist only where the plugin is enabled.

Prices are integer minor units; days are calendar dates in the deployment's timezone;
access hours are minutes after local midnight.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, Date, Float, ForeignKey, Index, Integer, MetaData, String, Table,
    UniqueConstraint,
)

from crmkit import UTCDateTime, schema

metadata = MetaData()

activities = Table(
    "fitness_activities", metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
)

products = Table(
    "fitness_products", metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(12), nullable=False),  # membership | pack
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("duration_days", Integer, nullable=False),  # a pack's validity
    Column("visit_limit", Integer),  # membership: visits allowed in its term (None: unlimited)
    Column("sessions", Integer),  # pack: sessions in it
    Column("access_from", Integer),  # minutes after local midnight (None: any time)
    Column("access_to", Integer),
    Column("activities", JSON, nullable=False, default=list),  # activity keys included ([]: all)
    Column("trainer_id", ForeignKey(schema.users.c.id)),  # pack: only with this trainer
    Column("freeze_days", Integer, nullable=False, default=0),
    Column("freeze_times", Integer, nullable=False, default=0),
    Column("trial", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

members = Table(
    "fitness_members", metadata,
    Column("contact_id", ForeignKey(schema.contacts.c.id), primary_key=True),
    Column("card", String(40), unique=True),
    Column("manager_id", ForeignKey(schema.users.c.id)),
    Column("trainer_id", ForeignKey(schema.users.c.id), index=True),
    Column("phase", String(12), nullable=False),
    Column("phase_since", Date, nullable=False),
    Column("cycle", Integer, nullable=False, default=0),  # the current membership's cycle (1 = first)
    Column("first_visit_on", Date),
    Column("last_visit_on", Date),
    Column("visits", Integer, nullable=False, default=0),
    # decaying visit counts (recent and norm time constants), as of rate_on
    Column("recent", Float, nullable=False, default=0.0),
    Column("norm", Float, nullable=False, default=0.0),
    Column("rate_on", Date),
    Column("risk", Integer, nullable=False, default=0),  # churn-risk score 0..100, set by the daily pass
    Column("joined_at", UTCDateTime, nullable=False),
    Index("ix_fitness_members_phase", "phase", "risk"),
)

memberships = Table(
    "fitness_memberships", metadata,
    Column("id", Integer, primary_key=True),
    Column("contact_id", ForeignKey(schema.contacts.c.id), nullable=False),
    Column("product_id", ForeignKey(products.c.id), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("cycle", Integer, nullable=False),  # memberships: 1, 2, ... per renewal; packs: the member's cycle
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),  # freezes move it later
    Column("visits_used", Integer, nullable=False, default=0),
    Column("sessions_used", Integer, nullable=False, default=0),
    Column("freeze_days_used", Integer, nullable=False, default=0),
    Column("freezes_used", Integer, nullable=False, default=0),
    Column("deal_id", ForeignKey(schema.deals.c.id)),
    Column("renews_id", Integer),  # the membership this one renews
    Column("renewal_deal_id", ForeignKey(schema.deals.c.id)),
    Column("outcome", String(12)),  # renewed | lapsed, once known
    Column("trainer_id", ForeignKey(schema.users.c.id)),  # the member's trainer during this term
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_fitness_memberships_contact", "contact_id", "ends_on"),
    Index("ix_fitness_memberships_ends", "kind", "ends_on"),
    Index("ix_fitness_memberships_deal", "deal_id"),
    Index("ix_fitness_memberships_renews", "renews_id"),
)

sales = Table(
    "fitness_sales", metadata,
    Column("deal_id", ForeignKey(schema.deals.c.id), primary_key=True),
    Column("contact_id", ForeignKey(schema.contacts.c.id), nullable=False),
    Column("product_id", ForeignKey(products.c.id), nullable=False),
    Column("renews_id", ForeignKey(memberships.c.id), unique=True),  # a renewal deal: the membership it renews
)

freezes = Table(
    "fitness_freezes", metadata,
    Column("id", Integer, primary_key=True),
    Column("membership_id", ForeignKey(memberships.c.id), nullable=False, index=True),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("reason", String(300), nullable=False),
    Column("created_by", ForeignKey(schema.users.c.id)),
    Column("created_at", UTCDateTime, nullable=False),
)

classes = Table(
    "fitness_classes", metadata,
    Column("id", Integer, primary_key=True),
    Column("activity_id", ForeignKey(activities.c.id), nullable=False),
    Column("trainer_id", ForeignKey(schema.users.c.id), nullable=False, index=True),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("title", String(200), nullable=False),
)

bookings = Table(
    "fitness_bookings", metadata,
    Column("id", Integer, primary_key=True),
    Column("class_id", ForeignKey(classes.c.id), nullable=False),
    Column("contact_id", ForeignKey(schema.contacts.c.id), nullable=False, index=True),
    Column("status", String(12), nullable=False),  # booked | attended | no_show | cancelled
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("class_id", "contact_id", name="uq_fitness_bookings_class_contact"),
)

devices = Table(
    "fitness_devices", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("secret", String(64), nullable=False),  # the HMAC key (a signed request is checked with it)
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

checkins = Table(
    "fitness_checkins", metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", ForeignKey(devices.c.id)),
    Column("event_id", String(80), nullable=False),
    Column("contact_id", ForeignKey(schema.contacts.c.id)),
    Column("at", UTCDateTime, nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("reason", String(40), nullable=False),  # ok, or why it was refused
    Column("membership_id", ForeignKey(memberships.c.id)),
    Column("class_id", ForeignKey(classes.c.id)),
    Column("decided_at", UTCDateTime, nullable=False),
    UniqueConstraint("device_id", "event_id", name="uq_fitness_checkins_device_event"),
    Index("ix_fitness_checkins_contact_at", "contact_id", "at"),
)

touches = Table(
    "fitness_touches", metadata,
    Column("id", Integer, primary_key=True),
    Column("contact_id", ForeignKey(schema.contacts.c.id), nullable=False),
    Column("rule", String(40), nullable=False),
    Column("cycle", Integer, nullable=False),
    Column("membership_id", ForeignKey(memberships.c.id)),
    Column("task_id", ForeignKey(schema.tasks.c.id)),
    Column("fired_on", Date, nullable=False),
    UniqueConstraint("contact_id", "rule", "cycle", name="uq_fitness_touches_contact_rule_cycle"),
    Index("ix_fitness_touches_membership", "membership_id"),
)
