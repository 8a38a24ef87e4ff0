"""The ``club_bar`` glue plugin: a tab for every deal of a club member, when ``club`` and ``bar``
are both enabled (``PluginInfo(auto_enable=("club", "bar"))``, listed in ``crmkit.glue``).

Everything a plugin can add, each hook taking only the arguments it uses: the table
``club_bar_tabs`` (with a migration), ``GET /api/v1/club_bar/tabs``, ``crmkit club-bar-tabs``, the job
``club_bar.sweep``, after-commit delivery into :data:`DELIVERED`, settings ``[settings.club_bar]``
(``greeting``, ``max_tabs``) as an attrs class, and its own hook ``club_bar_tab_opened``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Sequence

import attrs
import click
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, func, insert, select

import crmkit
from crmkit import Event, PeriodicJob, Tx, hookimpl
from crmkit.events import DEAL_CREATED

from . import specs

NAME = "club_bar"


@attrs.frozen
class ClubBarSettings:
    greeting: str = "welcome"
    max_tabs: int = attrs.field(default=100, validator=attrs.validators.ge(1))
    tags: tuple[str, ...] = ()


plugin_info = crmkit.PluginInfo(
    name=NAME, version="0.1.0", api=">=1.0,<2", auto_enable=("club", "bar"), hookspecs=specs,
    settings=ClubBarSettings, migrations="crmkit_testplugins.club_bar.migrations",
    description="A member's bar tab (glue of club and bar).",
)

metadata = MetaData()
tabs = Table(
    "club_bar_tabs", metadata,
    Column("id", Integer, primary_key=True),
    Column("deal_id", ForeignKey(crmkit.schema.deals.c.id), nullable=False),
    Column("member_no", String(40), nullable=False),
)
DELIVERED: list[int] = []


@hookimpl
def crm_register_tables() -> MetaData:
    return metadata


@hookimpl
def crm_on_events(tx: Tx, events: Sequence[Event]) -> None:
    for event in events:
        member = event.after("custom") if event.type == DEAL_CREATED else None
        if isinstance(member, dict) and member.get("club_member_no"):
            tx.conn.execute(insert(tabs).values(deal_id=event.entity_id, member_no=member["club_member_no"]))
            tx.crm.pm.hook.club_bar_tab_opened(deal_id=event.entity_id, member_no=member["club_member_no"])


def count(crm: Any) -> int:
    with crm.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(tabs)) or 0)


@hookimpl
def crm_register_routes() -> list[Any]:
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def list_tabs(request: Request) -> JSONResponse:
        crm = request.app.state.crm
        return JSONResponse({"tabs": count(crm), "greeting": crm.settings_of(NAME).greeting})

    return [Route("/tabs", list_tabs, methods=["GET"])]


@hookimpl
def crm_register_commands(cli: click.Group) -> None:
    @cli.command("club-bar-tabs")
    def tabs_cmd() -> None:
        """How many bar tabs members have."""
        from crmkit.cli import invocation

        click.echo(f"{count(invocation().crm)} tabs")


def _sweep(crm: Any, now: datetime) -> None:
    pass


@hookimpl
def crm_register_periodic_jobs() -> list[PeriodicJob]:
    return [PeriodicJob("sweep", timedelta(hours=1), _sweep)]


@hookimpl
def crm_event_committed(event: Event) -> None:
    DELIVERED.append(event.id or 0)
