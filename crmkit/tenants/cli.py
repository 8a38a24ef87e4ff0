"""``crmkit tenants``: the tenants of a many-tenant installation (docs/tenants.md).

``add``, ``list``, ``disable``, ``enable``, ``upgrade`` (every tenant's database to head, resumable),
``worker`` (passes over every enabled tenant), ``serve`` (one process routing by host name or
path prefix) and ``run NAME -- COMMAND...`` (any crmkit command against exactly that tenant).
The installation is ``tenants.toml`` (``--registry``, env ``CRMKIT_TENANTS``, default ./tenants.toml).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import click

from .. import ValidationError
from ..cli.output import emit_json, table
from ..cli.state import pass_state
from .pool import DEFAULT_MAX_OPEN, TenantPool
from .registry import REGISTRY_ENV, REGISTRY_NAME, Tenant, TenantRegistry

_OVERRIDES = ("CRMKIT_CONFIG", "CRMKIT_PLUGINS", "CRMKIT_DATABASE_URL")
"""Env vars that would point a tenant's command at another deployment: not applied to tenants."""


def _registry_path(ctx: click.Context) -> Path:
    return Path(ctx.find_object(dict)["registry"]) if ctx.find_object(dict) else Path(REGISTRY_NAME)


def _registry() -> TenantRegistry:
    return TenantRegistry.load(_registry_path(click.get_current_context()))


def _json(as_json: bool) -> bool:
    return as_json or pass_state().json


@click.group("tenants")
@click.option("--registry", type=click.Path(dir_okay=False), envvar=REGISTRY_ENV, default=REGISTRY_NAME,
              show_default=True, help=f"The installation's tenants file [env {REGISTRY_ENV}].")
@click.pass_context
def tenants(ctx: click.Context, registry: str) -> None:
    """Many client deployments from one installation: each tenant its own crmkit.toml, plugins,
    brand and database, routed by host name or path prefix."""
    ctx.obj = {"registry": registry}


@tenants.command("add")
@click.argument("name")
@click.option("--host", "hosts", multiple=True, metavar="HOST", help="A host name routed to it (repeatable).")
@click.option("--prefix", help="A path prefix routed to it, e.g. /acme (the API; the web UI wants a host).")
@click.option("--database", help="Its database URL (default: a SQLite file in its folder).")
@click.option("--schema", is_flag=True, help="A PostgreSQL schema of its own (tenant_NAME) in the --database.")
@click.option("--distribution", metavar="DIST", help="Make it from this installed distribution (crmkit distributions).")
@click.option("--demo", is_flag=True, help="With --distribution: fill it with the distribution's demo data.")
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path),
              help="Where its crmkit.toml goes (default: NAME/ next to the tenants file).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def add(name: str, hosts: tuple[str, ...], prefix: str | None, database: str | None, schema: bool,
        distribution: str | None, demo: bool, folder: Path | None, as_json: bool) -> None:
    """Create tenant NAME: its folder, crmkit.toml and database (at head), and its entry."""
    from .provision import add_tenant

    write = finish = None
    if demo and not distribution:
        raise click.BadParameter("--demo needs --distribution", param_hint="--demo")
    if distribution:
        from ..distributions import config_writer, finish_deployment

        write = config_writer(distribution)

        def finish(config: Path) -> None:  # the distribution's templates into its database, what it applied
            finish_deployment(write.distribution, config, demo=demo)  # type: ignore[union-attr]
    if schema and not database:
        raise ValidationError("--schema needs --database (the PostgreSQL database holding the schemas)",
                              field="database")
    tenant = add_tenant(_registry(), name, hosts=hosts, prefix=prefix, database=database, schema=schema,
                        folder=folder, write=write, finish=finish)
    if _json(as_json):
        emit_json(_row(tenant))
        return
    where = ", ".join([*tenant.hosts, *([tenant.prefix] if tenant.prefix else [])])
    click.echo(f"Added tenant {name} ({where}): {tenant.config}")
    click.echo(f"Next: crmkit tenants run {name} -- users add --email you@example.com --name 'Your Name' --role admin")


