"""Touch points: which rules of the programme are due for a member on a day, and firing them.

A rule fires at most once per member and cycle (the ``fitness_touches`` unique key): it
creates a task on the member's contact card for the member's trainer (``assignee =
"trainer"``, else their manager) or manager, due ``due_hours`` later, and records an event
``fitness.touch_point`` on the member's timeline. Windowed rules (``day``, ``before_end``,
``after_end``) stay due for :data:`CATCH_UP_DAYS` days, so a missed pass catches up.
"""

from __future__ import annotations

from datetime import date, timedelta
from collections import defaultdict
from typing import Any, Iterable, Sequence

from sqlalchemy import insert, select

from crmkit import Tx, ValidationError, schema

from .config import NAME, TouchRule, season
from .lifecycle import State
from .tables import touches

CATCH_UP_DAYS = 7


class Programme:
    """The touch-point rules indexed once per pass for ``today``: a member's due rules are then a few
    look-ups by the member's numbers (days since the term started, days left, ...), not a test of
    every rule (the pass asks for every member)."""

    def __init__(self, rules: Sequence[TouchRule], today: date, season_window: int) -> None:
        self.today = today
        self.order = {id(r): i for i, r in enumerate(rules)}
        self.phase: dict[str, list[TouchRule]] = defaultdict(list)
        self.day: dict[int, list[TouchRule]] = defaultdict(list)  # days since the term started -> rules
        self.before_end: dict[int, list[TouchRule]] = defaultdict(list)  # days left -> rules
        self.after_end: dict[int, list[TouchRule]] = defaultdict(list)  # days since the last end -> rules
        self.no_visit: list[tuple[int, TouchRule]] = []
        self.cadence: list[TouchRule] = []
        self.birthday: list[TouchRule] = []
        self.season: list[TouchRule] = []  # the season rules whose window holds today
        for r in rules:
            kind, n = r.kind, r.days
            if kind == "phase":
                self.phase[r.arg].append(r)
            elif kind == "day":
                for d in range(n, n + CATCH_UP_DAYS):
                    self.day[d].append(r)
            elif kind == "before_end":
                for d in range(n - CATCH_UP_DAYS + 1, n + 1):
                    self.before_end[d].append(r)
            elif kind == "after_end":
                for d in range(n, n + CATCH_UP_DAYS):
                    self.after_end[d].append(r)
            elif kind == "no_visit":
                self.no_visit.append((n, r))
            elif kind == "cadence_drop":
                self.cadence.append(r)
            elif kind == "birthday":
                self.birthday.append(r)
            elif kind == "season":
                start = _season_start(r, today.year)
                if start <= today < start + timedelta(days=season_window):
                    self.season.append(r)
        self.no_visit.sort(key=lambda x: x[0])
        near = [today - timedelta(days=back) for back in range(3)]
        self._near = {(d.month, d.day) for d in near}

    def birthday_near(self, birthday: date) -> bool:
        """A birthday today or in the two days before (29 February counts on the 28th)."""
        return (birthday.month, birthday.day) in self._near or (
            birthday.month == 2 and birthday.day == 29 and (2, 28) in self._near)


def _season_start(rule: TouchRule, year: int) -> date:
    month, day = season(rule)
    return date(year, month, 28 if (month, day) == (2, 29) else day)


def due_rules(programme: Programme, state: State, birthday: date | None, today: date,
              season_window: int) -> list[TouchRule]:
    """The rules whose condition holds for the member on ``today`` (before the once-per-cycle check),
    in the programme's order. ``today`` and ``season_window`` are the programme's own."""
    p = programme
    found: list[TouchRule] = list(p.phase.get(state.phase, ())) if p.phase else []
    cur = state.current
    if cur is None:
        if p.after_end and state.last_end is not None and state.phase == "lapsed":
            found += p.after_end.get((today - state.last_end).days, ())
    else:
        if p.day:
            since = (today - cur.starts_on).days
            found += [r for r in p.day.get(since, ()) if not (r.first_cycle and cur.cycle > 1)]
        absent = state.days_since_visit
        if p.no_visit and not state.frozen and absent is not None:
            for n, r in p.no_visit:
                if absent < n:
                    break
                found.append(r)
        if p.cadence and state.phase == "at_risk" and state.cause == "cadence":
            found += p.cadence
        if p.before_end and state.renewed_by is None and cur.outcome is None:
            found += p.before_end.get((cur.ends_on - today).days, ())
        if p.birthday and birthday is not None and p.birthday_near(birthday):
            found += p.birthday
        found += p.season
    if len(found) > 1:
        found.sort(key=lambda r: p.order[id(r)])
    return found


def term_of(state: State) -> Any:
    """The membership a touch point on this day belongs to: the issued renewal once there is one
    (so a thank-you after renewing counts for the new term, not as preceding the renewal)."""
    return state.renewed_by if state.renewed_by is not None else state.current


def cycle_of(state: State, member: Any) -> int:
    term = term_of(state)
    return int(term.cycle) if term is not None else int(member.cycle)


def fired(tx: Tx, keys: Iterable[tuple[int, int]], rules: Iterable[str] | None = None) -> set[tuple[int, str, int]]:
    """The (contact, rule, cycle) already fired for the given (contact, cycle) pairs (only of
    ``rules`` when given: the rules due today)."""
    pairs = list(keys)
    out: set[tuple[int, str, int]] = set()
    t = touches.c
    only = sorted(set(rules)) if rules is not None else None
    for i in range(0, len(pairs), 500):
        ids = [c for c, _ in pairs[i:i + 500]]
        query = select(t.contact_id, t.rule, t.cycle).where(t.contact_id.in_(ids))
        if only is not None:
            query = query.where(t.rule.in_(only))
        out.update((c, r, n) for c, r, n in tx.conn.execute(query).all())
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
