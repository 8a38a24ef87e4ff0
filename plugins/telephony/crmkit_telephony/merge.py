"""How one event changes a call: every fact merges so that the order events arrive in does not matter.

Providers deliver a call's events late, twice and out of order (Twilio's ``completed`` before the
agent's ``in-progress``). Each column of the call log is therefore a merge that is commutative,
associative and idempotent (a lattice), computed from the stored row and the new event alone:

* ``started_at`` / ``ended_at``: the earliest time any event / any ``ended`` event gives;
* ``status``: the furthest step (ringing < answered < ended): an ended call never rings again;
* ``answered_at``: the earliest ``answered`` event -- or, for an ``ended`` event that reports
  ``answered`` with a duration, its end minus that duration -- whichever is earlier;
* ``result`` (once ended): the reported result (two reports: voicemail > answered > busy > failed >
  missed); without one, or with ``missed``, ``answered`` if an ``answered`` event came (before or
  after the end), else ``missed``;
* ``duration`` (once ended): the longest of the reported durations and the time from answer to end;
* ``extension``: the one an ``answered`` event names; else the first one given;
* ``recording_url`` and ``hangup_cause``: the first one given (two different ones: the greater).

The caller's side (direction, numbers) comes from the events that carry it; see :func:`is_party`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping

from .events import MAX_DURATION, RANK, CallEvent

PRECEDENCE = {None: 0, "missed": 1, "failed": 2, "busy": 3, "answered": 4, "voicemail": 5}
"""How reported results combine: a stronger report wins, whatever arrived first."""

_EMPTY: Mapping[str, Any] = {
    "status": "ringing", "result": None, "started_at": None, "answered_at": None, "ended_at": None,
    "duration": None, "extension": None, "recording_url": None, "hangup_cause": None,
}


def is_party(event: CallEvent) -> bool:
    """Whether ``event`` says who is on the call (its direction or numbers): the call is routed to its
    cards by the first such event; events without it (an agent's leg, a recording) only add facts."""
    return event.direction is not None or bool(event.from_number) or bool(event.to_number)


def final_result(reported: str | None, answered: bool) -> str:
    """The result of an ended call from its strongest reported result and whether it was answered:
    a reported result stands; without one (or with ``missed``), an answer makes it ``answered``."""
    if reported not in (None, "missed"):
        return reported
    return "answered" if answered else "missed"


def seconds(start: datetime, end: datetime) -> int:
    """Whole seconds from ``start`` to ``end``, within what the 32-bit columns hold."""
    return min(MAX_DURATION, max(0, int((end - start).total_seconds())))


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _gap(old: str | None, new: str | None) -> str | None:
    """``new`` fills a gap; two different values keep the greater (the same whatever came first)."""
    return new if old is None else old if new is None else max(old, new)


def _answer_from_end(event: CallEvent) -> datetime | None:
    """An ``ended`` event that reports ``answered``: its end minus its duration (the answer it implies)."""
    if event.status != "ended" or event.result != "answered":
        return None
    try:
        return event.occurred_at - timedelta(seconds=event.duration or 0)
    except OverflowError:  # a long call "ending" in year 1
        return event.occurred_at


def merged(row: Mapping[str, Any] | None, event: CallEvent) -> dict[str, Any]:
    """The call's facts after ``event`` (``row``: the stored call, ``None`` for its first event).

    Returns every merged column; compare with ``row`` for what changed.
    """
    old = _EMPTY if row is None else row
    step = "ringing" if event.status == "info" else event.status
    out: dict[str, Any] = {
        "started_at": _earliest(old["started_at"], event.occurred_at),
        "status": step if RANK[step] > RANK[old["status"]] else old["status"],
        "answered_at": old["answered_at"],
        "ended_at": old["ended_at"],
        "recording_url": _gap(old["recording_url"], event.recording_url),
        "hangup_cause": _gap(old["hangup_cause"], event.hangup_cause),
    }
    if event.status == "answered":
        out["answered_at"] = _earliest(out["answered_at"], event.occurred_at)
    out["answered_at"] = _earliest(out["answered_at"], _answer_from_end(event))
    if event.status == "answered" and event.extension:
        out["extension"] = event.extension
    else:
        out["extension"] = old["extension"] or event.extension
    if event.status == "ended":
        out["ended_at"] = _earliest(out["ended_at"], event.occurred_at)
    if out["status"] == "ended":
        reported = old["result"]  # a stored result stands for the reports it came from (module doc)
        if event.status == "ended" and PRECEDENCE[event.result] > PRECEDENCE[reported]:
            reported = event.result
        out["result"] = final_result(reported, out["answered_at"] is not None)
        talk = seconds(out["answered_at"], out["ended_at"]) if out["answered_at"] is not None else 0
        reported_duration = event.duration if event.status == "ended" else None
        out["duration"] = max(old["duration"] or 0, reported_duration or 0, talk)
    else:
        out["result"], out["duration"] = None, None
    return out
