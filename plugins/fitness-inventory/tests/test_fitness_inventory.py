"""The glue plugin: on exactly when fitness and inventory are; the bar's sales per member segment
read by lifecycle phase (SQLite and PostgreSQL), through the service and the API."""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from crmkit import FrozenClock
from crmkit.testing import MakeCrm, auth_headers
from crmkit.web import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fitness" / "tests"))
from fitness_support import START, catalogue, run_days, user, visit  # noqa: E402

from crmkit_fitness.club import Club  # noqa: E402
from crmkit_inventory import reports  # noqa: E402
from crmkit_inventory.sales import Bar  # noqa: E402
from crmkit_inventory.service import Inventory  # noqa: E402

NAME = "fitness_inventory"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # plugin loading, not storage
def test_on_with_both_sides_only(make_crm: MakeCrm) -> None:
    both = make_crm(plugins=["fitness", "inventory"])
    assert both.pm.has_plugin(NAME) and both.auto_enabled.get(NAME) == ("fitness", "inventory")
    assert not make_crm(plugins=["fitness"]).pm.has_plugin(NAME)
    assert not make_crm(plugins=["inventory"]).pm.has_plugin(NAME)
    assert not any(t.startswith(NAME) for t in both.tables)  # it owns no tables


def test_sales_per_segment_by_phase(make_crm: MakeCrm, clock: FrozenClock) -> None:
    clock.set(START)
    crm = make_crm(plugins=["fitness", "inventory"])
    mia = user(crm, role="admin")
    club = Club(crm, mia.id)
    catalogue(club)
    ann = club.services.contacts.create(first_name="Ann", last_name="Lee")  # adaptation: a new yearly member
    bob = club.services.contacts.create(first_name="Bob", last_name="Ray")  # adaptation too
    cy = club.services.contacts.create(first_name="Cy", last_name="Oak")  # a prospect: a sale offered only
    dee = club.services.contacts.create(first_name="Dee", last_name="Fox")  # no club member at all
    club.enroll(ann.id, "year")
    club.enroll(bob.id, "year")
    club.sell(cy.id, "month")
    run_days(crm, clock, 1)
    assert {c: Club(crm).member(c)["phase"] for c in (ann.id, bob.id, cy.id)} == {
        ann.id: "adaptation", bob.id: "adaptation", cy.id: "prospect"}
    inv = Inventory(crm, mia.id)
    inv.create_location("bar", "Bar")
    inv.create_product(sku="WATER", name="Water", price="1.50", vat_rate="10")
    inv.create_product(sku="SHAKE", name="Shake", price="4.90", vat_rate="20")
    inv.receive("bar", [{"sku": "WATER", "qty": "50", "unit_cost": "0.40"},
                        {"sku": "SHAKE", "qty": "20", "unit_cost": "1.90"}])
    bar = Bar(crm, mia.id)
    sold = [bar.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="card", contact_id=ann.id),
            bar.sell("bar", [{"sku": "WATER", "qty": "2"}], payment="cash", contact_id=ann.id),
            bar.sell("bar", [{"sku": "SHAKE", "qty": "2"}], payment="card", contact_id=bob.id),
            bar.sell("bar", [{"sku": "WATER", "qty": "1"}], payment="cash", contact_id=cy.id),
            bar.sell("bar", [{"sku": "WATER", "qty": "3"}], payment="cash", contact_id=dee.id),
            bar.sell("bar", [{"sku": "WATER", "qty": "1"}], payment="cash")]
    bar.void(bar.sell("bar", [{"sku": "SHAKE", "qty": "1"}], payment="card", contact_id=bob.id).id, reason="typo")

    def net(*indexes: int) -> Decimal:
        return sum((sold[i].total.amount - sold[i].vat.amount for i in indexes), Decimal(0))

    expected = {"adaptation": (2, 3, net(0, 1, 2)), "prospect": (1, 1, net(3)), "unsegmented": (1, 1, net(4)),
                "walk-in": (0, 1, net(5))}
    rows = reports.sales_by_segment(crm)
    assert {r.segment: (r.members, r.receipts, r.revenue.amount) for r in rows} == expected
    # the segment is the phase now: Ann goes at risk after two weeks without a visit, Bob trains
    run_days(crm, clock, 14, lambda now: visit(club, bob.id, now), step=7)
    assert Club(crm).member(ann.id)["phase"] == "at_risk"
    since = (START - timedelta(days=1)).date().isoformat()
    with TestClient(create_app(crm), headers=auth_headers(crm, mia.id)) as client:
        answer = client.get("/api/v1/inventory/reports/segments", params={"since": since})
    assert answer.status_code == 200, answer.text
    got = {r["segment"]: (r["members"], r["receipts"]) for r in answer.json()["items"]}
    assert got["at_risk"] == (1, 2) and got["adaptation"] == (1, 1) and got["prospect"] == (1, 1)

