"""Pipeline automation, as the core's own plugin: required fields, automatic tasks,
copying or moving deals between pipelines, next-contact reminders, and closing the open tasks
of a card that is won, lost, converted, rejected or archived (:mod:`crmkit.core.closing`).

Everything here runs through the same hooks a plugin would use
(``crm_validate`` and ``crm_on_events``), inside the command's transaction: a
stage move and the tasks it creates commit together or not at all.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from string import Formatter
from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy import Connection, Row, select

from . import schema
from .closing import close_tasks
from .errors import ConfigError, ValidationError
from .events import Event
from .hookspecs import hookimpl
from .pipelines import PipelineSpec, StageSpec, TaskRule

if TYPE_CHECKING:  # pragma: no cover
    from .app import Crm
    from .unit_of_work import Tx

NEXT_CONTACT_RULE = "next_contact"
_CARD_FIELDS = {
    "deal": {"title", "amount", "responsible_id", "contact_id", "company_id", "source"},
    "lead": {"title", "name", "company_name", "phone", "email", "responsible_id", "contact_id", "source"},
}
_TABLES = {"deal": schema.deals, "lead": schema.leads}


# -- checking declarations at start-up ---------------------------------------------------


def check_rules(crm: "Crm") -> None:
    """Refuse rules that name unknown fields, pipelines or stages (at start, not at 3 a.m.)."""
    for spec in crm.pipeline_specs:
        entity = "lead" if spec.key == crm.settings.lead_pipeline else "deal"
        for stage in spec.stages:
            where = f"pipeline {spec.key!r} stage {stage.key!r}"
            for name in stage.requires:
                if name not in _CARD_FIELDS[entity] and crm.custom_fields.get(entity, name) is None:
                    raise ConfigError(f"{where}: requires unknown {entity} field {name!r}")
            for rule in stage.tasks:
                _check_task_rule(crm, entity, where, rule)
            for action in stage.actions:
                target = next((p for p in crm.pipeline_specs if p.key == action.pipeline), None)
                if entity != "deal":
                    raise ConfigError(f"{where}: only deal pipelines can copy or move cards")
                if target is None:
                    raise ConfigError(f"{where}: {action.action}_to names unknown pipeline {action.pipeline!r}")
                if action.stage is not None and target.stage(action.stage) is None:
                    raise ConfigError(f"{where}: {action.action}_to names unknown stage {action.stage!r} of {target.key!r}")
                if action.if_field and action.if_field not in _CARD_FIELDS[entity] and crm.custom_fields.get(entity, action.if_field) is None:
                    raise ConfigError(f"{where}: if_field names unknown field {action.if_field!r}")


def _check_task_rule(crm: "Crm", entity: str, where: str, rule: TaskRule) -> None:
    try:
        names = {f for _, f, _, _ in Formatter().parse(rule.title) if f}
    except ValueError as exc:
        raise ConfigError(f"{where}: task title {rule.title!r} is not a valid template: {exc}") from None
    allowed = _CARD_FIELDS[entity] | {"id", "stage", "pipeline", "currency", "contact"}
    for name in names:
        root = name.split("[", 1)[0].split(".", 1)[0]
        if root not in allowed and root != "custom":
            raise ConfigError(f"{where}: task title uses unknown field {{{name}}} (use {', '.join(sorted(allowed))}, custom[...])")
    kind, _, arg = rule.assignee.partition(":")
    if kind == "field":
        spec = crm.custom_fields.get(entity, arg)
        if arg != "responsible_id" and (spec is None or spec.type != "user"):
            raise ConfigError(f"{where}: assignee field {arg!r} must be a custom field of type user")
    elif kind not in ("responsible", "role"):
        raise ConfigError(f"{where}: assignee {rule.assignee!r}: use responsible, role:<role>[/<team>] or field:<name>")
    if rule.due_field:
        spec = crm.custom_fields.get(entity, rule.due_field)
        if spec is None or spec.type not in ("date", "datetime"):
            raise ConfigError(f"{where}: due_field {rule.due_field!r} must be a date or datetime custom field")


# -- hooks ---------------------------------------------------------------------------------


def _entered(crm: "Crm", event: Event) -> tuple[PipelineSpec, StageSpec] | None:
    """The (pipeline, stage) declaration a lead or deal entered with this event, if any."""
    if event.type in ("deal.created", "lead.created"):
        pipeline, stage = event.data.get("pipeline"), event.data.get("stage")
    elif event.type in ("deal.stage_changed", "lead.stage_changed", "lead.reopened"):
        pipeline, stage = event.data.get("pipeline"), event.after("stage")
    else:
        return None
    spec = crm.pipeline_spec(pipeline) if pipeline else None
    st = spec.stage(stage) if spec and stage else None
    return (spec, st) if spec and st else None


@hookimpl(trylast=True)
def crm_validate(tx: "Tx", events: Sequence[Event]) -> None:
    for event in events:
        entered = _entered(tx.crm, event)
        if entered is None or not entered[1].requires:
            continue
        row = _card(tx.conn, event.entity_type, event.entity_id)
        missing = [f for f in entered[1].requires if _value(row, f) in (None, "", [], {})]
        if missing:
            raise ValidationError(
                f"{missing[0]}: {event.entity_type} cannot enter stage {entered[1].key!r} without "
                f"{', '.join(missing)}", field=missing[0],
            )


@hookimpl(specname="crm_on_events", tryfirst=True)
def close_tasks_of_closed_cards(tx: "Tx", events: Sequence[Event]) -> None:
    """First of all reactions: the tasks a card had when it closed are cancelled before any rule
    or plugin adds the tasks its closing calls for."""
    for event in events:
        close_tasks(tx, event)


@hookimpl(trylast=True)
def crm_on_events(tx: "Tx", events: Sequence[Event]) -> None:
    for event in events:
        entered = _entered(tx.crm, event)
        if entered is not None:
            pipeline, stage = entered
            if stage.tasks or stage.actions:
                row = _card(tx.conn, event.entity_type, event.entity_id)
                for i, rule in enumerate(stage.tasks):
                    _make_task(tx, event.entity_type, row, rule, f"stage:{pipeline.key}.{stage.key}#{i}")
                for action in stage.actions:
                    if action.if_field is None or _value(row, action.if_field):
                        _run_action(tx, row, action)
        if event.entity_type == "deal" and event.type in ("deal.created", "deal.updated"):
            _next_contact(tx, event)


# -- what the rules do -------------------------------------------------------------------


def _card(conn: Connection, entity: str, ident: Any) -> Row[Any]:
    table = _TABLES[entity]
    row = conn.execute(select(table).where(table.c.id == ident)).first()
    assert row is not None, f"{entity} {ident} vanished inside its own transaction"
    return row


def _value(row: Row[Any], name: str) -> Any:
    if name == "amount":
        return row.amount_minor
    if name in row._mapping:
        return row._mapping[name]
    return (row.custom or {}).get(name)


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def _render(crm: "Crm", conn: Connection, entity: str, row: Row[Any], template: str) -> str:
    values = _Fields({k: v for k, v in row._mapping.items() if v is not None})
    values["custom"] = _Fields(row.custom or {})
    if entity == "deal":
        stage = crm.stage_by_id(row.stage_id)
        values.update(stage=stage.name, pipeline=stage.pipeline)
        if row.amount_minor is not None:
            from .money import Money

            values["amount"] = str(Money.from_minor(row.amount_minor, row.currency))
    contact_id = row.contact_id
    if contact_id:
        c = conn.execute(select(schema.contacts.c.first_name, schema.contacts.c.last_name)
                         .where(schema.contacts.c.id == contact_id)).first()
        if c:
            values["contact"] = f"{c.first_name} {c.last_name}".strip()
    return template.format_map(values)[:300]


def _assignee(crm: "Crm", conn: Connection, row: Row[Any], assignee: str) -> int | None:
    kind, _, arg = assignee.partition(":")
    if kind == "responsible":
        return row.responsible_id
    if kind == "field":
        value = _value(row, arg)
        return int(value) if value is not None else None
    role, _, team = arg.partition("/")
    u = schema.users.c
    query = select(u.id).where(u.role == role, u.active.is_(True)).order_by(u.id).limit(1)
    if team:
        query = query.where(u.team == team)
    return conn.scalar(query)


def add_business_days(start: datetime, days: int, tz: Any) -> datetime:
    """``start`` plus ``days`` working days (Mon-Fri) in timezone ``tz``, same time of day."""
    local = start.astimezone(tz)
    while days > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            days -= 1
    return local.astimezone(start.tzinfo)


def at_start_of_day(day: date, tz: Any, hour: int = 9) -> datetime:
    """9:00 on ``day`` in the deployment's timezone, as UTC."""
    from .clock import UTC

    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def _due(crm: "Crm", row: Row[Any], rule: TaskRule, now: datetime) -> datetime | None:
    tz = crm.settings.tz
    if rule.due_hours is not None:
        return now + timedelta(hours=rule.due_hours)
    if rule.due_business_days is not None:
        return add_business_days(now, rule.due_business_days, tz)
    if rule.due_field:
        value = _value(row, rule.due_field)
        if not value:
            return None
        if "T" in value:
            return datetime.fromisoformat(value)
        return at_start_of_day(date.fromisoformat(value), tz)
    return None


