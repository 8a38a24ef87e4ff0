"""Printing: readable tables and key/value cards by default, JSON for scripts."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping, Sequence

import attrs
import click

from ..core.events import to_json_value
from ..core.money import Money
from ..core.records import Page, to_dict

MAX_CELL = 48

Column = tuple[str, Callable[[Any], Any]]
"""A table column: its header and how to get the cell from a row."""


def fmt(value: Any) -> str:
    """One value as short human text (times in UTC, minutes precision)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Money, Decimal)):
        return str(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={fmt(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def _cell(value: Any) -> str:
    text = " ".join(fmt(value).split())
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def table(rows: Iterable[Any], columns: Sequence[Column]) -> None:
    """Print ``rows`` as an aligned table."""
    headers = [h for h, _ in columns]
    cells = [[_cell(get(row)) for _, get in columns] for row in rows]
    if not cells:
        click.echo("(none)")
        return
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths)).rstrip())
    for r in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def card(title: str, fields: Sequence[tuple[str, Any]]) -> None:
    """Print one record as ``label: value`` lines under a title."""
    click.echo(title)
    width = max((len(label) for label, _ in fields), default=0)
    for label, value in fields:
        click.echo(f"  {label.ljust(width)}  {fmt(value)}")


def as_data(value: Any) -> Any:
    """Records (attrs classes) as JSON-ready data via ``to_dict``; Money as {amount, currency}."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if attrs.has(type(value)):
        try:
            return to_dict(value)
        except TypeError:  # a record holding records (a pipeline's stages)
            return {k: as_data(v) for k, v in attrs.asdict(value, recurse=False).items()}
    if isinstance(value, (list, tuple)):
        return [as_data(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): as_data(v) for k, v in value.items()}
    return to_json_value(value)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(as_data(data), indent=2, ensure_ascii=False, default=str))


def emit_page(page: Page[Any], columns: Sequence[Column], *, as_json: bool) -> None:
    """A page of records: JSON ``{items, next_cursor}`` or a table and a hint for the next page."""
    if as_json:
        emit_json({"items": list(page.items), "next_cursor": page.next_cursor})
        return
    table(page.items, columns)
    if page.next_cursor:
        click.echo(f"(more: add --cursor {page.next_cursor})")


def done(message: str, record: Any, *, as_json: bool) -> None:
    """The result of a command: the record as JSON, or a one-line confirmation."""
    if as_json:
        emit_json(record)
    else:
        click.echo(message)


def overdue_phrase(late: timedelta) -> str:
    """``2 days overdue``, ``5 hours overdue``, ``12 minutes overdue``."""
    seconds = int(late.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} overdue"
    return "just overdue"
