"""A simulated club year through the worker (injected time): phases, touch points per member,
and the reports against figures computed here from the simulator's own decisions.

CI runs a small club on SQLite (25 members over 380 days): the simulation exercises the plugin's
logic day by day, and the storage it goes through runs on both databases in the other tests (the
reports' SQL in test_fitness_memberships.py). The 2,000-member year runs with
``CRMKIT_FITNESS_DEEP=1 pytest plugins/fitness/tests/test_fitness_simulator.py``."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from crmkit import Crm, FrozenClock
from crmkit.testing import MakeCrm
from crmkit_fitness import reports
from crmkit_fitness.simulator import SimResult, simulate

ALLOWED_NEXT = {
    None: {"prospect"}, "prospect": {"adaptation", "trial", "active"},
    "adaptation": {"active", "at_risk", "expiring", "renewed", "lapsed"},
    "active": {"at_risk", "expiring", "renewed", "lapsed"},
    "at_risk": {"active", "expiring", "renewed", "lapsed", "adaptation"},
    "expiring": {"renewed", "lapsed", "at_risk", "active"},
    "renewed": {"active", "at_risk", "expiring", "lapsed"},
    "lapsed": {"adaptation", "active", "renewed", "at_risk", "expiring"},
}


def _pct(part: int, whole: int) -> str | None:
    if not whole:
        return None
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _events(crm: Crm, contact_id: int, type_: str) -> list[Any]:
    return [e for e in crm.timeline.of("contact", contact_id, limit=500).items if e.type == type_]


def check_club(crm: Crm, result: SimResult, *, full_year: bool) -> None:
    # phases: every change is an allowed step, each recorded on the member's timeline
    for p in result.people:
        seen: str | None = None
        for e in _events(crm, p.contact_id, "fitness.phase_changed"):
            assert e.changes["phase"]["old"] == seen
            assert e.data["phase"] in ALLOWED_NEXT[seen], (p.kind, seen, e.data["phase"])
            seen = e.data["phase"]
    # touch points: never the same rule twice in a cycle; a typical member gets 10-15 in a year
    fired: dict[int, list[Any]] = {}
    for p in result.people:
        touches = _events(crm, p.contact_id, "fitness.touch_point")
        keys = [(e.data["rule"], e.data["cycle"]) for e in touches]
        assert len(keys) == len(set(keys)), p.contact_id
        fired[p.contact_id] = touches
    if full_year:  # a typical member: a regular on a yearly membership, over their first year
        typical = [p for p in result.people if p.kind == "regular" and p.product == "year"
                   and (result.start - p.joins).days + result.days >= 365]
        counts = [sum((e.occurred_at.date() - p.joins).days < 365 for e in fired[p.contact_id]) for p in typical]
        assert typical and 10 <= statistics.median(counts) <= 15, counts
    # renewals by product, computed from the simulator's decisions
    ended, renewed = Counter[str](), Counter[str]()
    for p in result.people:
        ended[p.product] += len(p.decided)
        renewed[p.product] += sum(p.decided.values())
    assert reports.renewals(crm, "product") == [
        {"key": k, "ended": ended[k], "renewed": renewed[k], "rate": _pct(renewed[k], ended[k])}
        for k in sorted(ended) if ended[k]]
    # touch-point attribution: which rules fired in a membership that was then renewed or lapsed
    outcome = {mid: yes for p in result.people for mid, yes in p.decided.items()}
    with_n, with_r = Counter[str](), Counter[str]()
    for touches in fired.values():
        for e in touches:
            mid = e.data["membership_id"]
            if mid in outcome:
                with_n[e.data["rule"]] += 1
                with_r[e.data["rule"]] += outcome[mid]
    total, total_r = len(outcome), sum(outcome.values())
    report = reports.touch_attribution(crm)
    assert (report["ended"], report["renewed"]) == (total, total_r)
    for row in report["rules"]:
        rule = row["rule"]
        assert (row["with"], row["renewed_with"]) == (with_n[rule], with_r[rule])
        assert (row["without"], row["renewed_without"]) == (total - with_n[rule], total_r - with_r[rule])
        assert row["rate_with"] == _pct(with_r[rule], with_n[rule])
    assert {r["rule"] for r in report["rules"]} == {k for k, v in with_n.items() if v}
    # the at-risk list is ordered by score
    risky = reports.at_risk(crm, limit=500)
    assert [r["risk"] for r in risky] == sorted((r["risk"] for r in risky), reverse=True)


def _club(make_crm: MakeCrm, clock: FrozenClock) -> Crm:
    clock.set(datetime(2026, 1, 5, 6, tzinfo=timezone.utc))
    return make_crm(plugins=["fitness"])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_simulated_year(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = _club(make_crm, clock)
    result = simulate(crm, members=25, days=380, seed=7, join_days=15)
    assert result.allowed > 0.7 * result.checkins
    assert set(result.refused) <= {"expired", "frozen"}  # lapsed members at the door, freezers
    check_club(crm, result, full_year=True)
    decided = [yes for p in result.people for yes in p.decided.values()]
    assert True in decided and False in decided  # a year has renewals and lapses to report


@pytest.mark.fitness_deep
def test_a_simulated_year_of_2000_members(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = _club(make_crm, clock)
    result = simulate(crm, members=2000, days=365, seed=1)
    check_club(crm, result, full_year=True)