@tenants.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """The tenants, their host names, prefix, state and crmkit.toml."""
    rows = [_row(t) for t in _registry()]
    if _json(as_json):
        emit_json({"tenants": rows})
        return
    table(rows, [("tenant", lambda r: r["name"]), ("hosts", lambda r: r["hosts"]),
                 ("prefix", lambda r: r["prefix"] or ""), ("state", lambda r: r["state"]),
                 ("config", lambda r: r["config"])])


def _row(t: Tenant) -> dict[str, Any]:
    return {"name": t.name, "hosts": list(t.hosts), "prefix": t.prefix, "state": "disabled" if t.disabled else "enabled",
            "config": str(t.config)}


def _set_disabled(name: str, disabled: bool) -> Tenant:
    import attrs

    registry = _registry()
    tenant = attrs.evolve(registry.get(name), disabled=disabled)
    registry.with_tenant(tenant, replace=True).save()
    return tenant


@tenants.command("disable")
@click.argument("name")
def disable(name: str) -> None:
    """Stop serving tenant NAME (403) and skip it in the worker; its data stays."""
    _set_disabled(name, True)
    click.echo(f"Disabled tenant {name}: its requests get 403, the worker skips it (crmkit tenants enable {name}).")


@tenants.command("enable")
@click.argument("name")
def enable(name: str) -> None:
    """Serve a disabled tenant again."""
    _set_disabled(name, False)
    click.echo(f"Enabled tenant {name}.")


