"""crmkit.core.money at its edges: every currency's decimal places (ISO 4217, written out here), the
size limit, what is refused and how it is named, minor units both ways."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from crmkit import Money, ValidationError
from crmkit.core.money import KNOWN_CURRENCIES, MAX_DIGITS, check_currency, currency_exponent, to_decimal

ISO_4217_EXPONENTS = {  # the currencies whose minor unit is not 2 digits
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3), "CLF": 4, "UYW": 4,
}


@pytest.mark.parametrize("currency", sorted(KNOWN_CURRENCIES))
def test_every_currency_has_its_iso_decimal_places(currency: str) -> None:
    exp = ISO_4217_EXPONENTS.get(currency, 2)
    assert currency_exponent(currency) == exp
    smallest = Decimal(1).scaleb(-exp)
    assert Money.parse(str(smallest), currency).minor_units == 1
    assert Money.from_minor(123, currency) == Money.parse(str(Decimal(123).scaleb(-exp)), currency)
    assert str(Money.from_minor(5, currency).amount) == str(Decimal(5).scaleb(-exp).quantize(smallest))
    with pytest.raises(ValidationError, match=f"{currency} has {exp} decimal places") as err:
        Money.parse(str(smallest / 10), currency)
    assert err.value.field == "amount"


def test_parse_keeps_the_amount_exact_and_the_currency_upper_case() -> None:
    m = Money.parse(" 1200.5 ", "usd")
    assert (m.amount, m.currency, m.minor_units) == (Decimal("1200.50"), "USD", 120050)
    assert str(m) == "1200.50 USD" and m.to_json() == {"amount": "1200.50", "currency": "USD"}
    assert Money.parse(-7, "EUR") == Money(Decimal("-7.00"), "EUR")
    assert Money.parse(Decimal("0.000"), "USD") == Money(Decimal("0.00"), "USD")
    assert Money.parse("1.10", "USD").amount.as_tuple().exponent == -2
    assert Money.from_minor(-250, "USD") == Money(Decimal("-2.50"), "USD")
    assert Money.parse("12.000", "JPY") == Money(Decimal("12"), "JPY")


def test_the_size_limit_is_fifteen_digits_before_the_point() -> None:
    assert MAX_DIGITS == 15
    biggest = "9" * 15 + ".99"
    assert Money.parse(biggest, "USD").minor_units == 10**17 - 1
    assert Money.parse("-" + biggest, "USD").minor_units == -(10**17 - 1)
    for too_big in ("1" + "0" * 15, "1e15", "1E+30", "1e400", "-1" + "0" * 15):
        with pytest.raises(ValidationError, match="too large") as err:
            Money.parse(too_big, "USD")
        assert err.value.field == "amount"


@pytest.mark.parametrize("value, message", [
    (1.5, "not float"), (True, "not bool"), ("abc", "not a decimal number"), ("", "not a decimal number"),
    ("NaN", "not a finite number"), ("Infinity", "not a finite number"), ("-inf", "not a finite number"),
    ("sNaN", "not a finite number"), ("1" * 101, "too long"), ("0.001", "USD has 2 decimal places"),
    ("1e-3", "USD has 2 decimal places"), ("1e-30", "USD has 2 decimal places"),
])
def test_refused_amounts_name_the_field(value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as err:
        Money.parse(value, "USD", field="total")
    assert err.value.field == "total"


def test_text_of_exactly_one_hundred_characters_is_read() -> None:
    text = "0" * 96 + "1.00"
    assert len(text) == 100 and to_decimal(text, field="amount") == Decimal("1.00")
    assert to_decimal(f"  {text}\n", field="amount") == Decimal("1.00")  # the spaces around do not count
    assert to_decimal(Decimal("2.50"), field="amount") == Decimal("2.50")


def test_currencies_are_checked_and_named_after_the_amount_field() -> None:
    assert check_currency("eur") == "EUR"
    for bad in ("USS", "US", "", None, 840, "usdd"):
        with pytest.raises(ValidationError, match="not an ISO 4217 currency code") as err:
            Money.parse("1", bad)
        assert err.value.field == "currency"
    with pytest.raises(ValidationError) as named:
        Money.parse("1", "XXX", field="down_payment")
    assert named.value.field == "down_payment_currency"
    with pytest.raises(ValidationError) as custom:
        check_currency("XXX", field="price_currency")
    assert custom.value.field == "price_currency"


def test_messages_quote_what_was_given() -> None:
    with pytest.raises(ValidationError, match=r"^amount: '1{20}'\.\.\. is not a decimal number \(too long\)$"):
        Money.parse("1" * 101, "USD")
    with pytest.raises(ValidationError, match=r"^amount: USD has 2 decimal places, 1e-3 has more$"):
        Money.parse("1e-3", "USD")
    with pytest.raises(ValidationError, match=r"^amount: JPY has 0 decimal places, 0\.5 has more$"):
        Money.parse("0.5", "JPY")
