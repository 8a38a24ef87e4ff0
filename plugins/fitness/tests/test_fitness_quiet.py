"""The daily pass leaves out quiet and dormant members (crmkit_fitness.quiet): checked against the
pass's own Python rules over a few hundred random members on several days — every member the SQL
leaves out is one whose phase and risk would stay as yesterday's pass left them and who has no
touch point due (SQLite and PostgreSQL: the condition is SQL)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from crmkit import FrozenClock, schema
from crmkit_fitness.club import Club
from crmkit_fitness.config import config
from crmkit_fitness.lifecycle import state_of
from crmkit_fitness.passes import _COLUMNS, _held
from crmkit_fitness.quiet import skipped
from crmkit_fitness.tables import members, memberships, products
from crmkit_fitness.touchpoints import Programme, due_rules

from fitness_support import START, MakeCrm, catalogue, enabled, user

PROGRAMMES = {
    "default": None,
    "bench": [{"key": k, "title": k, "when": w} for k, w in (
        ("welcome", "day:0"), ("first_week", "day:7"), ("invite", "day:45"), ("no_visit", "no_visit:10"),
        ("end_60", "before_end:60"), ("end_7", "before_end:7"), ("bday", "birthday"), ("gone", "after_end:14"))],
}


def _club(crm: Any, rnd: random.Random, today: date, n: int) -> list[int]:
    """``n`` members in every state around ``today``, written straight to the plugin's tables."""
    club = Club(crm, user(crm).id)
    catalogue(club)
    with crm.engine.connect() as conn:
        prods = {r.key: r for r in conn.execute(select(products))}
    ids = []
    for i in range(n):
        near = today - timedelta(days=rnd.choice([0, 1, 2, 3, 40, 200]))
        born = date(1990, near.month, near.day) if rnd.random() < 0.1 else None
        ids.append(crm.contacts.create(first_name=f"M{i}", birthday=born and born.isoformat()).id)
    with crm.engine.begin() as conn:
        for cid in ids:
            steady = rnd.random() < 0.5  # a regular in mid-term: the members that may be quiet, near every edge
            last = today - timedelta(days=rnd.randrange(0, 7) if steady else rnd.randrange(0, 25)) \
                if steady or rnd.random() < 0.9 else None
            first = (last - timedelta(days=rnd.randrange(20, 200) if steady else rnd.randrange(0, 200))) if last else None
            weekly, norm = rnd.uniform(0.2, 4), rnd.uniform(0.7, 1.1)
            ratio = rnd.uniform(0.2, 1.3) if rnd.random() < 0.6 else norm * rnd.uniform(0.45, 0.8)  # near the line
            conn.execute(insert(members).values(
                contact_id=cid, phase="prospect", phase_since=today, cycle=1, first_visit_on=first,
                last_visit_on=last, visits=5, recent=weekly / 7 * 14 * ratio, norm=weekly / 7 * 90 * norm,
                rate_on=last and last - timedelta(days=rnd.choice([0, 0, 0, 3, 6, 9] if steady else [0, 3, 9])),
                risk=0, joined_at=crm.clock.now()))
            key = "year" if steady else rnd.choice(["year", "year", "month", "trial", "pt5"])
            edge = rnd.choice([rnd.randrange(25, 330), rnd.randrange(40, 56), 364 - rnd.randrange(48, 66)])
            starts = today - timedelta(days=edge if steady else rnd.randrange(-3, 420))  # near the day:/before_end: edges
            ends = starts + timedelta(days=prods[key].duration_days - 1)
            first_id = conn.execute(insert(memberships).values(
                contact_id=cid, product_id=prods[key].id, kind=prods[key].kind, cycle=1, starts_on=starts, ends_on=ends,
                visits_used=0, sessions_used=0, freeze_days_used=0, freezes_used=0,
                outcome=rnd.choice([None, None, None, "lapsed"]) if ends < today + timedelta(days=40) else None,
                renews_id=None, created_at=crm.clock.now())).inserted_primary_key[0]
            if rnd.random() < 0.15:  # renewed: the next term follows
                conn.execute(insert(memberships).values(
                    contact_id=cid, product_id=prods["year"].id, kind="membership", cycle=2,
                    starts_on=ends + timedelta(days=1), ends_on=ends + timedelta(days=365), visits_used=0,
                    sessions_used=0, freeze_days_used=0, freezes_used=0, renews_id=first_id,
                    created_at=crm.clock.now()))
    return ids


def _states(crm: Any, day: date) -> dict[int, tuple[Any, Any]]:
    """Each member's (row, state) on ``day`` by the pass's Python rules."""
    cfg = config(crm)
    with crm.transaction(None) as tx:
        rows = tx.conn.execute(select(*_COLUMNS, schema.contacts.c.birthday)
                               .join(schema.contacts, schema.contacts.c.id == members.c.contact_id)).all()
        held = _held(tx, 0, 2**31 - 1, day)
    return {r.contact_id: (r, state_of(r, held.get(r.contact_id, ()), set(), day, cfg)) for r in rows}


@pytest.mark.parametrize("programme", sorted(PROGRAMMES))
def test_members_left_out_are_those_nothing_can_change_for(make_crm: MakeCrm, clock: FrozenClock,
                                                           programme: str) -> None:
    rnd = random.Random(16)
    base = START.date()
    rules = PROGRAMMES[programme]
    crm = enabled(make_crm, clock, **({} if rules is None else {"touch_points": rules}))
    _club(crm, rnd, base, 300)
    cfg = config(crm)
    left_out_total = quiet_total = 0
    rounds = [(offset, stored) for offset in range(6) for stored in ("yesterday", "all active")]
    for offset, stored in rounds:  # visits were drawn around the base day
        today = base + timedelta(days=offset)
        yesterday = _states(crm, today - timedelta(days=1))
        with crm.engine.begin() as conn:  # as yesterday's pass left them, or everyone active (stale: the worst case)
            for cid, (_, st) in yesterday.items():
                conn.execute(update(members).where(members.c.contact_id == cid).values(
                    phase=st.phase if stored == "yesterday" else "active", risk=st.risk if stored == "yesterday" else 0))
        prog = Programme(cfg.touch_points, today, cfg.season_window_days)
        condition = skipped(cfg, prog, today)
        with crm.engine.connect() as conn:
            left_out = set(conn.scalars(select(members.c.contact_id).join(
                schema.contacts, schema.contacts.c.id == members.c.contact_id).where(condition)))
        now = _states(crm, today)
        for cid in left_out:
            row, st = now[cid]
            assert (st.phase, st.risk) == (row.phase, row.risk), (today, cid, row, st)
            assert due_rules(prog, st, row.birthday, today, cfg.season_window_days) == [], (today, cid)
        quiet_total += sum(now[c][0].phase == "active" for c in left_out)
        left_out_total += len(left_out)
    assert quiet_total >= 50  # the check has something to bite on
    assert left_out_total < len(rounds) * 300  # and not everyone is left out
