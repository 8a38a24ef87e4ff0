"""Normalizing phones (E.164, via ``phonenumbers``) and e-mail addresses."""

from __future__ import annotations

import functools
import re
from typing import Any

import phonenumbers

from .errors import ValidationError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
    parsing costs ~30 us, more than writing a row)."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        return f"is not a phone number ({exc})"
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
