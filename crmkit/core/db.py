"""Engines for SQLite (WAL, foreign keys, one writer) and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from .errors import ConfigError

WRITE_OPTION = "crmkit_write"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine for ``url`` with crmkit's connection settings.

    A URL SQLAlchemy cannot use (a typo, a driver that is not installed) is a
    :class:`~crmkit.ConfigError` naming it.
    """
    try:
        return _make_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        shown = url.split("@")[-1] if "@" in url else url
        hint = " (pip install 'crmkit[postgres]')" if url.startswith("postgres") else ""
        raise ConfigError(f"database: cannot use {shown!r}: {exc}{hint}") from None


def _make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        memory = ":memory:" in url or url in ("sqlite://", "sqlite:///")
        if memory:
            kwargs.setdefault("poolclass", StaticPool)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _configure_sqlite(engine, wal=not memory)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own
        # transaction handling cannot do BEGIN IMMEDIATE).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front: no deadlocking lock upgrades.
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
