"""Lists: sorting with stable keyset cursors, bad ids and values refused before the database."""

from __future__ import annotations

import pytest

from crmkit import ValidationError


def walk(service, **kw):
    seen, cursor = [], None
    while True:
        page = service.list(limit=2, cursor=cursor, **kw)
        seen += [c.id for c in page]
        if not page.next_cursor:
            return seen
        cursor = page.next_cursor


def test_sorting_is_stable_across_pages(crm, clock):
    titles = ["b", "a", "c", "a", "b"]
    for t in titles:
        crm.deals.create(title=t)
        clock.advance(minutes=1)
    assert walk(crm.deals, order="title") == [2, 4, 1, 5, 3]
    assert walk(crm.deals, order="-title") == [3, 5, 1, 4, 2]
    assert walk(crm.deals, order="-created_at") == [5, 4, 3, 2, 1]
    assert walk(crm.deals, order="-id") == [5, 4, 3, 2, 1]
    assert walk(crm.deals, order="-created_at", id__in=[2, 4]) == [4, 2]
    with pytest.raises(ValidationError, match="cannot sort deals by 'source'") as err:
        crm.deals.list(order="source")
    assert err.value.field == "order"
    with pytest.raises(ValidationError, match="not a cursor from a previous page"):
        crm.deals.list(order="title", cursor="garbage!")


def test_out_of_range_ids_and_nul_text_are_validation_errors(crm):
    with pytest.raises(ValidationError, match="not a valid id"):
        crm.deals.get(2**40)
    with pytest.raises(ValidationError, match="not a valid id"):
        crm.deals.create(title="x", contact_id=2**31)
    with pytest.raises(ValidationError, match=r"control character \(U\+0000\)"):
        crm.deals.create(title="bad\x00title")
    with pytest.raises(ValidationError, match="'dreaming' is not one of open, won, lost") as err:
        crm.deals.list(status="dreaming")
    assert err.value.field == "status"
    assert crm.deals.count(status="open") == 0


def test_history_is_paged(crm):
    deal = crm.deals.create(title="x")
    for stage in ("proposal_sent", "collecting_data", "proposal_sent"):
        crm.deals.move(deal.id, stage)
    first = crm.deals.history(deal.id, limit=3)
    rest = crm.deals.history(deal.id, limit=3, cursor=first.next_cursor)
    assert [m.to_stage for m in [*first, *rest]] == ["collecting_data", "proposal_sent", "collecting_data",
                                                     "proposal_sent"]
    assert rest.next_cursor is None
