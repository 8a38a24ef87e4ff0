"""``crmkit tasks``: who must do what by when."""

from __future__ import annotations

from typing import Any

import click

from ...core.records import Task
from ..output import Column, card, done, emit_json, emit_page, fmt, overdue_phrase
from ..params import card_ref, custom_option, filter_option, json_option, page_options, pairs, parse_due
from ..params import filters as make_filters
from ..state import CliState, pass_state

DUE_HELP = ("When: a date (YYYY-MM-DD, today, tomorrow: the end of that day in the deployment's timezone), "
            "an ISO datetime (UTC if no offset), or +2d, +3h.")


def columns(state: CliState) -> list[Column]:
    now = state.crm.clock.now()
    return [
        ("id", lambda t: t.id), ("title", lambda t: t.title),
        ("assignee", lambda t: state.user_name(t.assignee_id)),
        ("due", lambda t: f"{fmt(t.due_at)} ({overdue_phrase(t.overdue_by(now))})" if t.is_overdue(now)
         else fmt(t.due_at)),
        ("status", lambda t: t.status), ("on", lambda t: f"{t.entity_type}:{t.entity_id}" if t.entity_type else ""),
    ]


def _due(state: CliState, text: str) -> Any:
    return parse_due(text, now=state.crm.clock.now(), tz=state.crm.settings.tz)


def _result(state: CliState, message: str, task: Task, as_json: bool) -> None:
    done(state.by(message), task, as_json=as_json or state.json)


@click.group("tasks")
def tasks() -> None:
    """Tasks: reminders and next actions, often on a deal or lead."""


@tasks.command("list")
@click.option("--assignee", metavar="USER", help="E-mail or id of the assignee (me: the --as user).")
@click.option("--overdue", is_flag=True, help="Only open tasks past their due time.")
@click.option("--status", type=click.Choice(["open", "done", "cancelled"]))
@click.option("--on", "on", metavar="TYPE:ID", help="Tasks on one card, e.g. deal:12.")
@filter_option
@page_options
@json_option
def list_tasks(assignee: str | None, overdue: bool, status: str | None, on: str | None, filters: tuple[str, ...],
               limit: int, cursor: str | None, as_json: bool) -> None:
    """List tasks, oldest first."""
    state = pass_state()
    entity_type, entity_id = card_ref(on) if on else (None, None)
    query = make_filters(filters, assignee_id=state.user_id(assignee) if assignee else None, status=status,
                         overdue=True if overdue else None, entity_type=entity_type, entity_id=entity_id)
    page = state.services.tasks.list(query, limit=limit, cursor=cursor)
    emit_page(page, columns(state), as_json=as_json or state.json)


@tasks.command("show")
@click.argument("task_id", type=int)
@json_option
def show(task_id: int, as_json: bool) -> None:
    """Show one task."""
    state = pass_state()
    t = state.services.tasks.get(task_id)
    if as_json or state.json:
        emit_json(t)
        return
    late_by = t.overdue_by(state.crm.clock.now())
    late = f" ({overdue_phrase(late_by)})" if late_by is not None else ""
    card(f"Task {t.id}: {t.title}", [
        ("status", t.status), ("assignee", state.user_name(t.assignee_id)), ("due", f"{fmt(t.due_at)}{late}"),
        ("on", f"{t.entity_type}:{t.entity_id}" if t.entity_type else None), ("description", t.description),
        ("rule", t.rule), ("custom", t.custom), ("created by", state.user_name(t.created_by) or "the system"),
        ("created", t.created_at), ("closed", t.completed_at), ("version", t.version),
    ])


@tasks.command("add")
@click.option("--title", required=True)
@click.option("--assignee", metavar="USER", help="E-mail or id of who must do it [default: you, the --as user].")
@click.option("--due", help=DUE_HELP)
@click.option("--description", default="")
@click.option("--on", "on", metavar="TYPE:ID", help="The card it is about, e.g. deal:12.")
@custom_option
@json_option
def add(title: str, assignee: str | None, due: str | None, description: str, on: str | None,
        custom: tuple[str, ...], as_json: bool) -> None:
    """Add a task (yours unless --assignee says whose)."""
    state = pass_state()
    services = state.acting()
    entity_type, entity_id = card_ref(on) if on else (None, None)
    task = services.tasks.add(
        title=title, assignee_id=state.user_id(assignee) if assignee else None,
        due_at=_due(state, due) if due else None, description=description,
        entity_type=entity_type, entity_id=entity_id,
        custom=state.custom("task", pairs(custom, "--custom")) or None,
    )
    _result(state, f"Added task {task.id} for {state.user_name(task.assignee_id) or 'nobody'}: {task.title}", task,
            as_json)


@tasks.command("update")
@click.argument("task_id", type=int)
@click.option("--title")
@click.option("--description")
@click.option("--due", help=DUE_HELP + " An empty string clears it.")
@custom_option
@click.option("--version", type=int, help="Refuse if the task changed since this version.")
@json_option
def update(task_id: int, title: str | None, description: str | None, due: str | None, custom: tuple[str, ...],
           version: int | None, as_json: bool) -> None:
    """Change a task's title, description, due time or custom fields (its assignee: reassign)."""
    state = pass_state()
    services = state.acting()
    changes: dict[str, Any] = {k: v for k, v in {"title": title, "description": description}.items() if v is not None}
    if due is not None:
        changes["due_at"] = _due(state, due) if due.strip() else None
    if custom:
        changes["custom"] = state.custom("task", pairs(custom, "--custom"))
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    task = services.tasks.update(task_id, changes, version=version)
    _result(state, f"Updated task {task.id}: {task.title}", task, as_json)


@tasks.command("complete")
@click.argument("task_id", type=int)
@click.option("--version", type=int, help="Refuse if the task changed since this version.")
@json_option
def complete(task_id: int, version: int | None, as_json: bool) -> None:
    """Mark a task done."""
    state = pass_state()
    task = state.acting().tasks.complete(task_id, version=version)
    _result(state, f"Completed task {task.id}: {task.title}", task, as_json)


@tasks.command("cancel")
@click.argument("task_id", type=int)
@click.option("--reason", help="Why it is no longer needed (kept in its history).")
@click.option("--version", type=int, help="Refuse if the task changed since this version.")
@json_option
def cancel(task_id: int, reason: str | None, version: int | None, as_json: bool) -> None:
    """Cancel an open task."""
    state = pass_state()
    task = state.acting().tasks.cancel(task_id, reason=reason, version=version)
    _result(state, f"Cancelled task {task.id}: {task.title}", task, as_json)


@tasks.command("reopen")
@click.argument("task_id", type=int)
@click.option("--version", type=int, help="Refuse if the task changed since this version.")
@json_option
def reopen(task_id: int, version: int | None, as_json: bool) -> None:
    """Open a done or cancelled task again."""
    state = pass_state()
    task = state.acting().tasks.reopen(task_id, version=version)
    _result(state, f"Reopened task {task.id}: {task.title}", task, as_json)


@tasks.command("reassign")
@click.argument("task_id", type=int)
@click.argument("assignee", metavar="USER")
@click.option("--version", type=int, help="Refuse if the task changed since this version.")
@json_option
def reassign(task_id: int, assignee: str, version: int | None, as_json: bool) -> None:
    """Give an open task to USER (e-mail or id)."""
    state = pass_state()
    task = state.acting().tasks.reassign(task_id, state.user_id(assignee), version=version)
    _result(state, f"Task {task.id} is now {state.user_name(task.assignee_id)}'s", task, as_json)
