"""Making a tenant: its folder, its crmkit.toml, its database, its entry in ``tenants.toml``.

A tenant's database is a SQLite file in its folder (the default), any database URL given, or a
PostgreSQL schema of its own in a shared database (``schema=True``: ``tenant_<name>``, made here,
reached through the URL's ``search_path``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable
from urllib.parse import quote

from sqlalchemy import create_engine, text

from .. import Crm, Settings, ValidationError
from ..cli.deployment import CONFIG_NAME, create_sqlite_file, sqlite_files, write_config
from .registry import Tenant, TenantRegistry, check_host, check_name, check_prefix

WriteConfig = Callable[[Path, str, "str | None"], Path]
"""``write(directory, tenant_name, database_url_or_None) -> crmkit.toml path``."""


def schema_name(tenant: str) -> str:
    return "tenant_" + tenant.replace("-", "_")


def schema_url(database: str, tenant: str) -> str:
    """``database`` (PostgreSQL) with the tenant's own schema first on the ``search_path``."""
    if not database.startswith(("postgresql://", "postgresql+psycopg://")):
        raise ValidationError("--schema needs a PostgreSQL --database URL", field="database")
    if "search_path" in database:
        raise ValidationError("--schema: the URL already sets a search_path", field="database")
    sep = "&" if "?" in database else "?"
    return f"{database}{sep}options={quote(f'-csearch_path={schema_name(tenant)}')}"


def create_schema(database: str, tenant: str) -> None:
    url = "postgresql+psycopg://" + database.split("://", 1)[1]
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema_name(tenant)}"'))
    finally:
        engine.dispose()


def add_tenant(registry: TenantRegistry, name: str, *, hosts: tuple[str, ...] = (), prefix: str | None = None,
               database: str | None = None, schema: bool = False, folder: Path | None = None,
               write: WriteConfig | None = None, finish: Callable[[Path], None] | None = None) -> Tenant:
    """Create tenant ``name``: ``folder`` (default: next to ``tenants.toml``) with its crmkit.toml
    (``write(folder, name, database)`` makes it; default: the commented template of ``crmkit
    init``), its database at head, ``finish(config)`` if given (a distribution's templates), and its
    entry in the registry (saved). Nothing is left behind when a step fails."""
    check_name(name)
    hosts = tuple(check_host(h) for h in hosts)
    prefix = check_prefix(prefix) if prefix else None
    if not hosts and not prefix:
        raise ValidationError("give the tenant a --host (or a --prefix): requests are routed by them", field="host")
    if name in registry:
        raise ValidationError(f"tenant {name} already exists", field="name")
    directory = (folder or registry.base / name).resolve()
    config = directory / CONFIG_NAME
    tenant = Tenant(name=name, config=config, hosts=hosts, prefix=prefix)
    updated = registry.with_tenant(tenant)  # a taken host or prefix is refused before anything is made
    url = database
    if schema:
        url = schema_url(database or "", name)
    made_dir = not directory.exists()
    path = (write or _write_template)(directory, name, url)
    db_file = None
    try:
        if schema:
            create_schema(database or "", name)
        settings = Settings.load(path, environ={})
        db_file = create_sqlite_file(settings.database_url())
        Crm(settings).close()  # an empty database is created at head
        if finish is not None:
            finish(path)
    except BaseException:
        path.unlink(missing_ok=True)
        if db_file is not None:
            for f in sqlite_files(f"sqlite:///{db_file}"):
                f.unlink(missing_ok=True)
        if made_dir:
            _remove_empty(directory)
        raise
    updated.save()
    return tenant


def _write_template(directory: Path, name: str, database: str | None) -> Path:
    return write_config(directory, name=name, database=database)


def _remove_empty(directory: Path) -> None:
    try:
        for f in directory.iterdir():
            if f.name in ("ui_secret.key",):
                f.unlink()
        directory.rmdir()
    except OSError:
        pass

