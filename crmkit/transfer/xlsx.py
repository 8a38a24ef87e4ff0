"""XLSX in and out with openpyxl: read-only streaming in, write-only streaming out."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from ..core.errors import ValidationError
from .sources import XLSX_MAX_ROWS, Record, Source, unique_headers


def cell_text(value: Any) -> str:
    """A cell's value as the text a CSV would hold (dates ISO, whole floats without ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


class XlsxSource(Source):
    kind = "xlsx"

    def __init__(self, path: Path, *, sheet: str | None = None) -> None:
        import openpyxl

        self.path = path
        self.sheet = sheet
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # a damaged or foreign ZIP: said plainly, not a traceback
            raise ValidationError(f"file: not a readable XLSX workbook ({type(exc).__name__})", field="file") from None
        try:
            ws = self._sheet(book)
            first = next(ws.iter_rows(values_only=True), ())
            self.header = tuple(cell_text(v).strip() for v in first)
        finally:
            book.close()
        header = list(self.header)
        while header and not header[-1]:
            header.pop()
        self.header = unique_headers(header)

    def _sheet(self, book: Any) -> Any:
        if self.sheet is None:
            return book.worksheets[0]
        if self.sheet not in book.sheetnames:
            raise ValidationError(f"sheet: no sheet {self.sheet!r} (sheets: {', '.join(book.sheetnames)})",
                                  field="sheet")
        return book[self.sheet]

    def describe(self) -> dict[str, str]:
        return {"format": "xlsx", "sheet": self.sheet or ""}

    def records(self) -> Iterator[Record]:
        import openpyxl

        book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        try:
            number = 0
            for line, row in enumerate(self._sheet(book).iter_rows(values_only=True), start=1):
                if line == 1:
                    continue
                cells = tuple(cell_text(v) for v in row)
                if not any(c.strip() for c in cells):
                    continue
                number += 1
                yield Record(number, line, cells)
        finally:
            book.close()


class XlsxWriter:
    """A streaming XLSX writer (openpyxl write-only): at most :data:`XLSX_MAX_ROWS` rows a sheet."""

    def __init__(self, path: Path, title: str) -> None:
        import openpyxl

        self.path = path
        self.book = openpyxl.Workbook(write_only=True)
        self.sheet = self.book.create_sheet(title=title[:31] or "Sheet")
        self.rows = 0

    def write(self, cells: Sequence[Any]) -> None:
        if self.rows >= XLSX_MAX_ROWS:
            raise ValidationError(f"format: an XLSX sheet holds at most {XLSX_MAX_ROWS:,} rows (header included); "
                                  "export to CSV or narrow the filters", field="format")
        self.sheet.append([_xlsx_value(c) for c in cells])
        self.rows += 1

    def write_all(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.write(row)

    def close(self) -> None:
        self.book.save(self.path)


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value
