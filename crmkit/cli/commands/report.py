"""``crmkit report NAME``: a KPI report as a table, ``--json`` or ``--csv`` (definitions: docs/reports.md)."""

from __future__ import annotations

import csv
import io
from typing import Any

import click

from ...core.money import Money
from ...core.reports import REPORTS, Comparison, Report, run_report
from ...core.reports.scope import options_of
from ..output import emit_json, table
from ..params import json_option
from ..state import pass_state


def _names() -> str:
    return "\n".join(f"  {name:<14} {spec.summary}" for name, spec in REPORTS.items())


@click.command("report", help="Run a KPI report (as --as: a manager's report covers what they may see).\n\n"
                              "\b\nReports:\n" + _names())
@click.argument("name", metavar="NAME")
@click.option("--from", "since", metavar="DATE", help="First day of the period (YYYY-MM-DD), included.")
@click.option("--to", "until", metavar="DATE", help="Last day of the period (YYYY-MM-DD), included.")
@click.option("--team", help="Only the cards of this team's users.")
@click.option("--manager", metavar="USER", help="Only the cards of this user (e-mail or id).")
@click.option("--pipeline", help="Only the deals of this pipeline (funnel, time_in_stage: this pipeline's stages).")
@click.option("--source", metavar="UTM", help="Only leads and deals of this UTM source.")
@click.option("--channel", help="Only leads and deals that came in this way (web_form, call, email, ...).")
@click.option("--lifecycle", type=click.Choice(["potential", "active", "regular", "lost"]),
              help="Only leads and deals of contacts in this lifecycle stage.")
@click.option("--currency", help="The currency of money columns of mixed reports (default: the deployment's).")
@click.option("--compare-to", "compare_to", metavar="PERIOD",
              help="Also the period before: previous (as long, just before), year (a year earlier) or FROM..TO.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (one header line, one line per row).")
@json_option
def report(name: str, since: str | None, until: str | None, team: str | None, manager: str | None,
           pipeline: str | None, source: str | None, channel: str | None, lifecycle: str | None, currency: str | None,
           compare_to: str | None, as_csv: bool, as_json: bool) -> None:
    state = pass_state()
    options = options_of({"from": since, "to": until, "team": team, "manager": manager, "pipeline": pipeline,
                          "source": source, "channel": channel, "currency": currency, "lifecycle": lifecycle})
    result = run_report(state.services, name, compare_to=compare_to, **options)
    if as_json or state.json:
        emit_json(result.to_json())
    elif as_csv:
        click.echo(to_csv(result), nl=False)
    else:
        table(result.rows, [(c, _getter(c)) for c in result.columns])


def _getter(column: str) -> Any:
    return lambda row: cell(row.get(column), column)


def cell(value: Any, column: str = "") -> str:
    """One value as text: money as ``1200.50 USD``, ratios and seconds rounded."""
    if value is None:
        return ""
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, float):
        if "seconds" in column:
            return _duration(value)
        return f"{value:.2f}" if "per_100" in column else f"{value:.3f}"
    return str(value)


def _duration(seconds: float) -> str:
    sign, s = ("-" if seconds < 0 else ""), abs(seconds)
    if s >= 86400:
        return f"{sign}{s / 86400:.1f}d"
    if s >= 3600:
        return f"{sign}{s / 3600:.1f}h"
    return f"{sign}{s / 60:.0f}m"


def to_csv(result: Report | Comparison) -> str:
    """The rows as CSV: money as amount and currency in one cell, seconds and ratios as numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if row.get(c) is None else str(row.get(c)) for c in result.columns])
    return out.getvalue()
