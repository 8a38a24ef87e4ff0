"""Languages: gettext catalogs (Babel) and locale-aware dates, numbers and money.

The catalogs are ``crmkit/ui/locale/<lang>/LC_MESSAGES/messages.po`` and each enabled plugin's
``<package>/locale/<lang>/LC_MESSAGES/messages.po``, compiled in memory when first used (no build
step, no .mo files to keep in step). ``make i18n`` extracts the strings of the Python code and
the templates into each ``messages.pot`` and updates the catalogs (``scripts/ui-i18n.sh``);
docs/languages.md tells the whole story.
"""

from __future__ import annotations

import functools
import gettext
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import (
    format_currency, format_decimal, get_currency_precision, get_currency_symbol, get_decimal_symbol, get_group_symbol,
)

from ..core.money import Money
from ..i18n.catalogs import merged
from ..i18n.languages import LANGUAGES
from .config import LOCALES

LOCALE_DIR = Path(__file__).parent / "locale"


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs without translating it here (it is translated where shown)."""
    return message

LANGUAGE_NAMES = {code: LANGUAGES[code] for code in LOCALES}
"""The language picker's entries: each language's code and its own name."""


def translations(locale: str, plugins: tuple[Path, ...] = ()) -> gettext.NullTranslations:
    """The catalog of ``locale``: the core UI's, then the plugins' ``locale/`` folders (English: the source)."""
    return merged(locale, (LOCALE_DIR, *plugins))


def pick(wanted: str | None, default: str) -> str:
    """The language to use: ``wanted`` (the user's choice) if it is one we have, else ``default``."""
    return wanted if wanted in LOCALES else default


class Formatter:
    """Strings, dates, numbers and money in one locale and the deployment's timezone."""

    def __init__(self, locale: str, tz: ZoneInfo, plugins: tuple[Path, ...] = ()) -> None:
        self.locale = locale
        self.babel = _babel_locale(locale)
        self.tz = tz
        self._t = translations(locale, plugins)

    def gettext(self, message: str, **values: Any) -> str:
        """``message`` translated (``%(name)s`` filled from ``values``); "" stays "" (gettext would
        answer the catalog's header, e.g. for an event field that is empty)."""
        if not message:
            return message
        text = self._t.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        text = self._t.ngettext(singular, plural, n)
        return text % {"num": n, **values}

    def datetime(self, value: datetime | None, fmt: str = "short") -> str:
        if value is None:
            return ""
        return format_datetime(value, fmt, tzinfo=self.tz, locale=self.babel)

    def date(self, value: date | datetime | None, fmt: str = "medium") -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(self.tz).date()
        return format_date(value, fmt, locale=self.babel)

    def ago(self, delta: timedelta) -> str:
        return format_timedelta(delta, granularity="minute", threshold=1.0, locale=self.babel)

    def money(self, value: Money | None) -> str:
        if value is None:
            return ""
        fast = money_format(self.locale, value.currency)
        return fast(value.amount) if fast is not None else format_currency(value.amount, value.currency,
                                                                           locale=self.babel)

    def number(self, value: int | Decimal | float) -> str:
        return format_decimal(value, locale=self.babel)


@functools.lru_cache(maxsize=None)
def _babel_locale(locale: str) -> Locale:
    return Locale.parse(locale)


@functools.lru_cache(maxsize=512)
def money_format(locale: str, currency: str) -> Callable[[Decimal], str] | None:
    """Babel's ``format_currency(value, currency, locale=locale)`` for a plain currency pattern, with
    the pattern, symbols and precision looked up once (a board formats a thousand amounts); None when
    the pattern is not plain (then Babel itself formats). Same steps as ``NumberPattern.apply``."""
    loc = Locale.parse(locale)
    pattern = loc.currency_formats["standard"]
    group, point = get_group_symbol(loc), get_decimal_symbol(loc)
    if (pattern.exp_prec or pattern.scale or "@" in pattern.pattern or not pattern.number_pattern
            or any("¤¤¤" in fix for fix in (*pattern.prefix, *pattern.suffix))
            or any(c in group + point for c in "'¤")):
        return None
    symbol = get_currency_symbol(currency, loc)
    prefixes, suffixes = (tuple(fix.replace("¤¤", currency.upper()).replace("¤", symbol) for fix in fixes)
                          for fixes in (pattern.prefix, pattern.suffix))
    if any("'" in fix for fix in (*prefixes, *suffixes)):  # quoted text: Babel unquotes the whole string
        return None
    digits = get_currency_precision(currency)
    quantum = Decimal(10) ** -digits
    first, rest = pattern.grouping
    min_int = pattern.int_prec[0]

    def fmt(value: Decimal) -> str:
        negative = int(value.is_signed())
        whole, _, frac = f"{abs(value).normalize().quantize(quantum):f}".partition(".")
        if len(whole) < min_int:
            whole = "0" * (min_int - len(whole)) + whole
        size, tail = first, ""
        while len(whole) > size:
            tail = group + whole[-size:] + tail
            whole = whole[:-size]
            size = rest
        number = whole + tail + (point + frac.ljust(digits, "0") if digits else "")
        return prefixes[negative] + number + suffixes[negative]

    return fmt
