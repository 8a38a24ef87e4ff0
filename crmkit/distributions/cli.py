"""``crmkit distributions``: the installed distributions, and upgrading a deployment made from one."""

from __future__ import annotations

from pathlib import Path

import click

from ..cli.output import emit_json, table
from ..cli.state import pass_state
from .manifest import installed_distributions, load_distribution


@click.group("distributions")
def distributions() -> None:
    """ISVs' branded products on crmkit: list them; upgrade a deployment made from one."""


@distributions.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """The distributions installed here (make a deployment: crmkit init --distribution NAME DIR)."""
    rows = []
    for name in sorted(installed_distributions()):
        d = load_distribution(name)
        rows.append({"name": d.name, "version": d.version, "product": d.brand.product_name, "title": d.title,
                     "plugins": list(d.defaults.get("plugins", [])), "templates": len(d.templates),
                     "demo": d.demo is not None})
    if as_json or pass_state().json:
        emit_json({"distributions": rows})
        return
    table(rows, [("name", lambda r: r["name"]), ("version", lambda r: r["version"]),
                 ("product", lambda r: r["product"]), ("plugins", lambda r: r["plugins"])])


@distributions.command("upgrade")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def upgrade(as_json: bool) -> None:
    """Bring the installed release of the deployment's distribution in (after pip install -U of it):
    new defaults merged into crmkit.toml, your own changes kept, the database to head."""
    from .deploy import upgrade_deployment  # here: crmkit.distributions.deploy imports crmkit.cli

    state = pass_state()
    report = upgrade_deployment(Path(state.config))
    if as_json or state.json:
        emit_json({"distribution": report.distribution, "from": report.from_version, "to": report.to_version,
                   "changed": report.changed, "notes": list(report.notes)})
        return
    click.echo(f"{report.distribution} {report.from_version} -> {report.to_version}: "
               + ("crmkit.toml merged (the previous one: crmkit.toml.bak)" if report.changed else "crmkit.toml unchanged"))
    for note in report.notes:
        click.echo(f"  {note}")


def init_from(distribution: str | None, directory: Path, *, database: str | None, product_name: str | None,
              demo: bool) -> None:
    """``crmkit init --distribution NAME DIR [--demo]``."""
    from .deploy import init_deployment

    if not distribution:
        raise click.BadParameter("--demo needs --distribution", param_hint="--demo")
    path = init_deployment(distribution, directory, database=database, demo=demo, product_name=product_name)
    dist = load_distribution(distribution)
    click.echo(f"Created {path} from {dist.name} {dist.version} ({dist.brand.product_name})"
               + (" with demo data." if demo else "."))
    click.echo(f"Next: crmkit --config {path} users add --email you@example.com --name 'Your Name' --role admin")


COMMANDS = [distributions]
