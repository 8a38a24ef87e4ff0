"""The ``fitness_installments`` glue plugin, enabled by itself with ``fitness`` and ``installments``.

It answers fitness's ``fitness_checkin_refusal`` hook: a member whose deal (one they are the
contact of) sits in the "Installment control" pipeline's ``overdue`` stage is refused with
``installment_overdue``. It reads only the core's deals and pipeline stages, never the other
plugins' tables or code; the installments plugin moves a control deal to "Overdue" in its
periodic check (hourly by default), so a payment recorded today lets the member in at once
(recording a payment moves the deal out of "Overdue" in the same transaction).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

import crmkit
from crmkit import Tx, hookimpl, schema

from . import __version__

NAME = "fitness_installments"
REASON = "installment_overdue"
CONTROL_PIPELINE, OVERDUE_STAGE = "installment_control", "overdue"

plugin_info = crmkit.PluginInfo(
    name=NAME, version=__version__, api=">=1.0,<2", auto_enable=("fitness", "installments"),
    description="An overdue installment denies the member's check-in (glue of fitness and installments).",
)


@hookimpl
def fitness_checkin_refusal(tx: Tx, contact_id: int, at: datetime) -> str | None:
    """``installment_overdue`` when one of the member's control deals is overdue."""
    stage = tx.crm.pipeline(CONTROL_PIPELINE).stage(OVERDUE_STAGE)
    if stage is None:
        return None
    d = schema.deals.c
    overdue = tx.conn.scalar(select(d.id).where(d.contact_id == contact_id, d.stage_id == stage.id,
                                                d.status == "open").limit(1))
    return REASON if overdue is not None else None
