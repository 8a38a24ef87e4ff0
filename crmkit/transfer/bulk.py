"""An import batch's INSERTs: compiled once per dialect, values processed as SQLAlchemy would, run
as one ``executemany`` through ``Connection.exec_driver_sql`` (SQLAlchemy's events and error
translation kept; its per-row parameter set-up skipped, ~20 us a row of a 7-column insert here).

A value the same for every row (the batch's time, ``version = 1``) is processed once per batch.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import JSON, Connection, Table, insert

_Plan = tuple[str, list[tuple[str, Callable[[Any], Any] | None]], bool]


class BulkInsert:
    """``INSERT INTO table (columns)`` for many rows."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = list(columns)
        self._plans: dict[str, _Plan] = {}

    def _plan(self, conn: Connection) -> _Plan:
        plan = self._plans.get(conn.dialect.name)
        if plan is None:
            compiled = insert(self.table).compile(dialect=conn.dialect, column_keys=self.columns)
            positional = compiled.positiontup is not None
            names = list(compiled.positiontup) if positional else list(compiled.binds)
            processors = dict(compiled._bind_processors)
            for name, proc in list(processors.items()):
                if name in self.table.c and isinstance(self.table.c[name].type, JSON) and proc is not None:
                    processors[name] = _empty_once(proc)
            plan = self._plans[conn.dialect.name] = (compiled.string, [(n, processors.get(n)) for n in names],
                                                     positional)
        return plan

    def __call__(self, conn: Connection, rows: Sequence[Mapping[str, Any]],
                 constants: Mapping[str, Any] | None = None) -> None:
        """Insert ``rows`` (each holding the columns not in ``constants``)."""
        if not rows:
            return
        sql, order, positional = self._plan(conn)
        fixed = {n: (p(constants[n]) if p is not None else constants[n]) for n, p in order if n in (constants or {})}
        per_row = [(n, p) for n, p in order if n not in fixed]
        if positional:
            slots = [(n, p, fixed.get(n)) for n, p in order]
            args: list[Any] = [tuple(v if n in fixed else (p(row[n]) if p is not None else row[n])
                                     for n, p, v in slots) for row in rows]
        else:
            args = [{**fixed, **{n: (p(row[n]) if p is not None else row[n]) for n, p in per_row}} for row in rows]
        conn.exec_driver_sql(sql, args)


def _empty_once(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON column's processor with ``{}`` and ``[]`` (most rows' custom fields) serialized once."""
    empty = {dict: process({}), list: process([])}

    def json_value(value: Any) -> Any:
        if not value and type(value) in empty:
            return empty[type(value)]
        return process(value)

    return json_value
