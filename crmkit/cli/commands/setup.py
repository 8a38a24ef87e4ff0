"""``crmkit init`` and ``crmkit plugins``: commands that need no running deployment."""

from __future__ import annotations

from pathlib import Path

import click

from ...core.migrations import open_upgraded
from ...core.plugins import installed_plugins
from ...core.settings import Settings
from ..deployment import create_sqlite_file, write_config
from ..output import emit_json, table
from ..params import json_option
from ..state import pass_state


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--database", help="Database URL (default: sqlite:///crmkit.db next to the config).")
@click.option("--name", help="The product name shown to users (white-label).")
def init(directory: Path, database: str | None, name: str | None) -> None:
    """Write a commented DIRECTORY/crmkit.toml and create its database (both readable by you only)."""
    path = write_config(directory, name=name, database=database)
    db_file = None
    try:
        db_file = create_sqlite_file(Settings.load(path).database_url())  # 0600, as the config
        open_upgraded(Settings.load(path)).close()  # an existing database is upgraded first
    except BaseException:
        path.unlink()  # no half-made deployment: the config goes with the failed database
        if db_file is not None:
            db_file.unlink(missing_ok=True)
        raise
    click.echo(f"Created {path} and its database.")
    click.echo(f"Next: edit {path} (pipelines, custom fields, plugins), then")
    click.echo(f"  crmkit --config {path} users add --email you@example.com --name 'Your Name' --role admin")


@click.command("plugins")
@json_option
def plugins(as_json: bool) -> None:
    """Installed plugins, their versions, and which the deployment enables."""
    state = pass_state()
    enabled: set[str] | None = set(state.settings().plugins) if state.has_config() else None
    rows = [
        {"name": p.name, "version": p.version, "distribution": p.distribution, "target": p.target,
         "enabled": (p.name in enabled) if enabled is not None else None}
        for p in sorted(installed_plugins().values(), key=lambda p: p.name)
    ]
    if as_json or state.json:
        emit_json({"config": str(state.config) if enabled is not None else None, "plugins": rows})
        return
    table(rows, [
        ("plugin", lambda r: r["name"]), ("version", lambda r: r["version"]),
        ("distribution", lambda r: r["distribution"]),
        ("enabled", lambda r: "-" if r["enabled"] is None else ("yes" if r["enabled"] else "no")),
    ])
    if enabled is None:
        click.echo(f"(no deployment at {state.config}: enabled plugins unknown; use --config)")
    else:
        missing = sorted(enabled - {r["name"] for r in rows})
        if missing:
            click.echo(f"Enabled but not installed: {', '.join(missing)}")

