"""Engines for SQLite (WAL, foreign keys, one writer) and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from .errors import ConfigError, CrmError

WRITE_OPTION = "crmkit_write"


class DatabaseUnavailable(CrmError):
    """503: the database connection was lost (a restart, a failover, a killed backend) or cannot be
    made. Whatever the command wrote was rolled back; the pool reconnects by itself (the lost
    connections are dropped, new ones are checked before use), so a retry after
    :attr:`retry_after` seconds works once the database is back."""

    code = "database_unavailable"
    status = 503
    retry_after = 1


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
    engine = create_engine(url, **kwargs)
    event.listen(engine, "handle_error", _unavailable)
    return engine


def _unavailable(context: ExceptionContext) -> None:
    """A lost connection, or one that cannot be made, is :class:`DatabaseUnavailable` (a 503), not a
    500: SQLAlchemy still invalidates the pool's connections, which are replaced on the next checkout."""
    if context.is_pre_ping:  # the pool's own check before a checkout: it reconnects by itself
        return
    dbapi = context.dialect.dbapi
    refused = (context.connection is None and dbapi is not None
               and isinstance(context.original_exception, dbapi.OperationalError))
    if context.is_disconnect or refused:
        raise DatabaseUnavailable("the database is unavailable (its connection was lost); retry in a moment") \
            from context.original_exception


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
        # straight to the cursor (SQLAlchemy's events and error translation kept): a statement's
        # set-up through exec_driver_sql costs ~4x the BEGIN itself
        cursor = conn.connection.cursor()
        try:
            conn._cursor_execute(cursor, "BEGIN IMMEDIATE" if immediate else "BEGIN", ())
        finally:
            cursor.close()
