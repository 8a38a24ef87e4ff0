"""Normalizing phones (E.164, via ``phonenumbers``) and e-mail addresses."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

from .errors import ValidationError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_phone(value: Any, region: str, *, field: str = "phone") -> str:
    """Return ``value`` as E.164 (``+4930123456``); ``region`` is the default region."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field}: a phone number is required", field=field)
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"{field}: {value!r} is not a phone number ({exc})", field=field) from None
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise ValidationError(f"{field}: {value!r} is not a valid phone number", field=field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: Any, *, field: str = "email") -> str:
    """Return a trimmed, lower-cased e-mail address, or raise naming ``field``."""
    if not isinstance(value, str):
        raise ValidationError(f"{field}: an e-mail address must be text", field=field)
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationError(f"{field}: {value!r} is not a valid e-mail address", field=field)
    return email
