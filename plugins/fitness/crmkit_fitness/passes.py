"""The worker's daily pass (the periodic job ``fitness.daily``): no-shows, ended memberships,
renewal deals, then every member's phase and due touch points, in batches of :data:`BATCH`
members, one transaction each. Running it twice on a day changes nothing the second time.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import attrs
from sqlalchemy import bindparam, select, update

from crmkit import Crm, Tx, schema

from .classes import mark_no_shows
from .config import NAME, config, local_date
from .lifecycle import state_of
from .memberships import close_ended, open_renewals
from .quiet import skipped
from .tables import freezes, members, memberships, products
from .touchpoints import Programme, cycle_of, due_rules, fire_all, fired, record, term_of

BATCH = 5000
# what the pass reads of a member (not the card, the visit count, the join time: less to convert per row)
_COLUMNS = [members.c[k] for k in ("contact_id", "phase", "risk", "cycle", "manager_id", "trainer_id", "first_visit_on",
                                   "last_visit_on", "recent", "norm", "rate_on")]


@attrs.define
class PassReport:
    """What one pass did."""

    day: date
    members: int = 0
    phase_changes: int = 0
    touch_points: int = 0
    renewals_opened: int = 0
    lapsed: int = 0
    no_shows: int = 0


def daily_pass(crm: Crm, now: datetime) -> PassReport:
    """Run the pass for the local day of ``now``."""
    today = local_date(crm, now)
    report = PassReport(today)
    cfg = config(crm)
    with crm.transaction(None) as tx:
        report.no_shows = mark_no_shows(tx, now)
        report.lapsed = close_ended(tx, today)
        report.renewals_opened = open_renewals(tx, today, cfg.renewal_days)
    last = 0
    while True:
        with crm.transaction(None) as tx:
            last, seen = _batch(tx, today, last, report)
        if not seen:
            return report


def _held(tx: Tx, low: int, high: int, today: date) -> dict[int, list[Any]]:
    m, p = memberships.c, products.c
    rows = tx.conn.execute(select(m.id, m.contact_id, m.kind, p.trial, m.cycle, m.starts_on, m.ends_on, m.outcome,
                                  m.renews_id)
                           .join_from(memberships, products, m.product_id == p.id)
                           .where(m.contact_id.between(low, high), m.ends_on >= today - timedelta(days=30)))
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.contact_id].append(row)
    return out


def _batch(tx: Tx, today: date, after: int, report: PassReport) -> tuple[int, int]:
    cfg = config(tx.crm)
    mc = members.c
    programme = Programme(cfg.touch_points, today, cfg.season_window_days)
    query = (select(*_COLUMNS, schema.contacts.c.birthday).join(schema.contacts, schema.contacts.c.id == mc.contact_id)
             .where(mc.contact_id > after).order_by(mc.contact_id).limit(BATCH))
    skip = skipped(cfg, programme, today)
    if skip is not None:
        query = query.where(~skip)  # nothing can change for a quiet or dormant member today (see .quiet)
    rows = tx.conn.execute(query).all()
    if not rows:
        return after, 0
    low, high = rows[0].contact_id, rows[-1].contact_id
    held = _held(tx, low, high, today)
    f = freezes.c
    frozen = set(tx.conn.scalars(select(f.membership_id).join(memberships, memberships.c.id == f.membership_id)
                                 .where(memberships.c.contact_id.between(low, high), f.starts_on <= today,
                                        f.ends_on >= today)))
    changes, risks, due = [], [], []
    for member in rows:
        mine = held.get(member.contact_id)
        if mine is None and member.phase == "lapsed" and member.risk == 0:
            continue  # ended long ago (no row within 30 days): nothing can change or fire
        state = state_of(member, mine or (), frozen, today, cfg)
        if state.phase != member.phase:
            changes.append((member, state))
        if state.risk != member.risk:
            risks.append({"cid": member.contact_id, "p_risk": state.risk})
        rules = due_rules(programme, state, member.birthday, today, cfg.season_window_days)
        if rules:
            due.append((member, state, rules))
    if changes:
        tx.conn.execute(update(members).where(mc.contact_id == bindparam("cid")).values(
            phase=bindparam("p_phase"), phase_since=today),
            [{"cid": m.contact_id, "p_phase": s.phase} for m, s in changes])
        hook = tx.crm.pm.hook.fitness_phase_changed
        for member, state in changes:
            tx.emit(f"{NAME}.phase_changed", "contact", member.contact_id,
                    changes={"phase": {"old": member.phase, "new": state.phase}},
                    data={"phase": state.phase, "reason": state.cause, "day": today.isoformat()})
            hook(tx=tx, contact_id=member.contact_id, old=member.phase, new=state.phase, day=today)
    if risks:
        tx.conn.execute(update(members).where(mc.contact_id == bindparam("cid")).values(risk=bindparam("p_risk")), risks)
    if due:
        done = fired(tx, [(m.contact_id, cycle_of(s, m)) for m, s, _ in due], {r.key for _, _, rs in due for r in rs})
        todo = []
        for member, state, rules in due:
            cycle = cycle_of(state, member)
            term = term_of(state)
            for rule in rules:
                if (member.contact_id, rule.key, cycle) not in done:
                    todo.append((member, rule, cycle, term.id if term is not None else None))
        new = fire_all(tx, todo, today)
        record(tx, new)
        report.touch_points += len(new)
    report.members += len(rows)
    report.phase_changes += len(changes)
    return high, len(rows)
