"""Dialect helpers for report SQL: seconds since the epoch, percentiles (months: :mod:`.localtime`).

PostgreSQL has ``extract(epoch ...)`` and ``percentile_cont``; SQLite has
``julianday`` and window functions, from which the same linear-interpolated
percentile is built (rank the values, weigh the two around ``p * (n - 1)``).
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Float, Integer, case, cast, func, literal_column, select
from sqlalchemy.sql import ColumnElement, Select


def epoch(column: Any, *, postgres: bool) -> ColumnElement[Any]:
    """Seconds since 1970-01-01 UTC of a ``UTCDateTime`` column, as a float."""
    if postgres:
        return cast(func.extract("epoch", column), Float)
    return (func.julianday(column) - literal_column("2440587.5")) * literal_column("86400.0")


def percentiles(source: Any, value: str, groups: Sequence[str], ps: Sequence[float], *,
                postgres: bool) -> Select[Any]:
    """Per group of ``source`` (a subquery or CTE): ``count(value)`` as ``n`` and the
    linear-interpolated percentiles ``p50``, ``p90``, ... of ``value`` (NULLs ignored).
    Groups without a value have no row."""
    v = source.c[value]
    keys = [source.c[g] for g in groups]
    if postgres:
        cols = [func.percentile_cont(p).within_group(v).label(f"p{round(p * 100)}") for p in ps]
        return select(*keys, func.count(v).label("n"), *cols).where(v.is_not(None)).group_by(*keys)
    ranked = select(
        *keys, v.label("v"),
        func.row_number().over(partition_by=keys or None, order_by=v).label("rn"),
        func.count().over(partition_by=keys or None).label("cnt"),
    ).where(v.is_not(None)).subquery("ranked")
    rk = [ranked.c[g] for g in groups]
    cols = []
    for p in ps:
        pos = (ranked.c.cnt - 1) * literal_column(repr(float(p)))
        low = cast(pos, Integer)  # positive: truncation is the floor
        frac = pos - low
        weight = case((ranked.c.rn == low + 1, 1 - frac), (ranked.c.rn == low + 2, frac), else_=0)
        cols.append(func.sum(ranked.c.v * weight).label(f"p{round(p * 100)}"))
    return select(*rk, func.max(ranked.c.cnt).label("n"), *cols).group_by(*rk)


def seconds(value: Any) -> float | None:
    """A duration from SQL as seconds rounded to the millisecond (SQLite's ``julianday`` carries
    float noise below that)."""
    return None if value is None else round(float(value), 3)
