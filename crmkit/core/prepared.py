"""Hot-path DML compiled once and run straight on the transaction's DBAPI cursor.

A command's INSERTs and its version-checked UPDATE are the same few statements every time.
SQLAlchemy's ``conn.execute(stmt)`` rebuilds a cache key, looks the compiled form up, sets up
an execution context and a result for each of them (~150-700 us here, against ~15 us for the
bare DBAPI call). :class:`Insert` and :class:`Update` compile their statement once per
dialect and set of columns (with SQLAlchemy's own compiler, bind processors and Python-side
column defaults) and run it through ``Connection._cursor_execute``: SQLAlchemy's cursor
events, logging and error translation (``IntegrityError``, a lost connection as
:class:`~crmkit.core.db.DatabaseUnavailable`) stay as they are; only the per-statement set-up goes.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import Connection, Table, bindparam, insert, update
from sqlalchemy.engine import Dialect

_Plan = tuple[str, Sequence[tuple[str, Callable[[Any], Any] | None]], bool, Mapping[str, Any]]


def _plan(stmt: Any, dialect: Dialect, keys: Sequence[str]) -> _Plan:
    """The SQL text, the parameters in order with their bind processors, whether it is positional,
    and the Python-side defaults of the columns the caller leaves out."""
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
    processors = compiled._bind_processors
    positional = compiled.positiontup is not None
    names = list(compiled.positiontup) if positional else list(compiled.binds)
    defaults: dict[str, Any] = {}
    for column in [*compiled.insert_prefetch, *compiled.update_prefetch]:
        default = column.default if stmt.is_insert else column.onupdate
        if default is None:
            continue
        if default.is_scalar:
            defaults[column.key] = default.arg
        elif default.is_callable:
            defaults[column.key] = default.arg  # called per row: a fresh dict/list each time
        else:  # pragma: no cover - a sequence or SQL default is not a hot-path column
            raise TypeError(f"{column}: a default prepared statements cannot compute")
    order = [(n, processors.get(n)) for n in names]
    return compiled.string, order, positional, defaults


class _Prepared:
    __slots__ = ("_plans",)

    def __init__(self) -> None:
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}

    def _statement(self, dialect: Dialect) -> Any:  # pragma: no cover - subclasses
        raise NotImplementedError

    def _run(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        keys = tuple(params)
        dialect = conn.dialect
        plan = self._plans.get((dialect.name, keys))
        if plan is None:
            plan = self._plans[(dialect.name, keys)] = _plan(self._statement(dialect), dialect, keys)
        sql, order, positional, defaults = plan
        if defaults:
            params = {**{k: (v(None) if callable(v) else v) for k, v in defaults.items()}, **params}
        if positional:
            args: Any = tuple(p(params[n]) if p is not None else params[n] for n, p in order)
        else:
            args = {n: (p(params[n]) if p is not None else params[n]) for n, p in order}
        cursor = conn.connection.cursor()
        conn._cursor_execute(cursor, sql, args)
        return cursor


class Insert(_Prepared):
    """``INSERT INTO table (the given columns)``; calling it returns the new row's id."""

    __slots__ = ("table",)

    def __init__(self, table: Table) -> None:
        super().__init__()
        self.table = table

    def _statement(self, dialect: Dialect) -> Any:
        stmt = insert(self.table)
        return stmt if dialect.name == "sqlite" else stmt.returning(self.table.c.id)

    def __call__(self, conn: Connection, params: Mapping[str, Any]) -> int:
        cursor = self._run(conn, params)
        try:
            return int(cursor.lastrowid if conn.dialect.name == "sqlite" else cursor.fetchone()[0])
        finally:
            cursor.close()


class Update(_Prepared):
    """``UPDATE table SET (the given columns) WHERE id = :w_id AND version = :w_version``;
    calling it returns how many rows changed (0: the version moved on)."""

    __slots__ = ("table",)

    def __init__(self, table: Table) -> None:
        super().__init__()
        self.table = table

    def _statement(self, dialect: Dialect) -> Any:
        c = self.table.c
        return update(self.table).where(c.id == bindparam("w_id"), c.version == bindparam("w_version"))

    def __call__(self, conn: Connection, ident: int, version: int, values: Mapping[str, Any]) -> int:
        cursor = self._run(conn, {**values, "w_id": ident, "w_version": version})
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()
