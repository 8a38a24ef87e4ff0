"""``crmkit demo``: a ready deployment of the window company, full of demo data."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import click

from ... import demo as demo_data
from ...core.clock import FrozenClock
from ...core.errors import ValidationError
from ...core.migrations import open_upgraded
from ...core.settings import Settings
from ..deployment import CONFIG_NAME, create_sqlite_file, sqlite_files, write_config
from ..output import table


@click.command("demo")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default="demo")
@click.option("--force", is_flag=True, help="Recreate the demo if DIRECTORY already holds one (its data is lost).")
@click.option("--database", help="Database URL (default: sqlite:///crmkit.db in DIRECTORY). Must be empty.")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed: same seed, same data.")
def demo(directory: Path, force: bool, database: str | None, seed: int) -> None:
    """Create DIRECTORY (default ./demo) with a crmkit.toml and realistic demo data."""
    started = time.monotonic()
    config = directory / CONFIG_NAME
    if config.exists():
        if not force:
            raise ValidationError(
                f"{directory} already holds a deployment ({config}); use --force to recreate it, or another DIRECTORY"
            )
        _remove(config)
    path = write_config(directory, name=demo_data.COMPANY_NAME, database=database, extra=demo_data.CONFIG_EXTRA)
    create_sqlite_file(Settings.load(path).database_url())  # 0600, as the config
    now = datetime.now(timezone.utc)
    with open_upgraded(Settings.load(path), clock=FrozenClock(now)) as crm:
        if crm.system.users.list(limit=1).items:
            path.unlink()
            raise ValidationError(f"the database {crm.settings.database} already holds data; the demo needs an empty one")
        summary = demo_data.seed(crm, now=now, seed=seed)
    _print_summary(summary, path, time.monotonic() - started)


def _remove(config: Path) -> None:
    """Remove an old demo: its config and, if it is SQLite, its database files."""
    settings = Settings.load(config)
    for file in sqlite_files(settings.database_url()):
        file.unlink(missing_ok=True)
    config.unlink()


def _print_summary(summary: demo_data.DemoSummary, path: Path, seconds: float) -> None:
    click.echo(f"Demo deployment of {demo_data.COMPANY_NAME} ready in {path.parent} ({seconds:.1f}s).")
    leads = ", ".join(f"{n} {status}" for status, n in summary.leads.items() if n)
    click.echo(f"  {summary.users} users, {sum(summary.leads.values())} leads ({leads}), "
               f"{summary.contacts} contacts, {summary.companies} companies, {summary.notes} notes")
    click.echo(f"  {summary.open_tasks} open tasks, {summary.overdue_tasks} overdue")
    click.echo("")
    table([s for s in summary.stages if s[2]], [
        ("pipeline", lambda s: s[0]), ("stage", lambda s: s[1]), ("deals", lambda s: s[2]),
    ])
    click.echo("")
    click.echo("Users (act as one with --as EMAIL):")
    table(summary.staff, [("e-mail", lambda u: u[0]), ("name", lambda u: u[1]), ("role", lambda u: u[2])])
    click.echo("")
    click.echo("Try:")
    click.echo(f"  export CRMKIT_CONFIG={path}")
    for command in (
        "crmkit pipelines",
        "crmkit deals list --pipeline sales --stage proposal_sent",
        "crmkit tasks list --overdue",
        f"crmkit --as tom.baker@{demo_data.DOMAIN} tasks list --assignee me --status open",
        "crmkit deals show 1 && crmkit timeline deal 1",
        "crmkit leads list --status rejected",
    ):
        click.echo(f"  {command}")