@tenants.command("upgrade")
@click.option("--keep-going", is_flag=True, help="Go on with the other tenants after a failure.")
@click.option("--restart", is_flag=True, help="Forget an unfinished run and check every tenant again.")
@click.option("--distributions", "with_distributions", is_flag=True,
              help="Also merge the installed release of each tenant's distribution (crmkit distributions upgrade).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def upgrade(keep_going: bool, restart: bool, with_distributions: bool, as_json: bool) -> None:
    """Bring every tenant's database to head (crmkit db upgrade for each). Resumable: after a failure
    or an interruption, run it again to go on where it stopped."""
    from .upgrade import TenantUpgrade, upgrade_one, upgrade_tenants, upgrade_with_distribution

    quiet = _json(as_json)

    def show(r: TenantUpgrade) -> None:
        if quiet:
            return
        if r.status == "failed":
            click.echo(f"{r.tenant}: FAILED: {r.error}", err=True)
        else:
            click.echo(f"{r.tenant}: " + (", ".join(r.applied) if r.applied else "at head"))

    run = upgrade_tenants(_registry(), restart=restart, keep_going=keep_going, progress=show,
                          upgrade=upgrade_with_distribution if with_distributions else upgrade_one)
    if quiet:
        emit_json({"resumed": run.resumed, "finished": run.finished, "tenants": [
            {"tenant": r.tenant, "status": r.status, "applied": list(r.applied), "error": r.error} for r in run.results]})
    else:
        skipped = [r.tenant for r in run.results if r.status == "skipped"]
        if skipped:
            click.echo(f"Resumed: {len(skipped)} tenant(s) upgraded earlier in this run skipped ({', '.join(skipped)})")
        click.echo("All tenants at head." if run.finished else "Not finished: run `crmkit tenants upgrade` again.")
    if run.failed:
        raise click.exceptions.Exit(1)


@tenants.command("worker")
@click.option("--once", is_flag=True, help="One pass over every enabled tenant, then exit.")
@click.option("--interval", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds between rounds.")
@click.option("--max-open", type=click.IntRange(1, 100_000), default=DEFAULT_MAX_OPEN, show_default=True,
              help="Tenants kept started between rounds (least recently used closed first).")
@click.option("--json", "as_json", is_flag=True, help="Print each tenant's pass as JSON (with --once).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="crmkit's log lines on stderr (tenant starts and closes, request lines, job runs).")
def worker(once: bool, interval: float, max_open: int, as_json: bool, log_format: str) -> None:
    """Periodic jobs and event delivery for every enabled tenant, one tenant at a time."""
    from .worker import TenantWorker

    if not once:
        _logging(log_format)
    with TenantPool(max_open=max_open, freeze_gc=True) as pool:
        w = TenantWorker(str(_registry_path(click.get_current_context())), pool=pool)
        if not once:
            click.echo(f"Tenant worker running every {interval:g}s (Ctrl-C to stop)", err=True)
            w.run_forever(interval=interval)
            return
        passes = w.run_once()
    if _json(as_json):
        emit_json({"tenants": [{"tenant": p.tenant, "ran": list(p.ran), "failed": list(p.failed),
                                "delivered": p.delivered, "error": p.error} for p in passes]})
    else:
        for p in passes:
            if p.error:
                click.echo(f"{p.tenant}: ERROR: {p.error}", err=True)
            else:
                click.echo(f"{p.tenant}: ran {len(p.ran)} job(s), delivered {p.delivered} event(s)"
                           + (f", failed: {', '.join(p.failed)}" if p.failed else ""))
    if any(p.error for p in passes):
        raise click.exceptions.Exit(1)


@tenants.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes, each routing to every tenant (tenants on PostgreSQL; a SQLite tenant wants one).")
@click.option("--max-open", type=click.IntRange(1, 100_000), default=DEFAULT_MAX_OPEN, show_default=True,
              help="Tenants kept started per process (least recently used idle one closed first).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="crmkit's log lines on stderr (tenant starts and closes, request lines, job runs).")
def serve(host: str, port: int, workers: int, max_open: int, log_format: str) -> None:
    """Serve every enabled tenant, routed by host name (or path prefix)."""
    import uvicorn

    _logging(log_format)
    from .router import LOG_FORMAT_ENV, MAX_OPEN_ENV, TenantRouter

    path = _registry_path(click.get_current_context()).resolve()
    registry = TenantRegistry.load(path)  # a broken tenants.toml is one line, before anything listens
    click.echo(f"Serving {len(registry.enabled())} tenant(s) of {path} on http://{host}:{port}/ "
               f"({workers} process(es); Ctrl-C to stop)", err=True)
    if workers > 1:
        os.environ[REGISTRY_ENV] = str(path)
        os.environ[MAX_OPEN_ENV] = str(max_open)
        os.environ[LOG_FORMAT_ENV] = log_format
        uvicorn.run("crmkit.tenants.router:app_from_env", factory=True, workers=workers, host=host, port=port,
                    log_level="info")
        return
    router = TenantRouter(path, pool=TenantPool(max_open=max_open, freeze_gc=True))
    try:
        uvicorn.run(router, host=host, port=port, log_level="info")
    finally:
        router.close()


@tenants.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("name")
@click.argument("args", nargs=-1, type=click.UNPROCESSED, required=True)
def run(name: str, args: tuple[str, ...]) -> None:
    """Run a crmkit command against tenant NAME only, e.g. `crmkit tenants run acme -- leads list`
    (CRMKIT_CONFIG, CRMKIT_PLUGINS and CRMKIT_DATABASE_URL of the environment are not applied)."""
    from ..cli import cli

    tenant = _registry().get(name)
    words = list(args[1:] if args and args[0] == "--" else args)
    with _without(_OVERRIDES):
        cli.main(["--config", str(tenant.config), *words], prog_name=f"crmkit tenants run {name} --")


def _logging(log_format: str) -> None:
    from ..ops.config import LoggingOptions
    from ..ops.logs import configure_logging

    configure_logging(LoggingOptions(format=log_format))


@contextmanager
def _without(names: tuple[str, ...]) -> Iterator[None]:
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


COMMANDS = [tenants]
