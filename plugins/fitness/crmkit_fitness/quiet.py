"""Quiet and dormant members: those the daily pass can leave out because nothing about them can
change today.

Most of a steady club is ``active`` day after day with nothing due. The pass works out every other
member's phase and touch points in Python (:mod:`.lifecycle`, :mod:`.touchpoints`); a *quiet* one is
found in SQL, in the same query that reads the members, and skipped. A member is quiet when all of
these hold (each keeps :func:`.lifecycle.state_of` at ``active``, risk 0, and every rule not due):

* stored phase ``active`` and risk 0;
* exactly one membership row within the pass's window (ending 30 days ago or later: an issued
  renewal would be a second one): a running, non-trial membership with no outcome, not itself a
  renewal younger than ``renewed_days``;
* its term started at least ``max(adaptation_days, last day:N window)`` days ago and ends more than
  ``max(expiring_days - 1, largest before_end:N)`` days ahead;
* a visit within fewer days than ``no_visit_days`` and every no_visit:N rule;
* the pace surely above the cadence line: the pace is not judged yet (first visit less than
  ``2 × recent_days`` ago), or the counts were updated within :data:`RECENT_UPDATE` days and
  ``recent/τr ≥ percent × norm/τn × e^(k(1/τr − 1/τn))`` with k = :data:`RECENT_UPDATE` — the
  decaying counts' ratio only falls with time, so this bounds it for every day up to k (plain
  arithmetic: the same on SQLite and PostgreSQL);
* no birthday today or in the two days before, when the programme has a birthday rule.

Dormant: ``lapsed``, risk 0 and no membership ending within the window (the pass skipped them in
Python before; now they are not even read). No member is quiet on a day a seasonal rule's window holds, or with a ``phase:active`` rule in the
programme (it is due for every active member until it fired). ``tests/test_fitness_quiet.py`` checks
that every member left out is one the Python rules would leave as it is, with nothing due.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, exists, extract, false, func, literal, or_, select

from crmkit import schema

from .config import Config
from .tables import memberships, members, products
from .touchpoints import CATCH_UP_DAYS, Programme

RECENT_UPDATE = 7
WINDOW_DAYS = 30  # the pass reads the memberships that ended at most this long ago
ENABLED = True  # False: the pass reads every member (to compare, or to rule the skipping out)


def skipped(cfg: Config, programme: Programme, today: date) -> Any:
    """The SQL condition (over ``fitness_members`` joined to ``crm_contacts``) of the members the pass
    leaves out today: the quiet ones, and the dormant ones (``lapsed``, risk 0, no membership ending
    within the window: long gone, nothing can change or fire)."""
    if not ENABLED:
        return None
    m, mc = memberships.c, members.c
    dormant = and_(mc.phase == "lapsed", mc.risk == 0, ~exists().where(
        m.contact_id == mc.contact_id, m.ends_on >= today - timedelta(days=WINDOW_DAYS)))
    still = quiet(cfg, programme, today)
    return dormant if still is None else or_(dormant, still)


def quiet(cfg: Config, programme: Programme, today: date) -> Any:
    """The SQL condition of a quiet member (see the module's docstring), or ``None`` when no member
    can be quiet today."""
    if programme.season or programme.phase.get("active"):
        return None
    rules = [r for r in cfg.touch_points]
    day_end = max((r.days + CATCH_UP_DAYS for r in rules if r.kind == "day"), default=0)
    before = max((r.days for r in rules if r.kind == "before_end"), default=0)
    absent = min([cfg.no_visit_days, *(r.days for r in rules if r.kind == "no_visit")])
    m, p, mc = memberships.c, products.c, members.c
    window = today - timedelta(days=WINDOW_DAYS)
    others = (select(func.count()).select_from(memberships)
              .where(m.contact_id == mc.contact_id, m.ends_on >= window).scalar_subquery())
    # kind || '' : not the (kind, ends_on) index, which would scan every member's rows for each member;
    # the member's own rows come by (contact_id, ends_on)
    steady = exists().select_from(memberships.join(products, p.id == m.product_id)).where(
        m.contact_id == mc.contact_id, m.ends_on >= window, m.kind.concat("") == "membership", p.trial.is_(False),
        m.outcome.is_(None),
        m.starts_on <= today - timedelta(days=max(cfg.adaptation_days, day_end, 0)),
        m.ends_on > today + timedelta(days=max(cfg.expiring_days - 1, before, 0)),
        or_(m.renews_id.is_(None), m.starts_on <= today - timedelta(days=cfg.renewed_days)))
    tr, tn = max(cfg.recent_days, 1), max(cfg.norm_days, 1)
    bound = cfg.cadence_percent / 100 * math.exp(RECENT_UPDATE * (1 / tr - 1 / tn)) * (1 + 1e-9)
    pace_ok = or_(mc.first_visit_on > today - timedelta(days=2 * cfg.recent_days),
                  and_(mc.rate_on >= today - timedelta(days=RECENT_UPDATE), mc.rate_on <= today,
                       mc.recent * tn >= literal(bound) * mc.norm * tr))
    conditions = [mc.phase == "active", mc.risk == 0, others == 1, steady,
                  mc.last_visit_on.is_not(None), mc.last_visit_on > today - timedelta(days=absent),
                  mc.last_visit_on <= today, pace_ok]
    if programme.birthday:
        b = schema.contacts.c.birthday
        near = [(d.month, d.day) for d in (today - timedelta(days=back) for back in range(3))]
        if (2, 28) in near:
            near.append((2, 29))
        conditions.append(or_(b.is_(None), ~or_(false(), *(and_(extract("month", b) == mo, extract("day", b) == dy)
                                                           for mo, dy in near))))
    return and_(*conditions)
