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
from typing import Any, NamedTuple, Sequence


from .checkins import pace
from .config import Config


class State(NamedTuple):
    """A member's facts on a day, and the phase they give (a named tuple: the daily pass makes
    one per member)."""

    phase: str
    cause: str
    current: Any  # the running membership row (or None)
    renewed_by: Any  # the issued renewal of the current membership (or None)
    last_end: date | None  # when the latest ended membership ended (within the rows given)
    days_since_visit: int | None
    recent_rate: float  # visits per 28 days, recent (-1: not worked out, the member is not at risk)
    norm_rate: float  # visits per 28 days, the member's norm (-1: likewise)
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
    cur = renewed_by = last_end = None
    trial = pack = False
    for m in held:
        if m.starts_on <= today <= m.ends_on:
            if m.kind == "membership" and not m.trial:
                if cur is None or (m.starts_on, m.id) > (cur.starts_on, cur.id):
                    cur = m
            elif m.trial:
                trial = True
            else:
                pack = True
        elif m.ends_on < today and m.kind == "membership" and not m.trial and (last_end is None or m.ends_on > last_end):
            last_end = m.ends_on
    if cur is not None:
        for m in held:
            if m.renews_id == cur.id:
                renewed_by = m
    since_from = member.last_visit_on or (cur.starts_on if cur is not None else None)
    days_since = (today - since_from).days if since_from is not None else None
    frozen = cur is not None and cur.id in frozen_ids
    phase, cause = _phase(member, cur, renewed_by, trial, pack, last_end, days_since, frozen, today, cfg)
    risk, recent, norm = 0, -1.0, -1.0  # the pace is worked out only where it matters (at risk)
    if phase == "at_risk":
        recent, norm = rates(member, today, cfg)
        risk = risk_score(days_since, recent, norm, (cur.ends_on - today).days if cur is not None else None, cfg)
    return State(phase, cause, cur, renewed_by, last_end, days_since, recent, norm, frozen, risk)


def _at_risk(member: Any, days_since: int | None, frozen: bool, today: date, cfg: Config) -> str | None:
    if frozen:
        return None
    if days_since is not None and days_since >= cfg.no_visit_days:
        return "no_visit"
    if member.first_visit_on is None or (today - member.first_visit_on).days < 2 * cfg.recent_days:
        return None
    recent, norm = rates(member, today, cfg)
    if norm >= cfg.min_norm_visits and recent < norm * cfg.cadence_percent / 100:
        return "cadence"
    return None


def _phase(member: Any, cur: Any, renewed_by: Any, trial: bool, pack: bool, last_end: date | None,
           days_since: int | None, frozen: bool, today: date, cfg: Config) -> tuple[str, str]:
    if cur is not None:
        if cur.outcome == "lapsed":
            return "lapsed", "renewal_lost"
        if renewed_by is not None:
            return "renewed", "renewal_issued"
        if cur.renews_id is not None and (today - cur.starts_on).days < cfg.renewed_days:
            return "renewed", "renewal_started"
        if (cur.ends_on - today).days < cfg.expiring_days:
            return "expiring", "ends_soon"
        why = _at_risk(member, days_since, frozen, today, cfg)
        if why:
            return "at_risk", why
        if cur.cycle == 1 and (today - cur.starts_on).days < cfg.adaptation_days:
            return "adaptation", "first_weeks"
        return "active", "visits"
    if trial:
        return "trial", "trial_running"
    if pack:
        why = _at_risk(member, days_since, frozen, today, cfg)
        return ("at_risk", why) if why else ("active", "pack")
    if last_end is not None or member.cycle > 0:
        return "lapsed", "ended"
    return "prospect", "no_membership"
