"""{{ cookiecutter.description }}

A crmkit plugin, enabled with ``plugins = ["{{ cookiecutter.plugin_name }}"]`` in crmkit.toml:

* table ``{{ cookiecutter.plugin_name }}_handovers``: one row per won deal, written in the command's transaction;
* custom field ``deal.{{ cookiecutter.plugin_name }}_owner``: who takes the deal over (an e-mail);
* veto: a deal cannot be won without an owner;
* its own hook ``{{ cookiecutter.plugin_name }}_handed_over`` (hookspecs.py), called with each handover;
* after commit: the owner is notified (one JSON line in the ``outbox`` file of
  ``[settings.{{ cookiecutter.plugin_name }}]``, or the log when none is set);
* CLI: ``crmkit {{ cookiecutter.plugin_name }} list``; API: ``GET /api/v1/{{ cookiecutter.plugin_name }}/handovers`` (web.py).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Sequence

import attrs
import click
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, insert, select
from starlette.routing import BaseRoute

import crmkit
from crmkit import Access, Crm, CustomField, Event, Tx, UTCDateTime, ValidationError, hookimpl

from . import hookspecs, web

NAME = "{{ cookiecutter.plugin_name }}"
OWNER = f"{NAME}_owner"
HANDED_OVER = f"{NAME}.handed_over"

plugin_info = crmkit.PluginInfo(
    name=NAME, version="{{ cookiecutter.version }}", api="{{ cookiecutter.crmkit_api }}",
    description="{{ cookiecutter.description }}",
    hookspecs=hookspecs,  # the hooks it publishes for other plugins
    migrations="{{ cookiecutter.package_name }}.migrations",  # its alembic branch: migrations/versions/
)

log = logging.getLogger(__name__)

# The plugin's tables live on its own MetaData: they exist only where the plugin is enabled.
# A change to them ships with a migration (migrations/versions/, see docs/writing-plugins.md).
metadata = MetaData()
handovers_table = Table(
    f"{NAME}_handovers", metadata,
    Column("id", Integer, primary_key=True),
    Column("deal_id", ForeignKey(crmkit.schema.deals.c.id), nullable=False, index=True),
    Column("owner", String(254), nullable=False),
    Column("handed_over_at", UTCDateTime, nullable=False),
)


@attrs.frozen
class Handover:
    id: int
    deal_id: int
    owner: str
    handed_over_at: datetime


def handovers(crm: Crm, *, limit: int = 100, access: Access | None = None) -> list[Handover]:
    """The latest handovers, newest first (the plugin's own read service); with a user's ``access``,
    only those of the deals they may read (the record rules, as SQL)."""
    t, deals = handovers_table, crmkit.schema.deals
    query = select(t).order_by(t.c.id.desc()).limit(limit)
    rule = access.visible("deal", deals) if access is not None else None
    if rule is not None:
        query = query.join(deals, deals.c.id == t.c.deal_id).where(rule)
    with crm.engine.connect() as conn:
        rows = conn.execute(query)
        return [Handover(id=r.id, deal_id=r.deal_id, owner=r.owner, handed_over_at=r.handed_over_at) for r in rows]


def _won(event: Event) -> bool:
    return event.type == "deal.stage_changed" and event.data.get("to_kind") == "won"


def _owner(tx: Tx, deal_id: int | None) -> str | None:
    deals = crmkit.schema.deals
    custom = tx.conn.scalar(select(deals.c.custom).where(deals.c.id == deal_id))
    return (custom or {}).get(OWNER)


# -- registration ---------------------------------------------------------------------


@hookimpl
def crm_register_tables(crm: Crm) -> MetaData:
    return metadata


@hookimpl
def crm_register_custom_fields(crm: Crm) -> list[CustomField]:
    return [CustomField(entity="deal", name=OWNER, type="email", label="Handover owner", origin=NAME)]


@hookimpl
def crm_register_commands(cli: click.Group, crm: Crm) -> None:
    @cli.group(name=NAME)
    def group() -> None:
        """Handovers of won deals."""

    @group.command("list")
    @click.option("--limit", default=20, show_default=True, help="How many, newest first.")
    def list_handovers(limit: int) -> None:
        """The latest handovers."""
        for h in handovers(crm, limit=limit):
            click.echo(f"{h.handed_over_at:%Y-%m-%d %H:%M} deal {h.deal_id} -> {h.owner}")


@hookimpl
def crm_register_routes(crm: Crm) -> list[BaseRoute]:
    return web.routes(handovers, Handover)  # mounted at /api/v1/{{ cookiecutter.plugin_name }}/


# -- in the transaction ---------------------------------------------------------------


@hookimpl
def crm_validate(tx: Tx, events: Sequence[Event]) -> None:
    for event in events:
        if _won(event) and not _owner(tx, event.entity_id):
            raise ValidationError(f"{OWNER}: set who takes the deal over before winning it", field=OWNER)


@hookimpl
def crm_on_events(tx: Tx, events: Sequence[Event]) -> None:
    rows = []
    for event in events:
        if _won(event):
            owner = _owner(tx, event.entity_id)
            rows.append({"deal_id": event.entity_id, "owner": owner, "handed_over_at": tx.now})
            # Logged with the command (the deal's timeline shows it); delivered after commit.
            tx.emit(HANDED_OVER, "deal", event.entity_id, data={"owner": owner})
    if rows:
        tx.conn.execute(insert(handovers_table), rows)
        for row in rows:  # this plugin's own hook: other plugins react in the same transaction
            tx.crm.pm.hook.{{ cookiecutter.plugin_name }}_handed_over(tx=tx, deal_id=row["deal_id"], owner=row["owner"])


# -- after commit ---------------------------------------------------------------------


@hookimpl
def crm_event_committed(crm: Crm, event: Event) -> None:
    if event.type != HANDED_OVER:
        return
    # Delivery is at least once: the event id lets the receiver drop duplicates.
    message = {"event_id": event.id, "deal_id": event.entity_id, "to": event.data["owner"]}
    outbox = crm.plugin_settings(NAME).get("outbox")
    if not outbox:
        log.info("handover: %s", message)
        return
    with (crm.settings.base_dir / outbox).open("a", encoding="utf-8") as f:
        f.write(json.dumps(message) + "\n")
