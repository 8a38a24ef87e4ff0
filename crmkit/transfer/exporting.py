"""Exporting a list of cards to CSV or XLSX, streamed page by page, and contacts to vCard 4.0.

The list is the API's: the same filters (``field``, ``field__op``, custom fields) and the acting
user's record rules (a user exports what they may read, nothing more); the ``cards.export``
permission allows it. A text cell starting with ``= + - @``, a tab or a carriage return is
written to CSV with a leading ``'`` (a spreadsheet does not run it as a formula); XLSX cells are
typed strings, never formulas. An import takes such a ``'`` off again.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from sqlalchemy import select

from ..core import schema
from ..core.access import EXPORT
from ..core.errors import ValidationError
from ..core.services.base import read_connection
from .sources import XLSX_MAX_ROWS

if TYPE_CHECKING:  # pragma: no cover
    from ..core.services import Services

ENTITIES = {"contact": "contacts", "company": "companies", "lead": "leads", "deal": "deals"}
FORMATS = ("csv", "xlsx", "vcf")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
PAGE = 500


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def unquote_cell(value: str) -> str:
    """What :func:`safe_cell` wrote, back (an import reads an exported file as it was)."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, Decimal)):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class _Lookups:
    """Names for ids in one page: users by e-mail, companies by name (one query each)."""

    def __init__(self, services: "Services") -> None:
        self.crm = services.crm
        with read_connection(self.crm) as conn:
            u = schema.users.c
            self.users = dict(conn.execute(select(u.id, u.email)).all())  # type: ignore[arg-type]
        self.companies: dict[int, str] = {}

    def load_companies(self, ids: set[int]) -> None:
        missing = [i for i in ids if i not in self.companies]
        if missing:
            c = schema.companies.c
            with read_connection(self.crm) as conn:
                self.companies.update(dict(conn.execute(select(c.id, c.name).where(c.id.in_(missing))).all()))  # type: ignore[arg-type]
        if len(self.companies) > 50_000:
            self.companies.clear()


def columns(services: "Services", entity: str) -> list[tuple[str, Callable[[Any, _Lookups], Any]]]:
    """The export's columns: headers an import maps back (``id`` becomes the external id)."""
    common: list[tuple[str, Callable[[Any, _Lookups], Any]]] = [("id", lambda r, lk: r.id)]
    if entity == "contact":
        cols = common + [
            ("first_name", lambda r, lk: r.first_name), ("last_name", lambda r, lk: r.last_name),
            ("phones", lambda r, lk: r.phones), ("emails", lambda r, lk: r.emails),
            ("company", lambda r, lk: lk.companies.get(r.company_id) if r.company_id else None),
            ("birthday", lambda r, lk: r.birthday)]
    elif entity == "company":
        cols = common + [("name", lambda r, lk: r.name), ("address", lambda r, lk: r.address)]
    elif entity == "lead":
        cols = common + [
            ("title", lambda r, lk: r.title), ("name", lambda r, lk: r.name),
            ("company_name", lambda r, lk: r.company_name), ("phone", lambda r, lk: r.phone),
            ("email", lambda r, lk: r.email), ("source", lambda r, lk: r.source), ("status", lambda r, lk: r.status),
            ("stage", lambda r, lk: r.stage)]
    else:
        cols = common + [
            ("title", lambda r, lk: r.title), ("pipeline", lambda r, lk: r.pipeline), ("stage", lambda r, lk: r.stage),
            ("status", lambda r, lk: r.status), ("amount", lambda r, lk: r.amount.amount if r.amount else None),
            ("currency", lambda r, lk: r.amount.currency if r.amount else None),
            ("contact", lambda r, lk: r.contact_id),
            ("company", lambda r, lk: lk.companies.get(r.company_id) if r.company_id else None)]
    cols.append(("responsible", lambda r, lk: lk.users.get(r.responsible_id) if r.responsible_id else None))
    for name in services.crm.custom_fields.fields(entity):
        cols.append((f"custom.{name}", lambda r, lk, name=name: r.custom.get(name)))
    cols += [("created_at", lambda r, lk: r.created_at), ("updated_at", lambda r, lk: r.updated_at)]
    return cols


def records(services: "Services", entity: str, filters: Mapping[str, Any] | None = None,
            order: str = "id") -> Iterator[Any]:
    """Every card of the list, page by page (the API's filters and the user's record rules)."""
    if entity not in ENTITIES:
        raise ValidationError(f"entity: {str(entity)[:40]!r} is not one of {', '.join(ENTITIES)}", field="entity")
    services.access.require(EXPORT, f"export {ENTITIES[entity]}")
    svc = getattr(services, ENTITIES[entity])
    cursor = None
    while True:
        page = svc.list(dict(filters or {}), limit=PAGE, cursor=cursor, order=order)
        yield from page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def rows(services: "Services", entity: str, filters: Mapping[str, Any] | None = None) -> Iterator[list[Any]]:
    """The header, then one list of cell values per card."""
    cols = columns(services, entity)
    lookups = _Lookups(services)
    yield [name for name, _ in cols]
    page: list[Any] = []
    for record in records(services, entity, filters):
        page.append(record)
        if len(page) >= PAGE:
            yield from _render(page, cols, lookups)
            page = []
    yield from _render(page, cols, lookups)


