"""A customer's installment plans in their personal-data export; payment texts erased with them."""

from __future__ import annotations

from installments_support import MakeCrm, enabled

from crmkit import FrozenClock, PrivacyService
from crmkit_installments.service import Installments


def test_plans_are_exported_and_payment_texts_lose_the_person(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    inst = Installments(crm, None)
    deals = {}
    for first, last in (("Ines", "Ibarra"), ("Otto", "Other")):
        contact = crm.contacts.create(first_name=first, last_name=last, emails=[f"{first.lower()}@example.org"])
        deal = crm.deals.create(title=f"{last}: windows", amount="1000.00", contact_id=contact.id)
        inst.create_plan(deal.id, down_payment="100.00", payments=3, start="2026-02-01")
        crm.deals.win(deal.id)
        paid = inst.record_payment(deal.id, "300.00", method="transfer", reference=f"{first} {last} invoice 7")
        inst.reverse_payment(paid.id, reason=f"bounced, wrote to {first.lower()}@example.org")
        inst.record_payment(deal.id, "300.00", method="card", reference="card 1234")
        deals[last] = (contact.id, deal.id)
    ines, deal = deals["Ibarra"]

    exported = PrivacyService(crm, None).export_contact(ines)["plugins"]["installments"]["plans"]
    assert [p["deal_id"] for p in exported] == [deal] and exported[0]["control_deal_id"] is not None
    assert [p["reference"] for p in exported[0]["payments"]] == ["Ines Ibarra invoice 7", "card 1234"]

    erasure = PrivacyService(crm, None).erase_contact(ines)
    assert erasure.rows["installments_payments"] == 1
    mine = inst.payments(deal)
    assert [(p.reference, p.reversal_reason) for p in mine] == [("[erased] invoice 7", "bounced, wrote to [erased]"),
                                                                ("card 1234", None)]
    assert [str(p.amount.amount) for p in mine] == ["300.00", "300.00"]
    plan = inst.plan(deal)
    assert (str(plan.paid.amount), str(plan.outstanding.amount)) == ("300.00", "600.00")
    theirs = inst.payments(deals["Other"][1])
    assert theirs[0].reference == "Otto Other invoice 7"  # another customer's payments are theirs
