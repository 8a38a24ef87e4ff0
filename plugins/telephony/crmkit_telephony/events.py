"""The one internal call-event shape every provider adapter produces, and the call record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from crmkit import ValidationError, ensure_utc

STATUSES = ("info", "ringing", "answered", "ended")
"""Lifecycle steps, in order; ``info`` only adds facts (a recording) and moves nothing."""
RANK = {s: i for i, s in enumerate(STATUSES)}
RESULTS = ("answered", "missed", "busy", "failed", "voicemail")
DIRECTIONS = ("inbound", "outbound")
MAX_DURATION = 2**31 - 1  # seconds; the column is a 32-bit integer


def _utc(value: datetime) -> datetime:
    return ensure_utc(value, field="occurred_at")


def _one_of(allowed: tuple[str, ...]) -> Any:
    def check(_inst: Any, attribute: Any, value: Any) -> None:
        if value is not None and value not in allowed:
            raise ValidationError(f"{attribute.name}: {value!r} is not one of {', '.join(allowed)}",
                                  field=attribute.name)
    return check


def _text(max_length: int) -> Any:
    """Text of at most ``max_length`` characters (the call log's column): a clear error, not a database one."""
    def check(_inst: Any, attribute: Any, value: Any) -> None:
        if value is not None and (not isinstance(value, str) or len(value) > max_length):
            raise ValidationError(f"{attribute.name}: text of at most {max_length} characters", field=attribute.name)
    return check


def _duration(_inst: Any, attribute: Any, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DURATION):
        raise ValidationError(f"duration: whole seconds from 0 to {MAX_DURATION}", field="duration")


@attrs.frozen
class CallEvent:
    """What happened to one call, as a provider reported it (one webhook, one AMI event).

    :param provider: the adapter's name (``generic``, ``twilio``, ``asterisk``).
    :param call_id: the provider's id of the call (with ``provider``, the key of the call).
    :param status: ``ringing``, ``answered``, ``ended`` or ``info`` (facts only, e.g. a recording).
    :param occurred_at: when it happened (aware; stored in UTC).
    :param direction: ``inbound`` or ``outbound`` (``None``: not said by this event).
    :param from_number: the calling number as the provider sent it (normalized on ingestion).
    :param to_number: the called number.
    :param extension: the user's extension or agent id that rang, answered or dialled.
    :param result: on ``ended``: answered, missed, busy, failed or voicemail (``None``: derived).
    :param duration: talk time in seconds, if the provider says.
    :param recording_url: where the recording can be listened to.
    :param hangup_cause: the provider's reason for the hang-up (text).
    """

    provider: str = attrs.field(validator=_text(40))
    call_id: str = attrs.field(validator=_text(200))
    status: str = attrs.field(validator=_one_of(STATUSES))
    occurred_at: datetime = attrs.field(converter=_utc)
    direction: str | None = attrs.field(default=None, validator=_one_of(DIRECTIONS))
    from_number: str | None = attrs.field(default=None, validator=_text(100))
    to_number: str | None = attrs.field(default=None, validator=_text(100))
    extension: str | None = attrs.field(default=None, validator=_text(100))
    result: str | None = attrs.field(default=None, validator=_one_of(RESULTS))
    duration: int | None = attrs.field(default=None, validator=_duration)
    recording_url: str | None = attrs.field(default=None, validator=_text(10_000))
    hangup_cause: str | None = attrs.field(default=None, validator=_text(200))

    @property
    def customer_number(self) -> str | None:
        """The outside party: the caller of an inbound call, the callee of an outbound one."""
        return self.to_number if self.direction == "outbound" else self.from_number


@attrs.frozen
class CallRecord:
    """One row of the call log, as services and hooks see it."""

    id: int
    provider: str
    call_id: str
    direction: str
    status: str
    result: str | None
    phone: str | None
    from_number: str | None
    to_number: str | None
    extension: str | None
    user_id: int | None
    responsible_id: int | None
    contact_id: int | None
    lead_id: int | None
    deal_id: int | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration: int | None
    recording_url: str | None
    hangup_cause: str | None
    callback_task_id: int | None
    response_seconds: int | None

    @classmethod
    def from_row(cls, row: Any) -> "CallRecord":
        return cls(**{f.name: getattr(row, f.name) for f in attrs.fields(cls)})
