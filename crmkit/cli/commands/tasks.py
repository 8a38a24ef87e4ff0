"""``crmkit tasks``: who must do what by when."""

from __future__ import annotations

import click

from ..output import Column, done, emit_page, fmt, overdue_phrase
from ..params import card_ref, filter_option, json_option, page_options, parse_when
from ..params import filters as make_filters
from ..state import CliState, pass_state


def columns(state: CliState) -> list[Column]:
    now = state.crm.clock.now()
    return [
        ("id", lambda t: t.id), ("title", lambda t: t.title),
        ("assignee", lambda t: state.user_name(t.assignee_id)),
        ("due", lambda t: f"{fmt(t.due_at)} ({overdue_phrase(t.overdue_by(now))})" if t.is_overdue(now)
         else fmt(t.due_at)),
        ("status", lambda t: t.status), ("on", lambda t: f"{t.entity_type}:{t.entity_id}" if t.entity_type else ""),
    ]


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


@tasks.command("add")
@click.option("--title", required=True)
@click.option("--assignee", metavar="USER", help="E-mail or id of who must do it (me: the --as user).")
@click.option("--due", help="When: ISO date/datetime (UTC if no offset), today, tomorrow, +2d, +3h.")
@click.option("--description", default="")
@click.option("--on", "on", metavar="TYPE:ID", help="The card it is about, e.g. deal:12.")
@json_option
def add(title: str, assignee: str | None, due: str | None, description: str, on: str | None, as_json: bool) -> None:
    """Add a task."""
    state = pass_state()
    entity_type, entity_id = card_ref(on) if on else (None, None)
    task = state.services.tasks.add(
        title=title, assignee_id=state.user_id(assignee) if assignee else None,
        due_at=parse_when(due, now=state.crm.clock.now()) if due else None, description=description,
        entity_type=entity_type, entity_id=entity_id,
    )
    done(f"Added task {task.id}: {task.title}", task, as_json=as_json or state.json)


@tasks.command("complete")
@click.argument("task_id", type=int)
@click.option("--version", type=int, help="Refuse if the task changed since this version.")
@json_option
def complete(task_id: int, version: int | None, as_json: bool) -> None:
    """Mark a task done."""
    state = pass_state()
    task = state.services.tasks.complete(task_id, version=version)
    done(f"Completed task {task.id}: {task.title}", task, as_json=as_json or state.json)


@tasks.command("reassign")
@click.argument("task_id", type=int)
@click.argument("assignee", metavar="USER")
@click.option("--version", type=int, help="Refuse if the task changed since this version.")
@json_option
def reassign(task_id: int, assignee: str, version: int | None, as_json: bool) -> None:
    """Give an open task to USER (e-mail or id)."""
    state = pass_state()
    task = state.services.tasks.reassign(task_id, state.user_id(assignee), version=version)
    done(f"Task {task.id} is now {state.user_name(task.assignee_id)}'s", task, as_json=as_json or state.json)
