"""Shared options and the parsing of option values (filters, times, key=value pairs)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Callable, Mapping, TypeVar

import click

from ..core.errors import ValidationError

F = TypeVar("F", bound=Callable[..., Any])

_DATETIME_FILTERS = frozenset({"created_at", "updated_at", "closed_at", "due_at", "stage_entered_at", "completed_at"})
_BOOL_FILTERS = frozenset({"active", "overdue"})
_RELATIVE = re.compile(r"^([+-])([0-9]{1,9})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_ID = 2**31 - 1


def _digits(text: str) -> bool:
    """ASCII digits only: ``"²".isdigit()`` is true too, and ``int("²")`` raises."""
    return text.isascii() and text.isdigit()


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")(f)


def page_options(f: F) -> F:
    f = click.option("--cursor", help="Continue after a previous page (its next_cursor).")(f)
    f = click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True,
                     help="How many rows per page.")(f)
    return f


def filter_option(f: F) -> F:
    return click.option(
        "--filter", "filters", multiple=True, metavar="KEY=VALUE",
        help="Any filter, repeatable: a field or custom field, optionally with __gt, __gte, __lt, __lte, "
             "__ne or __in (comma-separated values), e.g. --filter window_count__gte=5.",
    )(f)


def custom_option(f: F) -> F:
    return click.option("--custom", "custom", multiple=True, metavar="NAME=VALUE",
                        help="A custom field value, repeatable (see crmkit.toml [custom_fields]).")(f)


def pairs(items: tuple[str, ...], what: str) -> dict[str, str]:
    """``("a=1", "b=2")`` as ``{"a": "1", "b": "2"}``; a missing ``=`` is an error naming ``what``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=what)
        out[key.strip()] = value.strip()
    return out


def filters(items: tuple[str, ...], **fixed: Any) -> dict[str, Any]:
    """The ``--filter`` pairs converted to typed values, merged with the named options that were given."""
    out: dict[str, Any] = {}
    for key, value in pairs(items, "--filter").items():
        name, _, op = key.partition("__")
        out[key] = [_typed(name, v.strip()) for v in value.split(",")] if op == "in" else _typed(name, value)
    out.update({k: v for k, v in fixed.items() if v is not None})
    return out


USER_FILTERS = frozenset({"responsible_id", "assignee_id", "created_by", "author_id"})


def _typed(name: str, value: str) -> Any:
    if name in USER_FILTERS and "@" in value:
        return value  # a user by e-mail (the services look it up)
    if name == "id" or name.endswith("_id") or name == "created_by":
        if not _digits(value) or len(value) > 10 or not 1 <= int(value) <= MAX_ID:
            raise ValidationError(f"{name}: {value[:40]!r} is not an id (1 to {MAX_ID})", field=name)
        return int(value)
    if name in _DATETIME_FILTERS:
        return parse_when(value, field=name)
    if name == "birthday":
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"birthday: {value!r} is not a date (YYYY-MM-DD)", field=name) from None
    if name in _BOOL_FILTERS:
        lowered = value.lower()
        if lowered not in ("true", "false", "yes", "no", "1", "0"):
            raise ValidationError(f"{name}: {value!r} is not true or false", field=name)
        return lowered in ("true", "yes", "1")
    return value


def parse_when(text: str, *, field: str = "due", now: datetime | None = None) -> datetime:
    """A point in time: ISO date/datetime (naive = UTC), ``now``, ``today``, ``tomorrow``, or ``+2d``/``-3h``."""
    value = text.strip().lower()
    current = now or datetime.now(timezone.utc)
    match = _RELATIVE.match(value)
    if match:
        sign, amount, unit = match.groups()
        try:
            delta = timedelta(**{_UNITS[unit]: int(amount)})
            return current + delta if sign == "+" else current - delta
        except OverflowError:
            raise ValidationError(f"{field}: {text!r} is before 0001-01-01 or after 9999-12-31", field=field) from None
    if value == "now":
        return current
    if value in ("today", "tomorrow"):
        day = current.date() + timedelta(days=1 if value == "tomorrow" else 0)
        return datetime.combine(day, time(17, 0), tzinfo=timezone.utc)
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            f"{field}: {text!r} is not a time (ISO date or datetime, now, today, tomorrow, +2d, -3h)", field=field
        ) from None
    try:
        return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC
        raise ValidationError(f"{field}: {text!r} is before 0001-01-01 or after 9999-12-31 in UTC",
                              field=field) from None


def parse_due(text: str, *, now: datetime, tz: tzinfo) -> date | datetime:
    """A due time as the services take it: ``today``, ``tomorrow`` and an ISO date are dates (the
    service makes each the end of that day in the deployment's timezone ``tz``, as the API does);
    anything else as :func:`parse_when`."""
    value = text.strip().lower()
    if value in ("today", "tomorrow"):
        return now.astimezone(tz).date() + timedelta(days=1 if value == "tomorrow" else 0)
    if len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return parse_when(text, field="due", now=now)


def order_option(sortable: tuple[str, ...]) -> Callable[[F], F]:
    """``--order FIELD`` (``-FIELD``: descending) over a service's sortable fields."""
    choices = [v for k in sortable for v in (k, f"-{k}")]
    return click.option("--order", type=click.Choice(choices), default="id", show_default=True,
                        help="Sort by this field, -FIELD for descending (ties by id).")


def card_ref(text: str) -> tuple[str, int]:
    """``deal:12`` as ``("deal", 12)``."""
    kind, sep, ident = text.partition(":")
    if not sep or not _digits(ident.strip()) or len(ident.strip()) > 10:
        raise click.BadParameter(f"{text!r} is not TYPE:ID (e.g. deal:12)", param_hint="--on")
    return kind.strip(), int(ident)


def drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
