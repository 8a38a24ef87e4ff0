"""Injectable time. Services never call ``datetime.now`` directly.

Every :class:`~crmkit.core.app.Crm` holds a clock; tests pass a
:class:`FrozenClock` and move it explicitly, so nothing depends on the wall clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol

UTC = timezone.utc


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (for tests and demos)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = ensure_utc(start) if start else datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = ensure_utc(when)


def ensure_utc(value: datetime, *, field: str | None = None) -> datetime:
    """Return ``value`` in UTC; naive datetimes are refused, never guessed, and so are the
    ones at the edges of the calendar that UTC cannot hold (9999-12-31T23:00-05:00)."""
    from .errors import ValidationError

    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{field or 'datetime'} must be timezone-aware (got naive {value.isoformat()})",
            field=field,
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError(f"{field or 'datetime'}: {value.isoformat()} is out of range", field=field) from None
