"""Months in the deployment's timezone, in SQL.

PostgreSQL converts with ``timezone(name, t)`` (its own copy of the IANA database). SQLite has
no timezones, so the UTC offset is an SQL expression: the zone's offsets between 1970 and 2100,
found once per zone with :mod:`zoneinfo`, as a balanced ``CASE`` tree on the time (about
nine comparisons for a zone with daylight saving time; none for UTC or a fixed offset), given to
``strftime`` as a ``'+N seconds'`` modifier.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, cast, func, literal
from sqlalchemy.sql import ColumnElement

UTC = timezone.utc
FIRST, LAST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=16)
def offsets(zone: str) -> tuple[tuple[int, int], ...]:
    """``(from epoch second, UTC offset in seconds)`` of each stretch of ``zone`` between 1970 and
    2100, in time order; the first stretch also covers everything before, the last everything after."""
    if zone in ("UTC", "Etc/UTC"):
        return ((0, 0),)
    tz = ZoneInfo(zone)

    def off(t: datetime) -> int:
        return int(t.astimezone(tz).utcoffset().total_seconds())  # type: ignore[union-attr]

    out = [(int(FIRST.timestamp()), off(FIRST))]
    day, t = timedelta(days=1), FIRST
    while t < LAST:
        nxt = t + day
        if off(nxt) != out[-1][1]:  # a change within (t, nxt]: the first second with the new offset
            lo, hi = int(t.timestamp()), int(nxt.timestamp())
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if off(datetime.fromtimestamp(mid, UTC)) == out[-1][1]:
                    lo = mid
                else:
                    hi = mid
            out.append((hi, off(datetime.fromtimestamp(hi, UTC))))
        t = nxt
    return tuple(out)


def _tree(stretches: Sequence[tuple[int, int]], before: Callable[[int], Any]) -> ColumnElement[str]:
    """The ``'+N seconds'`` modifier of the stretch a value falls in, by bisection."""
    if len(stretches) == 1:
        return literal(f"{stretches[0][1]:+d} seconds")
    mid = len(stretches) // 2
    return case((before(stretches[mid][0]), _tree(stretches[:mid], before)), else_=_tree(stretches[mid:], before))


def _sqlite_modifier(zone: str, before: Callable[[int], Any]) -> ColumnElement[str] | None:
    found = offsets(zone)
    if len(found) == 1 and found[0][1] == 0:
        return None
    return _tree(found, before)


def local_month(column: Any, zone: str, *, postgres: bool) -> ColumnElement[str]:
    """``YYYY-MM`` in ``zone`` of a ``UTCDateTime`` column."""
    if postgres:
        return func.to_char(func.timezone(zone, column), "YYYY-MM")
    mod = _sqlite_modifier(zone, lambda s: column < literal(datetime.fromtimestamp(s, UTC), column.type))
    return func.strftime("%Y-%m", column) if mod is None else func.strftime("%Y-%m", column, mod)


def local_month_of_epoch(seconds: Any, zone: str, *, postgres: bool) -> ColumnElement[str]:
    """``YYYY-MM`` in ``zone`` of a number of seconds since the epoch."""
    if postgres:
        return func.to_char(func.timezone(zone, func.to_timestamp(seconds)), "YYYY-MM")
    mod = _sqlite_modifier(zone, lambda s: seconds < literal(s))
    if mod is None:
        return func.strftime("%Y-%m", seconds, "unixepoch")
    return func.strftime("%Y-%m", seconds, "unixepoch", mod)


def local_month_index(column: Any, zone: str, *, postgres: bool) -> ColumnElement[int]:
    """Months since year 0 in ``zone`` of a ``UTCDateTime`` column: consecutive months differ by one."""
    if postgres:
        at = func.timezone(zone, column)
        return cast(func.extract("year", at), Integer) * 12 + cast(func.extract("month", at), Integer) - 1
    mod = _sqlite_modifier(zone, lambda s: column < literal(datetime.fromtimestamp(s, UTC), column.type))
    args = (column,) if mod is None else (column, mod)
    return cast(func.strftime("%Y", *args), Integer) * 12 + cast(func.strftime("%m", *args), Integer) - 1


def month_key(t: datetime, zone: str) -> str:
    """``YYYY-MM`` of an aware datetime in ``zone``."""
    return t.astimezone(ZoneInfo(zone)).strftime("%Y-%m")


def month_number(t: datetime, zone: str) -> int:
    """Months since year 0 of an aware datetime in ``zone``."""
    local = t.astimezone(ZoneInfo(zone))
    return local.year * 12 + local.month - 1
