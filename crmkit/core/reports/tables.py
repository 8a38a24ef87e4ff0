"""The tables the analytics jobs keep (on the core's MetaData; migration ``crmkit_0005``).

* ``crm_customer_segments`` -- per customer (a contact, or a company): the lifecycle stage and
  since when, the RFM scores and segment; written by the ``core.customer_segments`` job.
  A contact or company without a row is ``potential`` (nothing bought yet).
* indexes on core tables the reports need: a lead's deals (``ix_crm_deals_lead``), a manager's
  leads by creation (``ix_crm_leads_responsible``), and the columns of the record rules a report
  of a manager filters on (tasks by author, contacts and companies by responsible user), so a
  manager's quarter stays an index look-up;
* ``crm_scores`` -- per card and model: the latest score (e.g. ``lead_win``: a probability),
  written by the ``core.scores`` job from the ``crm_score`` hook.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table

from ..schema import companies, contacts, deals, leads, metadata, tasks
from ..types import UTCDateTime

customer_segments = Table(
    "crm_customer_segments", metadata,
    Column("entity_type", String(20), primary_key=True),
    Column("entity_id", Integer, primary_key=True, autoincrement=False),
    Column("lifecycle", String(20), nullable=False),
    Column("lifecycle_since", UTCDateTime, nullable=False),
    Column("purchases", Integer, nullable=False),
    Column("last_purchase_at", UTCDateTime),
    Column("rfm_r", Integer),
    Column("rfm_f", Integer),
    Column("rfm_m", Integer),
    Column("rfm_segment", String(30)),
    Column("computed_at", UTCDateTime, nullable=False),
    Index("ix_crm_customer_segments_lifecycle", "entity_type", "lifecycle"),
    Index("ix_crm_customer_segments_rfm", "entity_type", "rfm_segment"),
)

scores = Table(
    "crm_scores", metadata,
    Column("entity_type", String(20), primary_key=True),
    Column("entity_id", Integer, primary_key=True, autoincrement=False),
    Column("model", String(100), primary_key=True),
    Column("score", Float, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    Index("ix_crm_scores_model", "model", "entity_type", "score"),
)

Index("ix_crm_deals_lead", deals.c.lead_id)
Index("ix_crm_leads_responsible", leads.c.responsible_id, leads.c.created_at)
Index("ix_crm_tasks_created_by", tasks.c.created_by)
Index("ix_crm_contacts_responsible", contacts.c.responsible_id)
Index("ix_crm_companies_responsible", companies.c.responsible_id)
