"""Quantities and the costing rule (moving average per product and location), exact in Decimal.

Quantities are decimals with at most :data:`QTY_PLACES` places (weighed goods: 0.250 kg), stored
as integer thousandths (``qty_milli``). Money is stored as integer minor units of the bar's
currency. Every rounding is half-up to the minor unit, once per movement (see README "Costing").
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from crmkit import ValidationError

QTY_PLACES = 3
MILLI = 1000
MAX_QTY_DIGITS = 9  # integer digits: 999,999,999 units at most per movement


def parse_qty(value: object, field: str = "qty", *, fractional: bool = True, positive: bool = True) -> int:
    """A quantity as integer thousandths. Refuses floats, more than 3 decimal places (0 places for
    a product counted in pieces), non-positive values when ``positive``, and absurd sizes."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValidationError(f"{field}: give quantities as a string or integer, not {type(value).__name__}",
                              field=field)
    text = str(value).strip() if not isinstance(value, Decimal) else value
    if isinstance(text, str) and not (text.isascii() and len(text) <= 40):  # Decimal("١") is 1
        raise ValidationError(f"{field}: {str(value)[:40]!r} is not a quantity", field=field)
    try:
        dec = Decimal(text)
    except Exception:  # noqa: BLE001 - any unparsable text is the same error
        raise ValidationError(f"{field}: {str(value)[:40]!r} is not a quantity", field=field) from None
    if not dec.is_finite():
        raise ValidationError(f"{field}: {str(value)[:40]!r} is not a finite quantity", field=field)
    if not dec.is_zero() and dec.adjusted() >= MAX_QTY_DIGITS:
        raise ValidationError(f"{field}: {value} is too large (at most {MAX_QTY_DIGITS} digits before the point)",
                              field=field)
    places = QTY_PLACES if fractional else 0
    if dec != dec.quantize(Decimal(1).scaleb(-places)):  # safe: at most 9 integer digits
        unit = f"{places} decimal places" if places else "whole units (the product is not sold by weight)"
        raise ValidationError(f"{field}: {value} has too many decimals (at most {unit})", field=field)
    milli = int(dec * MILLI)
    if positive and milli <= 0:
        raise ValidationError(f"{field}: must be more than 0, got {value}", field=field)
    if not positive and milli < 0:
        raise ValidationError(f"{field}: must not be negative, got {value}", field=field)
    return milli


def qty(milli: int) -> Decimal:
    """Thousandths as a Decimal with 3 places (``1250`` -> ``Decimal("1.250")``)."""
    return Decimal(milli).scaleb(-QTY_PLACES)


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half away from zero, in integers (exact)."""
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return q if numerator >= 0 else -q


def issue_value(on_hand_milli: int, value_minor: int, out_milli: int) -> int:
    """The (positive) value in minor units that ``out_milli`` leaving stock takes, moving average.

    ``value * out / on_hand`` rounded half-up; taking everything on hand (or more) takes exactly
    the whole value; nothing on hand (zero or negative stock) takes nothing."""
    if on_hand_milli <= 0:
        return 0
    if out_milli >= on_hand_milli:
        return value_minor
    return round_half_up(value_minor * out_milli, on_hand_milli)


def incoming_value(on_hand_milli: int, value_minor: int, in_milli: int, unit_cost_minor: int) -> int:
    """The value in minor units added by ``in_milli`` coming in at ``unit_cost_minor`` a unit.

    ``in * unit_cost`` (rounded half-up); when stock was negative, the units that only bring it
    back to zero add nothing (they were sold uncosted) and the rest is valued at the unit cost."""
    counted = in_milli if on_hand_milli >= 0 else max(0, on_hand_milli + in_milli)
    return round_half_up(counted * unit_cost_minor, MILLI)


def price_total(price_minor: int, milli: int) -> int:
    """A line's amount: unit price x quantity, rounded half-up to the minor unit."""
    return round_half_up(price_minor * milli, MILLI)


def vat_of(gross_minor: int, rate: Decimal) -> int:
    """The VAT inside a VAT-inclusive ``gross`` at ``rate`` percent: gross - net, net = gross*100/(100+rate)
    rounded half-up to the minor unit."""
    if rate == 0:
        return 0
    scale = 10 ** max(0, -rate.as_tuple().exponent)  # type: ignore[operator]
    r = int(rate * scale)
    net = round_half_up(gross_minor * 100 * scale, 100 * scale + r)
    return gross_minor - net


def percent(value: object, field: str) -> Decimal:
    """A VAT rate in percent, 0 to 100, at most 2 decimal places."""
    if isinstance(value, (bool, float)):
        raise ValidationError(f"{field}: give the rate as text or an integer, e.g. \"20\"", field=field)
    try:
        dec = Decimal(str(value).strip())
    except Exception:  # noqa: BLE001
        raise ValidationError(f"{field}: {str(value)[:40]!r} is not a percentage", field=field) from None
    if not dec.is_finite() or not 0 <= dec <= 100:
        raise ValidationError(f"{field}: must be from 0 to 100", field=field)
    if dec != dec.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):
        raise ValidationError(f"{field}: {value} has too many decimals (at most 2)", field=field)
    return dec.quantize(Decimal("0.01"))