def _render(page: list[Any], cols: Sequence[tuple[str, Callable[[Any, _Lookups], Any]]],
            lookups: _Lookups) -> Iterator[list[Any]]:
    lookups.load_companies({r.company_id for r in page if getattr(r, "company_id", None)})
    for r in page:
        yield [_text(get(r, lookups)) for _, get in cols]


def csv_chunks(services: "Services", entity: str, filters: Mapping[str, Any] | None = None) -> Iterator[bytes]:
    """The CSV export as UTF-8 chunks (a BOM first, so spreadsheets read UTF-8), ~one per page."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield "\ufeff".encode()
    for n, row in enumerate(rows(services, entity, filters), start=1):
        writer.writerow([safe_cell(c) for c in row])
        if n % PAGE == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(services: "Services", entity: str, path: Path, filters: Mapping[str, Any] | None = None,
               *, max_rows: int = XLSX_MAX_ROWS) -> int:
    """Write the XLSX export to ``path`` (write-only, streaming); the rows written, header included.

    More than ``max_rows`` (Excel's 1,048,576, header included) is refused before anything is left
    behind: export to CSV or narrow the filters."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=ENTITIES[entity] if entity in ENTITIES else "export")
    n = 0
    try:
        for row in rows(services, entity, filters):
            if n >= max_rows:
                raise ValidationError(f"format: more than {max_rows:,} rows (header included) do not fit an XLSX "
                                      "sheet; export to CSV or narrow the filters", field="format")
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # a typed string: never a formula, whatever it starts with
                cells.append(cell)
            sheet.append(cells)
            n += 1
    except BaseException:
        sheet.close()  # the sheet's temporary file, and nothing written at ``path``
        raise
    part = path.with_name(path.name + ".part")
    book.save(part)
    part.replace(path)
    return n


# -- vCard 4.0 (RFC 6350) --------------------------------------------------------------------------

def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with CRLF and a space (never splitting a character)."""
    out, current, size = [], "", 0
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += width
    out.append(current)
    return "\r\n".join(out)


def vcard(contact: Any, company: str | None = None) -> str:
    """One contact as a vCard 4.0 (CRLF line ends, folded lines)."""
    name = f"{contact.first_name} {contact.last_name}".strip()
    lines = ["BEGIN:VCARD", "VERSION:4.0", f"UID:urn:crmkit:contact:{contact.id}", f"FN:{_escape(name)}",
             f"N:{_escape(contact.last_name)};{_escape(contact.first_name)};;;"]
    lines += [f"TEL;VALUE=uri:tel:{p}" for p in contact.phones]
    lines += [f"EMAIL:{_escape(e)}" for e in contact.emails]
    if company:
        lines.append(f"ORG:{_escape(company)}")
    if contact.birthday:
        lines.append(f"BDAY:{contact.birthday.strftime('%Y%m%d')}")
    lines.append(f"REV:{contact.updated_at.strftime('%Y%m%dT%H%M%SZ')}")
    lines.append("END:VCARD")
    return "".join(_fold(line) + "\r\n" for line in lines)


def vcard_chunks(services: "Services", filters: Mapping[str, Any] | None = None) -> Iterator[bytes]:
    """The contacts of the list as vCards, one chunk per page."""
    lookups = _Lookups(services)
    page: list[Any] = []

    def flush() -> bytes:
        lookups.load_companies({c.company_id for c in page if c.company_id})
        return "".join(vcard(c, lookups.companies.get(c.company_id) if c.company_id else None)
                       for c in page).encode("utf-8")

    for contact in records(services, "contact", filters):
        page.append(contact)
        if len(page) >= PAGE:
            yield flush()
            page = []
    yield flush()


def export(services: "Services", entity: str, fmt: str, path: Path,
           filters: Mapping[str, Any] | None = None) -> int:
    """Write an export file; returns the cards written."""
    if fmt not in FORMATS:
        raise ValidationError(f"format: {str(fmt)[:20]!r} is not one of {', '.join(FORMATS)}", field="format")
    if fmt == "vcf" and entity != "contact":
        raise ValidationError("format: vCard is for contacts", field="format")
    if fmt == "xlsx":
        return write_xlsx(services, entity, path, filters) - 1
    chunks = vcard_chunks(services, filters) if fmt == "vcf" else csv_chunks(services, entity, filters)
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
    if fmt == "vcf":
        return path.read_bytes().count(b"BEGIN:VCARD")
    return services_count(services, entity, filters)


def services_count(services: "Services", entity: str, filters: Mapping[str, Any] | None) -> int:
    return int(getattr(services, ENTITIES[entity]).count(dict(filters or {})))
