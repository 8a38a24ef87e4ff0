"""``crmkit worker``: periodic jobs and after-commit delivery."""

from __future__ import annotations

from datetime import datetime

import click

from ...core.clock import FrozenClock, ensure_utc
from ...core.worker import Worker
from ..output import emit_json
from ..state import pass_state


@click.command("worker")
@click.option("--once", is_flag=True, help="Run one pass and exit (for cron and tests).")
@click.option("--interval", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds between passes.")
@click.option("--now", "now", metavar="ISO", help="Run the pass as if at this time (replays, tests). Needs --once.")
@click.option("--json", "as_json", is_flag=True, help="Print each pass's report as JSON.")
def worker(once: bool, interval: float, now: str | None, as_json: bool) -> None:
    """Run periodic jobs (the core's and enabled plugins') and deliver events to plugins.

    On SQLite one worker runs at a time; on PostgreSQL run as many as you like.
    """
    state = pass_state()
    crm = state.crm
    if now is not None:
        if not once:
            raise click.BadParameter("--now needs --once", param_hint="--now")
        try:
            crm.clock = FrozenClock(ensure_utc(datetime.fromisoformat(now), field="--now"))
        except ValueError:
            raise click.BadParameter(f"{now!r} is not an ISO datetime with an offset", param_hint="--now") from None
    w = Worker(crm)
    if once:
        report = w.run_once()
        if as_json or state.json:
            emit_json({"ran": report.ran, "failed": report.failed, "delivered": report.delivered,
                       "delivery_failures": report.delivery_failures})
            return
        click.echo(f"Ran {len(report.ran)} job(s): {', '.join(report.ran) or 'none due'}; "
                   f"delivered {report.delivered} event(s), {report.delivery_failures} delivery failure(s)")
        for name, error in report.failed.items():
            click.echo(f"Job {name} failed: {error.splitlines()[-1]}", err=True)
        return
    from ...ops.config import logging_options
    from ...ops.logs import configure_logging

    configure_logging(logging_options(crm.settings))  # one line per job run ([settings.logging])
    click.echo(f"Worker {w.name} running every {interval:g}s (Ctrl-C to stop)", err=True)
    w.run_forever(interval=interval)
