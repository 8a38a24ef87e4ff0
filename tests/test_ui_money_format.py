"""The UI's money formatting (crmkit.ui.i18n.money_format, the board's thousand amounts) is Babel's
``format_currency``, character for character, in our languages and in others with other patterns."""

from __future__ import annotations

import random
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.numbers import format_currency

from crmkit.core.money import Money
from crmkit.ui.i18n import Formatter, money_format

LOCALES = ("en", "ru", "de", "fr", "hi", "en_IN", "ar", "fa", "he", "ja", "nl", "pt_BR", "sv", "tr", "bn", "de_CH")
CURRENCIES = ("USD", "EUR", "RUB", "JPY", "KWD", "GBP", "CHF", "INR", "CLF", "ISK", "HUF", "XAU")


def amounts() -> list[Decimal]:
    rng = random.Random(14)
    fixed = ["0", "-0.00", "0.005", "0.015", "1.005", "999.995", "-1234567.891", "1E+10", "12345678901234567890.12"]
    out = [Decimal(v) for v in fixed]
    for _ in range(200):
        digits = rng.randint(1, 16)
        out.append(Decimal(rng.randint(-10**digits, 10**digits)).scaleb(-rng.randint(0, 4)))
    return out


@pytest.mark.parametrize("locale", LOCALES)
def test_the_fast_path_is_babels_format_currency(locale: str) -> None:
    babel_locale = Locale.parse(locale)
    values = amounts()
    for currency in CURRENCIES:
        fast = money_format(locale, currency)
        if fast is None:  # a pattern it does not take on (de_CH's quote as the group symbol): Babel formats
            assert locale == "de_CH", (locale, currency)
            continue
        for value in values:
            assert fast(value) == format_currency(value, currency, locale=babel_locale), (locale, currency, value)


def test_the_formatter_formats_money_in_the_users_language() -> None:
    tz = ZoneInfo("UTC")
    price = Money(Decimal("1234567.50"), "RUB")
    assert Formatter("en", tz).money(price) == "RUB1,234,567.50"
    assert Formatter("ru", tz).money(price) == "1\xa0234\xa0567,50\xa0₽"
    assert Formatter("ru", tz).money(Money(Decimal("-5"), "JPY")) == "-5\xa0¥"
    assert Formatter("en", tz).money(None) == ""