def _make_task(tx: "Tx", entity: str, row: Row[Any], rule: TaskRule, rule_key: str) -> None:
    t = schema.tasks.c
    exists = tx.conn.scalar(select(t.id).where(
        t.rule == rule_key, t.entity_type == entity, t.entity_id == row.id, t.status == "open").limit(1))
    if exists:
        return  # idempotent: the same rule never stacks open tasks on one card
    services = tx.crm.as_user(tx.actor_id)
    assignee = _assignee(tx.crm, tx.conn, row, rule.assignee)
    services.tasks.add(
        title=_render(tx.crm, tx.conn, entity, row, rule.title),
        description=_render(tx.crm, tx.conn, entity, row, rule.description) if rule.description else "",
        assignee_id=assignee, due_at=_due(tx.crm, row, rule, tx.now), entity_type=entity, entity_id=row.id,
        rule=rule_key,
    )
    if rule.share and assignee is not None:  # the rule's author grants the assignee the card itself
        getattr(services, _SERVICES[entity]).share(row.id, assignee)


_SERVICES = {"deal": "deals", "lead": "leads", "contact": "contacts", "company": "companies"}


def _run_action(tx: "Tx", row: Row[Any], action: Any) -> None:
    deals = tx.crm.as_user(tx.actor_id).deals
    if action.action == "copy":
        deals.copy(row.id, pipeline=action.pipeline, stage=action.stage, once=True)
    else:
        target = tx.crm.pipeline(action.pipeline)
        stage = action.stage or next(s.key for s in target.stages if s.kind == "open")
        deals.move(row.id, stage, pipeline=action.pipeline)


def _next_contact(tx: "Tx", event: Event) -> None:
    name = tx.crm.settings.next_contact_field
    change = event.changes.get("custom")
    if not change or tx.crm.custom_fields.get("deal", name) is None:
        return
    before = (change.get("before") or {}).get(name)
    after = (change.get("after") or {}).get(name)
    if before == after:
        return
    t = schema.tasks.c
    tasks = tx.crm.as_user(tx.actor_id).tasks
    stale = tx.conn.scalars(select(t.id).where(
        t.rule == NEXT_CONTACT_RULE, t.entity_type == "deal", t.entity_id == event.entity_id, t.status == "open"))
    for task_id in list(stale):
        tasks.cancel(task_id)
    if after:
        row = _card(tx.conn, "deal", event.entity_id)
        due = (datetime.fromisoformat(after) if "T" in after
               else at_start_of_day(date.fromisoformat(after), tx.crm.settings.tz))
        tasks.add(title=f"Contact again: {row.title}", assignee_id=row.responsible_id, due_at=due,
                  entity_type="deal", entity_id=row.id, rule=NEXT_CONTACT_RULE)


