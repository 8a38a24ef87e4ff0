"""Phases from facts, day by day through the worker, and the touch points they fire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crmkit import FrozenClock, Worker
from crmkit_fitness.club import Club
from crmkit_fitness.lifecycle import risk_score
from crmkit_fitness.config import Config

from fitness_support import START, MakeCrm, catalogue, enabled, member, run_days, user, visit


def _phases(crm: Any, contact_id: int) -> list[str]:
    return [e.data["phase"] for e in crm.timeline.of("contact", contact_id, limit=500).items
            if e.type == "fitness.phase_changed"]


def _touches(crm: Any, contact_id: int) -> list[str]:
    return [e.data["rule"] for e in crm.timeline.of("contact", contact_id, limit=500).items
            if e.type == "fitness.touch_point"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a year of passes: logic (storage: the others)
def test_a_regular_member_goes_through_adaptation_active_expiring_renewed(make_crm: MakeCrm,
                                                                          clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    mia = user(crm)
    club = Club(crm, mia.id)
    catalogue(club)
    tom = user(crm, "tom", role="trainer")
    ann = member(crm, club, "year")
    club.assign(ann, trainer_id=tom.id)
    crm.contacts.update(ann, {"birthday": "1990-03-10"})
    Worker(crm).run_once()
    assert Club(crm).member(ann)["phase"] == "adaptation"
    run_days(crm, clock, 339, lambda now: visit(club, ann, now), step=3)  # a visit every third day
    assert Club(crm).member(ann)["phase"] == "expiring"  # 24 days left (expiring_days = 30)
    renewal = [d for d in crm.deals.list({"pipeline": "renewals"}).items if d.contact_id == ann]
    assert len(renewal) == 1
    crm.as_user(mia.id).deals.win(renewal[0].id)
    run_days(crm, clock, 1)
    assert _phases(crm, ann) == ["prospect", "adaptation", "active", "expiring", "renewed"]
    fired = _touches(crm, ann)
    assert len(fired) == len(set(fired))
    assert fired[:5] == ["welcome", "trainer_intro", "first_week", "adaptation_review", "event_invite"]
    assert {"end_60", "end_30", "end_7", "renewal_thanks", "summer_offer", "birthday"} - set(fired) == {"end_7"}
    assert 10 <= len(fired) <= 15
    assert "no_visit" not in fired and "win_back" not in fired
    tasks = crm.tasks.list({"entity_type": "contact", "entity_id": ann}, limit=100).items
    by_rule = {t.rule: t for t in tasks}
    assert by_rule["fitness.trainer_intro"].assignee_id == tom.id
    assert by_rule["fitness.welcome"].assignee_id == mia.id


def test_no_visits_put_a_member_at_risk_and_a_lapse_is_won_back(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock, adaptation_days=7, expiring_days=5)
    club = Club(crm, user(crm).id)
    catalogue(club)
    bob = member(crm, club, "month", "Bob")
    visit(club, bob, clock.now())
    run_days(crm, clock, 9)
    assert Club(crm).member(bob)["phase"] == "active"
    run_days(crm, clock, 5)  # 14 days without a visit
    state = Club(crm).member(bob)
    assert (state["phase"], state["risk"]) == ("at_risk", 25)  # 14 of 28 days absent: 0.5 * 50
    assert "no_visit" in _touches(crm, bob)
    run_days(crm, clock, 11)
    assert Club(crm).member(bob)["phase"] == "expiring"
    run_days(crm, clock, 6)
    assert Club(crm).member(bob)["phase"] == "lapsed"
    run_days(crm, clock, 14)
    assert "win_back" in _touches(crm, bob)
    [m] = Club(crm).memberships(bob)
    assert m.outcome == "lapsed"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # 74 passes of pace logic
def test_cadence_below_the_own_norm_is_at_risk(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock, cadence_percent=70,
                  touch_points=[{"key": "drop", "title": "Call", "when": "cadence_drop"}])
    club = Club(crm, user(crm).id)
    catalogue(club)
    cy = member(crm, club, "year", "Cy")
    run_days(crm, clock, 120, lambda now: visit(club, cy, now), step=2)  # every other day
    assert Club(crm).member(cy)["phase"] == "active"
    start = clock.now()
    run_days(crm, clock, 28, lambda now: visit(club, cy, now) if (now - start).days % 9 == 0 else None)  # every 9 days
    state = Club(crm).member(cy)
    assert state["phase"] == "at_risk" and state["risk"] > 0
    assert _touches(crm, cy) == ["drop"]
    events = [e for e in crm.timeline.of("contact", cy, limit=500).items if e.type == "fitness.phase_changed"]
    reasons = [e.data["reason"] for e in events if e.data["phase"] == "at_risk"]
    assert reasons and set(reasons) == {"cadence"}  # a visit may lift the pace for a while: the touch stays one


def test_a_frozen_member_is_not_at_risk(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    club = Club(crm, user(crm).id)
    catalogue(club)
    fay = member(crm, club, "year", "Fay")
    [m] = club.memberships(fay)
    run_days(crm, clock, 40, lambda now: visit(club, fay, now), step=2)
    club.freeze(m.id, starts_on=(clock.now() + timedelta(days=1)).date(), days=30, reason="travel")
    run_days(crm, clock, 25, step=5)
    assert Club(crm).member(fay)["phase"] == "active"
    assert "no_visit" not in _touches(crm, fay)


def test_the_risk_score_weighs_absence_pace_and_the_end() -> None:
    cfg = Config()
    assert risk_score(0, 8.0, 8.0, 365, cfg) == 0
    assert risk_score(28, 0.0, 8.0, 0, cfg) == 100
    assert risk_score(14, 4.0, 8.0, 30, cfg) == 25 + 15 + 10


def test_a_touch_point_with_a_message_queues_it_for_the_member(make_crm: MakeCrm, clock: FrozenClock) -> None:
    clock.set(START)
    crm = make_crm(plugins=["fitness"], settings={
        "fitness": {"touch_points": [{"key": "hello", "title": "Say hello", "when": "day:0",
                                      "message": "Hi {first_name}!", "subject": "Hi"}]},
        "messages": {"email": {"host": "127.0.0.1", "port": 2525, "security": "none", "from": "club@example.com"}}})
    club = Club(crm, user(crm).id)
    catalogue(club)
    ann = club.services.contacts.create(first_name="Ann", emails=["ann@example.com"])
    nob = club.services.contacts.create(first_name="Nob")  # no address: the task, no message
    club.enroll(ann.id, "year")
    club.enroll(nob.id, "year")
    run_days(crm, clock, 1)
    [msg] = crm.messages.list(contact_id=ann.id).items
    assert msg.body.startswith("Hi Ann!\n") and "Unsubscribe" in msg.body  # marketing: the link is added
    assert (msg.subject, msg.status) == ("Hi", "queued")
    [touch] = [e for e in crm.timeline.of("contact", ann.id, limit=500).items if e.type == "fitness.touch_point"]
    assert touch.data["message"]["id"] == msg.id
    [other] = [e for e in crm.timeline.of("contact", nob.id, limit=500).items if e.type == "fitness.touch_point"]
    assert "error" in other.data["message"] and other.data["task_id"]
    run_days(crm, clock, 1)
    assert len(crm.messages.list(contact_id=ann.id).items) == 1  # once per member and rule per cycle
