"""A fast path for phones already written internationally (``+1 212 555 0100``, ``+79161234567``).

``phonenumbers.parse`` costs about half of normalizing such a number; for the inputs this path
accepts it does nothing but what is done here, so the result is the library's:

- the text is ``+`` then ASCII digits, single spaces or hyphens between them (no other punctuation,
  no letters, so no extension and no alternate digits): ``parse`` keeps exactly these digits;
- the country code is the first 1-3 digits that are one (ITU codes are prefix-free), as
  ``parse`` finds it; the national significant number is the rest, not starting with ``0``
  (no Italian leading zero to keep) and 4-17 digits long (``parse``'s own bounds);
- the national prefix for parsing of the code's main region does not match at the start, so
  ``parse`` would strip nothing (a ``+44 07911 ...`` or ``+1 1 212 ...`` goes the slow way).

Validity is then decided by the library's own steps (``is_possible_number``, and
``is_valid_number``'s region look-up and number-type check, the latter done once instead of twice
for a code several regions share, see :func:`_valid`); anything else -- invalid, or not of this shape -- returns None and takes the
full path, which also says why a number is refused. ``tests/transfer/test_phone_fast.py`` checks
both paths agree on every region's example numbers in several writings.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumber, PhoneNumberType
from phonenumbers.phonenumberutil import _number_type_helper

_SHAPE = re.compile(r"\+[1-9](?:[ -]?[0-9])+")
_PREFIX: dict[int, "re.Pattern[str] | None"] = {}


def e164_fast(value: str) -> str | None:
    """``value`` in E.164 if it is an internationally written valid number of the accepted shape, else None."""
    text = value.strip()
    if not _SHAPE.fullmatch(text):
        return None
    digits = text[1:].replace(" ", "").replace("-", "")
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    nsn = digits[size:]
    if not 4 <= len(nsn) <= 17 or nsn[0] == "0":
        return None
    prefix = _prefix(code)
    if prefix is not None and prefix.match(nsn):
        return None
    number = PhoneNumber(country_code=code, national_number=int(nsn))
    if phonenumbers.is_possible_number(number) and _valid(number, code, nsn):
        return f"+{code}{nsn}"
    return None


def _valid(number: PhoneNumber, code: int, nsn: str) -> bool:
    """``phonenumbers.is_valid_number(number)`` without its second look at the same region.

    The library finds the number's region (a code shared by several, as +1: the first region whose
    leading digits match, or else whose number types match) and then checks the number types for
    that region again; when the region was found by its types, that check is already known true.
    The same steps otherwise, with the library's own functions.
    """
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not regions:
        return False
    if len(regions) == 1:
        return bool(phonenumbers.is_valid_number_for_region(number, regions[0]))
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if _compiled(metadata.leading_digits).match(nsn):
                return bool(phonenumbers.is_valid_number_for_region(number, region))
        elif _number_type_helper(nsn, metadata) != PhoneNumberType.UNKNOWN:
            return True  # is_valid_number_for_region(number, region) asks exactly this again
    return False


_PATTERNS: dict[str, "re.Pattern[str]"] = {}


def _compiled(pattern: str) -> "re.Pattern[str]":
    found = _PATTERNS.get(pattern)
    if found is None:
        found = _PATTERNS[pattern] = re.compile(pattern)
    return found


def _prefix(code: int) -> "re.Pattern[str] | None":
    if code not in _PREFIX:
        region = phonenumbers.region_code_for_country_code(code)
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        pattern = getattr(metadata, "national_prefix_for_parsing", None)
        _PREFIX[code] = re.compile(pattern) if pattern else None
    return _PREFIX[code]
