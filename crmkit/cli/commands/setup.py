"""``crmkit init`` and ``crmkit plugins``: commands that need no running deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ...core.migrations import open_upgraded
from ...core.errors import CrmError
from ...core.plugins import InstalledPlugin, auto_enabled, installed_plugins
from ...core.settings import Settings
from ..deployment import create_sqlite_file, write_config
from ..output import emit_json, table
from ..params import json_option
from ..state import pass_state


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--database", help="Database URL (default: sqlite:///crmkit.db next to the config).")
@click.option("--name", help="The product name shown to users (white-label).")
@click.option("--distribution", metavar="DIST", help="Make it from this installed distribution (crmkit distributions list).")
@click.option("--demo", is_flag=True, help="With --distribution: fill it with the distribution's demo data.")
def init(directory: Path, database: str | None, name: str | None, distribution: str | None, demo: bool) -> None:
    """Write a commented DIRECTORY/crmkit.toml and create its database (both readable by you only)."""
    if distribution or demo:
        from ...distributions.cli import init_from  # docs/distributions.md

        return init_from(distribution, directory, database=database, product_name=name, demo=demo)
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
    """Installed plugins, their versions, and how the deployment enables each: listed in crmkit.toml,
    auto (a glue plugin switched on by the plugins it bridges), or not at all."""
    state = pass_state()
    listed: list[str] | None = list(state.settings().plugins) if state.has_config() else None
    auto: dict[str, tuple[str, ...]] = {}
    if listed:
        try:
            auto = auto_enabled(listed)
        except CrmError as exc:
            click.echo(f"Warning: glue plugins not resolved: {exc.message}", err=True)
    rows = [_row(p, listed, auto) for p in sorted(installed_plugins().values(), key=lambda p: p.name)]
    if as_json or state.json:
        emit_json({"config": str(state.config) if listed is not None else None, "plugins": rows})
        return
    table(rows, [
        ("plugin", lambda r: r["name"]), ("version", lambda r: r["version"]),
        ("distribution", lambda r: r["distribution"]), ("enabled", _shown),
    ])
    if listed is None:
        click.echo(f"(no deployment at {state.config}: enabled plugins unknown; use --config)")
    else:
        missing = sorted(set(listed) - {r["name"] for r in rows})
        if missing:
            click.echo(f"Enabled but not installed: {', '.join(missing)}")


def _row(p: InstalledPlugin, listed: list[str] | None, auto: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """``status``: ``listed`` (in crmkit.toml), ``auto`` (``auto_enabled_by`` names the plugins that
    pulled it in), ``installed`` (not enabled), or None without a deployment."""
    if listed is None:
        status = None
    else:
        status = "listed" if p.name in listed else "auto" if p.name in auto else "installed"
    return {"name": p.name, "version": p.version, "distribution": p.distribution, "target": p.target,
            "enabled": None if status is None else status != "installed", "status": status,
            "auto_enabled_by": list(auto.get(p.name, ()))}


def _shown(row: dict[str, Any]) -> str:
    if row["status"] is None:
        return "-"
    if row["status"] == "auto":
        return f"auto ({', '.join(row['auto_enabled_by'])})"
    return "yes" if row["status"] == "listed" else "no"
