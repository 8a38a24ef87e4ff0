"""A document's name is metadata only: never a path. Here it is made safe to keep and to send back."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

MAX_NAME = 255
_UNSAFE = set('/\\:*?"<>|')
_FORMAT_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # controls, bidi overrides, surrogates, ...


def safe_name(name: object, default: str = "file") -> str:
    """The original file name as metadata: its last path part (``../../etc/passwd`` is ``passwd``),
    NFC, without control, format (bidi override) or path characters, at most 255 characters (the
    extension kept); ``default`` when nothing is left."""
    text = name if isinstance(name, str) else ""
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = unicodedata.normalize("NFC", text)
    text = "".join("_" if ch in _UNSAFE or unicodedata.category(ch) in _FORMAT_CATEGORIES else ch for ch in text)
    text = text.strip()
    if not text or set(text) <= {"."}:  # "", ".", "..": no name
        return default
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        ext = ext if dot and 0 < len(ext) <= 16 else ""
        text = text[: MAX_NAME - len(ext) - (1 if ext else 0)] + (f".{ext}" if ext else "")
    return text


def content_disposition(name: str) -> str:
    """``attachment`` with the name for every browser: an ASCII fallback (``filename``) and the
    exact name (RFC 6266/5987 ``filename*``); no quote, backslash or line break gets through."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%;' else "_" for ch in name) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
