"""The plugin's tables, on its own MetaData: they exist only where the plugin is enabled.

Amounts are integer minor units in the plan's currency (exact SQL sums on SQLite
and PostgreSQL alike); due dates are calendar dates in the deployment's timezone.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger, Column, Date, ForeignKey, Index, Integer, MetaData, String, Table, UniqueConstraint,
)

from crmkit import UTCDateTime, schema

metadata = MetaData()

plans = Table(
    "installments_plans", metadata,
    Column("id", Integer, primary_key=True),
    Column("deal_id", ForeignKey(schema.deals.c.id), nullable=False, unique=True),
    Column("control_deal_id", ForeignKey(schema.deals.c.id), unique=True),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("down_payment_minor", BigInteger, nullable=False),
    Column("financed_minor", BigInteger, nullable=False),
    Column("paid_minor", BigInteger, nullable=False, default=0),
    Column("credit_minor", BigInteger, nullable=False, default=0),
    # pending (deal not won yet) | active | paid_off | written_off
    Column("status", String(16), nullable=False),
    Column("created_by", ForeignKey(schema.users.c.id)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
)

items = Table(
    "installments_items", metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", ForeignKey(plans.c.id), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("paid_minor", BigInteger, nullable=False, default=0),
    Column("reminded_at", UTCDateTime),
    Column("overdue_notified_at", UTCDateTime),
    UniqueConstraint("plan_id", "seq", name="uq_installments_items_plan_seq"),
    Index("ix_installments_items_due", "due_date"),
)

payments = Table(
    "installments_payments", metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", ForeignKey(plans.c.id), nullable=False, index=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("paid_on", Date, nullable=False),
    Column("method", String(40), nullable=False),
    Column("reference", String(120), nullable=False),
    Column("recorded_by", ForeignKey(schema.users.c.id)),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("reversed_by", ForeignKey(schema.users.c.id)),
    Column("reversed_at", UTCDateTime),
    Column("reversal_reason", String(300)),
)

allocations = Table(
    "installments_allocations", metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", ForeignKey(plans.c.id), nullable=False, index=True),
    Column("payment_id", ForeignKey(payments.c.id), nullable=False),
    Column("item_id", ForeignKey(items.c.id), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
)
