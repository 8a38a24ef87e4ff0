"""What a document is, from its content (magic bytes), never from what the client said.

PDF, PNG, JPEG, GIF, WebP, ZIP (Word ``.docx``, Excel ``.xlsx`` and PowerPoint ``.pptx`` told apart
by the archive's entries) and UTF-8 plain text; anything else is ``application/octet-stream``.
HTML, SVG and XML are plain text here: nothing uploaded is ever served as a page.
"""

from __future__ import annotations

import codecs
import zipfile
from typing import BinaryIO

OCTET = "application/octet-stream"
TEXT = "text/plain; charset=utf-8"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
SNIFFED_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "application/zip",
                 DOCX, XLSX, PPTX, TEXT, OCTET)
"""Every type :func:`sniff` answers."""

_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_OFFICE = (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX))
TEXT_SAMPLE = 65_536
_ALLOWED_CONTROLS = {9, 10, 12, 13}  # tab, line feed, form feed, carriage return


def sniff(head: bytes, file: BinaryIO | None = None) -> str:
    """The type of a document starting with ``head`` (its first bytes, up to 64 KiB); ``file`` (the
    whole document, seekable) tells the kinds of ZIP apart."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_kind(file)
    if head and _is_text(head, complete=len(head) < TEXT_SAMPLE):
        return TEXT
    return OCTET


def _zip_kind(file: BinaryIO | None) -> str:
    if file is None:
        return "application/zip"
    try:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:  # reads the central directory only: nothing is extracted
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return OCTET  # says it is a ZIP, is not one
    finally:
        file.seek(0)
    for prefix, kind in _OFFICE:
        if "[Content_Types].xml" in names and any(n.startswith(prefix) for n in names):
            return kind
    return "application/zip"


def _is_text(head: bytes, *, complete: bool) -> bool:
    """UTF-8 (a BOM allowed) without NUL or other control characters but tab and line breaks.
    ``complete=False``: ``head`` is a sample, a character cut at its end is fine."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return all(ord(ch) >= 32 and ord(ch) != 127 or ord(ch) in _ALLOWED_CONTROLS for ch in text)
