"""Money in reports: sums of minor units from SQL made exact ``Money`` again."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from ..money import Money, currency_exponent

if TYPE_CHECKING:  # pragma: no cover
    from ..app import Crm
    from .scope import Scope


def money_of(minor: Any, currency: str) -> Money:
    """``Money`` from a sum of minor units (an int, or a Decimal/str a database returned)."""
    return Money.from_minor(int(Decimal(str(minor))), currency)


def average_of(minor_sum: Any, count: int, currency: str) -> Money | None:
    """The average of ``count`` amounts summing to ``minor_sum`` minor units, rounded half-even
    to the currency's minor unit; ``None`` for no amounts."""
    if not count:
        return None
    exp = currency_exponent(currency)
    avg = (Decimal(str(minor_sum)) / count).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return Money(avg.scaleb(-exp).quantize(Decimal(1).scaleb(-exp)), currency)


def scope_currency(crm: "Crm", scope: "Scope") -> str:
    """The currency of a mixed report's money columns: the scope's, else the deployment's."""
    return scope.currency or crm.settings.default_currency

