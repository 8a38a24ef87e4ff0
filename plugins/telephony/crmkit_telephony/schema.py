"""The call log, on the plugin's own MetaData (created only where the plugin is enabled)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from crmkit import UTCDateTime, schema

metadata = MetaData()

calls = Table(
    "telephony_calls", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(40), nullable=False),
    Column("call_id", String(200), nullable=False),
    Column("direction", String(10), nullable=False),
    Column("status", String(10), nullable=False),  # ringing, answered, ended
    Column("result", String(10)),  # on ended: answered, missed, busy, failed, voicemail
    Column("phone", String(20)),  # the outside party, E.164 (None: hidden or not a number)
    Column("from_number", String(100)),
    Column("to_number", String(100)),
    Column("extension", String(100)),
    Column("user_id", ForeignKey(schema.users.c.id)),  # whose extension took or made the call
    Column("responsible_id", ForeignKey(schema.users.c.id)),
    Column("routed_by", String(20)),  # deal, contact, lead, extension, round_robin, nobody; NULL: not routed yet
    Column("contact_id", ForeignKey(schema.contacts.c.id)),
    Column("lead_id", ForeignKey(schema.leads.c.id)),
    Column("deal_id", ForeignKey(schema.deals.c.id)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("answered_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("duration", Integer),
    Column("recording_url", Text),
    Column("hangup_cause", String(200)),
    Column("callback_task_id", ForeignKey(schema.tasks.c.id)),  # the call-back task a missed call made
    Column("callback_call_id", Integer),  # the later answered call that closed it
    Column("response_seconds", Integer),  # missed call start -> call back start
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("provider", "call_id", name="uq_telephony_calls_provider_call"),
    Index("ix_telephony_calls_phone", "phone", "started_at"),
    Index("ix_telephony_calls_user_started", "user_id", "started_at"),
    Index("ix_telephony_calls_deal", "deal_id"),
)
