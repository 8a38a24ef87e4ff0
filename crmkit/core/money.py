"""Money: a Decimal amount with an ISO 4217 currency. Never a float.

Amounts are stored as integer minor units (cents) next to the currency code, which
is exact on SQLite and PostgreSQL alike and makes SQL sums exact too.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from .errors import ValidationError

# Currencies whose minor unit is not 2 digits (ISO 4217). Everything else has 2.
_EXPONENTS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}
# A deliberately broad but finite list: typos such as "USS" are refused.
KNOWN_CURRENCIES: frozenset[str] = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL
    BSD BTN BWP BYN BZD CAD CDF CHF CLF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP
    ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD
    IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD
    MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB
    PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD
    SSP STN SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYI UYU UYW UZS VES
    VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()
)


MAX_DIGITS = 15  # integer digits of an amount: minor units stay well inside a 64-bit integer


def currency_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def check_currency(value: Any, *, field: str = "currency") -> str:
    if not isinstance(value, str) or value.upper() not in KNOWN_CURRENCIES:
        raise ValidationError(f"{field}: {value!r} is not an ISO 4217 currency code", field=field)
    return value.upper()


def to_decimal(value: Any, *, field: str) -> Decimal:
    """Parse a Decimal from str/int/Decimal. Floats are refused: they are not exact."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValidationError(
            f"{field}: give amounts as a string or Decimal, not {type(value).__name__}", field=field
        )
    text = value if isinstance(value, Decimal) else str(value).strip()
    if isinstance(text, str) and len(text) > 100:
        raise ValidationError(f"{field}: {text[:20]!r}... is not a decimal number (too long)", field=field)
    try:
        result = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{field}: {value!r} is not a decimal number", field=field) from None
    if not result.is_finite():
        raise ValidationError(f"{field}: {value!r} is not a finite number", field=field)
    return result


@attrs.frozen
class Money:
    """An exact amount of one currency."""

    amount: Decimal
    currency: str

    @classmethod
    def parse(cls, amount: Any, currency: Any, *, field: str = "amount") -> "Money":
        cur = check_currency(currency, field=f"{field}_currency" if field != "amount" else "currency")
        dec = to_decimal(amount, field=field)
        exp = currency_exponent(cur)
        # the size first: quantizing 1e400 to cents would overflow the decimal context
        if not dec.is_zero() and dec.adjusted() >= MAX_DIGITS:
            raise ValidationError(f"{field}: {amount} is too large (at most {MAX_DIGITS} digits before the point)",
                                  field=field)
        if not dec.is_zero() and dec.adjusted() < -exp:
            raise ValidationError(f"{field}: {cur} has {exp} decimal places, {amount} has more", field=field)
        quantized = dec.quantize(Decimal(1).scaleb(-exp))
        if dec != quantized:
            raise ValidationError(f"{field}: {cur} has {exp} decimal places, {dec} has more", field=field)
        return cls(quantized, cur)

    @property
    def minor_units(self) -> int:
        return int(self.amount.scaleb(currency_exponent(self.currency)))

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> "Money":
        exp = currency_exponent(currency)
        return cls(Decimal(minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp)), currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def to_json(self) -> dict[str, str]:
        return {"amount": str(self.amount), "currency": self.currency}
