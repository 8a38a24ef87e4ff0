"""GET /stock a page at a time (limit, cursor, next_cursor as crmkit's lists): the pages put together
are exactly the whole stock list, in order, nothing twice; bad paging is a 422 naming the field
(SQLite and PostgreSQL)."""

from __future__ import annotations

from starlette.testclient import TestClient

from crmkit import FrozenClock
from crmkit.testing import auth_headers
from crmkit.web import create_app

from inventory_support import MakeCrm, enabled, stocked, user

URL = "/api/v1/inventory/stock"


def test_stock_pages_put_together_are_the_whole_list(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    admin = user(crm)
    inv = stocked(crm, admin.id)  # WATER, SHAKE, NUTS; bar and store
    for n in range(7):
        inv.create_product(sku=f"BAR-{n}", name=f"Bar {n}", price="1.00")
    inv.create_product(sku="EMPTY", name="Never received", price="1.00")  # no ledger: no row
    lines = [{"sku": f"BAR-{n}", "qty": "3", "unit_cost": "0.50"} for n in range(7)]
    inv.receive("bar", lines + [{"sku": "WATER", "qty": "5", "unit_cost": "0.40"}])
    inv.receive("store", lines[:4] + [{"sku": "NUTS", "qty": "1.5", "unit_cost": "10.00"}])
    whole = [(s.sku, s.location) for s in inv.stock()]
    assert len(whole) == 13
    with TestClient(create_app(crm), headers=auth_headers(crm, admin.id)) as client:
        for limit in (1, 3, 5, 13, 50):
            seen, cursor, pages = [], None, 0
            while True:
                answer = client.get(URL, params={"limit": limit, **({"cursor": cursor} if cursor else {})})
                assert answer.status_code == 200, answer.text
                body = answer.json()
                assert len(body["items"]) <= limit
                seen += [(i["sku"], i["location"]) for i in body["items"]]
                cursor, pages = body["next_cursor"], pages + 1
                if cursor is None:
                    break
                assert pages < 30
            assert seen == whole, limit  # the same rows, the same order, none twice
        bar_only = client.get(URL, params={"location": "bar", "limit": 4}).json()
        assert [i["location"] for i in bar_only["items"]] == ["bar"] * 4 and bar_only["next_cursor"]
        assert client.get(URL, params={"sku": "WATER"}).json()["items"][0]["on_hand"] == "5.000"
        for bad, field in (({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"limit": "x"}, "limit"),
                           ({"cursor": "not-a-cursor"}, "cursor"), ({"cursor": "W10="}, "cursor")):
            answer = client.get(URL, params=bad)
            assert answer.status_code == 422 and answer.json()["error"]["field"] == field, (bad, answer.text)
