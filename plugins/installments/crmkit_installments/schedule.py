"""Pure arithmetic of plans: due dates, the schedule, allocating payments (no database).

Everything is in integer minor units, so a schedule sums exactly to the financed
amount and an allocation never loses or invents a cent.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Sequence

import attrs

from crmkit import ValidationError

MAX_PAYMENTS = 600


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, the day clamped to the month's end (Jan 31 -> Feb 28)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def monthly_dates(start: date, count: int) -> list[date]:
    """``count`` due dates, one a month from ``start`` (inclusive)."""
    return [add_months(start, i) for i in range(count)]


def check_dates(dates: Sequence[date]) -> list[date]:
    """Explicit due dates: at least one, at most :data:`MAX_PAYMENTS`, strictly increasing."""
    out = list(dates)
    if not 1 <= len(out) <= MAX_PAYMENTS:
        raise ValidationError(f"dates: give 1 to {MAX_PAYMENTS} due dates", field="dates")
    for before, after in zip(out, out[1:]):
        if after <= before:
            raise ValidationError(f"dates: {after} does not come after {before}; list each date once, in order",
                                  field="dates")
    return out


def split(financed_minor: int, count: int) -> list[int]:
    """``count`` equal amounts summing exactly to ``financed_minor``; the remainder goes on the last one."""
    if not 1 <= count <= MAX_PAYMENTS:
        raise ValidationError(f"payments: give 1 to {MAX_PAYMENTS} payments", field="payments")
    if financed_minor < count:
        raise ValidationError(f"payments: {count} payments of at least one minor unit exceed the financed amount",
                              field="payments")
    base = financed_minor // count
    return [base] * (count - 1) + [financed_minor - base * (count - 1)]


@attrs.frozen
class Allocation:
    """``amount_minor`` of payment ``payment_id`` settles item ``item_id``."""

    payment_id: int
    item_id: int
    amount_minor: int


@attrs.frozen
class Allocated:
    """The result of :func:`allocate`: the allocations, what each item has received, the excess."""

    allocations: tuple[Allocation, ...]
    paid: dict[int, int]  # item id -> minor units received
    credit_minor: int  # received beyond the whole schedule


def allocate(items: Sequence[tuple[int, int]], payments: Sequence[tuple[int, int]]) -> Allocated:
    """Allocate ``payments`` ((id, amount), in recording order) to ``items`` ((id, amount), oldest first).

    Each payment fills the oldest item not yet fully paid, its excess carries forward
    to the next items, and what is left after the last item is credit. No item ever
    receives more than its amount.
    """
    paid = {item_id: 0 for item_id, _ in items}
    out: list[Allocation] = []
    credit = 0
    index = 0
    for payment_id, amount in payments:
        left = amount
        while left > 0 and index < len(items):
            item_id, due = items[index]
            take = min(left, due - paid[item_id])
            if take > 0:
                paid[item_id] += take
                left -= take
                out.append(Allocation(payment_id, item_id, take))
            if paid[item_id] == due:
                index += 1
        credit += left
    return Allocated(tuple(out), paid, credit)
