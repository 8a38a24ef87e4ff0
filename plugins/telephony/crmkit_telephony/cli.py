"""``crmkit telephony stats|calls|ami``."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import click

from crmkit import to_dict

from . import config

if TYPE_CHECKING:  # pragma: no cover
    from crmkit import Crm


def _state() -> Any:
    """The CLI's state (``--as``, ``--json``) when run by ``crmkit``; ``None`` in a bare click group."""
    try:
        from crmkit.cli import invocation

        return invocation()
    except Exception:  # pragma: no cover - a group built without crmkit's root command
        return None


def _services(crm: "Crm") -> Any:
    """The services of ``--as`` (the system when no user is given)."""
    state = _state()
    return state.services if state is not None and state.user else crm.as_user(None)


def _json(ctx: click.Context, flag: bool) -> bool:
    state = _state()
    return flag or bool(getattr(state, "json", False))


def group(crm: "Crm") -> click.Group:
    """The ``telephony`` command group for ``crm``."""

    @click.group("telephony")
    def telephony() -> None:
        """Calls: the call log, statistics, the Asterisk AMI listener."""

    @telephony.command("stats")
    @click.option("--from", "start", metavar="YYYY-MM-DD", help="First day (UTC).")
    @click.option("--to", "end", metavar="YYYY-MM-DD", help="Last day (UTC), inclusive.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_context
    def stats_cmd(ctx: click.Context, start: str | None, end: str | None, as_json: bool) -> None:
        """Calls per user and day, answered rate, missed-call response time, recordings per deal."""
        from .calls import require_stats
        from .stats import stats
        from .web import day_range

        require_stats(_services(crm))
        since, until = day_range(start, end)
        data = stats(crm, since=since, until=until)
        if _json(ctx, as_json):
            click.echo(json.dumps(data, indent=2))
            return
        rate = data["answered_rate"]
        click.echo(f"calls ended: {rate['calls']}, answered: {rate['answered']}"
                   + (f" ({rate['rate'] * 100:.1f}%)" if rate["rate"] is not None else ""))
        m = data["missed_calls"]
        avg = m["avg_response_seconds"]
        click.echo(f"missed incoming: {m['missed']}, called back: {m['called_back']}, "
                   f"average response: {'-' if avg is None else f'{avg // 60} min {avg % 60} s'}")
        click.echo("USER  DAY         CALLS  IN  OUT  ANSWERED  MISSED")
        for r in data["calls_per_user_day"]:
            click.echo(f"{str(r['user_id'] or '-'):<5} {r['day']:<11} {r['calls']:>5} {r['inbound']:>3} "
                       f"{r['outbound']:>4} {r['answered']:>9} {r['missed']:>7}")
        for r in data["recordings_per_deal"]:
            click.echo(f"deal {r['deal_id']}: {r['recordings']} recording(s)")

    @telephony.command("calls")
    @click.option("--limit", default=20, show_default=True, help="How many, newest first.")
    @click.option("--phone", help="Only calls with this number.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_context
    def calls_cmd(ctx: click.Context, limit: int, phone: str | None, as_json: bool) -> None:
        """The call log."""
        from .calls import list_calls

        page = list_calls(_services(crm), limit=limit, phone=phone)
        if _json(ctx, as_json):
            click.echo(json.dumps({"items": [to_dict(c) for c in page.items], "next_cursor": page.next_cursor},
                                  indent=2))
            return
        if not page.items:
            click.echo("(no calls)")
        for c in page.items:
            links = " ".join(f"{k} {v}" for k, v in (("contact", c.contact_id), ("deal", c.deal_id),
                                                      ("lead", c.lead_id)) if v is not None)
            click.echo(f"#{c.id} {c.started_at:%Y-%m-%d %H:%M} {c.direction:<8} {c.phone or 'hidden':<16} "
                       f"{c.result or c.status:<9} {c.duration or 0:>5}s {links}".rstrip())

    @telephony.command("ami")
    def ami_cmd() -> None:
        """Listen to Asterisk over AMI and log its calls (runs until interrupted)."""
        from .listener import listen

        opts = config.load(crm).provider_settings("asterisk")
        if not opts.get("host"):
            raise click.UsageError("set settings.telephony.asterisk.host, port, username, secret first")
        stop = threading.Event()
        click.echo(f"listening to AMI at {opts['host']}:{opts.get('port', 5038)} (Ctrl-C stops)")
        try:
            listen(crm, stop)
        except KeyboardInterrupt:
            stop.set()

    return telephony
