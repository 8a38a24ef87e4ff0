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

import weakref
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import Connection, Table, bindparam, insert, update
from sqlalchemy.engine import Dialect

from .types import UTCDateTime

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
    order = [(n, _memoized(processors[n], dialect.name) if isinstance(compiled.binds[n].type, UTCDateTime)
              else processors.get(n)) for n in names]
    return compiled.string, order, positional, defaults


_LAST_TIME: dict[str, tuple[Any, Any]] = {}
"""Per dialect, the last timestamp converted for the database and what it became."""


def _memoized(process: Callable[[Any], Any] | None, dialect: str) -> Callable[[Any], Any] | None:
    """A ``UTCDateTime`` bind processor that converts the same datetime object once: a command's
    rows carry its one time (``tx.now``) in several columns and statements. The conversion depends
    only on the value and the dialect; the pair is swapped in whole (safe across threads)."""
    if process is None:
        return None

    def convert(value: Any) -> Any:
        last = _LAST_TIME.get(dialect)
        if last is not None and last[0] is value:
            return last[1]
        out = process(value)
        _LAST_TIME[dialect] = (value, out)
        return out

    return convert


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
        return _execute(conn, sql, args)


def _execute(conn: Connection, sql: str, args: Any) -> Any:
    """Run ``sql`` on a new cursor of ``conn``'s DBAPI connection and return the cursor. With cursor
    listeners (statement counters, echo) through ``Connection._cursor_execute``; without, straight to
    the dialect (its joined event dispatch is most of that method's cost); errors are translated by
    SQLAlchemy either way (``IntegrityError``, a lost connection invalidated and re-raised)."""
    cursor = conn.connection.cursor()
    dispatch = conn.engine.dispatch
    if conn._echo or dispatch.before_cursor_execute or dispatch.after_cursor_execute:
        conn._cursor_execute(cursor, sql, args)
        return cursor
    try:
        conn.dialect.do_execute(cursor, sql, args, None)
    except BaseException as exc:
        conn._handle_dbapi_exception(exc, sql, args, cursor, None)
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


class _Select:
    """A SELECT's SQL, parameter order and, once it has run, its row type and result processors."""

    __slots__ = ("sql", "order", "positional", "row", "types", "processors")

    def __init__(self, stmt: Any, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = compiled.positiontup is not None
        names = list(compiled.positiontup) if self.positional else list(compiled.binds)
        self.order = [(n, compiled._bind_processors.get(n), compiled.binds[n]) for n in names]
        columns = [(c.keyname, c.type) for c in compiled._result_columns]
        # an expanding IN (rendered at execution) is left to SQLAlchemy: no row type, no fast path
        self.row = None if "POSTCOMPILE" in self.sql else _row_type([k for k, _ in columns])
        self.types = [t for _, t in columns]
        self.processors: list[Any] | None = None

    def args(self, params: Mapping[str, Any]) -> Any:
        values = [(n, params[n] if n in params else bind.effective_value, proc) for n, proc, bind in self.order]
        if self.positional:
            return tuple(p(v) if p is not None else v for _, v, p in values)
        return {n: (p(v) if p is not None else v) for n, v, p in values}


def _row_type(names: Sequence[str]) -> type | None:
    """A tuple with the columns as attributes and ``_mapping`` (what services read off a Row);
    None if a column's name would shadow a tuple method (then SQLAlchemy's own result is used)."""
    if len(set(names)) != len(names) or any(n in _TUPLE or not n.isidentifier() for n in names):
        return None
    from operator import itemgetter

    attrs: dict[str, Any] = {n: property(itemgetter(i)) for i, n in enumerate(names)}
    attrs["__slots__"] = ()
    attrs["_fields"] = tuple(names)
    attrs["_mapping"] = property(lambda self: dict(zip(self._fields, self)))
    return type("PreparedRow", (tuple,), attrs)


_TUPLE = frozenset(dir(tuple)) | {"_fields", "_mapping"}
_SELECTS: "weakref.WeakKeyDictionary[Any, dict[str, _Select]]" = weakref.WeakKeyDictionary()


def first(conn: Connection, stmt: Any, params: Mapping[str, Any]) -> Any:
    """``conn.execute(stmt, params).first()`` for a SELECT built once (a cached statement: the
    plan lives as long as it does), without SQLAlchemy's per-statement set-up: the row's values
    through the same result processors, as a tuple with attributes and ``_mapping``."""
    by_dialect = _SELECTS.get(stmt)
    if by_dialect is None:
        by_dialect = _SELECTS[stmt] = {}
    dialect = conn.dialect
    plan = by_dialect.get(dialect.name)
    if plan is None:
        plan = by_dialect[dialect.name] = _Select(stmt, dialect)
    if plan.row is None:
        return conn.execute(stmt, params).first()
    cursor = _execute(conn, plan.sql, plan.args(params))
    try:
        raw = cursor.fetchone()
        if raw is None:
            return None
        if plan.processors is None:  # the driver's column types, as SQLAlchemy would pass them
            plan.processors = [t._cached_result_processor(dialect, d[1])
                               for t, d in zip(plan.types, cursor.description)]
        return plan.row(p(v) if p is not None else v for p, v in zip(plan.processors, raw))
    finally:
        cursor.close()
