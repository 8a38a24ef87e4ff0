"""The fitness plugin: a fitness club's member lifecycle.

Enabled with ``plugins = ["fitness"]`` in crmkit.toml (settings in ``[settings.fitness]``,
see :mod:`crmkit_fitness.config`).

* tables ``fitness_*`` (catalogue, members, memberships, freezes, classes, bookings, devices,
  check-ins, touch points), with the alembic branch ``fitness``;
* the pipelines ``membership_sales`` ("Membership sales") and ``renewals`` ("Renewals"): winning
  a deal issues what it sold, losing a renewal marks the membership lapsed;
* the role ``trainer`` and the permission ``fitness.manage`` (admin, head, manager);
* the periodic job ``fitness.daily`` (:mod:`crmkit_fitness.passes`);
* hookspecs ``fitness_checkin_refusal``, ``fitness_checkin_decided``, ``fitness_phase_changed``;
* API routes under ``/api/v1/fitness/`` (the device endpoint among them) and ``crmkit fitness``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterable, Sequence

import click
from sqlalchemy import MetaData

import crmkit
from crmkit import Crm, Event, PeriodicJob, Permission, PipelineSpec, Role, Tx, hookimpl
from crmkit.events import DEAL_STAGE_CHANGED

from . import __version__, specs
from .config import MANAGE, NAME, RENEWALS, RENEWALS_PIPELINE, SALES, SALES_PIPELINE, TRAINER, config, parse
from .memberships import issue, renewal_lost
from .merging import crm_merge_records  # noqa: F401  (hook implementation)
from .passes import daily_pass
from .privacy import crm_personal_data_erase, crm_personal_data_export  # noqa: F401  (hook implementations)
from .tables import metadata
from .ui import crm_register_ui_pages, crm_register_ui_panels, crm_register_ui_timeline  # noqa: F401  (web UI)

plugin_info = crmkit.PluginInfo(
    name=NAME, version=__version__, api=">=1.0,<2", migrations="crmkit_fitness.migrations", settings=parse,
    hookspecs=specs,
    description="A fitness club's member lifecycle: memberships, check-ins, phases, touch points, renewals.",
)


@hookimpl
def crm_register_tables() -> MetaData:
    return metadata


@hookimpl
def crm_register_pipelines() -> list[PipelineSpec]:
    return [SALES_PIPELINE, RENEWALS_PIPELINE]


@hookimpl
def crm_register_roles() -> list[Role]:
    return [Role(TRAINER, "assigned_tasks", frozenset({"cards.read", "cards.write"}),
                 "runs classes; sees the members whose touch-point tasks are theirs")]


@hookimpl
def crm_register_permissions() -> list[Permission]:
    return [Permission(MANAGE, roles=("admin", "head", "manager"),
                       description="sell memberships, freeze them, manage the catalogue, classes and devices")]


def _daily(crm: Crm, now: Any) -> None:
    daily_pass(crm, now)


@hookimpl
def crm_register_periodic_jobs(crm: Crm) -> list[PeriodicJob]:
    return [PeriodicJob(name="daily", every=timedelta(hours=config(crm).pass_every_hours), run=_daily)]


@hookimpl
def crm_register_routes() -> Iterable[Any]:
    from .web import routes

    return routes()


@hookimpl
def crm_register_commands(cli: click.Group) -> None:
    from .cli import group

    cli.add_command(group)


@hookimpl
def crm_on_events(tx: Tx, events: Sequence[Event]) -> None:
    """A won sale or renewal issues the membership; a lost renewal marks the membership lapsed."""
    for event in events:
        if event.type != DEAL_STAGE_CHANGED or event.data.get("pipeline") not in (SALES, RENEWALS):
            continue
        kind = event.data.get("to_kind")
        if kind == "won" and event.entity_id is not None:
            issue(tx, event.entity_id)
        elif kind == "lost" and event.entity_id is not None and event.data.get("pipeline") == RENEWALS:
            renewal_lost(tx, event.entity_id, event.data.get("reason") or event.data.get("reason_text"))
