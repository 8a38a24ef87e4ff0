"""Lifecycle phases, computed from facts (memberships, freezes, visits) for one day.

The order of the checks (the first that holds is the phase):

* a running membership (not a trial): ``lapsed`` if its renewal was lost; ``renewed`` if it is
  a renewal younger than ``renewed_days`` or its renewal has been issued; ``expiring`` if it ends
  within ``expiring_days``; ``at_risk`` if the member has not visited for ``no_visit_days`` (from
  the start when never) or the recent pace is below ``cadence_percent`` of the member's own norm
  (not while frozen); ``adaptation`` in the first ``adaptation_days`` of the first membership;
  else ``active``;
* else a running trial product: ``trial``; a running pack alone: ``at_risk`` or ``active`` by visits;
* else ``lapsed`` if the member ever held a membership, ``prospect`` if not.

The pace: each visit day adds 1 to two counts that decay exponentially, with time constants
``recent_days`` and ``norm_days``; a count over its time constant times 28 is visits per 28 days.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Sequence

import attrs

from .checkins import pace
from .config import Config


@attrs.frozen
class State:
    """A member's facts on a day, and the phase they give."""

    phase: str
    cause: str
    current: Any  # the running membership row (or None)
    renewed_by: Any  # the issued renewal of the current membership (or None)
    last_end: date | None  # when the latest ended membership ended
    days_since_visit: int | None
    recent_rate: float  # visits per 28 days, recent
    norm_rate: float  # visits per 28 days, the member's norm
    frozen: bool
    risk: int


def rates(member: Any, today: date, cfg: Config) -> tuple[float, float]:
    """``(recent, norm)`` visits per 28 days on ``today``."""
    recent = pace(member.recent, member.rate_on, today, cfg.recent_days) / max(cfg.recent_days, 1) * 28
    norm = pace(member.norm, member.rate_on, today, cfg.norm_days) / max(cfg.norm_days, 1) * 28
    return recent, norm


def risk_score(days_since: int | None, recent: float, norm: float, days_left: int | None, cfg: Config) -> int:
    """The churn-risk score, 0 to 100: 50 points for days without a visit (full at twice
    ``no_visit_days``), 30 for the pace's drop below the norm, 20 for the end coming
    (full on the last day, none at twice ``expiring_days`` or more)."""
    absent = min(1.0, (days_since or 0) / max(2 * cfg.no_visit_days, 1))
    drop = max(0.0, 1.0 - recent / norm) if norm > 0 else 0.0
    ending = 0.0 if days_left is None else 1.0 - min(1.0, days_left / max(2 * cfg.expiring_days, 1))
    return round(100 * (0.5 * absent + 0.3 * drop + 0.2 * ending))


def state_of(member: Any, held: Sequence[Any], frozen_ids: set[int], today: date, cfg: Config) -> State:
    """The phase of ``member`` (a ``fitness_members`` row) on ``today`` from the memberships it holds
    (rows with ``id, kind, trial, cycle, starts_on, ends_on, outcome, renews_id``)."""
    running = [m for m in held if m.starts_on <= today <= m.ends_on]
    proper = [m for m in running if m.kind == "membership" and not m.trial]
    ended = [m.ends_on for m in held if m.kind == "membership" and not m.trial and m.ends_on < today]
    last_end = max(ended) if ended else None
    recent, norm = rates(member, today, cfg)
    cur = max(proper, key=lambda m: (m.starts_on, m.id)) if proper else None
    since_from = member.last_visit_on or (cur.starts_on if cur is not None else None)
    days_since = (today - since_from).days if since_from is not None else None
    renewed_by = next((m for m in held if cur is not None and m.renews_id == cur.id), None)
    frozen = cur is not None and cur.id in frozen_ids

    def done(phase: str, cause: str) -> State:
        days_left = (cur.ends_on - today).days if cur is not None else None
        risk = risk_score(days_since, recent, norm, days_left, cfg) if phase == "at_risk" else 0
        return State(phase, cause, cur, renewed_by, last_end, days_since, recent, norm, frozen, risk)

    def at_risk() -> str | None:
        if frozen:
            return None
        if days_since is not None and days_since >= cfg.no_visit_days:
            return "no_visit"
        known = member.first_visit_on is not None and (today - member.first_visit_on).days >= 2 * cfg.recent_days
        if known and norm >= cfg.min_norm_visits and recent < norm * cfg.cadence_percent / 100:
            return "cadence"
        return None

    if cur is not None:
        if cur.outcome == "lapsed":
            return done("lapsed", "renewal_lost")
        if renewed_by is not None:
            return done("renewed", "renewal_issued")
        if cur.renews_id is not None and (today - cur.starts_on).days < cfg.renewed_days:
            return done("renewed", "renewal_started")
        if (cur.ends_on - today).days < cfg.expiring_days:
            return done("expiring", "ends_soon")
        why = at_risk()
        if why:
            return done("at_risk", why)
        if cur.cycle == 1 and (today - cur.starts_on).days < cfg.adaptation_days:
            return done("adaptation", "first_weeks")
        return done("active", "visits")
    if any(m.trial for m in running):
        return done("trial", "trial_running")
    if running:
        why = at_risk()
        return done("at_risk", why) if why else done("active", "pack")
    if last_end is not None or member.cycle > 0:
        return done("lapsed", "ended")
    return done("prospect", "no_membership")
