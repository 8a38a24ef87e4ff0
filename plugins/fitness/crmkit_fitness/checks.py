"""Small input checks shared by the plugin's services (a ``ValidationError`` names the field)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from crmkit import ValidationError, ensure_utc


def as_id(value: Any, field: str) -> int:
    """A positive id from an int or its digits."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
        raise ValidationError(f"{field}: {value!r} is not an id", field=field)
    return value


def as_int(value: Any, field: str, *, low: int = 0, high: int = 100_000, optional: bool = False) -> int | None:
    """A whole number from ``low`` to ``high`` (``None`` allowed when ``optional``)."""
    if value is None and optional:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{field}: {value!r} is not a whole number from {low} to {high}", field=field)
    return value


def as_date(value: Any, field: str) -> date:
    """A calendar date from a ``date`` or ISO text (``2026-02-01``)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(f"{field}: {value!r} is not a date (YYYY-MM-DD)", field=field)


def as_datetime(value: Any, field: str) -> datetime:
    """An aware datetime from a ``datetime`` or ISO 8601 text with an offset."""
    if isinstance(value, str) and len(value) <= 40:
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError(f"{field}: {value!r} is not a date and time with an offset (ISO 8601)", field=field)
    return ensure_utc(value)


def as_key(value: Any, field: str) -> str:
    """A catalogue key: a-z, 0-9, _ and -, at most 40."""
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", value):
        raise ValidationError(f"{field}: {value!r} is not a key (a-z, 0-9, _ and -; at most 40)", field=field)
    return value


def as_hours(value: Any, field: str = "access_hours") -> tuple[int | None, int | None]:
    """``"07:00-23:00"`` as minutes after midnight; ``None``/``""`` is any time. A range past midnight
    (``"22:00-06:00"``) is allowed."""
    if value in (None, ""):
        return None, None
    m = re.fullmatch(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])", value) \
        if isinstance(value, str) else None
    if m is None:
        raise ValidationError(f"{field}: {value!r} is not HH:MM-HH:MM", field=field)
    start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    if start == end or end > 24 * 60:
        raise ValidationError(f"{field}: {value!r} is an empty range", field=field)
    return start, end


def hours_text(start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return "any time"
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def within_hours(start: int | None, end: int | None, minute: int) -> bool:
    """Whether ``minute`` after local midnight is inside the access hours."""
    if start is None or end is None:
        return True
    return start <= minute < end if start < end else (minute >= start or minute < end)


def new_id(result: Any) -> int:
    """The id of the row an INSERT just wrote."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])
