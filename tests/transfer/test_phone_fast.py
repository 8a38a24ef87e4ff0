"""The fast path for internationally written phones gives what phonenumbers gives, for every region's
example numbers written several ways (and hands everything else to the full path)."""

from __future__ import annotations

import functools
import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from crmkit.core.contacts_info import _normalize
from crmkit.core.phone_fast import e164_fast

TYPES = (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE, PhoneNumberType.VOIP,
         PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.PERSONAL_NUMBER,
         PhoneNumberType.PAGER, PhoneNumberType.UAN, PhoneNumberType.VOICEMAIL)


def slow(value: str, region: str) -> str | None:
    """The full path, as crmkit.core.contacts_info normalized before the fast path existed."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=1)
def writings() -> tuple[str, ...]:
    rng = random.Random(19)
    out: list[str] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
            spaced = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
            code, nsn = str(number.country_code), phonenumbers.national_significant_number(number)
            out += [e164, spaced, spaced.replace(" ", "-"), f"+{code} 0{nsn}", f"+{code}1{nsn}", f"+{code} {nsn[:-1]}",
                    f"+{code}{nsn}9", f"+{code}{nsn[:3]} {nsn[3:]}", e164[:-1] + str(rng.randrange(10))]
    out += ["+" + "".join(rng.choice("0123456789") for _ in range(rng.randrange(6, 18))) for _ in range(1000)]
    return tuple(out)


@pytest.mark.parametrize("region", ["US", "RU"])
def test_the_fast_path_agrees_with_phonenumbers(region: str) -> None:
    accepted = 0
    for value in writings():
        fast, expected = e164_fast(value), slow(value, region)
        if fast is not None:
            accepted += 1
            assert fast == expected, value
        found = _normalize(value, region)  # the fast path where it applies, else the full one
        assert (found if found.startswith("+") else None) == expected, value
    assert accepted > 1000  # it does take the usual writings


def test_what_it_leaves_to_the_full_path() -> None:
    for value in ["8 (916) 123-45-67", "+1 (212) 555-0100", "+44 07911 123456", "+1 212 555 0100 x12", "+0 123 4567",
                  "+1  212 555 0100", "+١٢١٢٥٥٥٠١٠٠", "+49", "212 555 0100"]:
        assert e164_fast(value) is None, value
    assert e164_fast(" +7 916 123-45-67 ") == "+79161234567" == _normalize("8 (916) 123-45-67", "RU")
