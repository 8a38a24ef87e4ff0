"""The plugin's own hookspecs, implemented by an in-process plugin: a refusal, every decision,
every phase change."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from crmkit import Crm, FrozenClock, PluginInfo, Settings, Tx, hookimpl
from crmkit.testing import template
from crmkit_fitness.club import Club

from fitness_support import START, catalogue, run_days, user, visit


class Doorman:
    """Refuses one member; records what the fitness plugin tells it."""

    plugin_info = PluginInfo(name="doorman", version="0.1.0", api=">=1.0,<2", requires=("fitness",))

    def __init__(self) -> None:
        self.banned: int | None = None
        self.decisions: list[tuple[int | None, str]] = []
        self.phases: list[tuple[int, str | None, str, date]] = []

    @hookimpl
    def fitness_checkin_refusal(self, tx: Tx, contact_id: int, at: datetime) -> str | None:
        return "banned" if contact_id == self.banned else None

    @hookimpl
    def fitness_checkin_decided(self, decision: Any) -> None:
        self.decisions.append((decision.contact_id, decision.reason))

    @hookimpl
    def fitness_phase_changed(self, contact_id: int, old: str | None, new: str, day: date) -> None:
        self.phases.append((contact_id, old, new, day))


def test_other_plugins_refuse_and_hear_decisions_and_phases(db_url: str, tmp_path: Path, clock: FrozenClock) -> None:
    clock.set(START)
    doorman = Doorman()
    settings = Settings.from_dict({**template(), "database": db_url, "plugins": ["fitness"]}, base_dir=tmp_path,
                                  environ={})
    crm = Crm(settings, clock=clock, plugins=[doorman])
    try:
        club = Club(crm, user(crm).id)
        catalogue(club)
        ann = club.services.contacts.create(first_name="Ann")
        bob = club.services.contacts.create(first_name="Bob")
        club.enroll(ann.id, "year")
        club.enroll(bob.id, "year")
        doorman.banned = bob.id
        assert visit(club, ann.id, clock.now()).reason == "ok"
        assert visit(club, bob.id, clock.now()).reason == "banned"
        assert visit(club, bob.id, clock.now(), event_id="again").allowed is False
        assert doorman.decisions == [(ann.id, "ok"), (bob.id, "banned"), (bob.id, "banned")]
        run_days(crm, clock, 1)
        assert sorted(doorman.phases) == [(ann.id, "prospect", "adaptation", date(2026, 1, 6)),
                                          (bob.id, "prospect", "adaptation", date(2026, 1, 6))]
    finally:
        crm.close()
