"""The installments plugin: installment plans on deals and the "Installment control" pipeline.

Enabled with ``plugins = ["installments"]`` in crmkit.toml (settings in
``[settings.installments]``: ``due_soon_days``, ``check_every_minutes``, ``task_due_hours``).

* tables ``installments_plans``, ``_items``, ``_payments``, ``_allocations``;
* the pipeline ``installment_control``: Waiting for payment, Due soon, Overdue,
  Paid off (won), Written off (lost);
* winning a deal with a plan copies it there (the core's ``deals.copy``), linked to the original;
* refusing "Paid off" while money is outstanding; a plan follows its control deal's
  status (written off, reopened);
* the periodic job ``installments.check``: stage moves, reminders, overdue tasks, paid off;
* permissions ``installments.manage`` (admin, head, manager) and ``installments.reverse`` (admin, head);
* API routes under ``/api/v1/installments/`` and the CLI group ``crmkit installments``.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import click
from sqlalchemy import MetaData, select, update

import crmkit
from crmkit import (
    Crm, Event, PeriodicJob, Permission, PipelineSpec, Tx, ValidationError, hookimpl,
)
from crmkit.events import DEAL_STAGE_CHANGED

from . import __version__
from .config import CONTROL_PIPELINE, NAME, PAID_OFF, PIPELINE, Config, config
from .control import activate, check_plans
from .merging import crm_merge_records  # noqa: F401  (hook implementation)
from .dunning import crm_event_committed  # noqa: F401  (customer reminders through crm.messages)
from .privacy import crm_personal_data_erase, crm_personal_data_export  # noqa: F401  (hook implementations)
from .records import money
from .service import MANAGE, REVERSE
from .tables import metadata, plans
from .ui import crm_register_ui_actions, crm_register_ui_panels, crm_register_ui_timeline  # noqa: F401  (web UI)

plugin_info = crmkit.PluginInfo(
    name=NAME, version=__version__, api=">=1.0,<2", migrations="crmkit_installments.migrations", settings=Config,
    description="Installment plans on deals, the Installment control pipeline, payments, overdue tasks, aging.",
)

_STATUS = {"won": "paid_off", "lost": "written_off", "open": "active"}


@hookimpl
def crm_register_tables() -> MetaData:
    return metadata


@hookimpl
def crm_register_pipelines() -> list[PipelineSpec]:
    return [CONTROL_PIPELINE]


@hookimpl
def crm_register_permissions() -> list[Permission]:
    return [Permission(MANAGE, roles=("admin", "head", "manager"), description="put plans on deals, record payments"),
            Permission(REVERSE, roles=("admin", "head"), description="reverse recorded payments")]


@hookimpl
def crm_register_periodic_jobs(crm: Crm) -> list[PeriodicJob]:
    return [PeriodicJob(name="check", every=config(crm).every, run=check_plans)]


@hookimpl
def crm_register_routes() -> Iterable[Any]:
    from .web import routes

    return routes()


@hookimpl
def crm_register_commands(cli: click.Group) -> None:
    from .cli import group

    cli.add_command(group)


def _stage_changed(event: Event) -> bool:
    return event.type == DEAL_STAGE_CHANGED and event.entity_type == "deal"


@hookimpl
def crm_validate(tx: Tx, events: Sequence[Event]) -> None:
    """Refuse moving a control deal to "Paid off" while part of its plan is unpaid."""
    for event in events:
        if _stage_changed(event) and event.data.get("pipeline") == PIPELINE and event.after("stage") == PAID_OFF:
            plan = tx.conn.execute(select(plans).where(plans.c.control_deal_id == event.entity_id)).first()
            if plan is not None and plan.paid_minor < plan.financed_minor:
                left = money(plan.financed_minor - plan.paid_minor, plan.currency)
                raise ValidationError(f"stage: {left} of the installment plan is still unpaid", field="stage")


@hookimpl
def crm_on_events(tx: Tx, events: Sequence[Event]) -> None:
    """A won deal with a pending plan goes to Installment control; a plan follows its control deal."""
    for event in events:
        if not _stage_changed(event):
            continue
        if event.data.get("pipeline") == PIPELINE:
            status = _STATUS[event.data.get("to_kind", "open")]
            tx.conn.execute(update(plans).where(plans.c.control_deal_id == event.entity_id, plans.c.status != status)
                            .values(status=status, updated_at=tx.now, version=plans.c.version + 1))
        elif event.data.get("to_kind") == "won":
            plan_id = tx.conn.scalar(select(plans.c.id).where(
                plans.c.deal_id == event.entity_id, plans.c.status == "pending", plans.c.control_deal_id.is_(None)))
            if plan_id is not None:
                activate(tx, plan_id)
