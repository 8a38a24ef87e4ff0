"""``crmkit events``: after-commit delivery of the event log to plugins, its failures and retries."""

from __future__ import annotations

import click

from ..output import emit_json, fmt, table
from ..params import json_option
from ..state import pass_state


@click.group("events")
def events() -> None:
    """After-commit delivery of events to plugins (side effects: SMS, e-mail, webhooks)."""


@events.command("deliver")
@json_option
def deliver(as_json: bool) -> None:
    """Deliver pending events to plugins and retry failed deliveries that are due."""
    state = pass_state()
    dispatcher = state.crm.dispatcher
    fresh = dispatcher.deliver_pending()
    retried = dispatcher.retry_due()
    counts = {"delivered": fresh.delivered, "failed": fresh.failed,
              "retried_ok": retried.delivered, "retried_failed": retried.failed}
    if as_json or state.json:
        emit_json(counts)
        return
    click.echo(f"Delivered {fresh.delivered} event(s), {fresh.failed} failed; "
               f"retries: {retried.delivered} delivered, {retried.failed} failed again.")


@events.command("failures")
@click.option("--status", type=click.Choice(["retrying", "dead", "delivered"]), help="Only failures in this state.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@json_option
def failures(status: str | None, limit: int, as_json: bool) -> None:
    """Failed after-commit deliveries, newest first."""
    state = pass_state()
    found = state.crm.dispatcher.failures(status=status, limit=limit)
    if as_json or state.json:
        emit_json(found)
        return
    table(found, [
        ("id", lambda f: f.id), ("event", lambda f: f"{f.event_id} {f.event_type} {f.entity_type}:{f.entity_id}"), ("plugin", lambda f: f.subscriber),
        ("attempts", lambda f: f.attempts), ("status", lambda f: f.status),
        ("next attempt", lambda f: fmt(f.next_attempt_at) if f.status == "retrying" else ""),
        ("error", lambda f: f.last_error.strip().splitlines()[-1] if f.last_error.strip() else ""),
    ])


@events.command("retry")
@click.argument("ids", nargs=-1, type=int)
@json_option
def retry(ids: tuple[int, ...], as_json: bool) -> None:
    """Put failed deliveries (IDS, or all dead and backing-off ones) up for retry now; then run `deliver`."""
    state = pass_state()
    count = state.crm.dispatcher.requeue(list(ids) or None)
    if as_json or state.json:
        emit_json({"requeued": count})
    else:
        click.echo(f"Requeued {count} failed deliver{'y' if count == 1 else 'ies'}; run `crmkit events deliver`.")
