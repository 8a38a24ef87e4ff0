"""Faster deployments for the plugin tests: each plugin set is migrated once per test session.

Making a deployment on an empty database runs every migration of the core and its plugins
(~4 s on the shared CI box, for SQLite and PostgreSQL alike), and most tests make one. This
module keeps a migrated *template* per (database kind, plugins): a test's first ``make_crm`` on
an untouched database starts from a copy of it; later ones in the same test run as usual.

* SQLite: the template is a file; the copy is SQLite's backup API into the test's own database
  file (``db_url`` stays the test's database).
* PostgreSQL: a pool of schemas migrated by real migrations; a test borrows one, reset to the
  template's rows (``TRUNCATE ... RESTART IDENTITY`` then the template's rows and sequence values),
  and gives it back unless it enabled another plugin set on it (then it is dropped). A pooled
  deployment is not on ``db_url``'s schema: a test that opens ``db_url`` itself gets the usual
  path.

Kept identical in ``plugins/fitness/tests`` and ``plugins/inventory/tests`` (the two conftests
use it; the module name is the same, so one copy is imported).
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

import attrs
from sqlalchemy import MetaData, create_engine, insert, select, text

from crmkit import Crm, FrozenClock, Settings
from crmkit.testing import template

MakeCrm = Callable[..., Crm]


@attrs.define
class _PgTemplate:
    base: str  # the server's URL without the search_path option
    tables: list[Any]
    rows: dict[str, list[dict[str, Any]]]
    sequences: list[tuple[str, int]]
    free: list[str] = attrs.field(factory=list)  # schema names ready to be reset and lent


@attrs.define
class Templates:
    """The session's templates (see the module's docstring)."""

    root: Path
    sqlite: dict[tuple[str, ...], Path] = attrs.field(factory=dict)
    pg: dict[tuple[str, ...], _PgTemplate] = attrs.field(factory=dict)
    made_schemas: list[tuple[str, str]] = attrs.field(factory=list)

    def _settings(self, url: str, plugins: tuple[str, ...], base_dir: Path) -> Settings:
        return Settings.from_dict({**template(), "database": url, "plugins": list(plugins)}, base_dir=base_dir,
                                  environ={})

    def sqlite_copy(self, db_url: str, plugins: tuple[str, ...]) -> None:
        """Fill the test's (not yet existing) SQLite file from the template of ``plugins``."""
        target = Path(db_url.removeprefix("sqlite:///"))
        if target.exists():
            return
        source = self.sqlite.get(plugins)
        if source is None:
            source = self.root / f"tpl-{len(self.sqlite)}.db"
            Crm(self._settings(f"sqlite:///{source}", plugins, self.root), clock=_clock()).close()
            self.sqlite[plugins] = source
        src, dst = sqlite3.connect(source), sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()

    def pg_borrow(self, pg_base: str, plugins: tuple[str, ...]) -> str:
        """A schema with ``plugins`` migrated and only the template's rows; its URL."""
        tpl = self.pg.get(plugins)
        if tpl is None:
            schema = self._new_schema(pg_base)
            url = _schema_url(pg_base, schema)
            Crm(self._settings(url, plugins, self.root), clock=_clock()).close()
            tpl = self.pg[plugins] = _snapshot(pg_base, url)
            return url
        if not tpl.free:
            schema = self._new_schema(pg_base)
            url = _schema_url(pg_base, schema)
            Crm(self._settings(url, plugins, self.root), clock=_clock()).close()
            return url
        schema = tpl.free.pop()
        url = _schema_url(pg_base, schema)
        _reset(url, tpl)
        return url

    def pg_return(self, url: str, plugins: tuple[str, ...]) -> None:
        self.pg[plugins].free.append(_schema_of(url))

    def pg_drop(self, url: str) -> None:
        _drop(self._base_of(url), _schema_of(url))

    def _base_of(self, url: str) -> str:
        return url.split("?", 1)[0] if "options=" in url else url

    def _new_schema(self, pg_base: str) -> str:
        name = f"tp_{uuid.uuid4().hex[:12]}"
        engine = create_engine(pg_base)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        engine.dispose()
        self.made_schemas.append((pg_base, name))
        return name

    def close(self) -> None:
        for base, name in self.made_schemas:
            _drop(base, name)


def _clock() -> FrozenClock:
    return FrozenClock()


def _schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


def _schema_of(url: str) -> str:
    return url.rsplit("search_path%3D", 1)[1]


def _drop(base: str, schema: str) -> None:
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _snapshot(base: str, url: str) -> _PgTemplate:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            meta = MetaData()
            meta.reflect(conn)
            rows = {t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in meta.sorted_tables}
            schema = conn.scalar(text("SELECT current_schema()"))
            seqs = [(f'"{schema}"."{name}"', int(value)) for name, value in conn.execute(text(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = :s AND last_value IS NOT NULL"),
                {"s": schema})]
    finally:
        engine.dispose()
    return _PgTemplate(base, list(meta.sorted_tables), rows, seqs)


def _reset(url: str, tpl: _PgTemplate) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in tpl.tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # no FK checks while refilling
            for table in tpl.tables:
                if tpl.rows[table.name]:
                    conn.execute(insert(table), tpl.rows[table.name])
            for name, value in tpl.sequences:
                conn.execute(text("SELECT setval(:n, :v, true)"), {"n": name, "v": value})
    finally:
        engine.dispose()


def make_crm_fixture(db_url: str, clock: FrozenClock, tmp_path: Path, templates: Templates) -> Iterator[MakeCrm]:
    """The ``make_crm`` fixture of :mod:`crmkit.testing`, starting each test from a template (see above)."""
    made: list[Crm] = []
    used: list[tuple[str, ...]] = []
    pooled: list[str] = []

    def make(*, environ: dict[str, str] | None = None, **overrides: Any) -> Crm:
        plugins = tuple(overrides.get("plugins") or ())
        url = pooled[0] if pooled else db_url
        if not used and "database" not in overrides:
            if db_url.startswith("sqlite:///"):
                templates.sqlite_copy(db_url, plugins)
            elif db_url.startswith("postgresql"):
                url = templates.pg_borrow(templates._base_of(db_url), plugins)
                pooled.append(url)
        used.append(plugins)
        data = {**template(), "database": url, **overrides}
        crm = Crm(Settings.from_dict(data, base_dir=tmp_path, environ=environ or {}), clock=clock)
        made.append(crm)
        return crm

    yield make
    for crm in made:
        crm.close()
    if pooled:
        if len(set(used)) == 1:
            templates.pg_return(pooled[0], used[0])
        else:
            templates.pg_drop(pooled[0])

