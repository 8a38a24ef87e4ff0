"""Touch points: which rules of the programme are due for a member on a day, and firing them.

A rule fires at most once per member and cycle (the ``fitness_touches`` unique key): it
creates a task on the member's contact card for the member's trainer (``assignee =
"trainer"``, else their manager) or manager, due ``due_hours`` later, and records an event
``fitness.touch_point`` on the member's timeline. Windowed rules (``day``, ``before_end``,
``after_end``) stay due for :data:`CATCH_UP_DAYS` days, so a missed pass catches up.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Iterable, Sequence

from sqlalchemy import insert, select

from crmkit import Tx, ValidationError, schema

from .config import NAME, TouchRule, season
from .lifecycle import State
from .tables import touches

CATCH_UP_DAYS = 7


def _in_window(days: int, start: int) -> bool:
    return start <= days < start + CATCH_UP_DAYS


class Programme:
    """The touch-point rules compiled once per pass: ``(kind, days, rule, season start)`` each."""

    def __init__(self, rules: Sequence[TouchRule], year: int) -> None:
        self.rules = [(r.kind, r.days, r, _season_start(r, year)) for r in rules]


def _season_start(rule: TouchRule, year: int) -> date | None:
    if rule.kind != "season":
        return None
    month, day = season(rule)
    return date(year, month, 28 if (month, day) == (2, 29) else day)


def due_rules(programme: Programme, state: State, birthday: date | None, today: date,
              season_window: int) -> list[TouchRule]:
    """The rules whose condition holds for the member on ``today`` (before the once-per-cycle check)."""
    cur = state.current
    since = (today - cur.starts_on).days if cur is not None else 0
    left = (cur.ends_on - today).days if cur is not None else 0
    found: list[TouchRule] = []
    for kind, n, rule, season_start in programme.rules:
        if kind == "phase":
            ok = state.phase == rule.arg
        elif kind == "after_end":
            ok = cur is None and state.last_end is not None and state.phase == "lapsed" \
                and n <= (today - state.last_end).days < n + CATCH_UP_DAYS
        elif cur is None:
            ok = False
        elif kind == "day":
            ok = n <= since < n + CATCH_UP_DAYS and not (rule.first_cycle and cur.cycle > 1)
        elif kind == "no_visit":
            ok = not state.frozen and state.days_since_visit is not None and state.days_since_visit >= n
        elif kind == "cadence_drop":
            ok = state.phase == "at_risk" and state.cause == "cadence"
        elif kind == "before_end":
            ok = n - CATCH_UP_DAYS < left <= n and state.renewed_by is None and cur.outcome is None
        elif kind == "birthday":
            ok = birthday is not None and _birthday_near(birthday, today)
        elif kind == "season":
            ok = season_start is not None and season_start <= today < season_start + timedelta(days=season_window)
        else:
            ok = False
        if ok:
            found.append(rule)
    return found


def _birthday_near(birthday: date, today: date) -> bool:
    for back in range(3):
        day = today - timedelta(days=back)
        if (birthday.month, birthday.day) == (day.month, day.day) or (
                birthday.month == 2 and birthday.day == 29 and (day.month, day.day) == (2, 28)):
            return True
    return False


def term_of(state: State) -> Any:
    """The membership a touch point on this day belongs to: the issued renewal once there is one
    (so a thank-you after renewing counts for the new term, not as preceding the renewal)."""
    return state.renewed_by if state.renewed_by is not None else state.current


def cycle_of(state: State, member: Any) -> int:
    term = term_of(state)
    return int(term.cycle) if term is not None else int(member.cycle)


def fired(tx: Tx, keys: Iterable[tuple[int, int]]) -> set[tuple[int, str, int]]:
    """The (contact, rule, cycle) already fired for the given (contact, cycle) pairs."""
    pairs = list(keys)
    out: set[tuple[int, str, int]] = set()
    t = touches.c
    for i in range(0, len(pairs), 500):
        chunk = pairs[i:i + 500]
        ids = [c for c, _ in chunk]
        for row in tx.conn.execute(select(t.contact_id, t.rule, t.cycle).where(t.contact_id.in_(ids))):
            out.add((row.contact_id, row.rule, row.cycle))
    return out


def fire_all(tx: Tx, due: list[tuple[Any, TouchRule, int, int | None]], today: date) -> list[dict[str, Any]]:
    """Create the tasks of ``(member, rule, cycle, membership id)`` touch points in one command
    (``tasks.add_many``), record them on the members' timelines; returns the touch rows."""
    if not due:
        return []
    items = []
    for member, rule, cycle, _ in due:
        assignee = (member.trainer_id or member.manager_id) if rule.assignee == "trainer" else member.manager_id
        items.append({"title": rule.title, "assignee_id": assignee, "due_at": tx.now + timedelta(hours=rule.due_hours),
                      "entity_type": "contact", "entity_id": member.contact_id, "rule": f"{NAME}.{rule.key}",
                      "description": f"Touch point {rule.key!r} of the member's cycle {cycle}."})
    task_ids = tx.crm.as_user(tx.actor_id).tasks.add_many(items)
    rows = []
    for (member, rule, cycle, membership_id), task_id, item in zip(due, task_ids, items):
        sent = _message(tx, member, rule, cycle) if rule.message else None
        tx.emit(f"{NAME}.touch_point", "contact", member.contact_id, data={
            "rule": rule.key, "title": rule.title, "cycle": cycle, "membership_id": membership_id,
            "task_id": task_id, "assignee_id": item["assignee_id"], **({"message": sent} if sent else {})})
        rows.append({"contact_id": member.contact_id, "rule": rule.key, "cycle": cycle,
                     "membership_id": membership_id, "task_id": task_id, "fired_on": today})
    return rows


def _message(tx: Tx, member: Any, rule: TouchRule, cycle: int) -> dict[str, Any]:
    """Queue the rule's message to the member in the pass's transaction; ``{"id"}`` or ``{"error"}``
    (no address, no channel, no consent: the task still stands)."""
    first = tx.conn.scalar(select(schema.contacts.c.first_name).where(schema.contacts.c.id == member.contact_id))
    try:
        msg = tx.crm.messages.send(
            contact_id=member.contact_id, subject=rule.subject, body=rule.message.replace("{first_name}", first or ""),
            purpose="marketing", idempotency_key=f"{NAME}.touch:{member.contact_id}:{rule.key}:{cycle}")
    except ValidationError as exc:
        return {"error": str(exc)[:200]}
    return {"id": msg.id, "status": msg.status}


def record(tx: Tx, rows: list[dict[str, Any]]) -> None:
    if rows:
        tx.conn.execute(insert(touches), rows)
