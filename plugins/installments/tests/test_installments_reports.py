"""Aging buckets per manager and in total, expected cash-in by month (SQL aggregates, record rules)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crmkit import FrozenClock
from crmkit_installments.reports import BUCKETS, aging, cash_in
from crmkit_installments.service import Installments

from installments_support import MakeCrm, enabled, sold, user

# Today is 2026-01-05: 157, 77, 46, 31, 30 and 0 days past due, and one not yet due.
AGES = ["2025-08-01", "2025-10-20", "2025-11-20", "2025-12-05", "2025-12-06", "2026-01-05", "2026-03-01"]


def amounts(row: Any) -> list[str]:
    return [str(getattr(row, b).amount) for b in (*BUCKETS, "total")]


def test_aging_and_cash_in(make_crm: MakeCrm, clock: FrozenClock) -> None:
    crm = enabled(make_crm, clock)
    mia, max_ = user(crm, "mia"), user(crm, "max")
    deal, _ = sold(crm, mia.id, amount="700.00", down="0.00", dates=AGES)
    Installments(crm, mia.id).record_payment(deal.id, "50.00")  # half of the oldest one
    sold(crm, max_.id, title="Max's windows", amount="300.00", down="0.00", payments=3, start="2026-02-01")
    eur = crm.as_user(max_.id).deals.create(title="Euro door", amount="150.00", currency="EUR")
    Installments(crm, max_.id).create_plan(eur.id, down_payment="50.00", dates=["2025-12-01"])
    crm.as_user(max_.id).deals.win(eur.id)
    _, gone = sold(crm, max_.id, title="Written off", amount="999.00", down="0.00", payments=1, start="2025-01-01")
    crm.deals.lose(gone.control_deal_id or 0, reason_text="customer vanished")

    managers, totals = aging(crm)
    assert [(r.responsible_name, r.currency, amounts(r)) for r in managers] == [
        ("Max", "EUR", ["0.00", "0.00", "100.00", "0.00", "0.00", "100.00"]),
        ("Mia", "USD", ["200.00", "100.00", "200.00", "100.00", "50.00", "650.00"]),
        ("Max", "USD", ["300.00", "0.00", "0.00", "0.00", "0.00", "300.00"]),
    ]
    assert [(r.responsible_id, r.currency, amounts(r)) for r in totals] == [
        (None, "EUR", ["0.00", "0.00", "100.00", "0.00", "0.00", "100.00"]),
        (None, "USD", ["500.00", "100.00", "200.00", "100.00", "50.00", "950.00"]),
    ]
    mine, my_totals = aging(crm, mia.id)  # a manager sees only her own deals
    assert [r.responsible_id for r in mine] == [mia.id]
    assert [amounts(r)[-1] for r in my_totals] == ["650.00"]

    months = [(r.month, r.currency, str(r.expected.amount), r.items) for r in cash_in(crm, months=3)]
    assert months == [
        ("2025-08", "USD", "50.00", 1), ("2025-10", "USD", "100.00", 1), ("2025-11", "USD", "100.00", 1),
        ("2025-12", "EUR", "100.00", 1), ("2025-12", "USD", "200.00", 2), ("2026-01", "USD", "100.00", 1),
        ("2026-02", "USD", "100.00", 1), ("2026-03", "USD", "200.00", 2),
    ]
    assert sum((r.expected.amount for r in cash_in(crm, max_.id, months=1)), Decimal(0)) == Decimal("100.00")
