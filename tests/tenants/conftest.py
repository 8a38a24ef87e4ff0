"""An installation of several tenants, on SQLite files or on PostgreSQL (schemas of their own in one
database, and a database of its own).

``installation`` makes ``tenants.toml`` with three tenants through ``add_tenant`` (what ``crmkit
tenants add`` runs): ``acme`` and ``beta`` routed by host name, ``gamma`` by the path prefix
``/gamma``; each gets an admin and two managers with API tokens.
"""

from __future__ import annotations

import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from crmkit.cli.deployment import write_config
from crmkit.testing import POSTGRES_ENV, auth_headers
from crmkit.tenants import Tenant, TenantPool, TenantRegistry, add_tenant
from crmkit.tenants.provision import schema_name

from tenants_support import Installation

ROLES = (("admin", "admin"), ("ann", "manager"), ("bob", "manager"))


def _pg_url() -> str:
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    return url


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def installation(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    """Made once per test module (a tenant's database takes a second or more to create)."""
    kind = request.param
    tmp_path = tmp_path_factory.mktemp("installation")
    pg = _pg_url() if kind == "postgresql" else None
    suffix = uuid.uuid4().hex[:8]
    names = {short: f"{short}-{suffix}" for short in ("acme", "beta", "gamma")}
    routes = {"acme": {"hosts": ("acme.test",)}, "beta": {"hosts": ("beta.test",)}, "gamma": {"prefix": "/gamma"}}
    extra = getattr(request.module, "TENANT_CONFIG", "")  # a test module's additions to each crmkit.toml

    plugins = getattr(request.module, "TENANT_PLUGINS", [])

    def write(directory: Path, name: str, database: str | None) -> Path:
        path = write_config(directory, name=name, database=database,
                            extra=extra.replace("{folder}", str(directory)))
        path.write_text(path.read_text().replace("\nplugins = []\n", f"\nplugins = {json.dumps(plugins)}\n", 1))
        return path

    # on PostgreSQL: acme and beta get a schema each in the test database, gamma a database of its own
    own_db = f"crmkit_{suffix}"
    if pg is not None:
        _admin(pg, f'CREATE DATABASE "{own_db}"')

    def make(short: str) -> Tenant:  # each in its own registry file first: the databases are made at once
        own = TenantRegistry.load(tmp_path / f"{short}.toml")
        database, schema = pg, pg is not None
        if pg is not None and short == "gamma":
            database, schema = pg.rsplit("/", 1)[0] + f"/{own_db}", False
        return add_tenant(own, names[short], database=database, schema=schema, write=write,
                          folder=tmp_path / names[short], **routes[short])  # type: ignore[arg-type]

    with ThreadPoolExecutor(max_workers=3) as pool:
        made = list(pool.map(make, names))
    registry = TenantRegistry(tmp_path / "tenants.toml", {t.name: t for t in made})
    registry.save()
    if pg is not None:
        assert f"/{own_db}" in registry.get(names["gamma"]).config.read_text()
        assert "search_path%3Dtenant_acme" in registry.get(names["acme"]).config.read_text()
    urls = {"acme": "http://acme.test", "beta": "http://beta.test", "gamma": "http://installation.test/gamma"}
    headers: dict[str, dict[str, dict[str, str]]] = {}
    user_ids: dict[str, dict[str, int]] = {}
    with TenantPool() as pool:
        for short, name in names.items():
            entry = pool.acquire(registry.get(name))
            crm = entry.crm
            user_ids[short] = {login: crm.users.create(email=f"{login}@{short}.example", name=f"{login} of {short}",
                                                       role=role).id for login, role in ROLES}
            headers[short] = {login: auth_headers(crm, uid) for login, uid in user_ids[short].items()}
            pool.release(entry)
    try:
        yield Installation(registry.path, names, urls, headers, user_ids, kind)
    finally:
        if pg is not None:
            engine = create_engine("postgresql+psycopg://" + pg.split("://", 1)[1])
            with engine.begin() as conn:
                for name in names.values():
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema_name(name)}" CASCADE'))
            engine.dispose()
            _admin(pg, f'DROP DATABASE IF EXISTS "{own_db}" WITH (FORCE)')


def _admin(pg: str, sql: str) -> None:
    """A statement outside a transaction (CREATE/DROP DATABASE)."""
    engine = create_engine("postgresql+psycopg://" + pg.split("://", 1)[1], isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()
