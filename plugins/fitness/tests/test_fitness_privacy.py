"""A member's fitness data in their export; the card number and mentions in freeze reasons erased."""

from __future__ import annotations

from crmkit import FrozenClock, PrivacyService
from crmkit_fitness.club import Club

from fitness_support import MakeCrm, catalogue, enabled, user, visit


def test_exported_and_erased(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    club = Club(crm, user(crm).id)
    catalogue(club)
    ines = club.services.contacts.create(first_name="Ines", last_name="Ibarra")
    m = club.enroll(ines.id, "year")
    club.assign(ines.id, card="C-77")
    club.freeze(m.id, starts_on="2026-02-01", days=5, reason="Ines Ibarra is travelling")
    visit(club, ines.id, clock.now())
    exported = PrivacyService(crm, None).export_contact(ines.id)["plugins"]["fitness"]
    assert exported["member"]["card"] == "C-77" and len(exported["checkins"]) == 1
    assert [f["reason"] for f in exported["freezes"]] == ["Ines Ibarra is travelling"]
    PrivacyService(crm, None).erase_contact(ines.id)
    after = PrivacyService(crm, None).export_contact(ines.id)["plugins"]["fitness"]
    assert after["member"]["card"] is None
    assert [f["reason"] for f in after["freezes"]] == ["[erased] is travelling"]
    assert len(after["memberships"]) == 1 and len(after["checkins"]) == 1  # business facts stay
