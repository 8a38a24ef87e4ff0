"""Reading a spreadsheet as records: CSV (encoding and delimiter detected) and XLSX, streamed.

A source yields :class:`Record` s -- the data rows after the header, numbered from 1, each
with the physical line it starts on (the header is line 1; a quoted newline makes a record
span lines) -- and never holds more than one record in memory. Blank lines are not records.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import IO, Iterator, Sequence

import attrs

from ..core.errors import ValidationError

ENCODINGS = ("utf-8", "utf-8-sig", "cp1251", "latin-1")
DELIMITERS = (",", ";", "\t", "|")
XLSX_MAX_ROWS = 1_048_576
"""Excel's limit of rows per sheet (the header included)."""
_SCAN_CHUNK = 1 << 20
_MAX_CELL = 100_000


@attrs.frozen
class Record:
    """One data row: its number (1 = the first after the header), its first line, its cells."""

    number: int
    line: int
    cells: tuple[str, ...]
    problem: str | None = None
    """Why the row cannot be read as it is (invalid bytes for the encoding), else None."""


@attrs.frozen
class Sniffed:
    """What :func:`sniff` found out about a CSV file."""

    encoding: str
    delimiter: str
    bad_bytes: bool = False
    """The file is UTF-8 with some invalid byte sequences (their rows are rejected)."""


def sniff(path: str | Path, *, encoding: str | None = None, delimiter: str | None = None) -> Sniffed:
    """Detect the encoding (UTF-8 with or without BOM, else cp1251 or latin-1) and the delimiter.

    The whole file is scanned once (streaming): a file that is UTF-8 except for a few bad bytes
    stays UTF-8 and only those rows are rejected; a file with no valid UTF-8 multi-byte sequence
    and some invalid ones is a legacy 8-bit file (cp1251 when its letters read as Cyrillic).
    """
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(_SCAN_CHUNK)
        if encoding is None:
            encoding, bad = _detect(head, fh)
        else:
            if encoding.lower().replace("_", "-") not in ENCODINGS:
                raise ValidationError(f"encoding: {encoding!r} is not one of {', '.join(ENCODINGS)}", field="encoding")
            bad = False
    if delimiter is None:
        delimiter = _delimiter(head.decode(encoding if encoding != "utf-8" else "utf-8-sig", errors="replace"))
    elif delimiter not in DELIMITERS:
        names = ", ".join(repr(d) for d in DELIMITERS)
        raise ValidationError(f"delimiter: {delimiter!r} is not one of {names}", field="delimiter")
    return Sniffed(encoding, delimiter, bad)


def _detect(head: bytes, rest: IO[bytes]) -> tuple[str, bool]:
    enc = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    bad_count = multibyte = 0
    chunk = head
    while chunk:
        text = decoder.decode(chunk)
        bad_count += sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
        multibyte += sum(1 for ch in text if ch > "\x7f" and not "\udc80" <= ch <= "\udcff")
        chunk = rest.read(_SCAN_CHUNK)
    text = decoder.decode(b"", final=True)
    bad_count += sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
    if bad_count == 0 or enc == "utf-8-sig" or multibyte > bad_count:
        return enc, bad_count > 0
    return ("cp1251" if _reads_cyrillic(head.decode("cp1251", errors="replace")) else "latin-1"), False


def _reads_cyrillic(sample: str) -> bool:
    """Cyrillic words are runs of letters above ASCII; Latin text has lone accented letters among
    ASCII ones (``Müller`` in cp1251 would be ``Mьller``): most high letters in runs means cp1251."""
    high = [i for i, ch in enumerate(sample) if ch > "\x7f"]
    if not high:
        return False
    cyrillic = sum(1 for i in high if "\u0400" <= sample[i] <= "\u04ff")
    paired = sum(1 for i in high if (i > 0 and sample[i - 1] > "\x7f") or
                 (i + 1 < len(sample) and sample[i + 1] > "\x7f"))
    return cyrillic / len(high) >= 0.6 and paired / len(high) >= 0.6


def _delimiter(sample: str) -> str:
    """The candidate found most often in the first record's line (outside quotes), default ``,``."""
    first = ""
    quoted = False
    for ch in sample:
        if ch == '"':
            quoted = not quoted
        elif ch in "\r\n" and not quoted:
            if first.strip():
                break
            first = ""
            continue
        first += ch if not quoted else ""
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def open_source(path: str | Path, *, encoding: str | None = None, delimiter: str | None = None,
                sheet: str | None = None) -> "Source":
    """A CSV or XLSX source by the file's content (an XLSX is a ZIP: ``PK`` first)."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"file: {str(path)[:200]} does not exist", field="file")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic.startswith(b"PK\x03\x04"):
        from .xlsx import XlsxSource

        return XlsxSource(path, sheet=sheet)
    return CsvSource(path, sniff(path, encoding=encoding, delimiter=delimiter))


class Source:
    """A spreadsheet: ``header`` (the first row's cells) and :meth:`records` after it."""

    path: Path
    kind: str = ""
    header: tuple[str, ...] = ()

    def records(self) -> Iterator[Record]:  # pragma: no cover - each source defines it
        raise NotImplementedError

    def describe(self) -> dict[str, str]:
        return {"format": self.kind}


class CsvSource(Source):
    kind = "csv"

    def __init__(self, path: Path, sniffed: Sniffed) -> None:
        self.path = path
        self.sniffed = sniffed
        self.header = ()
        for record in self._rows(header=True):
            self.header = record.cells
            break

    def describe(self) -> dict[str, str]:
        return {"format": "csv", "encoding": self.sniffed.encoding, "delimiter": self.sniffed.delimiter}

    def records(self) -> Iterator[Record]:
        return self._rows(header=False)

    def _rows(self, *, header: bool) -> Iterator[Record]:
        csv.field_size_limit(_MAX_CELL * 10)
        errors = "surrogateescape" if self.sniffed.bad_bytes else "strict"
        with self.path.open("r", encoding=self.sniffed.encoding, errors=errors, newline="") as fh:
            reader = csv.reader(fh, delimiter=self.sniffed.delimiter)
            number = 0
            last_line = 0
            seen_header = False
            try:
                for cells in reader:
                    start, last_line = last_line + 1, reader.line_num
                    if not any(c.strip() for c in cells):
                        continue
                    if not seen_header:
                        seen_header = True
                        if header:
                            yield Record(0, start, unique_headers([_clean_header(c) for c in cells]))
                            return
                        continue
                    number += 1
                    problem = None
                    if self.sniffed.bad_bytes and any(_has_bad(c) for c in cells):
                        problem = f"not valid {self.sniffed.encoding.upper()}: invalid bytes"
                        cells = [c.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for c in cells]
                    yield Record(number, start, tuple(cells), problem)
            except csv.Error as exc:
                raise ValidationError(f"file: line {reader.line_num}: {exc}", field="file") from None


def unique_headers(cells: Sequence[str]) -> tuple[str, ...]:
    """Headers made unique and non-empty (``column 3`` for a blank one, ``Phone (2)`` for a repeat)."""
    out: list[str] = []
    for i, cell in enumerate(cells, start=1):
        name = cell or f"column {i}"
        n, base = 1, name
        while name in out:
            n += 1
            name = f"{base} ({n})"
        out.append(name)
    return tuple(out)


def _has_bad(cell: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in cell)


def _clean_header(cell: str) -> str:
    return cell.replace("\ufeff", "").strip()


def read_text(data: str, *, delimiter: str = ",") -> Sequence[Sequence[str]]:
    """Parse CSV text (small inputs: tests, previews)."""
    return list(csv.reader(io.StringIO(data), delimiter=delimiter))
