"""iCalendar (RFC 5545) text: escaping, line folding, properties. No dependency.

* content lines end with CRLF and are folded at 75 octets (a continuation starts with one space;
  a UTF-8 character is never split);
* TEXT values escape ``\\``, ``;``, ``,`` and line breaks (``\\n``); other control characters,
  which TEXT may not hold, are dropped;
* DATE-TIME values are written in UTC (``20260105T093000Z``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence

from .clock import ensure_utc

CRLF = "\r\n"
MAX_OCTETS = 75


def escape_text(value: str) -> str:
    """A TEXT property value (RFC 5545 3.3.11)."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(ch for ch in value if ch in "\n\t" or not (ord(ch) < 32 or ord(ch) == 127))
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n"))


def fold(line: str) -> str:
    """One content line folded into lines of at most 75 octets, each ended by CRLF (RFC 5545 3.1)."""
    data = line.encode("utf-8")
    if len(data) <= MAX_OCTETS:
        return line + CRLF
    parts: list[bytes] = []
    start, width = 0, MAX_OCTETS
    while start < len(data):
        end = min(start + width, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # never cut inside a UTF-8 character
            end -= 1
        parts.append(data[start:end])
        start, width = end, MAX_OCTETS - 1  # continuation lines begin with a space
    return (CRLF + " ").join(p.decode("utf-8") for p in parts) + CRLF


def utc(value: datetime) -> str:
    """A DATE-TIME in UTC form."""
    return ensure_utc(value).strftime("%Y%m%dT%H%M%SZ")


def component(name: str, properties: Iterable[tuple[str, str]], children: Sequence[str] = ()) -> str:
    """``BEGIN:name`` ... ``END:name`` with the given (already escaped) properties, folded."""
    out = [fold(f"BEGIN:{name}")]
    out += [fold(f"{key}:{value}") for key, value in properties]
    out += children
    out.append(fold(f"END:{name}"))
    return "".join(out)
