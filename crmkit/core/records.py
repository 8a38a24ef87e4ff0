"""The public shapes services return: frozen attrs records, JSON-ready via ``to_dict``."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Generic, Mapping, Sequence, TypeVar

import attrs

from .events import to_json_value
from .money import Money

T = TypeVar("T")


def to_dict(record: Any) -> dict[str, Any]:
    """A record as JSON-ready data (Money as {amount, currency}, times in ISO UTC)."""
    return {
        k: to_json_value(v)
        for k, v in attrs.asdict(record, recurse=False).items()
    }


@attrs.frozen
class Page(Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: Sequence[T]
    next_cursor: str | None

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: Any) -> Any:
        return self.items[index]


@attrs.frozen
class User:
    """A user. ``email`` is None when the acting user may not see it (only admins see everyone's)."""

    id: int
    email: str | None
    name: str
    role: str
    team: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int


@attrs.frozen
class Stage:
    id: int
    pipeline_id: int
    pipeline: str
    key: str
    name: str
    kind: str
    position: int


@attrs.frozen
class Pipeline:
    id: int
    key: str
    name: str
    stages: tuple[Stage, ...]

    def stage(self, key: str) -> Stage | None:
        return next((s for s in self.stages if s.key == key), None)


@attrs.frozen
class LostReason:
    id: int
    key: str
    label: str


@attrs.frozen
class Company:
    id: int
    name: str
    address: str | None
    responsible_id: int | None
    custom: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int
    archived_at: datetime | None = None


@attrs.frozen
class Contact:
    id: int
    first_name: str
    last_name: str
    company_id: int | None
    birthday: date | None
    responsible_id: int | None
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    custom: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int
    archived_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@attrs.frozen
class Lead:
    id: int
    title: str
    name: str
    company_name: str
    phone: str | None
    email: str | None
    source: str
    utm: Mapping[str, str]
    status: str
    stage: str | None
    customer_kind: str | None
    responsible_id: int | None
    contact_id: int | None
    lost_reason: str | None
    closed_at: datetime | None
    custom: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int
    archived_at: datetime | None = None


@attrs.frozen
class Deal:
    id: int
    title: str
    pipeline: str
    stage: str
    status: str
    amount: Money | None
    responsible_id: int | None
    contact_id: int | None
    company_id: int | None
    lead_id: int | None
    origin_deal_id: int | None
    source: str
    utm: Mapping[str, str]
    lost_reason: str | None
    stage_entered_at: datetime
    closed_at: datetime | None
    custom: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int
    archived_at: datetime | None = None


@attrs.frozen
class StageMove:
    id: int
    deal_id: int
    pipeline: str
    from_stage: str | None
    to_stage: str
    actor_id: int | None
    moved_at: datetime


@attrs.frozen
class Task:
    id: int
    title: str
    description: str
    assignee_id: int | None
    due_at: datetime | None
    status: str
    entity_type: str | None
    entity_id: int | None
    completed_at: datetime | None
    created_by: int | None
    custom: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int
    rule: str | None = None
    archived_at: datetime | None = None

    def overdue_by(self, now: datetime) -> timedelta | None:
        """How late the task is (None when it is not overdue)."""
        return now - self.due_at if self.is_overdue(now) and self.due_at is not None else None

    def is_overdue(self, now: datetime) -> bool:
        return self.status == "open" and self.due_at is not None and self.due_at < now


@attrs.frozen
class Note:
    id: int
    entity_type: str
    entity_id: int
    body: str
    author_id: int | None
    created_at: datetime


@attrs.frozen
class Conversion:
    """What converting a lead made: the (new or matched) contact, the company if any, the deal."""

    lead: Lead
    contact: Contact
    company: Company | None
    deal: Deal
