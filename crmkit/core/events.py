"""Domain events: what every command appends to the event log.

An :class:`Event` says who (``actor_id``) did what (``type``, e.g.
``deal.stage_changed``) to which card (``entity_type``/``entity_id``), when, and
what changed (``changes``: field -> ``{"before": ..., "after": ...}``). Values are
kept in their JSON form (decimals and dates as text), so every event is
JSON-serializable as it is. The events of a card, in order, are its timeline and
its audit log.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Mapping

import attrs

from .clock import ensure_utc


def to_json_value(value: Any) -> Any:
    """The JSON form of a field value (Decimal and dates as text, datetimes in UTC)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if type(value) is dict:  # the common case, before the slower ABC checks
        return {str(k): to_json_value(v) for k, v in value.items()}
    if type(value) is list:
        return [to_json_value(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return ensure_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return to_json_value(value.value)
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json_value(v) for v in value]
    raise TypeError(f"cannot put {type(value).__name__} into an event")


@attrs.frozen
class Event:
    """One domain event. ``id`` is set once the event is in the log."""

    type: str
    entity_type: str
    entity_id: int | None
    actor_id: int | None
    occurred_at: datetime
    changes: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    data: Mapping[str, Any] = attrs.field(factory=dict)
    id: int | None = None
    request_id: str | None = None
    """The request or job run that caused it (:func:`crmkit.current_request_id`), if any."""

    @property
    def action(self) -> str:
        """The part after the dot: ``created``, ``updated``, ``stage_changed``, ..."""
        return self.type.partition(".")[2]

    def before(self, field: str) -> Any:
        return self.changes.get(field, {}).get("before")

    def after(self, field: str) -> Any:
        return self.changes.get(field, {}).get("after")

    def payload(self) -> dict[str, Any]:
        out = {"changes": dict(self.changes), "data": dict(self.data)}
        if self.request_id is not None:
            out["request_id"] = self.request_id
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "type": self.type, "entity_type": self.entity_type, "entity_id": self.entity_id,
            "actor_id": self.actor_id, "occurred_at": self.occurred_at.isoformat(),
            "changes": dict(self.changes), "data": dict(self.data),
        }

    @classmethod
    def from_row(cls, row: Any) -> "Event":
        payload = row.payload or {}
        return cls(
            id=row.id, type=row.type, entity_type=row.entity_type, entity_id=row.entity_id,
            actor_id=row.actor_id, occurred_at=row.occurred_at,
            changes=payload.get("changes", {}), data=payload.get("data", {}),
            request_id=payload.get("request_id"),
        )


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Changes between two JSON-form snapshots: only the fields whose value differs."""
    out: dict[str, dict[str, Any]] = {}
    for key in after.keys() | before.keys():
        b, a = before.get(key), after.get(key)
        if b != a:
            out[key] = {"before": b, "after": a}
    return out


def created(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: {"before": None, "after": to_json_value(v)} for k, v in values.items() if v not in (None, "", {}, [])}
