"""Implements every core hook taking fewer arguments than the hook passes (most take none),
which pluggy allows and crmkit must honour wherever it calls a hook. Records what ran in
:data:`CALLS`: ``(hook, what it received)``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Sequence

import click

import crmkit
from crmkit import CustomField, Event, PeriodicJob, Permission, hookimpl

plugin_info = crmkit.PluginInfo(name="fewer_args", version="0.1.0", api=">=1.0,<2")

CALLS: list[tuple[str, Any]] = []


@hookimpl
def crm_register_tables() -> None:
    CALLS.append(("crm_register_tables", None))


@hookimpl
def crm_register_pipelines() -> list[Any]:
    CALLS.append(("crm_register_pipelines", None))
    return []


@hookimpl
def crm_register_custom_fields() -> list[CustomField]:
    return [CustomField(entity="deal", name="fewer_args_flag", type="boolean", origin="fewer_args")]


@hookimpl
def crm_register_commands(cli: click.Group) -> None:
    @cli.command("fewer-args-hello")
    def hello() -> None:
        """Say hello (registered without the crm argument)."""
        click.echo("hello from fewer_args")


def _tick(crm: Any, now: datetime) -> None:
    CALLS.append(("job", now))


@hookimpl
def crm_register_periodic_jobs() -> list[PeriodicJob]:
    return [PeriodicJob("tick", timedelta(hours=1), _tick)]


@hookimpl
def crm_register_routes() -> list[Any]:
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def ping(request: Any) -> JSONResponse:
        return JSONResponse({"pong": True})

    return [Route("/ping", ping, methods=["GET"])]


@hookimpl
def crm_register_roles() -> list[Any]:
    return []


@hookimpl
def crm_register_permissions() -> list[Permission]:
    return [Permission("fewer_args.use", roles=("admin",))]


@hookimpl
def crm_validate(events: Sequence[Event]) -> None:
    CALLS.append(("crm_validate", [e.type for e in events]))


@hookimpl
def crm_on_events() -> None:
    CALLS.append(("crm_on_events", None))


@hookimpl
def crm_event_committed(event: Event) -> None:
    CALLS.append(("crm_event_committed", event.type))


@hookimpl
def crm_personal_data_export(subject: Any) -> None:
    CALLS.append(("crm_personal_data_export", subject.contact_id))


@hookimpl
def crm_personal_data_erase() -> None:
    CALLS.append(("crm_personal_data_erase", None))
