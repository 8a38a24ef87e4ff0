"""Normalizing phones (E.164, via ``phonenumbers``) and e-mail addresses."""

from __future__ import annotations

import functools
import re
from typing import Any

import phonenumbers

from .errors import ValidationError
from .phone_fast import e164_fast

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_WHY = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "has no country code we know after the +",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "is not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "is too short for a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "is too short for a phone number",
    phonenumbers.NumberParseException.TOO_LONG: "is too long for a phone number",
}
"""Why ``phonenumbers`` could not read a number, in our words."""


def normalize_phone(value: Any, region: str, *, field: str = "phone") -> str:
    """Return ``value`` as E.164 (``+4930123456``); ``region`` is the default region."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field}: a phone number is required", field=field)
    result = _normalize(value, region)
    if result.startswith("+"):
        return result
    raise ValidationError(f"{field}: {value!r} {result}", field=field)


@functools.lru_cache(maxsize=65536)
def _normalize(value: str, region: str) -> str:
    """E.164, or the reason it is not a phone number (cached: imports repeat numbers and
    parsing costs ~30 us, more than writing a row); written internationally: :mod:`.phone_fast`."""
    fast = e164_fast(value)
    if fast is not None:
        return fast
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:  # said in our words, not the library's
        return _WHY.get(exc.error_type, "is not a phone number")
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        return "is not a valid phone number"
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: Any, *, field: str = "email") -> str:
    """Return a trimmed, lower-cased e-mail address, or raise naming ``field``."""
    if not isinstance(value, str):
        raise ValidationError(f"{field}: an e-mail address must be text", field=field)
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationError(f"{field}: {value!r} is not a valid e-mail address", field=field)
    return email
