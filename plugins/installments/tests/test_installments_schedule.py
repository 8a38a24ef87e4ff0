"""The pure arithmetic: due dates, splitting the financed amount, allocating payments."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit import ValidationError
from crmkit_installments.schedule import add_months, allocate, check_dates, monthly_dates, split


def test_months_clamp_to_the_end_of_short_months() -> None:
    assert monthly_dates(date(2026, 1, 31), 4) == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31),
                                                     date(2026, 4, 30)]
    assert add_months(date(2027, 11, 15), 3) == date(2028, 2, 15)
    assert add_months(date(2028, 1, 29), 1) == date(2028, 2, 29)


def test_split_puts_the_remainder_on_the_last_payment() -> None:
    assert split(100000, 3) == [33333, 33333, 33334]
    assert split(5, 5) == [1, 1, 1, 1, 1]
    with pytest.raises(ValidationError, match="payments"):
        split(4, 5)
    with pytest.raises(ValidationError, match="payments"):
        split(100, 0)


def test_explicit_dates_are_strictly_increasing() -> None:
    assert check_dates([date(2026, 2, 1), date(2026, 2, 15)]) == [date(2026, 2, 1), date(2026, 2, 15)]
    for bad in ([], [date(2026, 2, 1), date(2026, 2, 1)], [date(2026, 3, 1), date(2026, 2, 1)]):
        with pytest.raises(ValidationError, match="dates"):
            check_dates(bad)


def test_allocation_oldest_first_with_carry_forward_and_credit() -> None:
    items = [(1, 100), (2, 100), (3, 100)]
    result = allocate(items, [(10, 50), (11, 120), (12, 200)])
    assert [(a.payment_id, a.item_id, a.amount_minor) for a in result.allocations] == [
        (10, 1, 50), (11, 1, 50), (11, 2, 70), (12, 2, 30), (12, 3, 100)]
    assert result.paid == {1: 100, 2: 100, 3: 100} and result.credit_minor == 70


@settings(max_examples=200, deadline=None)
@given(total=st.integers(1, 10**12), count=st.integers(1, 600))
def test_split_sums_exactly(total: int, count: int) -> None:
    if total < count:
        with pytest.raises(ValidationError):
            split(total, count)
        return
    parts = split(total, count)
    assert sum(parts) == total and len(parts) == count
    assert min(parts) >= 1 and len(set(parts[:-1])) <= 1 and parts[-1] - parts[0] < count


@settings(max_examples=300, deadline=None)
@given(amounts=st.lists(st.integers(1, 10**6), min_size=1, max_size=24),
       payments=st.lists(st.integers(1, 3 * 10**6), max_size=30))
def test_allocation_never_loses_invents_or_doubles_a_cent(amounts: list[int], payments: list[int]) -> None:
    items = list(enumerate(amounts, start=1))
    pays = list(enumerate(payments, start=100))
    result = allocate(items, pays)
    by_item: dict[int, int] = {}
    by_payment: dict[int, int] = {}
    for a in result.allocations:
        assert a.amount_minor > 0
        by_item[a.item_id] = by_item.get(a.item_id, 0) + a.amount_minor
        by_payment[a.payment_id] = by_payment.get(a.payment_id, 0) + a.amount_minor
    assert all(by_item.get(i, 0) == result.paid[i] <= amount for i, amount in items)  # never paid twice
    assert all(by_payment.get(p, 0) <= amount for p, amount in pays)
    assert sum(result.paid.values()) + result.credit_minor == sum(payments)
    paid = [result.paid[i] for i, _ in items]
    # oldest first: fully paid items, then at most one partly paid, then untouched ones
    k = next((n for n, (p, (_, a)) in enumerate(zip(paid, items)) if p < a), len(items))
    assert all(p == 0 for p in paid[k + 1:])
    assert result.credit_minor == 0 or k == len(items)
