"""Deals: money, stages, winning and losing, optimistic concurrency, lists."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crmkit import ConflictError, Money, NotFoundError, ValidationError


def test_create_with_money_defaults_to_first_stage_of_sales(crm, alice):
    deal = crm.deals.create(title="Windows", amount="1200.5", responsible_id=alice.id)
    assert deal.amount == Money(Decimal("1200.50"), "USD")
    assert (deal.pipeline, deal.stage, deal.status, deal.version) == ("sales", "collecting_data", "open", 1)


def test_amounts_are_exact_decimals_never_floats(crm):
    with pytest.raises(ValidationError, match="amount: give amounts as a string or Decimal, not float") as err:
        crm.deals.create(title="x", amount=0.1)
    assert err.value.field == "amount"
    with pytest.raises(ValidationError, match="JPY has 0 decimal places"):
        crm.deals.create(title="x", amount="10.5", currency="JPY")
    with pytest.raises(ValidationError, match="not an ISO 4217 currency") as err:
        crm.deals.create(title="x", amount="1", currency="USS")
    assert err.value.field == "currency"
    deal = crm.deals.create(title="x", amount=Decimal("0.10") + Decimal("0.20"), currency="eur")
    assert deal.amount == Money(Decimal("0.30"), "EUR")
    assert crm.deals.create(title="y", amount="1.234", currency="KWD").amount == Money(Decimal("1.234"), "KWD")


def test_lost_without_reason_is_refused(crm):
    deal = crm.deals.create(title="Windows")
    with pytest.raises(ValidationError, match="losing needs a reason") as err:
        crm.deals.lose(deal.id)
    assert err.value.field == "reason"
    with pytest.raises(ValidationError, match="losing needs a reason"):
        crm.deals.move(deal.id, "lost")
    with pytest.raises(ValidationError, match="'too_cheap' is not a lost reason"):
        crm.deals.lose(deal.id, reason="too_cheap")
    assert crm.deals.get(deal.id).status == "open"


def test_lose_with_listed_or_free_text_reason(crm):
    a = crm.deals.lose(crm.deals.create(title="A").id, reason="too_expensive")
    b = crm.deals.lose(crm.deals.create(title="B").id, reason_text="Moved abroad")
    assert (a.status, a.stage, a.lost_reason) == ("lost", "lost", "Too expensive")
    assert b.lost_reason == "Moved abroad"
    assert a.closed_at is not None


def test_win_then_reopen_clears_closing(crm):
    deal = crm.deals.win(crm.deals.create(title="A").id)
    assert (deal.status, deal.stage) == ("won", "won")
    reopened = crm.deals.move(deal.id, "measurement_done")
    assert (reopened.status, reopened.closed_at) == ("open", None)


def test_stale_version_is_a_conflict_and_changes_nothing(crm):
    deal = crm.deals.create(title="Windows")
    fresh = crm.deals.update(deal.id, {"title": "Windows x3"}, version=deal.version)
    assert fresh.version == 2
    with pytest.raises(ConflictError, match="changed by someone else") as err:
        crm.deals.update(deal.id, {"title": "Stale"}, version=deal.version)
    assert err.value.field == "version" and err.value.status == 409
    with pytest.raises(ConflictError):
        crm.deals.move(deal.id, "proposal_sent", version=deal.version)
    current = crm.deals.get(deal.id)
    assert (current.title, current.stage, current.version) == ("Windows x3", "collecting_data", 2)


def test_unknown_stage_pipeline_and_ids(crm):
    deal = crm.deals.create(title="A")
    with pytest.raises(ValidationError, match="'measured' is not a stage of 'sales'"):
        crm.deals.move(deal.id, "measured")
    with pytest.raises(ValidationError, match="no pipeline 'salez'"):
        crm.deals.create(title="B", pipeline="salez")
    with pytest.raises(ValidationError, match="contact_id: contact 999 does not exist"):
        crm.deals.create(title="B", contact_id=999)
    with pytest.raises(NotFoundError):
        crm.deals.get(999)
    with pytest.raises(ValidationError, match="new deal starts in an open stage"):
        crm.deals.create(title="B", stage="won")
    with pytest.raises(ValidationError, match="change the stage with move"):
        crm.deals.update(deal.id, {"stage": "won"})
    with pytest.raises(ValidationError, match="unknown field for a deal") as err:
        crm.deals.update(deal.id, {"titel": "typo"})
    assert err.value.field == "titel"


def test_move_to_another_pipeline_is_recorded(crm):
    deal = crm.deals.create(title="Not ready yet")
    moved = crm.deals.move(deal.id, "waiting", pipeline="deferred")
    assert (moved.pipeline, moved.stage) == ("deferred", "waiting")
    assert crm.deals.history(deal.id)[-1].pipeline == "deferred"
    event = crm.timeline.of("deal", deal.id).items[-1]
    assert event.changes["pipeline"] == {"before": "sales", "after": "deferred"}


def test_update_logs_before_and_after_money(crm):
    deal = crm.deals.create(title="A", amount="100.00")
    crm.deals.update(deal.id, {"amount": "150.00"})
    event = crm.timeline.of("deal", deal.id).items[-1]
    assert event.type == "deal.updated"
    assert event.changes == {"amount": {"before": {"amount": "100.00", "currency": "USD"},
                                        "after": {"amount": "150.00", "currency": "USD"}}}


def test_list_filters_and_cursor_pagination(crm, alice):
    for i in range(7):
        crm.deals.create(title=f"Deal {i}", responsible_id=alice.id if i % 2 else None)
    crm.deals.move(1, "proposal_sent")
    assert [d.id for d in crm.deals.list(stage="proposal_sent")] == [1]
    mine = crm.deals.list(responsible_id=alice.id)
    assert [d.id for d in mine] == [2, 4, 6]
    seen, cursor = [], None
    while True:
        page = crm.deals.list(pipeline="sales", limit=3, cursor=cursor)
        seen += [d.id for d in page]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == list(range(1, 8))
    with pytest.raises(ValidationError, match="cannot filter deals by 'colour'"):
        crm.deals.list(colour="red")
    with pytest.raises(ValidationError, match="limit: must be an integer from 1 to 500"):
        crm.deals.list(limit=10_000)
