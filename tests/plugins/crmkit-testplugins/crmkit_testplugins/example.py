"""The example plugin: a bit of every kind of hook, driven by [settings.example].

* tables: ``example_audit`` -- one row per core event, written in the command's transaction;
* custom field ``deal.priority`` and a pipeline ``support``;
* veto: a deal titled with the configured ``forbidden_word`` cannot be created or renamed,
  and no deal may enter the stage named ``locked_stage``;
* after commit: every event's id is appended to ``DELIVERED``; with ``fail_after_commit``
  the hook raises (to test retries);
* its own hookspec ``example_deal_greeting`` that other plugins (``greeter``) implement;
* a CLI command ``crmkit example-hello``;
* an HTTP route ``GET /api/v1/example/hello``.
"""

from __future__ import annotations

from typing import Any, Sequence

import click
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, insert

import crmkit
from crmkit import CustomField, Event, PipelineSpec, StageSpec, ValidationError, hookimpl

from . import example_specs

plugin_info = crmkit.PluginInfo(name="example", version="0.1.0", api=">=1.0,<2", hookspecs=example_specs)

metadata = MetaData()
audit = Table(
    "example_audit", metadata,
    Column("id", Integer, primary_key=True),
    Column("deal_id", ForeignKey(crmkit.schema.deals.c.id)),
    Column("event_type", String(80), nullable=False),
    Column("greeting", String(200)),
)

DELIVERED: list[tuple[str, int]] = []


def _cfg(crm: Any) -> Any:
    return crm.plugin_settings("example")


@hookimpl
def crm_register_tables(crm: Any) -> MetaData:
    return metadata


@hookimpl
def crm_register_custom_fields(crm: Any) -> list[CustomField]:
    return [CustomField(entity="deal", name="priority", type="choice", choices=("low", "high"), origin="example")]


@hookimpl
def crm_register_pipelines(crm: Any) -> list[PipelineSpec]:
    return [PipelineSpec(key="support", name="Support", origin="example", stages=(
        StageSpec("open", "Open"), StageSpec("solved", "Solved", "won"), StageSpec("dropped", "Dropped", "lost"),
    ))]


@hookimpl
def crm_register_commands(cli: click.Group, crm: Any) -> None:
    @cli.command("example-hello")
    def hello() -> None:
        """Say hello from the example plugin."""
        click.echo(f"hello from example in {crm.settings.name}")


@hookimpl
def crm_validate(tx: Any, events: Sequence[Event]) -> None:
    cfg = _cfg(tx.crm)
    word = cfg.get("forbidden_word")
    locked = cfg.get("locked_stage")
    for event in events:
        if event.entity_type != "deal":
            continue
        title = event.after("title")
        if word and isinstance(title, str) and word in title:
            raise ValidationError(f"title: the example plugin refuses deals titled {word!r}", field="title")
        if locked and event.type == "deal.stage_changed" and event.after("stage") == locked:
            raise ValidationError(f"stage: the example plugin keeps {locked!r} locked", field="stage")


@hookimpl
def crm_on_events(tx: Any, events: Sequence[Event]) -> None:
    rows = []
    for event in events:
        if event.entity_type == "deal":
            greetings = tx.crm.pm.hook.example_deal_greeting(deal_id=event.entity_id)
            rows.append({"deal_id": event.entity_id, "event_type": event.type,
                         "greeting": "; ".join(greetings) or None})
    if rows:
        tx.conn.execute(insert(audit), rows)
    if _cfg(tx.crm).get("fail_in_transaction"):
        raise RuntimeError("example plugin failed inside the transaction")


@hookimpl
def crm_event_committed(crm: Any, event: Event) -> None:
    if _cfg(crm).get("fail_after_commit"):
        raise RuntimeError(f"example could not deliver event {event.id}")
    DELIVERED.append((event.type, event.id or 0))


@hookimpl
def crm_register_routes(crm: Any) -> list[Any]:
    """``GET /api/v1/example/hello``: who is asking (mounted behind the API's token check)."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from crmkit.web import public, request_user_id

    async def hello(request: Request) -> JSONResponse:
        """Say hello to the token's user."""
        return JSONResponse({"plugin": "example", "user_id": request_user_id(request), "deployment": crm.settings.name})

    async def webhook(request: Request) -> JSONResponse:
        """A public route (no token): a webhook authenticates its caller itself."""
        return JSONResponse({"plugin": "example", "public": True})

    return [Route("/hello", hello, methods=["GET"]), public(Route("/webhook", webhook, methods=["POST"]))]


@hookimpl
def crm_register_roles(crm: Any) -> list[crmkit.Role]:
    return [crmkit.Role("measurer", "assigned_tasks", frozenset({"cards.read", "cards.write"})),
            crmkit.Role("kiosk", "all", frozenset(), "a plugin role with no permissions: no cards")]


@hookimpl
def crm_register_permissions(crm: Any) -> list[crmkit.Permission]:
    return [crmkit.Permission("example.export", roles=("admin", "head"))]
