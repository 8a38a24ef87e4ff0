"""What text a field may hold: no control characters, no bidirectional overrides.

Control characters (C0 except the whitespace a field allows, DEL, C1) corrupt exports,
terminals and logs; bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069)
make a name display as something else ("Trojan Source"); a lone surrogate (U+D800-U+DFFF,
possible in a Python str, not in UTF-8) cannot be stored at all. All are refused, never
silently stripped, with the field and the character's code point named.

A single-line field (a name, a title) allows no control character at all; a multi-line
field (a description, a note, an address) allows tab, line feed and carriage return.
"""

from __future__ import annotations

import re

from .errors import ValidationError

_UNSAFE = "\u202a-\u202e\u2066-\u2069\ud800-\udfff"  # and lone surrogates, which no database stores
_SINGLE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_UNSAFE}]")
_MULTI_LINE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_UNSAFE}]")


def check_characters(value: str, field: str, *, multiline: bool = False) -> str:
    """``value`` unchanged, or a :class:`ValidationError` naming ``field`` and the first bad character."""
    bad = (_MULTI_LINE if multiline else _SINGLE_LINE).search(value)
    if bad is not None:
        char = bad.group()
        kind = ("a bidirectional override" if char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                else "a lone surrogate" if "\ud800" <= char <= "\udfff"
                else "a line break" if char in "\n\r" else "a control character")
        raise ValidationError(f"{field}: contains {kind} (U+{ord(char):04X}) at position {bad.start()}", field=field)
    return value
