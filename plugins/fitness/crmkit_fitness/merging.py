"""Merging duplicate contacts (the core's ``crm_merge_records`` hook): the club's rows of the
merged-away cards follow the survivor, in the merge's transaction.

* memberships and packs (their freezes hang on them), sales, check-ins and bookings are re-pointed;
* when more than one card held memberships, their cycles are numbered again in the order the
  terms started (1, 2, ...), a pack taking the cycle of the membership running when it started,
  and touch points follow their term's new cycle, so "once per member, rule and cycle" still holds;
  a touch point fired for two of the cards in what is now the same cycle is kept once, the
  earlier (its task and timeline event stay, as the core keeps every task and event);
* two bookings of one class keep the one that says most (attended, then booked, then no-show,
  then cancelled);
* the member rows become one: the survivor's card, manager and trainer (else the first merged
  card's), visits added up, the first and last visit days widened, the decaying visit counts added
  as of the later day; the phase is worked out again by the next daily pass.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any, Sequence

from sqlalchemy import bindparam, delete, select, update

from crmkit import Tx, hookimpl

from .checkins import pace
from .config import config
from .tables import bookings, checkins, members, memberships, products, sales, touches

_RANK = {"attended": 0, "booked": 1, "no_show": 2, "cancelled": 3}


@hookimpl
def crm_merge_records(tx: Tx, entity_type: str, survivor_id: int, merged_ids: Sequence[int]) -> dict[str, int] | None:
    if entity_type != "contact" or not merged_ids:
        return None
    gone = [i for i in merged_ids if i != survivor_id]
    everyone = [survivor_id, *gone]
    counts = {bookings.name: _bookings(tx, survivor_id, gone)}
    owners = {r.id: r.contact_id for r in tx.conn.execute(
        select(memberships.c.id, memberships.c.contact_id).where(memberships.c.contact_id.in_(everyone)))}
    for table in (memberships, sales, checkins):
        counts[table.name] = tx.conn.execute(update(table).where(table.c.contact_id.in_(gone))
                                             .values(contact_id=survivor_id)).rowcount
    counts[touches.name] = _touches(tx, survivor_id, gone, _renumber(tx, survivor_id, owners))
    counts[members.name] = _member(tx, survivor_id, gone)
    return counts


def _bookings(tx: Tx, survivor_id: int, gone: list[int]) -> int:
    b = bookings.c
    rows = tx.conn.execute(select(b.id, b.class_id, b.status, b.contact_id)
                           .where(b.contact_id.in_([survivor_id, *gone])).order_by(b.id)).all()
    by_class: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_class[row.class_id].append(row)
    moved = 0
    for same in by_class.values():
        keep = min(same, key=lambda r: (_RANK.get(r.status, 9), r.contact_id != survivor_id, r.id))
        extra = [r.id for r in same if r.id != keep.id]
        if extra:
            tx.conn.execute(delete(bookings).where(b.id.in_(extra)))
        if keep.contact_id != survivor_id:
            tx.conn.execute(update(bookings).where(b.id == keep.id).values(contact_id=survivor_id))
            moved += 1
    return moved


def _renumber(tx: Tx, survivor_id: int, owners: dict[int, int]) -> dict[int, int]:
    """New cycles ``{membership id: cycle}`` when memberships came from more than one card (else ``{}``)."""
    m = memberships.c
    rows = tx.conn.execute(select(m.id, m.kind, m.cycle, m.starts_on, products.c.trial)
                           .join_from(memberships, products, products.c.id == m.product_id)
                           .where(m.contact_id == survivor_id).order_by(m.starts_on, m.id)).all()
    terms = [r for r in rows if r.kind == "membership" and not r.trial]
    if len({owners.get(r.id) for r in terms}) <= 1:
        return {}
    cycles = {r.id: n for n, r in enumerate(terms, start=1)}
    for r in rows:
        if r.id not in cycles:  # a pack, a trial: the cycle of the latest term started by then
            started = [cycles[t.id] for t in terms if t.starts_on <= r.starts_on]
            cycles[r.id] = started[-1] if started else 0
    old = {r.id: r.cycle for r in rows}
    changed = [{"mid": i, "c": c} for i, c in cycles.items() if c != old[i]]
    if changed:
        tx.conn.execute(update(memberships).where(m.id == bindparam("mid")).values(cycle=bindparam("c")), changed)
    return cycles


def _touches(tx: Tx, survivor_id: int, gone: list[int], cycles: dict[int, int]) -> int:
    t = touches.c
    rows = tx.conn.execute(select(t.id, t.contact_id, t.rule, t.cycle, t.membership_id, t.fired_on)
                           .where(t.contact_id.in_([survivor_id, *gone])).order_by(t.fired_on, t.id)).all()
    seen: set[tuple[str, int]] = set()
    keep: list[dict[str, Any]] = []
    drop: list[int] = []
    for r in rows:
        cycle = cycles.get(r.membership_id, r.cycle) if r.membership_id is not None else r.cycle
        if (r.rule, cycle) in seen:
            drop.append(r.id)
            continue
        seen.add((r.rule, cycle))
        if r.contact_id != survivor_id or cycle != r.cycle:
            keep.append({"tid": r.id, "c": cycle})
    if drop:
        tx.conn.execute(delete(touches).where(t.id.in_(drop)))
    if keep:  # two steps: no (contact, rule, cycle) clash between rows still being moved
        tx.conn.execute(update(touches).where(t.id == bindparam("tid")).values(cycle=-t.id),
                        [{"tid": k["tid"]} for k in keep])
        tx.conn.execute(update(touches).where(t.id == bindparam("tid")).values(
            contact_id=survivor_id, cycle=bindparam("c")), keep)
    return len(keep) + len(drop)


def _member(tx: Tx, survivor_id: int, gone: list[int]) -> int:
    mc = members.c
    rows = tx.conn.execute(select(members).where(mc.contact_id.in_([survivor_id, *gone]))).all()
    theirs = [r for r in rows if r.contact_id != survivor_id]
    if not theirs:
        return 0
    mine = next((r for r in rows if r.contact_id == survivor_id), None)
    ordered = ([mine] if mine is not None else []) + sorted(theirs, key=lambda r: r.contact_id)
    cfg = config(tx.crm)
    rate_on = max((r.rate_on for r in ordered if r.rate_on is not None), default=None)
    values = {
        "card": next((r.card for r in ordered if r.card), None),
        "manager_id": next((r.manager_id for r in ordered if r.manager_id), None),
        "trainer_id": next((r.trainer_id for r in ordered if r.trainer_id), None),
        "visits": sum(r.visits for r in ordered),
        "first_visit_on": _edge(min, [r.first_visit_on for r in ordered]),
        "last_visit_on": _edge(max, [r.last_visit_on for r in ordered]),
        "recent": sum(pace(r.recent, r.rate_on, rate_on, cfg.recent_days) for r in ordered) if rate_on else 0.0,
        "norm": sum(pace(r.norm, r.rate_on, rate_on, cfg.norm_days) for r in ordered) if rate_on else 0.0,
        "rate_on": rate_on,
        "cycle": int(tx.conn.scalar(select(memberships.c.cycle).where(
            memberships.c.contact_id == survivor_id, memberships.c.kind == "membership")
            .order_by(memberships.c.cycle.desc()).limit(1)) or max(r.cycle for r in ordered)),
        "joined_at": min(r.joined_at for r in ordered),
    }
    tx.conn.execute(delete(members).where(mc.contact_id.in_(gone)))  # frees the card number first
    if mine is None:
        first = ordered[0]
        tx.conn.execute(members.insert().values(contact_id=survivor_id, phase=first.phase,
                                                phase_since=first.phase_since, risk=first.risk, **values))
    else:
        tx.conn.execute(update(members).where(mc.contact_id == survivor_id).values(**values))
    return len(theirs)


def _edge(pick: Any, days: list[date | None]) -> date | None:
    known = [d for d in days if d is not None]
    return pick(known) if known else None
